//! pause: the infra process of a Kubernetes pod.
//!
//! It holds the pod's namespaces by sleeping as PID 1, reaps the zombies re-parented to it,
//! and exits 0 on SIGINT or SIGTERM. This is Kubernetes' `build/pause/linux/pause.c`, line
//! for line, without a libc: `sys` is the handful of system calls it makes, `arch` the
//! machine code under them.
#![no_std]
#![no_main]
// `asm!` for the architectures where it is still unstable; linker/cargo.toml sets the cfg for
// those builds alone (see arch/mips.rs).
#![cfg_attr(pause_asm_experimental_arch, feature(asm_experimental_arch))]

// Plain cargo (`cargo run -p pause`) links for the host's C toolchain, which this freestanding
// binary cannot use: say what to run instead of failing later in the linker.
#[cfg(not(pause_linker_config))]
compile_error!(
    "pause needs linker/cargo.toml: `./run` runs it, `just dist` builds every arch, `just test` tests it"
);

#[path = "../arch/mod.rs"]
mod arch;
mod sys;

use sys::{SA_NOCLDSTOP, SIGCHLD, SIGINT, SIGTERM, SigAction};

const VERSION: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"), "\n");

/// The messages psignal(signo, "Shutting down, got signal") prints for the two signals routed
/// to `sigdown`, end to end: SIGINT's, then SIGTERM's, one byte longer.
const SHUTDOWN: &[u8] =
    b"Shutting down, got signal: Interrupt\nShutting down, got signal: Terminated\n";
const INTERRUPT_LEN: usize = 37;
const _: () = assert!(SHUTDOWN.len() == 2 * INTERRUPT_LEN + 1);
// `signo >> 3` tells the two apart: a shift where a comparison and a choice of two addresses
// and lengths would take more code on every architecture.
const _: () = assert!(SIGINT >> 3 == 0 && SIGTERM >> 3 == 1);

#[inline(always)]
fn sigdown(signo: i32) -> ! {
    let term = (signo >> 3) as usize & 1;
    sys::write(
        2,
        &SHUTDOWN[term * INTERRUPT_LEN..(term + 1) * INTERRUPT_LEN + term],
    );
    sys::exit(0)
}

#[inline(always)]
fn sigreap() {
    // One SIGCHLD may stand for many children: collect every zombie there is.
    while sys::reap() > 0 {}
}

/// pause.c's two handlers behind one entry point, so that the three signals share one
/// `struct sigaction` (SA_NOCLDSTOP only ever affects SIGCHLD). Both are inlined into it.
extern "C" fn on_signal(signo: i32) {
    if signo == SIGCHLD {
        sigreap()
    } else {
        sigdown(signo)
    }
}

// Inlined into `start`: a separate function would only add a call and a return.
#[inline(always)]
fn main(args: impl Iterator<Item = *const u8>) -> i32 {
    if args.skip(1).any(is_version_flag) {
        sys::write(1, VERSION.as_bytes());
        return 0;
    }

    if sys::getpid() != 1 {
        // Not an error because pause sees use outside of infra containers.
        sys::write(2, b"Warning: pause should be the first process\n");
    }

    // pause.c's three sigaction calls, which exit 1, 2 and 3 when refused. The struct is
    // built on the stack because storing its fields takes less code on most architectures
    // than the file takes to hold it; the signal numbers are bytes (all are below 256), a
    // 3-byte table rather than a 12-byte one.
    let action = SigAction::new(on_signal, SA_NOCLDSTOP);
    for (code, &signo) in (1..).zip(&[SIGINT as u8, SIGTERM as u8, SIGCHLD as u8]) {
        if sys::sigaction(signo.into(), &action) < 0 {
            return code;
        }
    }

    // A handled signal ends each wait with EINTR. Any other result means the blocking call
    // itself is refused (a seccomp profile, say): retrying would spin at full CPU, so end the
    // loop as pause.c would if it ever could.
    while sys::pause() == -sys::EINTR {}
    sys::write(2, b"Error: infinite loop terminated\n");
    42
}

/// `strcasecmp(arg, "-v") == 0` for a NUL-terminated `arg`.
fn is_version_flag(arg: *const u8) -> bool {
    // SAFETY: `arg` is one of the argv strings the kernel placed on the stack, NUL-terminated;
    // `&&` stops at the first byte that differs, so no byte after the NUL is read.
    unsafe { *arg == b'-' && (*arg.add(1) | 0x20) == b'v' && *arg.add(2) == 0 }
}

/// Entered from `arch::_start` with the initial stack pointer, where the kernel put argc
/// followed by argv, its pointers ended by a NULL.
///
/// # Safety
/// `sp` must be the stack pointer as the kernel left it at process entry.
unsafe extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: per the ELF process-entry ABI, argv follows argc, live for the whole life of
    // the process.
    let mut argv = unsafe { sp.add(1) }.cast::<*const u8>();
    // argv up to its NULL rather than argc pointers: argc is then never needed. With argc 0,
    // argv[0] is that NULL already, and the walk yields nothing at all.
    let args = core::iter::from_fn(move || {
        // SAFETY: `argv` only moves past a non-NULL entry, so it stays within argv, at its
        // NULL at the furthest; and it stays there, so reading again reads the NULL again.
        let arg = unsafe { *argv };
        if arg.is_null() {
            return None;
        }
        // SAFETY: `arg` was not argv's NULL, so an entry (the NULL at least) follows it.
        argv = unsafe { argv.add(1) };
        Some(arg)
    });
    sys::exit(main(args))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // No code path panics (the tests check the binary holds no panic machinery); should one
    // appear, exit as a Rust panic would rather than hang.
    sys::exit(101)
}
