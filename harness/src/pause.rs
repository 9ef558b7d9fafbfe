//! pause and what it prints: every message in one place, and a running pause (natively,
//! under qemu-user, under a tracer or a seccomp filter) with deadline-bounded waits.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, SeccompRule};
use tempfile::TempDir;

use crate::arch::Arch;
use crate::process::{KillOnDrop, poll};
use crate::procfs::{
    exe_is, in_blocking_call, only_child, state_of, voluntary_sleeps, wait_in_blocking_call,
};

/// What pause writes, byte for byte as pause.c does (the version line is ours).
pub const WARNING: &str = "Warning: pause should be the first process\n";
pub const TERMINATED: &str = "Shutting down, got signal: Terminated\n";
pub const INTERRUPT: &str = "Shutting down, got signal: Interrupt\n";
/// pause.c's unreachable ending, reached here when the blocking call itself is refused.
pub const LOOP_TERMINATED: &str = "Error: infinite loop terminated\n";
/// `-v`'s answer: the binary shares the workspace version with the harness.
pub const VERSION_LINE: &str = concat!("pause ", env!("CARGO_PKG_VERSION"), "\n");

/// What a finished pause left.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The tracer's log (see `Pause::trace`); empty when untraced.
    pub trace: String,
}

/// A running pause (or the wrapper that runs it), killed when dropped.
pub struct Pause {
    child: Option<KillOnDrop>,
    /// The process that executes pause's code: pause itself, or qemu running it.
    pub pid: Pid,
    arch: &'static Arch,
    /// Whether a tracer writes each call to `log` as it is entered: qemu, or strace.
    traced: bool,
    log: PathBuf,
    _dir: TempDir,
}

impl Pause {
    /// Starts pause with `args`, stdout and stderr captured.
    pub fn start(arch: &'static Arch, args: &[&str]) -> Pause {
        Self::start_with(arch, args, &[], |_| {})
    }

    /// Starts `wrapper ++ pause-argv`, after `setup` adjusts the command. The wrapper may
    /// exec pause (`sh -c 'exec "$@"'`) or fork it (`unshare --fork`): `pid` is whichever
    /// process runs pause's program.
    pub fn start_with(
        arch: &'static Arch,
        args: &[&str],
        wrapper: &[&str],
        setup: impl FnOnce(&mut Command),
    ) -> Pause {
        let wrapper = |_: &Path| wrapper.iter().map(|s| s.to_string()).collect();
        Self::launch(arch, args, wrapper, false, setup)
    }

    /// Starts pause under a tracer whose log `trace` reads while it runs: qemu's own
    /// -strace for foreign architectures, strace natively (which must be installed).
    pub fn start_traced(arch: &'static Arch, args: &[&str]) -> Pause {
        let strace = |log: &Path| match arch.emulator() {
            Some(_) => vec![],
            None => [
                "strace",
                "-s",
                "256",
                "-o",
                &log.display().to_string(),
                "--",
            ]
            .map(String::from)
            .into(),
        };
        Self::launch(arch, args, strace, true, |_| {})
    }

