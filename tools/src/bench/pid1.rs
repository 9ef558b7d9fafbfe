//! The measurements of a peer as PID 1 of its own PID namespace: reaping orphans, then SIGTERM.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe2};

use super::figures::{Pid1Figures, Stats};
use super::peers::{Peer, which};
use super::plan::{ORPHANS, PID1_TERM_LIMIT, REAP_LIMIT, REAP_ROUNDS};
use super::process::{
    Running, Spawner, argv, children, exe_is, gone, only_child, poll_until, wait_idle,
};

/// The peer as PID 1 of a new PID namespace: reaping rounds, then SIGTERM.
pub(super) fn as_pid1(spawner: &Spawner, peer: &Peer) -> Result<Pid1Figures> {
    let unshare = which("unshare")?;
    let mut wrapped = argv(&unshare, &["--pid", "--fork", "--kill-child"]);
    wrapped.extend(peer.idle.iter().cloned());
    let mut namespace = spawner.spawn(&wrapped)?;
    let init = poll_until("unshare to fork the peer", || {
        only_child(namespace.pid).filter(|&p| exe_is(p, &peer.exe))
    })?;
    wait_idle(init, peer.block, peer.supervises)?;

    let mut times = Vec::new();
    let mut reaped = Ok(());
    for _ in 0..REAP_ROUNDS {
        match reap_round(init)? {
            Ok(time) => times.push(time),
            Err(left) => {
                reaped = Err(left);
                break;
            }
        }
    }
    kill(init, Signal::SIGTERM)?;
    let ends_on_sigterm = namespace.try_wait(PID1_TERM_LIMIT)?.is_some();
    Ok(Pid1Figures {
        reaped: reaped.map(|()| Stats::of(times)),
        ends_on_sigterm,
    })
}

/// Orphans `ORPHANS` processes to `init` and times their reaping after releasing them: the
/// time, or how many were still there after `REAP_LIMIT`.
fn reap_round(init: Pid) -> Result<std::result::Result<Duration, usize>> {
    let before = children(init);
    let (release_read, release_write) = pipe2(OFlag::O_CLOEXEC)?;
    make_orphans(init, &release_read)?;
    let orphans: Vec<Pid> = children(init)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    ensure!(
        orphans.len() == ORPHANS,
        "{} orphans reached PID 1, not {ORPHANS}",
        orphans.len()
    );

    let mut release = File::from(release_write);
    let start = Instant::now();
    release.write_all(&[b'\n'; ORPHANS])?;
    let mut left = orphans.as_slice();
    while let Some((&orphan, rest)) = left.split_first() {
        if gone(orphan, init) {
            left = rest;
        } else if start.elapsed() > REAP_LIMIT {
            return Ok(Err(left.iter().filter(|&&p| !gone(p, init)).count()));
        } else {
            sleep(Duration::from_millis(1));
        }
    }
    Ok(Ok(start.elapsed()))
}

/// Makes `ORPHANS` processes in `init`'s PID namespace, each blocked reading one byte from
/// `release`, whose parent has exited, so that the kernel has re-parented them to `init`.
fn make_orphans(init: Pid, release: &OwnedFd) -> Result<()> {
    let namespace = File::open(format!("/proc/{init}/ns/pid"))?;
    // SAFETY: fork is sound in a single-threaded process, and the bench never starts a
    // thread; the child only makes system calls and leaves through _exit.
    match unsafe { fork() }? {
        ForkResult::Child => {
            let made = orphan_parent(&namespace, release).is_ok();
            // SAFETY: _exit ends this copy without running the parent's exit handlers.
            unsafe { libc::_exit(if made { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => {
            let status = Running::adopt(child)?.wait("the orphan maker")?;
            ensure!(
                status == WaitStatus::Exited(child, 0),
                "making {ORPHANS} orphans failed: {status:?}"
            );
            Ok(())
        }
    }
}

/// In a forked child: makes, inside `namespace`, the parent of the orphans, which forks
/// them and exits. Only processes forked after setns are in the namespace, and only one
/// inside it leaves its orphans to the namespace's init (ours would go to the bench, a
/// subreaper).
fn orphan_parent(namespace: &File, release: &OwnedFd) -> nix::Result<()> {
    setns(namespace, CloneFlags::CLONE_NEWPID)?;
    // SAFETY: as in make_orphans: this process has one thread and only makes system calls.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => match waitpid(child, None)? {
            WaitStatus::Exited(_, 0) => Ok(()),
            _ => Err(Errno::EAGAIN), // one of its forks failed
        },
        ForkResult::Child => {
            for _ in 0..ORPHANS {
                // SAFETY: as above.
                match unsafe { fork() } {
                    Ok(ForkResult::Child) => {
                        let _ = nix::unistd::read(release, &mut [0]);
                        // SAFETY: as above.
                        unsafe { libc::_exit(0) }
                    }
                    Ok(ForkResult::Parent { .. }) => {}
                    // SAFETY: as above.
                    Err(_) => unsafe { libc::_exit(1) },
                }
            }
            // SAFETY: as above.
            unsafe { libc::_exit(0) }
        }
    }
}
