//! mips64le (n64, MIPS64r2 little-endian; built for `mips64el-unknown-linux-gnuabi64`, whose
//! core rustup cannot fetch here: `just dist` builds it from rust-src).
//!
//! Syscalls: `syscall`, number in $2 (v0, n64 numbers start at 5000), arguments in $4..$11
//! (a0..a7), result in $2, an error as a positive errno with $7 (a3) set, as on o32: the
//! calls are MIPS's (arch/mod.rs's `mips::syscalls`), with `dnegu` for the fold.
//! The kernel clobbers $3 (v1), $10..$15 (a6, a7, t0..t3) and $24..$25 (t8, t9), and $7
//! with its flag: a 64-bit kernel's syscall entry saves only $8 and $9 of the temporaries
//! (`SAVE_SOME` in arch/mips/include/asm/stackframe.h; a loop counter kept in $10 came back
//! as garbage on Debian's kernel, where qemu-user kept it). Also $1 (at), which rustc reserves
//! for the assembler, and hi/lo, which rustc cannot name and LLVM keeps nothing in across an
//! `asm!`.
//!
//! Signals: as on o32, arch/mod.rs's `mips` table gives SIGCHLD and the sigset size, and
//! `struct sigaction` is the flags (a 32-bit `unsigned int`, padded to 8), the handler
//! and the mask, with no restorer: the kernel returns from a handler through the vDSO's
//! rt_sigreturn: no trampoline here.
//!
//! `asm!` on MIPS is behind `asm_experimental_arch` (see arch/mips.rs).
//!
//! Entry: $29 (sp) points at argc, argv..., 16-byte aligned. n64 has no argument save area
//! for callees, so `_start` hands sp over unchanged. The code is static (`-C
//! relocation-model=static`): no $gp or $t9 is needed, and each address is n64's full 64-bit
//! sequence of six instructions (the README's size notes say why not LLVM's `+sym32`).

use core::arch::naked_asm;

pub mod nr {
    pub const WRITE: usize = 5001;
    pub const RT_SIGACTION: usize = 5013;
    pub const PAUSE: usize = 5033;
    pub const GETPID: usize = 5038;
    pub const WAIT4: usize = 5059;
    pub const EXIT_GROUP: usize = 5205;
}

pub use super::mips::{SIGCHLD, SIGSET_SIZE};

// The syscall functions and pause(), with 64-bit negation and the clobbers above.
super::mips::syscalls!(negate: "dnegu $3, $2";
                       clobbers: "$3", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "$25");

/// The kernel's `struct sigaction` (32 bytes): the 32-bit flags padded to the handler at 8,
/// then the 128-bit mask at 16.
#[repr(C)]
pub struct SigAction {
    flags: u32,
    handler: super::Handler,
    mask: [u64; 2],
}

const _: () = assert!(size_of::<SigAction>() == 32);

impl SigAction {
    pub const fn new(handler: super::Handler, flags: usize) -> Self {
        Self {
            flags: flags as u32,
            handler,
            mask: [0; 2],
        }
    }
}

/// The ELF entry point.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        ".set noreorder", // the delay slot below is filled by hand
        "j {start}",      // start never returns, so no return address is needed
        "move $4, $29",   // (delay slot) start(sp): argc and argv are at the stack pointer
        ".set reorder",
        start = sym crate::start,
    )
}
