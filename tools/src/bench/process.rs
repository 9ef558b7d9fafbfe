//! Process and /proc plumbing: spawning, waiting with deadlines, process trees, blocked calls.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{self, File};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawn};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{PidfdFlags, pidfd_open};

use super::plan::DEADLINE;

/// posix_spawn with stdio on /dev/null, an empty environment and default signal handling:
/// the cheapest honest way to start a program, so that the floor is low.
pub(super) struct Spawner {
    actions: PosixSpawnFileActions,
    attr: PosixSpawnAttr,
    _devnull: File,
}

impl Spawner {
    pub(super) fn new() -> Result<Spawner> {
        let devnull = File::options().read(true).write(true).open("/dev/null")?;
        let mut actions = PosixSpawnFileActions::init()?;
        for fd in 0..=2 {
            actions.add_dup2(devnull.as_raw_fd(), fd)?;
        }
        let mut attr = PosixSpawnAttr::init()?;
        // Rust ignores SIGPIPE in its own process, and ignored signals survive exec.
        let mut sigpipe = SigSet::empty();
        sigpipe.add(Signal::SIGPIPE);
        attr.set_sigdefault(&sigpipe)?;
        attr.set_flags(PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF)?;
        Ok(Spawner {
            actions,
            attr,
            _devnull: devnull,
        })
    }

    pub(super) fn spawn(&self, argv: &[CString]) -> Result<Running> {
        let no_env: &[CString] = &[];
        let pid = posix_spawn(argv[0].as_c_str(), &self.actions, &self.attr, argv, no_env)
            .with_context(|| format!("spawning {argv:?}"))?;
        Running::adopt(pid)
    }
}

/// A child of the bench, and everything under it: killed and reaped when dropped unless it
/// was waited for, so nothing outlives a failed run.
pub(super) struct Running {
    pub(super) pid: Pid,
    pidfd: OwnedFd,
    reaped: bool,
}

impl Running {
    pub(super) fn adopt(pid: Pid) -> Result<Running> {
        let raw = rustix::process::Pid::from_raw(pid.as_raw()).context("pid 0")?;
        let pidfd = match pidfd_open(raw, PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                bail!("pidfd_open({pid}): {e}");
            }
        };
        Ok(Running {
            pid,
            pidfd,
            reaped: false,
        })
    }

    /// Its status once it exits within `limit`; None if it is still running then.
    pub(super) fn try_wait(&mut self, limit: Duration) -> Result<Option<WaitStatus>> {
        let timeout = Timespec::try_from(limit)?;
        let mut fds = [PollFd::new(&self.pidfd, PollFlags::IN)];
        if poll(&mut fds, Some(&timeout))? == 0 {
            return Ok(None);
        }
        let status = waitpid(self.pid, None)?;
        self.reaped = true;
        Ok(Some(status))
    }

    pub(super) fn wait(&mut self, what: &str) -> Result<WaitStatus> {
        self.try_wait(DEADLINE)?
            .with_context(|| format!("{what} (pid {}) still runs after {DEADLINE:?}", self.pid))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            // Listed before the kill: once it is dead its children are no longer its.
            let tree = descendants(self.pid);
            let _ = kill(self.pid, Signal::SIGKILL);
            for pid in tree {
                let _ = kill(pid, Signal::SIGKILL);
            }
            let _ = waitpid(self.pid, None);
        }
    }
}

/// Reaps what was re-parented to the bench (it is a subreaper), until none is left.
pub(super) fn reap_strays() {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => sleep(Duration::from_millis(1)),
            Ok(_) => {}
            Err(_) => return, // ECHILD: no child at all
        }
    }
}

/// Polls `done` until it returns `Some`, for at most `DEADLINE`.
pub(super) fn poll_until<T>(what: &str, mut done: impl FnMut() -> Option<T>) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = done() {
            return Ok(v);
        }
        ensure!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        sleep(Duration::from_micros(100));
    }
}

/// Waits until `pid` sits in the system call `name`.
pub(super) fn wait_blocked(pid: Pid, name: &str) -> Result<()> {
    let nr = syscall_nr(name)?.to_string();
    let file = format!("/proc/{pid}/syscall");
    poll_until(&format!("pid {pid} to block in {name}"), || {
        let now = fs::read_to_string(&file).unwrap_or_default();
        // Asleep in the call ('S'), not merely stopped at its entry ('t'): under strace the
        // number shows from the entry stop on, before strace has logged the call.
        let asleep = procfs::process::Process::new(pid.as_raw())
            .and_then(|p| p.stat())
            .is_ok_and(|stat| stat.state == 'S');
        (asleep && now.split(' ').next() == Some(nr.as_str())).then_some(())
    })
}

