//! loongarch64 (LP64D; built for `loongarch64-unknown-linux-gnu`, whose core rustup cannot
//! fetch here: `just dist` builds it from rust-src).
//!
//! Syscalls: `syscall 0`, number in a7, arguments in a0..a6, result in a0, -4095..-1 being
//! -errno. The kernel may clobber the temporaries t0..t8 (glibc and nolibc list them), so
//! every call marks them as such. LoongArch has no flags register.
//!
//! Signals: `struct sigaction` has no restorer field here (the generic layout leaves it out:
//! the architecture defines no SA_RESTORER), and the kernel always returns from a handler
//! through the vDSO's rt_sigreturn trampoline: no trampoline here.
//!
//! There is no `pause` syscall (a new architecture on the generic syscall table): `ppoll`
//! with no descriptors, no timeout and no mask blocks the same way until a handler has run.
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
    unsafe {
        asm!("syscall 0", in("$a7") NR, lateout("$a0") ret,
             out("$t0") _, out("$t1") _, out("$t2") _, out("$t3") _, out("$t4") _,
             out("$t5") _, out("$t6") _, out("$t7") _, out("$t8") _,
             options(nostack, preserves_flags));
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
    unsafe { asm!("syscall 0", in("$a7") NR, in("$a0") a0, options(noreturn, nostack)) }
}

#[inline(always)]
pub unsafe fn syscall3_unchecked<const NR: usize>(a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("syscall 0", in("$a7") NR, inlateout("$a0") a0 as isize => ret,
             in("$a1") a1, in("$a2") a2,
             out("$t0") _, out("$t1") _, out("$t2") _, out("$t3") _, out("$t4") _,
             out("$t5") _, out("$t6") _, out("$t7") _, out("$t8") _,
             options(nostack, preserves_flags));
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall4<const NR: usize>(a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("syscall 0", in("$a7") NR, inlateout("$a0") a0 as isize => ret,
             in("$a1") a1, in("$a2") a2, in("$a3") a3,
             out("$t0") _, out("$t1") _, out("$t2") _, out("$t3") _, out("$t4") _,
             out("$t5") _, out("$t6") _, out("$t7") _, out("$t8") _,
             options(nostack, preserves_flags));
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
        "move $a0, $sp", // start(sp): argc and argv are at the stack pointer (16-aligned)
        "b {start}",     // start never returns, so no return address is needed
        start = sym crate::start,
    )
}
