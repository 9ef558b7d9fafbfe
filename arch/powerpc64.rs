//! powerpc64le (ELFv2).
//!
//! Syscalls: `sc`, number in r0, arguments in r3..r8, result in r3. Unusually, an error
//! comes back as a positive errno with cr0.SO set; `bns+ 1f; neg 3, 3; 1:` turns it into
//! the -errno every other file returns (a `wait4 > 0` loop would spin on ECHILD otherwise).
//! The `_unchecked` calls leave those 8 bytes out: their callers ignore the result or make
//! a call that cannot fail.
//! The kernel clobbers r0, r4..r12, ctr, xer and cr0; `preserves_flags` means nothing on
//! PowerPC, so cr0 and xer are listed as clobbers instead. (`asm!` on PowerPC is stable
//! since Rust 1.95: this file needs no feature gate and builds on stable like the others.)
//!
//! Signals: powerpc has no use for SA_RESTORER; the kernel returns from a handler through
//! the vDSO's rt_sigreturn trampoline (only a kernel that maps no vDSO would write one on
//! the stack), and enters the handler with r12 = its address, from which the handler's
//! global entry point derives its TOC pointer: no trampoline here.
//!
//! Entry: r1 points at argc, argv..., 16-byte aligned; r2, the TOC pointer through which
//! compiled code reaches its data, is `_start`'s to set. A callee saves its return address
//! at 16(r1) of the frame it is called with, so `_start` must lend it the minimum ELFv2
//! frame (32 bytes: back chain, CR, LR and TOC save slots) below argc.

use core::arch::{asm, naked_asm};

pub mod nr {
    pub const WRITE: usize = 4;
    pub const GETPID: usize = 20;
    pub const PAUSE: usize = 29;
    pub const WAIT4: usize = 114;
    pub const RT_SIGACTION: usize = 173;
    pub const EXIT_GROUP: usize = 234;
}

pub use super::generic::{SIGCHLD, SIGSET_SIZE};

/// `asm!` for a syscall: the given template and operands, then every register the kernel
/// may clobber beyond r3..r6, which each call lists itself (as arguments or as clobbers).
macro_rules! sc {
    ($($template:literal),+; $($operands:tt)*) => {
        asm!($($template),+, $($operands)*,
             lateout("r7") _, lateout("r8") _, lateout("r9") _, lateout("r10") _,
             lateout("r11") _, lateout("r12") _, lateout("cr0") _, lateout("ctr") _,
             lateout("xer") _, options(nostack))
    };
}

#[inline(always)]
pub unsafe fn syscall0<const NR: usize>() -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        sc!("sc", "bns+ 1f", "neg 3, 3", "1:";
            inlateout("r0") NR => _, lateout("r3") ret,
            lateout("r4") _, lateout("r5") _, lateout("r6") _);
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall0_unchecked<const NR: usize>() -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        sc!("sc"; inlateout("r0") NR => _, lateout("r3") ret,
            lateout("r4") _, lateout("r5") _, lateout("r6") _);
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall1_noreturn<const NR: usize>(a0: i32) -> ! {
    // SAFETY: the caller passes a syscall that does not return (exit_group).
    unsafe { asm!("sc", in("r0") NR, in("r3") a0, options(noreturn, nostack)) }
}

#[inline(always)]
pub unsafe fn syscall3_unchecked<const NR: usize>(a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        sc!("sc"; inlateout("r0") NR => _, inlateout("r3") a0 as isize => ret,
            inlateout("r4") a1 => _, inlateout("r5") a2 => _, lateout("r6") _);
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall4<const NR: usize>(a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        sc!("sc", "bns+ 1f", "neg 3, 3", "1:";
            inlateout("r0") NR => _, inlateout("r3") a0 as isize => ret,
            inlateout("r4") a1 => _, inlateout("r5") a2 => _, inlateout("r6") a3 => _);
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
        "lis 2, .TOC.@ha",    // r2 = the TOC base; the link is static and non-PIE, below
        "addi 2, 2, .TOC.@l", // 2 GiB, so its absolute address fits in two halves
        "mr 3, 1",            // start(sp): argc and argv are at the stack pointer
        "li 0, 0",            // a minimum frame for start, its back chain 0 (the outermost
        "stdu 0, -32(1)",     // frame); r1 stays 16-aligned
        "b {start}",          // start never returns, so no link register is needed
        start = sym crate::start,
    )
}