    /// Starts pause under seccomp `filter` (from `refusing`), installed between fork and
    /// exec. Under qemu the filter sees qemu's host calls, not the guest's.
    pub fn start_filtered(arch: &'static Arch, filter: BpfProgram) -> Pause {
        Self::start_with(arch, &[], &[], |cmd| {
            let apply = move || seccompiler::apply_filter(&filter).map_err(std::io::Error::other);
            // SAFETY: the closure runs between fork and exec and only makes the two syscalls
            // of apply_filter (prctl, seccomp); it allocates only on failure.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(cmd, apply);
            }
        })
    }

    /// `wrapper` gets the path of the log that `trace` reads; `strace` says whether it is a
    /// tracer writing there (qemu always traces into it).
    fn launch(
        arch: &'static Arch,
        args: &[&str],
        wrapper: impl FnOnce(&Path) -> Vec<String>,
        strace: bool,
        setup: impl FnOnce(&mut Command),
    ) -> Pause {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("trace.log");
        let mut argv = wrapper(&log);
        let wrapped = !argv.is_empty();
        argv.extend(arch.argv(&log, args));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        setup(&mut cmd);
        let child = KillOnDrop::spawn(&mut cmd);
        let outer = Pid::from_raw(child.0.id() as i32);
        // spawn returns once the program is exec'd, so unwrapped, pause is `outer`. A wrapper
        // either becomes pause by exec, or has a child that does (strace also forks short-lived
        // probes first, hence the check of what the child runs). A wrapper that has already
        // exited (pause -v is quick) leaves nothing to find: `outer` stands for it.
        let program = arch.executable();
        let pid = match wrapped {
            false => outer,
            true => poll(&format!("{} to start pause", argv[0]), || {
                if exe_is(outer, &program) || state_of(outer).is_none_or(|s| s == 'Z') {
                    return Some(outer);
                }
                only_child(outer).filter(|pid| exe_is(*pid, &program))
            }),
        };
        Pause {
            child: Some(child),
            pid,
            arch,
            traced: strace || arch.emulator().is_some(),
            log,
            _dir: dir,
        }
    }

    /// Waits until pause sleeps in its blocking call: every handler is installed then.
    pub fn wait_blocked(&self) {
        match self.traced {
            true => self.wait_for_call(self.arch.block),
            false => wait_in_blocking_call(self.pid, self.arch),
        }
    }

    /// How many times pause has gone to sleep so far: the tracer's count of its blocking
    /// calls when traced (qemu's own sleeps say nothing of the guest's), else the kernel's
    /// count of its voluntary sleeps. Each pass of pause's loop adds at least one.
    pub fn sleeps(&self) -> u64 {
        match self.traced {
            true => self.calls_to(self.arch.block) as u64,
            false => voluntary_sleeps(self.pid),
        }
    }

    /// Waits, within the deadline, until pause blocks again after `before` (its `sleeps()`
    /// before something woke it): whatever woke it has been handled and the loop went round.
    /// Waiting for "blocked" alone would race: pause is still blocked before the wake-up
    /// reaches it. A pause that exits instead fails here at once.
    pub fn wait_blocked_again(&self, before: u64) {
        poll(
            &format!("pid {} to block in {} again", self.pid, self.arch.block),
            || {
                assert!(
                    state_of(self.pid).is_some_and(|s| s != 'Z'),
                    "pid {} exited instead of blocking again",
                    self.pid
                );
                let again = match self.traced {
                    true => self.sleeps() > before,
                    false => self.sleeps() > before && in_blocking_call(self.pid, self.arch),
                };
                again.then_some(())
            },
        );
    }

    /// How many times the tracer has seen pause enter `call`.
    fn calls_to(&self, call: &str) -> usize {
        trace_calls(&self.trace())
            .iter()
            .filter(|c| *c == call)
            .count()
    }

    /// Waits, within the deadline, until the tracer has seen pause enter `call`.
    pub fn wait_for_call(&self, call: &str) {
        assert!(self.traced, "pause was started without a tracer");
        poll(&format!("pid {} to call {call}", self.pid), || {
            (self.calls_to(call) > 0).then_some(())
        });
    }

    /// The tracer's log so far (see `trace_calls`): qemu's -strace under qemu, strace's when
    /// started with `start_traced`; empty otherwise.
    pub fn trace(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid, sig).unwrap();
    }

    /// Waits, within the deadline, for the process this handle started to exit.
    pub fn wait(mut self) -> Finished {
        let out = self.child.take().unwrap().output("pause to exit");
        Finished {
            status: out.status,
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            trace: self.trace(),
        }
    }

    /// SIGTERM, then waits: pause must exit 0, having written exactly `stderr`.
    pub fn terminate(self, stderr: &str) -> Finished {
        self.signal(Signal::SIGTERM);
        let out = self.wait();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(out.stderr, stderr, "{out:?}");
        out
    }
}

impl Drop for Pause {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            // Under a forking wrapper pause is a grandchild: killing the wrapper would
            // leave it running.
            let _ = kill(self.pid, Signal::SIGKILL);
            drop(child);
        }
    }
}

/// Runs pause with `args` to completion (it must exit by itself).
pub fn run_pause(arch: &'static Arch, args: &[&str]) -> Finished {
    Pause::start(arch, args).wait()
}

/// A seccomp filter for this host under which each call in `rules` fails with EPERM (when
/// one of its rules matches; always, for none) and every other call is allowed.
pub fn refusing(
    rules: impl IntoIterator<Item = (syscalls::Sysno, Vec<SeccompRule>)>,
) -> BpfProgram {
    let rules = rules.into_iter().map(|(call, r)| (call.id().into(), r));
    let arch = std::env::consts::ARCH.try_into().unwrap();
    let errno = SeccompAction::Errno(nix::libc::EPERM as u32);
    let filter = SeccompFilter::new(rules.collect(), SeccompAction::Allow, errno, arch).unwrap();
    filter.try_into().unwrap()
}

/// The names of the system calls in a tracer's log, in order: strace writes
/// `name(args) = result`, qemu `pid name(args) = result`; the last may still be under way.
pub fn trace_calls(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
        .filter_map(|l| Some(l.split('(').next()?.rsplit(' ').next()?.to_string()))
        .collect()
}