/// Waits until a peer blocked in `block`, and the program it supervises if it `supervises`
/// one, are blocked.
pub(super) fn wait_idle(pid: Pid, block: &str, supervises: bool) -> Result<()> {
    wait_blocked(pid, block)?;
    if supervises {
        let child = poll_until("the supervised sleep to start", || only_child(pid))?;
        // Until it has exec'd sleep, the child is still a copy of the peer.
        poll_until("the supervised child to exec sleep", || {
            exe_name(child).filter(|n| n == "sleep")
        })?;
        wait_blocked(child, "pause")?;
    }
    Ok(())
}

/// The (pid, ppid) of every process.
fn process_table() -> Vec<(Pid, Pid)> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(|p| p.ok()?.stat().ok())
        .map(|s| (Pid::from_raw(s.pid), Pid::from_raw(s.ppid)))
        .collect()
}

pub(super) fn children(parent: Pid) -> Vec<Pid> {
    process_table()
        .into_iter()
        .filter(|&(_, ppid)| ppid == parent)
        .map(|(pid, _)| pid)
        .collect()
}

pub(super) fn only_child(parent: Pid) -> Option<Pid> {
    match children(parent)[..] {
        [child] => Some(child),
        _ => None,
    }
}

pub(super) fn descendants(root: Pid) -> Vec<Pid> {
    let mut by_parent: HashMap<Pid, Vec<Pid>> = HashMap::new();
    for (pid, ppid) in process_table() {
        by_parent.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut next = vec![root];
    while let Some(pid) = next.pop() {
        let kids = by_parent.remove(&pid).unwrap_or_default();
        found.extend(&kids);
        next.extend(kids);
    }
    found
}

/// Whether `pid` is reaped: no /proc entry, or one that is a new process's (pid reused).
pub(super) fn gone(pid: Pid, parent: Pid) -> bool {
    procfs::process::Process::new(pid.as_raw())
        .and_then(|p| p.stat())
        .map_or(true, |s| s.ppid != parent.as_raw())
}

/// The file `pid` runs, by name (`comm` is truncated and set by exec).
fn exe_name(pid: Pid) -> Option<String> {
    let exe = fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    Some(exe.file_name()?.to_string_lossy().into_owned())
}

/// Whether `pid` has exec'd `exe` (and is no longer the wrapper that forked it).
pub(super) fn exe_is(pid: Pid, exe: &Path) -> bool {
    fs::canonicalize(exe)
        .is_ok_and(|exe| fs::read_link(format!("/proc/{pid}/exe")).ok() == Some(exe))
}

/// What a process's memory costs, in kB.
#[derive(Clone, Copy)]
pub(super) struct Memory {
    pub(super) rss_kb: u64,
    pub(super) pss_kb: u64,
    /// Its page tables (VmPTE): kernel memory, not in VmRSS.
    pub(super) pte_kb: u64,
}

pub(super) fn memory_kb(pid: Pid) -> Result<Memory> {
    let process = procfs::process::Process::new(pid.as_raw())?;
    let status = process.status()?;
    let rollup = process.smaps_rollup()?.memory_map_rollup;
    let pss = rollup
        .0
        .first()
        .and_then(|map| map.extension.map.get("Pss"))
        .context("no Pss in smaps_rollup")?;
    Ok(Memory {
        rss_kb: status.vmrss.context("no VmRSS")?,
        pss_kb: pss / 1024,
        pte_kb: status.vmpte.context("no VmPTE")?,
    })
}

/// The argv that runs `exe` with `args`.
pub(super) fn argv(exe: &Path, args: &[&str]) -> Vec<CString> {
    let mut argv = vec![CString::new(exe.as_os_str().as_bytes()).expect("a path has no NUL")];
    argv.extend(args.iter().map(|a| CString::new(*a).expect("no NUL")));
    argv
}

fn syscall_nr(name: &str) -> Result<i64> {
    let sysno: syscalls::x86_64::Sysno = name
        .parse()
        .map_err(|_| anyhow::anyhow!("no x86_64 syscall named {name}"))?;
    Ok(sysno.id().into())
}
