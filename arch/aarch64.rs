//! aarch64.
//!
//! Syscalls: `svc 0`, number in x8, arguments in x0..x5, result in x0, -4095..-1 being
//! -errno. Nothing else is clobbered.
//!
//! Signals: the kernel returns from a handler through the vDSO's rt_sigreturn trampoline
//! when SA_RESTORER is not set, and arm64 always maps the vDSO: no trampoline here.
//!
//! There is no `pause` syscall (the generic syscall table dropped it): `ppoll` with no
//! descriptors, no timeout and no mask blocks the same way until a handler has run.
//!
//! Entry: the stack holds argc, argv..., and is 16-byte aligned.

use core::arch::{asm, naked_asm};

pub mod nr {
    pub const WRITE: usize = 64;
    pub const PPOLL: usize = 73;
    pub const EXIT_GROUP: usize = 94;
    pub const RT_SIGACTION: usize = 134;
    pub const GETPID: usize = 172;
    pub const WAIT4: usize = 260;
}

pub use super::generic::{SIGCHLD, SIGSET_SIZE};

#[inline(always)]
pub unsafe fn syscall0<const NR: usize>() -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe { asm!("svc 0", in("x8") NR, lateout("x0") ret, options(nostack, preserves_flags)) };
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
    unsafe { asm!("svc 0", in("x8") NR, in("x0") a0, options(noreturn, nostack)) }
}

#[inline(always)]
pub unsafe fn syscall3_unchecked<const NR: usize>(a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("svc 0", in("x8") NR, inlateout("x0") a0 as isize => ret, in("x1") a1, in("x2") a2,
             options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall4<const NR: usize>(a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("svc 0", in("x8") NR, inlateout("x0") a0 as isize => ret, in("x1") a1, in("x2") a2,
             in("x3") a3, options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn pause() -> isize {
    // SAFETY: ppoll(NULL, 0, NULL, NULL) reads and writes no memory.
    unsafe { syscall4::<{ nr::PPOLL }>(0, 0, 0, 0) }
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
        "mov x0, sp",   // start(sp): argc and argv are at the stack pointer (16-aligned)
        "b {start}",    // start never returns, so no link register is needed
        start = sym crate::start,
    )
}
