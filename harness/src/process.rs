//! Processes and deadlines: every wait in the suite is a poll bounded by one deadline, and
//! every child is killed and reaped with its test.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long any single wait in the suite may take before it counts as a hang.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How long one clean build of pause for one target may take: minutes where core is built
/// from source, not the seconds `DEADLINE` allows a wait.
pub const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// Polls `done` until it returns `Some` or the deadline passes, which fails the test.
pub fn poll<T>(what: &str, done: impl FnMut() -> Option<T>) -> T {
    poll_for(DEADLINE, done)
        .unwrap_or_else(|| panic!("timed out after {DEADLINE:?} waiting for {what}"))
}

/// Polls `done` until it returns `Some`, or gives `None` after `limit`: for teardown,
/// which must not panic and goes on to a harder measure instead.
pub fn poll_for<T>(limit: Duration, mut done: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = done() {
            return Some(v);
        }
        if start.elapsed() >= limit {
            return None;
        }
        sleep(Duration::from_millis(5));
    }
}

/// A child process, killed and reaped when dropped, so that a hung one does not outlive its
/// test.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    pub fn spawn(cmd: &mut Command) -> KillOnDrop {
        KillOnDrop(cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}")))
    }

    /// Waits, within the deadline, for it to exit.
    pub fn wait(&mut self, what: &str) -> ExitStatus {
        poll(what, || self.0.try_wait().unwrap())
    }

    /// Waits, within the deadline, for it to exit, then collects what it printed: a few
    /// lines at most, which its pipes hold until then.
    pub fn output(mut self, what: &str) -> std::process::Output {
        let status = self.wait(what);
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        if let Some(pipe) = &mut self.0.stdout {
            pipe.read_to_end(&mut stdout).unwrap();
        }
        if let Some(pipe) = &mut self.0.stderr {
            pipe.read_to_end(&mut stderr).unwrap();
        }
        std::process::Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd`, stdin closed, to its end within the deadline.
pub fn finish(cmd: &mut Command, what: &str) -> ExitStatus {
    finish_within(DEADLINE, cmd, what)
}

/// Runs `cmd`, stdin closed, to its end within `limit`: for the few steps that are long by
/// nature (a clean build), which the one deadline would call a hang.
pub fn finish_within(limit: Duration, cmd: &mut Command, what: &str) -> ExitStatus {
    let mut child = KillOnDrop::spawn(cmd.stdin(Stdio::null()));
    poll_for(limit, || child.0.try_wait().unwrap())
        .unwrap_or_else(|| panic!("timed out after {limit:?} waiting for {what}"))
}

/// Runs `cmd`, stdin closed, to its end within `limit`, reading its stdout and stderr while
/// it runs (so that a chatty build never blocks on a full pipe): what it printed, whatever
/// its status.
pub fn output_within(limit: Duration, cmd: &mut Command) -> std::process::Output {
    let mut child = KillOnDrop::spawn(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).map(|_| bytes)
        })
    };
    let stdout = read(Box::new(child.0.stdout.take().unwrap()));
    let stderr = read(Box::new(child.0.stderr.take().unwrap()));
    let status = poll_for(limit, || child.0.try_wait().unwrap())
        .unwrap_or_else(|| panic!("{cmd:?} did not end within {limit:?}"));
    std::process::Output {
        status,
        stdout: stdout.join().unwrap().unwrap(),
        stderr: stderr.join().unwrap().unwrap(),
    }
}
