//! The system calls pause makes, over `arch`'s raw syscall instructions. The signal numbers,
//! flags and errno values below are the same on every architecture pause supports; SIGCHLD
//! and the size of the kernel's sigset_t, which rt_sigaction wants exactly, are not (MIPS
//! has its own), so `arch` gives those.

use crate::arch::{self, SIGSET_SIZE, nr};
pub use arch::{SIGCHLD, SigAction};

pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;
pub const SA_NOCLDSTOP: usize = 1;
pub const EINTR: isize = 4;
const WNOHANG: usize = 1;

/// write(2). The result is ignored on purpose: a closed or full stderr changes nothing else.
pub fn write(fd: usize, buf: &[u8]) {
    // SAFETY: the kernel reads at most `buf.len()` bytes from a live slice and writes nothing.
    unsafe { arch::syscall3_unchecked::<{ nr::WRITE }>(fd, buf.as_ptr() as usize, buf.len()) };
}

/// getpid(2), which cannot fail: its result needs no error check.
pub fn getpid() -> isize {
    // SAFETY: getpid takes no arguments and touches no memory.
    unsafe { arch::syscall0_unchecked::<{ nr::GETPID }>() }
}

/// rt_sigaction(signo, act, NULL); negative errno on failure.
pub fn sigaction(signo: i32, act: &SigAction) -> isize {
    let act = core::ptr::from_ref(act) as usize;
    // SAFETY: `act` is a live struct in the layout arch/ gives for this kernel; the old
    // action is not asked for, so the kernel writes no memory.
    unsafe { arch::syscall4::<{ nr::RT_SIGACTION }>(signo as usize, act, 0, SIGSET_SIZE) }
}

/// wait4(-1, NULL, WNOHANG, NULL): the pid of one reaped child, 0 when none is ready, or
/// negative errno (ECHILD when there is no child at all).
pub fn reap() -> isize {
    // SAFETY: with NULL status and rusage pointers the kernel writes no memory.
    unsafe { arch::syscall4::<{ nr::WAIT4 }>(-1isize as usize, 0, WNOHANG, 0) }
}

/// Sleep until a signal is handled; returns -EINTR then, or another negative errno if the
/// call is refused.
pub fn pause() -> isize {
    // SAFETY: the blocking call arch/ uses passes no memory to the kernel.
    unsafe { arch::pause() }
}

pub fn exit(code: i32) -> ! {
    // SAFETY: exit_group ends the process; nothing after it runs.
    unsafe { arch::syscall1_noreturn::<{ nr::EXIT_GROUP }>(code) }
}
