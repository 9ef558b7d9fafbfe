//! riscv64.
//!
//! Syscalls: `ecall`, number in a7, arguments in a0..a5, result in a0, -4095..-1 being
//! -errno. Nothing else is clobbered (RISC-V has no flags register).
//!
//! Signals: `struct sigaction` has no restorer field here (the generic layout leaves it out
//! when the architecture does not define SA_RESTORER), and the kernel always returns from a
//! handler through the vDSO's rt_sigreturn trampoline: no trampoline here.
//!
//! There is no `pause` syscall (the generic syscall table dropped it): `ppoll` with no
//! descriptors, no timeout and no mask blocks the same way until a handler has run.
//!
//! Entry: the stack holds argc, argv..., and is 16-byte aligned. `gp` is left unset: it
//! matters only to code that lld relaxed against `__global_pointer$`, which it does only
//! when asked (`--relax-gp`).

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
    unsafe { asm!("ecall", in("a7") NR, lateout("a0") ret, options(nostack, preserves_flags)) };
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
    unsafe { asm!("ecall", in("a7") NR, in("a0") a0, options(noreturn, nostack)) }
}

#[inline(always)]
pub unsafe fn syscall3_unchecked<const NR: usize>(a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("ecall", in("a7") NR, inlateout("a0") a0 as isize => ret, in("a1") a1, in("a2") a2,
             options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall4<const NR: usize>(a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("ecall", in("a7") NR, inlateout("a0") a0 as isize => ret, in("a1") a1, in("a2") a2,
             in("a3") a3, options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn pause() -> isize {
    // SAFETY: ppoll(NULL, 0, NULL, NULL) reads and writes no memory.
    unsafe { syscall4::<{ nr::PPOLL }>(0, 0, 0, 0) }
}

/// The kernel's `struct sigaction` (24 bytes: no restorer field on this architecture).
#[repr(C)]
pub struct SigAction {
    handler: super::Handler,
    flags: usize,
    mask: u64,
}

const _: () = assert!(size_of::<SigAction>() == 24);

impl SigAction {
    pub const fn new(handler: super::Handler, flags: usize) -> Self {
        Self {
            handler,
            flags,
            mask: 0,
        }
    }
}

/// The ELF entry point.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "mv a0, sp",    // start(sp): argc and argv are at the stack pointer (16-aligned)
        "j {start}",    // start never returns, so no return address is needed
        start = sym crate::start,
    )
}
