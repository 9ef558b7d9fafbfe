//! s390x.
//!
//! Syscalls: `svc N` with the number in the instruction's 8-bit immediate (every call pause
//! makes is below 256; the assembler rejects a larger one, which would need `svc 0` and r1),
//! arguments in r2..r7, result in r2, -4095..-1 being -errno. Nothing else is clobbered, the
//! condition code included. The immediate saves loading r1 at every call: 4 bytes each.
//!
//! Signals: without SA_RESTORER the kernel returns from a handler through the vDSO (5.14
//! on) or through `svc sigreturn` written into the signal frame, which older kernels run even
//! on a non-executable stack (the exec-protection fault handler recognises the instruction and
//! performs the sigreturn). That always works, so, as glibc does, pause sets no restorer. (One
//! would have to match the frame: without SA_SIGINFO, s390 builds the old-style frame that
//! `sigreturn`, not `rt_sigreturn`, unwinds.)
//!
//! Entry: r15 points at argc, argv..., 16-byte aligned. A callee may save registers in the
//! 160 bytes above the r15 it is called with, so `_start` must lend it that area.

use core::arch::{asm, naked_asm};

pub mod nr {
    pub const WRITE: usize = 4;
    pub const GETPID: usize = 20;
    pub const PAUSE: usize = 29;
    pub const WAIT4: usize = 114;
    pub const RT_SIGACTION: usize = 174;
    pub const EXIT_GROUP: usize = 248;
}

pub use super::generic::{SIGCHLD, SIGSET_SIZE};

#[inline(always)]
pub unsafe fn syscall0<const NR: usize>() -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("svc {nr}", nr = const NR, lateout("r2") ret, options(nostack, preserves_flags))
    };
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
    unsafe { asm!("svc {nr}", nr = const NR, in("r2") a0, options(noreturn, nostack)) }
}

#[inline(always)]
pub unsafe fn syscall3_unchecked<const NR: usize>(a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("svc {nr}", nr = const NR, inlateout("r2") a0 as isize => ret, in("r3") a1, in("r4") a2,
             options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall4<const NR: usize>(a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("svc {nr}", nr = const NR, inlateout("r2") a0 as isize => ret, in("r3") a1, in("r4") a2,
             in("r5") a3, options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn pause() -> isize {
    // SAFETY: pause takes no arguments and touches no memory.
    unsafe { syscall0::<{ nr::PAUSE }>() }
}

/// The kernel's `struct sigaction` (32 bytes; the restorer field stays unused).
#[repr(C)]
pub struct SigAction {
    handler: super::Handler,
    flags: usize,
    restorer: usize,
    mask: u64,
}

const _: () = assert!(size_of::<SigAction>() == 32);

impl SigAction {
    pub const fn new(handler: super::Handler, flags: usize) -> Self {
        Self {
            handler,
            flags,
            restorer: 0,
            mask: 0,
        }
    }
}

/// The ELF entry point.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "lgr %r2, %r15",      // start(sp): argc and argv are at the stack pointer
        "aghi %r15, -160",    // the callee's register save area, below argc (still aligned)
        "j {start}",          // start never returns, so no return address is needed; `j`
                              // (4 bytes, +-64 KiB) reaches it in a program this small
        start = sym crate::start,
    )
}
