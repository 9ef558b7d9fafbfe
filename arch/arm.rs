//! arm (32-bit, EABI), in Thumb state on every build: Thumb-2 for ARMv7 (`arm`, built for
//! `thumbv7neon-unknown-linux-gnueabihf`, ~15% smaller than ARM-state code; pause uses no
//! floating point or NEON, so it runs on any ARMv7-A), and Thumb-1 for the ARMv6 and ARMv5TE
//! cores that lack Thumb-2 (`arm-v6`, `arm-v5`, built for `thumbv5te-none-eabi`: the kernel
//! reads only the ELF's EABI version, and pause needs only `core`). Every instruction below
//! is Thumb-1, so one file serves both.
//!
//! Syscalls: `svc 0`, number in r7, arguments in r0..r5, result in r0, -4095..-1 being
//! -errno. Nothing else is clobbered. In Thumb state r7 is the frame pointer, which rustc
//! will not hand out as an operand: each syscall keeps it in r12 (caller-saved, so no one
//! else needs it kept) and loads the number as an 8-bit immediate (`movs`, which Thumb-1
//! has only in its flag-setting form; every number pause uses is below 256).
//!
//! Signals: the kernel returns from a handler through its sigpage trampoline (mapped into
//! every process since Linux 3.11) when SA_RESTORER is not set: no trampoline here.
//!
//! Entry: the stack holds argc, argv..., and is 16-byte aligned (AAPCS asks for 8 at calls).
//! The kernel starts the program in Thumb state because e_entry's low bit is set.

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
        asm!("mov r12, r7", "movs r7, #{nr}", "svc 0", "mov r7, r12",
             nr = const NR, out("r12") _, lateout("r0") ret, options(nostack));
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
    // r7 is not restored: nothing runs after exit_group.
    unsafe {
        asm!("movs r7, #{nr}", "svc 0", nr = const NR, in("r0") a0, options(noreturn, nostack))
    }
}

#[inline(always)]
pub unsafe fn syscall3_unchecked<const NR: usize>(a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("mov r12, r7", "movs r7, #{nr}", "svc 0", "mov r7, r12",
             nr = const NR, out("r12") _, inlateout("r0") a0 as isize => ret,
             in("r1") a1, in("r2") a2, options(nostack));
    }
    ret
}

#[inline(always)]
pub unsafe fn syscall4<const NR: usize>(a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: the caller passes a syscall whose memory effects it has checked.
    unsafe {
        asm!("mov r12, r7", "movs r7, #{nr}", "svc 0", "mov r7, r12",
             nr = const NR, out("r12") _, inlateout("r0") a0 as isize => ret,
             in("r1") a1, in("r2") a2, in("r3") a3, options(nostack));
    }
    ret
}

#[inline(always)]
pub unsafe fn pause() -> isize {
    // SAFETY: pause takes no arguments and touches no memory.
    unsafe { syscall0::<{ nr::PAUSE }>() }
}

/// The kernel's `struct sigaction` (20 bytes; the restorer field stays unused). The 64-bit
/// mask sits at offset 12; a `u64` (8-aligned on EABI) would be padded to 16, so two `u32`s.
#[repr(C)]
pub struct SigAction {
    handler: super::Handler,
    flags: usize,
    restorer: usize,
    mask: [u32; 2],
}

const _: () = assert!(size_of::<SigAction>() == 20);

impl SigAction {
    pub const fn new(handler: super::Handler, flags: usize) -> Self {
        Self {
            handler,
            flags,
            restorer: 0,
            mask: [0; 2],
        }
    }
}

/// The ELF entry point.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "mov r0, sp",   // start(sp): argc and argv are at the stack pointer (16-aligned)
        "b {start}",    // start never returns, so no link register is needed
        start = sym crate::start,
    )
}
