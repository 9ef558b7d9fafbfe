//! mipsle (o32, MIPS32r2 little-endian; built for `mipsel-unknown-linux-gnu`, whose core
//! rustup cannot fetch here: `just dist` builds it from rust-src). MIPS32r2 is what the 24Kc,
//! 74Kc and 1004Kc cores of OpenWrt-class routers run; pause uses no floating point.
//!
//! Syscalls: `syscall`, number in $2 (v0, o32 numbers start at 4000), arguments in $4..$7
//! (a0..a3), result in $2, an error as a positive errno with $7 (a3) set: the calls and
//! their error fold are MIPS's, shared with n64 (arch/mod.rs's `mips::syscalls`). The
//! kernel clobbers $3 (v1), $8..$15 and $24..$25 (t0..t9), and $7 with its flag (nolibc's
//! list; a 32-bit kernel's syscall entry saves none of the temporaries, `SAVE_SOME`);
//! also $1 (at), which rustc reserves for the assembler, and hi/lo, which rustc cannot name
//! and LLVM keeps nothing in across an `asm!`. o32 passes a fifth argument on the stack:
//! pause makes no such call, so no call here lends the kernel stack space for one.
//!
//! Signals: MIPS numbers them its own way and its sigset is wider, which rt_sigaction wants
//! as its size: SIGCHLD and the size are arch/mod.rs's `mips` table. `struct sigaction`
//! starts with its flags (a 32-bit `unsigned int`), then the handler, then the mask; there
//! is no restorer field and no SA_RESTORER: the kernel returns from a handler through its
//! own trampoline, the vDSO's sigreturn: no trampoline here.
//!
//! `asm!` on MIPS is still behind `asm_experimental_arch`, a nightly feature that this build
//! reaches with `RUSTC_BOOTSTRAP=1`, as it does core from rust-src; linker/cargo.toml turns
//! it on for the MIPS targets alone (`pause_asm_experimental_arch`).
//!
//! Entry: $29 (sp) points at argc, argv..., 8-byte aligned (the kernel aligns it to 16).
//! An o32 caller lends every callee 16 bytes at 0($sp) to save $4..$7 in: `_start` must not
//! lend it argc and argv, so it moves sp below them first. The code is static (`-C
//! relocation-model=static`): addresses are `lui`/`addiu` pairs, no $gp or $t9 is needed.

use core::arch::naked_asm;

pub mod nr {
    pub const WRITE: usize = 4004;
    pub const GETPID: usize = 4020;
    pub const PAUSE: usize = 4029;
    pub const WAIT4: usize = 4114;
    pub const RT_SIGACTION: usize = 4194;
    pub const EXIT_GROUP: usize = 4246;
}

pub use super::mips::{SIGCHLD, SIGSET_SIZE};

// The syscall functions and pause(), with 32-bit negation and the clobbers above.
super::mips::syscalls!(negate: "negu $3, $2";
                       clobbers: "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
                                 "$24", "$25");

/// The kernel's `struct sigaction` (24 bytes): flags first, then the handler and the
/// 128-bit mask.
#[repr(C)]
pub struct SigAction {
    flags: u32,
    handler: super::Handler,
    mask: [u32; 4],
}

const _: () = assert!(size_of::<SigAction>() == 24);

impl SigAction {
    pub const fn new(handler: super::Handler, flags: usize) -> Self {
        Self {
            flags: flags as u32,
            handler,
            mask: [0; 4],
        }
    }
}

/// The ELF entry point.
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        ".set noreorder",      // the delay slot below is filled by hand
        "move $4, $29",        // start(sp): argc and argv are at the stack pointer
        "j {start}",           // start never returns, so no return address is needed
        "addiu $29, $29, -16", // (delay slot) start's o32 argument save area, below argc
        ".set reorder",
        start = sym crate::start,
    )
}
