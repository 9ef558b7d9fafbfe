//! The seam between pause's portable logic and the machine.
//!
//! Every architecture file exports the same items, so that two of them differ only in ABI:
//! - `nr`: the numbers of the system calls pause makes on that architecture;
//! - `syscall0`, `syscall1_noreturn`, `syscall4`: the raw syscall instruction, returning the
//!   kernel's result with errors as negative errno values. The number is a const parameter
//!   (`syscall4::<{ nr::WAIT4 }>(..)`): pause's calls are all known at build time, and s390x
//!   can then encode it in the instruction itself. `syscall1_noreturn` is exit_group's,
//!   whose argument is a C `int`: it takes an `i32`, as the kernel reads only the register's
//!   low 32 bits, so that no arch need widen it (s390x saves an instruction);
//! - `syscall0_unchecked`, `syscall3_unchecked`: the same instruction for a call whose result
//!   is ignored (write) or that cannot fail (getpid), so that an error needs no turning into
//!   -errno. Only powerpc64 and MIPS have anything to leave out (their errors come back as
//!   positive values and a flag, 8 bytes of code per call to convert); elsewhere they are the
//!   checked calls. There is no checked 3-argument call: pause makes none;
//! - `pause()`: block until a signal is handled (the `pause` syscall, or its equivalent where
//!   the architecture has none);
//! - `SigAction`: `struct sigaction` as this kernel reads it, built by `SigAction::new`,
//!   which also adds the signal-return trampoline where the architecture needs one;
//! - `SIGCHLD` and `SIGSET_SIZE` (the kernel's sigset_t in bytes, rt_sigaction's last
//!   argument): the two signal facts that are not the same everywhere, re-exported from one
//!   of the two tables below, `generic` or `mips`;
//! - `_start`: the ELF entry point, which hands the initial stack pointer to `crate::start`.
//!
//! # Safety
//! The syscall functions and `pause()` are `unsafe` for one reason: the kernel acts on the
//! arguments as the syscall number says, so the caller (`crate::sys`, one wrapper per call)
//! must pass the number and arguments of a call whose memory effects it has checked: every
//! pointer valid for what that call reads or writes.

/// A signal handler as the kernel calls it: the signal number in the first argument register.
pub type Handler = extern "C" fn(i32);

/// The generic signal table's SIGCHLD and sigset size, which every architecture here but
/// MIPS has (alpha, parisc and sparc would differ too).
#[allow(dead_code, reason = "the MIPS builds use `mips`")]
pub mod generic {
    pub const SIGCHLD: i32 = 17;
    /// The kernel's sigset_t is 64 bits (`_NSIG` 64).
    pub const SIGSET_SIZE: usize = 8;
}

/// MIPS's, for o32 and n64 alike: Linux took System V's signal numbers there (the MIPS
/// ABI's, IRIX's), where SIGCHLD comes after SIGUSR1 and SIGUSR2; SIGINT and SIGTERM are
/// the same as everywhere.
#[allow(dead_code, reason = "only the MIPS builds use it")]
pub mod mips {
    pub const SIGCHLD: i32 = 18;
    /// The kernel's sigset_t is 128 bits (`_NSIG` 128).
    pub const SIGSET_SIZE: usize = 16;

    /// The syscall functions and `pause()`, which o32 and n64 share but for two things:
    /// the instruction that negates a register (`negu` on 32 bits, `dnegu` on 64), and the
    /// registers the kernel may clobber besides $2 and $4..$7, which each arch file lists
    /// and says why.
    ///
    /// Number in $2 (v0), arguments from $4 (a0), result in $2. Unlike the generic
    /// convention, an error comes back as a positive errno in $2 with $7 (a3) set to 1 (0
    /// on success): `negu $3, $2; movn $2, $3, $7` folds that into the -errno every other
    /// arch returns (8 bytes; a `wait4 > 0` loop would spin on ECHILD otherwise). The
    /// `_unchecked` calls leave it out, as powerpc64's do.
    #[cfg(any(target_arch = "mips", target_arch = "mips64"))]
    macro_rules! syscalls {
        (negate: $negate:tt; clobbers: $($reg:tt),+) => {
            #[inline(always)]
            pub unsafe fn syscall0<const NR: usize>() -> isize {
                let ret;
                // SAFETY: the caller passes a syscall whose memory effects it has checked.
                unsafe {
                    core::arch::asm!("syscall", $negate, "movn $2, $3, $7",
                        inlateout("$2") NR as isize => ret, lateout("$7") _,
                        $(lateout($reg) _),+, options(nostack, preserves_flags));
                }
                ret
            }

            #[inline(always)]
            pub unsafe fn syscall0_unchecked<const NR: usize>() -> isize {
                let ret;
                // SAFETY: the caller passes a syscall whose memory effects it has checked.
                unsafe {
                    core::arch::asm!("syscall",
                        inlateout("$2") NR as isize => ret, lateout("$7") _,
                        $(lateout($reg) _),+, options(nostack, preserves_flags));
                }
                ret
            }

            #[inline(always)]
            pub unsafe fn syscall1_noreturn<const NR: usize>(a0: i32) -> ! {
                // SAFETY: the caller passes a syscall that does not return (exit_group).
                unsafe {
                    core::arch::asm!("syscall", in("$2") NR, in("$4") a0,
                        options(noreturn, nostack));
                }
            }

            #[inline(always)]
            pub unsafe fn syscall3_unchecked<const NR: usize>(
                a0: usize, a1: usize, a2: usize,
            ) -> isize {
                let ret;
                // SAFETY: the caller passes a syscall whose memory effects it has checked.
                unsafe {
                    core::arch::asm!("syscall",
                        inlateout("$2") NR as isize => ret,
                        in("$4") a0, in("$5") a1, in("$6") a2, lateout("$7") _,
                        $(lateout($reg) _),+, options(nostack, preserves_flags));
                }
                ret
            }

            #[inline(always)]
            pub unsafe fn syscall4<const NR: usize>(
                a0: usize, a1: usize, a2: usize, a3: usize,
            ) -> isize {
                let ret;
                // SAFETY: the caller passes a syscall whose memory effects it has checked.
                unsafe {
                    core::arch::asm!("syscall", $negate, "movn $2, $3, $7",
                        inlateout("$2") NR as isize => ret,
                        in("$4") a0, in("$5") a1, in("$6") a2, inlateout("$7") a3 => _,
                        $(lateout($reg) _),+, options(nostack, preserves_flags));
                }
                ret
            }

            #[inline(always)]
            pub unsafe fn pause() -> isize {
                // SAFETY: pause takes no arguments and touches no memory.
                unsafe { syscall0::<{ nr::PAUSE }>() }
            }
        };
    }
    #[cfg(any(target_arch = "mips", target_arch = "mips64"))]
    pub(crate) use syscalls;
}

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
#[cfg_attr(target_arch = "x86", path = "x86.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
#[cfg_attr(target_arch = "s390x", path = "s390x.rs")]
#[cfg_attr(target_arch = "powerpc64", path = "powerpc64.rs")]
#[cfg_attr(target_arch = "loongarch64", path = "loongarch64.rs")]
#[cfg_attr(target_arch = "mips", path = "mips.rs")]
#[cfg_attr(target_arch = "mips64", path = "mips64.rs")]
mod imp;
pub use imp::*;
