//! pause as PID 1 of a pod: fresh namespaces, and orphans for it to reap.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::unistd::Pid;
use tempfile::TempDir;

use crate::arch::Arch;
use crate::pause::Pause;
use crate::process::{DEADLINE, finish, poll, poll_for};
use crate::procfs::children;
use crate::skip::{have, privileged};

/// Fresh PID, network, IPC and UTS namespaces, as in a pod, with /proc to match.
const POD: &[&str] = &[
    "unshare",
    "--pid",
    "--net",
    "--ipc",
    "--uts",
    "--fork",
    "--mount-proc",
];

/// Whether `Pause::start_pod` can run here: root, unshare, and the arch (see `available`).
pub fn can_run_pod(arch: &Arch) -> bool {
    privileged("to create namespaces") && have("unshare", "to create namespaces") && arch.runnable()
}

/// Whether `Orphans::make` can run here too: `can_run_pod`, and nsenter.
pub fn can_enter_pod(arch: &Arch) -> bool {
    can_run_pod(arch) && have("nsenter", "to enter the pod's PID namespace")
}

impl Pause {
    /// Starts pause as PID 1 of a pod of its own (check `can_run_pod` first).
    pub fn start_pod(arch: &'static Arch) -> Pause {
        Self::start_with(arch, &[], POD, |_| {})
    }
}

/// A FIFO made at `path` and held open here for reading and writing: opening it elsewhere
/// never blocks, and no line written is lost before a reader has it open.
pub fn held_fifo(path: &Path) -> File {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap();
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap()
}

/// `n` processes orphaned to pause, each blocked reading one line from a `held_fifo`.
/// Dropping this closes it: an orphan still waiting then reads EOF and exits.
pub struct Orphans {
    release: File,
    n: usize,
    parent: Pid,
    _dir: Option<TempDir>,
}

impl Orphans {
    /// Made by `nsenter` (which must be installed) in the PID namespace of `pause`, started
    /// with `Pause::start_pod`.
    pub fn make(pause: &Pause, n: usize) -> Orphans {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("release");
        let release = held_fifo(&fifo);
        let mut orphans = Orphans::adopt(pause.pid, n, release, |script| {
            let status = finish(
                Command::new("nsenter")
                    .args(["--target", &pause.pid.to_string(), "--pid", "--"])
                    .args(["sh", "-c", script, "sh"])
                    .arg(&fifo),
                "the orphan maker to exit",
            );
            assert!(status.success(), "orphan maker: {status}");
        });
        orphans._dir = Some(dir);
        orphans
    }

    /// Made by `make`, which runs `script` as `sh -c SCRIPT sh FIFO`, FIFO being where
    /// `release` (a `held_fifo`) is seen there. Once they are `n`, all of them children of
    /// `parent` (pause), they are its orphans.
    pub fn adopt(parent: Pid, n: usize, release: File, make: impl FnOnce(&str)) -> Orphans {
        // Each reader runs in the background; the shell then exits and leaves them to the
        // kernel, which re-parents them to the PID namespace's init.
        make(&format!(
            "i=0; while [ $i -lt {n} ]; do read _ < \"$1\" & i=$((i+1)); done"
        ));
        poll("the orphans to be re-parented to pause", || {
            (children(parent).len() == n).then_some(())
        });
        Orphans {
            release,
            n,
            parent,
            _dir: None,
        }
    }

    /// One line each: they all exit at once.
    pub fn release(&mut self) {
        self.release.write_all(&vec![b'\n'; self.n]).unwrap();
    }

    /// One line each for all but one, which stays, as a daemon in a pod does.
    pub fn release_all_but_one(&mut self) {
        self.release.write_all(&vec![b'\n'; self.n - 1]).unwrap();
    }

    /// Waits, within the deadline, until pause has reaped every one of them.
    pub fn wait_reaped(&self) {
        self.wait_left(0);
    }

    /// Waits until pause has reaped all but `left` of them: within the deadline, plus 4 ms an
    /// orphan, since under qemu-user each exit and its SIGCHLD go through the emulator and
    /// thousands of them take longer than the deadline on a busy machine.
    pub fn wait_left(&self, left: usize) {
        let limit = DEADLINE + Duration::from_millis(4) * self.n as u32;
        let reaped = poll_for(limit, || {
            (children(self.parent).len() == left).then_some(())
        });
        assert!(
            reaped.is_some(),
            "timed out after {limit:?} waiting for pause to reap all orphans but {left}"
        );
    }
}
