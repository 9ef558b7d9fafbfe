//! pause: the infra process of a Kubernetes pod.
//!
//! It holds the pod's namespaces by sleeping as PID 1, reaps the zombies re-parented to it,
//! and exits 0 on SIGINT or SIGTERM. This is Kubernetes' `build/pause/linux/pause.c`, line
//! for line, without a libc: `sys` is the handful of system calls it makes, `arch` the
//! machine code under them.
#![no_std]
#![no_main]

#[path = "../arch/mod.rs"]
mod arch;
mod sys;

use sys::{SA_NOCLDSTOP, SIGCHLD, SIGINT, SIGTERM, SigAction};

const VERSION: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"), "\n");

#[inline(always)]
fn sigdown(signo: i32) -> ! {
    // psignal(signo, "Shutting down, got signal"), for the two signals routed here.
    let msg: &[u8] = if signo == SIGINT {
        b"Shutting down, got signal: Interrupt\n"
    } else {
        b"Shutting down, got signal: Terminated\n"
    };
    sys::write(2, msg);
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

static ACTION: SigAction = SigAction::new(on_signal, SA_NOCLDSTOP);

// Inlined into `start`: a separate function would only add a call and a return.
#[inline(always)]
fn main(args: Args) -> i32 {
    if args.skip(1).any(is_version_flag) {
        sys::write(1, VERSION.as_bytes());
        return 0;
    }

    if sys::getpid() != 1 {
        // Not an error because pause sees use outside of infra containers.
        sys::write(2, b"Warning: pause should be the first process\n");
    }

    if sys::sigaction(SIGINT, &ACTION) < 0 {
        return 1;
    }
    if sys::sigaction(SIGTERM, &ACTION) < 0 {
        return 2;
    }
    if sys::sigaction(SIGCHLD, &ACTION) < 0 {
        return 3;
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

/// argv, walked to the NULL that ends it: no count is needed (argc == 0 is argv = {NULL}).
struct Args(*const *const u8);

impl Iterator for Args {
    type Item = *const u8;

    fn next(&mut self) -> Option<*const u8> {
        // SAFETY: `Args` starts at argv[0] and stops at the NULL the kernel ends argv with,
        // so it reads only argv[0..=argc], live for the whole life of the process.
        let arg = unsafe { *self.0 };
        if arg.is_null() {
            return None;
        }
        // SAFETY: `arg` was not that NULL, so argv goes on at least one more entry.
        self.0 = unsafe { self.0.add(1) };
        Some(arg)
    }
}

/// Entered from `arch::_start` with the initial stack pointer, where the kernel put argc,
/// then argv ending in a NULL pointer.
///
/// # Safety
/// `sp` must be the stack pointer as the kernel left it at process entry.
unsafe extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: per the ELF process-entry ABI, argv starts one word above `sp`.
    let argv = unsafe { sp.add(1).cast::<*const u8>() };
    sys::exit(main(Args(argv)))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // No code path panics (the tests check the binary holds no panic machinery); should one
    // appear, exit as a Rust panic would rather than hang.
    sys::exit(101)
}
