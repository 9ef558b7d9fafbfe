//! x86 (i686).
//!
//! Syscalls: `int 0x80`, number in eax, arguments in ebx, ecx, edx, esi, edi, ebp, result in
//! eax, -4095..-1 being -errno. Nothing else is clobbered. rustc refuses esi as an operand
//! (LLVM may need it as a base pointer), so the fourth argument travels in edi (the fifth,
//! which a four-argument call leaves unread) and is swapped into esi around the instruction,
//! then swapped back. ebx is accepted here (rustc reserves rbx only on x86_64).
//!
//! Signals: the kernel returns from a handler through `sa_restorer`. Without SA_RESTORER it
//! falls back to the 32-bit vDSO, which may be unmapped (`vdso32=0`, `abi.vsyscall32=0`),
//! and then to code on the non-executable stack: so `restore` is provided. Without
//! SA_SIGINFO the kernel builds the old-style frame, which `sigreturn` (not `rt_sigreturn`)
//! unwinds, after popping the signal number the handler left on the stack.
//!
//! Entry: the stack holds argc, argv..., and is 16-byte aligned; `start` takes its argument
//! on the stack (cdecl) and, like every function, wants esp % 16 == 12 on entry.

use core::arch::{asm, naked_asm};

pub mod nr {
    pub const WRITE: usize = 4;
    pub const GETPID: usize = 20;
    pub const PAUSE: usize = 29;
    pub const WAIT4: usize = 114;
    pub const SIGRETURN: usize = 119;
    pub const RT_SIGACTION: usize = 174;
    pub const EXIT_GROUP: usize = 252;
}

pub use super::generic::{SIGCHLD, SIGSET_SIZE};

#[inline(always)]
pub unsafe fn syscall0<const NR: usize>() -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("int 0x80", inlateout("eax") NR as isize => ret, options(nostack, preserves_flags));
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
    unsafe { asm!("int 0x80", in("eax") NR, in("ebx") a0, options(noreturn, nostack)) }
}

#[inline(always)]
pub unsafe fn syscall3_unchecked<const NR: usize>(a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("int 0x80", inlateout("eax") NR as isize => ret,
             in("ebx") a0, in("ecx") a1, in("edx") a2, options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall4<const NR: usize>(a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked. The second
    // xchg puts esi and edi back as they were, as LLVM requires of esi and of an input.
    unsafe {
        asm!("xchg esi, edi", "int 0x80", "xchg esi, edi", inlateout("eax") NR as isize => ret,
             in("ebx") a0, in("ecx") a1, in("edx") a2, in("edi") a3,
             options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn pause() -> isize {
    // SAFETY: pause takes no arguments and touches no memory.
    unsafe { syscall0::<{ nr::PAUSE }>() }
}

const SA_RESTORER: usize = 0x0400_0000;

/// The kernel's `struct sigaction` (20 bytes; `u64` is 4-aligned on i686, so the mask
/// follows the restorer at offset 12 as the kernel expects).
#[repr(C)]
pub struct SigAction {
    handler: super::Handler,
    flags: usize,
    restorer: unsafe extern "C" fn() -> !,
    mask: u64,
}

const _: () = assert!(size_of::<SigAction>() == 20);

impl SigAction {
    pub const fn new(handler: super::Handler, flags: usize) -> Self {
        Self {
            handler,
            flags: flags | SA_RESTORER,
            restorer: restore,
            mask: 0,
        }
    }
}

/// The signal-return trampoline. The handler's `ret` lands here with the signal number on
/// top of the old-style frame, so it must be exactly this code: no prologue may touch the
/// stack. This is what the kernel's vDSO `__kernel_sigreturn` does, but for `push`/`pop`
/// (3 bytes against `mov eax`'s 5), which rewrite only the slot of the signal number just
/// popped, and sigreturn does not read it.
#[unsafe(naked)]
unsafe extern "C" fn restore() -> ! {
    naked_asm!("pop eax", "push {nr}", "pop eax", "int 0x80", nr = const nr::SIGRETURN)
}

/// The ELF entry point.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "mov eax, esp",   // argc and argv are at the stack pointer (16-aligned)
        "sub esp, 12",    // padding, so that esp is 16-aligned again at the call
        "push eax",       // start(sp): cdecl passes the argument on the stack
        "call {start}",   // the pushed return address gives the esp % 16 == 12 start expects
        start = sym crate::start,
    )
}
