//! x86_64.
//!
//! Syscalls: `syscall`, number in rax, arguments in rdi, rsi, rdx, r10, r8, r9, result in
//! rax, -4095..-1 being -errno. The instruction clobbers rcx (return address) and r11
//! (rflags, restored on return, so the flags survive).
//!
//! Signals: the kernel returns from a handler through `sa_restorer`, which must run
//! rt_sigreturn; x86_64 has no kernel-provided trampoline, so without SA_RESTORER the first
//! caught signal ends in SIGSEGV. `restore_rt` is that trampoline.
//!
//! Entry: the stack holds argc, argv..., and is 16-byte aligned.

use core::arch::{asm, naked_asm};

pub mod nr {
    pub const WRITE: usize = 1;
    pub const RT_SIGACTION: usize = 13;
    pub const RT_SIGRETURN: usize = 15;
    pub const PAUSE: usize = 34;
    pub const GETPID: usize = 39;
    pub const WAIT4: usize = 61;
    pub const EXIT_GROUP: usize = 231;
}

pub use super::generic::{SIGCHLD, SIGSET_SIZE};

#[inline(always)]
pub unsafe fn syscall0<const NR: usize>() -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("syscall", inlateout("rax") NR as isize => ret,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

/// The same as `syscall0`: errors come back as -errno whether checked or not.
#[inline(always)]
pub unsafe fn syscall0_unchecked<const NR: usize>() -> isize {
    // SAFETY: the caller's contract is syscall0's.
    unsafe { syscall0::<NR>() }
}

#[inline(always)]
pub unsafe fn syscall1_noreturn<const NR: usize>(a0: i32) -> ! {
    // SAFETY: the caller passes a syscall that does not return (exit_group).
    // Sign-extended, though the kernel reads only edi: LLVM's code is 2 bytes shorter so.
    unsafe { asm!("syscall", in("rax") NR, in("rdi") a0 as isize, options(noreturn, nostack)) }
}

#[inline(always)]
pub unsafe fn syscall3_unchecked<const NR: usize>(a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("syscall", inlateout("rax") NR as isize => ret,
             in("rdi") a0, in("rsi") a1, in("rdx") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall4<const NR: usize>(a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("syscall", inlateout("rax") NR as isize => ret,
             in("rdi") a0, in("rsi") a1, in("rdx") a2, in("r10") a3,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn pause() -> isize {
    // SAFETY: pause takes no arguments and touches no memory.
    unsafe { syscall0::<{ nr::PAUSE }>() }
}

const SA_RESTORER: usize = 0x0400_0000;

/// The kernel's `struct sigaction` (32 bytes).
#[repr(C)]
pub struct SigAction {
    handler: super::Handler,
    flags: usize,
    restorer: unsafe extern "C" fn() -> !,
    mask: u64,
}

const _: () = assert!(size_of::<SigAction>() == 32);

impl SigAction {
    pub const fn new(handler: super::Handler, flags: usize) -> Self {
        Self {
            handler,
            flags: flags | SA_RESTORER,
            restorer: restore_rt,
            mask: 0,
        }
    }
}

/// The signal-return trampoline. The kernel "returns" here from a handler with the signal
/// frame on the stack, so it must be exactly this syscall: no prologue may move the stack
/// pointer. `push`/`pop` (3 bytes against `mov eax`'s 5) leave it where they found it, and
/// the slot below it they write is the frame's spent return address, which rt_sigreturn
/// does not read.
#[unsafe(naked)]
unsafe extern "C" fn restore_rt() -> ! {
    naked_asm!("push {nr}", "pop rax", "syscall", nr = const nr::RT_SIGRETURN)
}

/// The ELF entry point.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "mov rdi, rsp",   // start(sp): argc and argv are at the stack pointer
        "call {start}",   // rsp is 16-aligned here; the pushed return address gives the
                          // rsp % 16 == 8 that every function expects on entry
        start = sym crate::start,
    )
}
