//! The std harness's shared parts, each in one place: the architectures under test; when a
//! test may skip; running a dist/ binary natively, under qemu-user or under a tracer, with
//! deadline-bounded waits; pause as PID 1 of a pod, with orphans to reap; and reading the
//! kernel's view of a process in /proc.
//!
//! Every test runs the release binaries in `dist/` (built by `just dist`), so what is tested
//! is what ships.

use std::fmt::Display;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, SeccompRule};
use tempfile::TempDir;

/// What pause writes, byte for byte as pause.c does.
pub const WARNING: &str = "Warning: pause should be the first process\n";
pub const TERMINATED: &str = "Shutting down, got signal: Terminated\n";
pub const INTERRUPT: &str = "Shutting down, got signal: Interrupt\n";

// ---- The architectures ----

/// One architecture pause ships for.
pub struct Arch {
    /// Go/OCI name: `dist/pause-linux-<name>`.
    pub name: &'static str,
    /// The qemu-user binary that runs it here; `None` when the host runs it natively.
    pub qemu: Option<&'static str>,
    /// `e_machine` in the ELF header.
    pub machine: u16,
    /// The file in arch/ that implements it.
    pub arch_file: &'static str,
    /// The syscall it blocks in.
    pub block: &'static str,
    /// Size ceiling of the shipped file, in bytes: a regression guard just above today's size
    /// (see the README for where the bytes go and the targets not yet met).
    pub budget: u64,
    /// The syscall number for a name on this architecture, from the `syscalls` crate.
    pub sysno: fn(&str) -> Option<i64>,
}

/// The number of syscall `$name` on one architecture, from the `syscalls` crate.
macro_rules! sysno_of {
    ($arch:ident) => {
        |name| {
            name.parse::<syscalls::$arch::Sysno>()
                .ok()
                .map(|s| s.id().into())
        }
    };
}

pub const AMD64: Arch = Arch {
    name: "amd64",
    qemu: None,
    machine: em::X86_64,
    arch_file: "x86_64.rs",
    block: "pause",
    budget: 656,
    sysno: sysno_of!(x86_64),
};

pub const ARM64: Arch = Arch {
    name: "arm64",
    qemu: Some("qemu-aarch64-static"),
    machine: em::AARCH64,
    arch_file: "aarch64.rs",
    block: "ppoll",
    budget: 720,
    sysno: sysno_of!(aarch64),
};

pub const ARM: Arch = Arch {
    name: "arm",
    qemu: Some("qemu-arm-static"),
    machine: em::ARM,
    arch_file: "arm.rs",
    block: "pause",
    budget: 576,
    sysno: sysno_of!(arm),
};

pub const I386: Arch = Arch {
    name: "386",
    qemu: Some("qemu-i386-static"),
    machine: em::I386,
    arch_file: "x86.rs",
    block: "pause",
    budget: 592,
    sysno: sysno_of!(x86),
};

pub const RISCV64: Arch = Arch {
    name: "riscv64",
    qemu: Some("qemu-riscv64-static"),
    machine: em::RISCV,
    arch_file: "riscv64.rs",
    block: "ppoll",
    budget: 656,
    sysno: sysno_of!(riscv64),
};

pub const S390X: Arch = Arch {
    name: "s390x",
    qemu: Some("qemu-s390x-static"),
    machine: em::S390,
    arch_file: "s390x.rs",
    block: "pause",
    budget: 688,
    sysno: sysno_of!(s390x),
};

pub const PPC64LE: Arch = Arch {
    name: "ppc64le",
    qemu: Some("qemu-ppc64le-static"),
    machine: em::PPC64,
    arch_file: "powerpc64.rs",
    block: "pause",
    // Its ELFv2 code is wordy: 4-byte instructions, two for a constant, a TOC-setup entry
    // and trailing padding per function, and a 16-byte error fix-up at every syscall.
    budget: 896,
    sysno: sysno_of!(powerpc64),
};

pub const ALL: &[&Arch] = &[&AMD64, &ARM64, &ARM, &I386, &RISCV64, &S390X, &PPC64LE];

/// ELF machine numbers (`e_machine`).
mod em {
    pub const I386: u16 = 3;
    pub const PPC64: u16 = 21;
    pub const S390: u16 = 22;
    pub const ARM: u16 = 40;
    pub const X86_64: u16 = 62;
    pub const AARCH64: u16 = 183;
    pub const RISCV: u16 = 243;
}

/// Expands to one `#[test]` per architecture for each named `fn(&Arch)` in the calling
/// file, in modules named after the architecture: `cargo test arm64::` runs one arch.
#[macro_export]
macro_rules! per_arch {
    ($($test:ident),* $(,)?) => {
        $crate::per_arch!(@arch amd64 AMD64 $($test)*);
        $crate::per_arch!(@arch arm64 ARM64 $($test)*);
        $crate::per_arch!(@arch arm ARM $($test)*);
        $crate::per_arch!(@arch i386 I386 $($test)*);
        $crate::per_arch!(@arch riscv64 RISCV64 $($test)*);
        $crate::per_arch!(@arch s390x S390X $($test)*);
        $crate::per_arch!(@arch ppc64le PPC64LE $($test)*);
    };
    (@arch $module:ident $arch:ident $($test:ident)*) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    super::$test(&$crate::$arch)
                }
            )*
        }
    };
}

impl Arch {
    pub fn binary(&self) -> PathBuf {
        let path = workspace()
            .join("dist")
            .join(format!("pause-linux-{}", self.name));
        assert!(
            path.is_file(),
            "{} is missing: run `just dist` first",
            path.display()
        );
        path
    }

    /// Whether this arch can run here: natively, or with its qemu-user installed.
    pub fn runnable(&self) -> bool {
        self.qemu
            .is_none_or(|q| have(q, "to run foreign architectures"))
    }

    /// The argv that runs pause with `args`; under qemu, `log` receives qemu's -strace.
    pub fn argv(&self, log: &Path, args: &[&str]) -> Vec<String> {
        let mut argv = Vec::new();
        if let Some(qemu) = self.qemu {
            argv.extend([
                qemu.into(),
                "-D".into(),
                log.display().to_string(),
                "-strace".into(),
            ]);
        }
        argv.push(self.binary().display().to_string());
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }
}

/// The `pub mod nr` of this arch's file in arch/, as (lower-case name, number) pairs: the
/// system calls pause makes there. Every line in it must read `pub const NAME: usize = N;`,
/// so that no entry can be overlooked.
pub fn nr_table(arch: &Arch) -> Vec<(String, i64)> {
    let file = arch.arch_file;
    let source = fs::read_to_string(workspace().join("arch").join(file)).unwrap();
    let block = source.split("pub mod nr {").nth(1);
    let block = block.unwrap_or_else(|| panic!("{file}: no `pub mod nr`"));
    let block = block.split('}').next().unwrap();
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let decl = line
                .strip_prefix("pub const ")
                .and_then(|d| d.strip_suffix(';'))
                .and_then(|d| d.split_once(": usize = "));
            let (name, value) =
                decl.unwrap_or_else(|| panic!("{file}: not `pub const NAME: usize = N;`: {line}"));
            let value = value
                .parse()
                .unwrap_or_else(|e| panic!("{file}: {line}: {e}"));
            (name.to_lowercase(), value)
        })
        .collect()
}

/// The Justfile's `arches`, the list every recipe builds from, as (Go name, Rust target)
/// pairs; `None` (a skip, outside CI) without `just`.
pub fn justfile_arches() -> Option<Vec<(String, String)>> {
    if !have("just", "to read the architectures from the Justfile") {
        return None;
    }
    let out = Command::new("just")
        .args(["--evaluate", "arches"])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(out.status.success(), "just --evaluate arches: {out:?}");
    let list = String::from_utf8(out.stdout).unwrap();
    let pairs = list.split_whitespace().map(|pair| {
        let (arch, target) = pair.split_once(':').expect(pair);
        (arch.to_string(), target.to_string())
    });
    Some(pairs.collect())
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

// ---- When a test may skip ----

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The one rule for what a test needs from the machine: when `found` is false the calling
/// test skips outside CI, saying `missing`, and fails under CI=true, where `just setup` has
/// installed everything and the suite runs as root.
pub fn available(found: bool, missing: impl Display) -> bool {
    if !found {
        assert!(!in_ci(), "{missing}: CI must provide it");
        eprintln!("SKIPPED: {missing}");
    }
    found
}

/// Whether `tool` is on PATH (see `available`).
pub fn have(tool: &str, why: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    let missing = format_args!("{tool} is not installed (needed {why}); `just setup` installs it");
    available(found, missing)
}

/// Like `have`, for a file outside PATH that the Debian package `package` installs.
pub fn have_file(path: &str, package: &str, why: &str) -> bool {
    let found = Path::new(path).is_file();
    let missing = format_args!("{path} is missing (needed {why}); `just setup` installs {package}");
    available(found, missing)
}

/// Whether this process may create namespaces and run containers: root (see `available`).
pub fn privileged(why: &str) -> bool {
    available(
        nix::unistd::geteuid().is_root(),
        format_args!("not root (needed {why})"),
    )
}

// ---- Processes and deadlines ----

/// How long any single wait in the suite may take before it counts as a hang.
pub const DEADLINE: Duration = Duration::from_secs(20);

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

/// A child process killed and reaped when dropped, so a hung one does not outlive its test.
pub struct Reaped(pub Child);

impl Reaped {
    pub fn spawn(cmd: &mut Command) -> Reaped {
        Reaped(cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}")))
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

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd`, stdin closed, to its end within the deadline.
pub fn finish(cmd: &mut Command, what: &str) -> ExitStatus {
    Reaped::spawn(cmd.stdin(Stdio::null())).wait(what)
}

// ---- Running pause ----

/// What a finished process left.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The tracer's log (see `Pause::trace`); empty when untraced.
    pub trace: String,
}

/// A running pause (or the wrapper that runs it), killed when dropped.
pub struct Pause {
    child: Option<Reaped>,
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

    /// Starts `wrapper ++ pause-argv`, after `setup` adjusts the command. When the wrapper
    /// forks (unshare --fork, strace), `pid` is found as the wrapper's only child.
    pub fn start_with(
        arch: &'static Arch,
        args: &[&str],
        wrapper: &[&str],
        setup: impl FnOnce(&mut Command),
    ) -> Pause {
        Self::launch(
            arch,
            args,
            |_| wrapper.iter().map(|s| s.to_string()).collect(),
            setup,
        )
    }

    /// Starts pause under a tracer whose log `trace` reads while it runs: qemu's own
    /// -strace for foreign architectures, strace natively (which must be installed).
    pub fn start_traced(arch: &'static Arch, args: &[&str]) -> Pause {
        let strace = |log: &Path| match arch.qemu {
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
        Self::launch(arch, args, strace, |_| {})
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

    /// `wrapper` gets the path of the log that `trace` reads.
    fn launch(
        arch: &'static Arch,
        args: &[&str],
        wrapper: impl FnOnce(&Path) -> Vec<String>,
        setup: impl FnOnce(&mut Command),
    ) -> Pause {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("trace.log");
        let mut argv = wrapper(&log);
        let wrapped_by = |program: &str| argv.first().is_some_and(|p| p == program);
        let forks = wrapped_by("unshare") || wrapped_by("strace");
        let traced = wrapped_by("strace") || arch.qemu.is_some();
        argv.extend(arch.argv(&log, args));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        setup(&mut cmd);
        let child = Reaped::spawn(&mut cmd);
        let outer = Pid::from_raw(child.0.id() as i32);
        // A forking wrapper's child is pause once it runs pause's program; until then it may
        // be the wrapper's own fork, or a probe (strace forks test children at start).
        let program = arch.qemu.map_or_else(|| arch.binary(), PathBuf::from);
        let runs_pause = |pid: &Pid| {
            let exe = fs::read_link(format!("/proc/{pid}/exe"));
            exe.is_ok_and(|e| e.file_name() == program.file_name())
        };
        let pid = match forks {
            true => poll(&format!("{} to start pause", argv[0]), || {
                only_child(outer).filter(runs_pause)
            }),
            false => outer,
        };
        Pause {
            child: Some(child),
            pid,
            arch,
            traced,
            log,
            _dir: dir,
        }
    }

    /// Waits until pause sleeps in its blocking call: every handler is installed then.
    pub fn wait_blocked(&self) {
        match self.traced {
            true => self.wait_for_call(self.arch.block),
            false => wait_blocked(self.pid, self.arch),
        }
    }

    /// Waits, within the deadline, until the tracer has seen pause enter `call`.
    pub fn wait_for_call(&self, call: &str) {
        assert!(self.traced, "pause was started without a tracer");
        poll(&format!("pid {} to call {call}", self.pid), || {
            trace_calls(&self.trace())
                .iter()
                .any(|c| c == call)
                .then_some(())
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
    pub fn wait(mut self) -> Output {
        let out = self.child.take().unwrap().output("pause to exit");
        Output {
            status: out.status,
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            trace: self.trace(),
        }
    }

    /// SIGTERM, then waits: pause must exit 0, having written exactly `stderr`.
    pub fn terminate(self, stderr: &str) -> Output {
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
pub fn run(arch: &'static Arch, args: &[&str]) -> Output {
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

// ---- pause as PID 1 of a pod ----

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

    /// Waits, within the deadline, until pause has reaped every one of them.
    pub fn wait_reaped(&self) {
        poll("pause to reap every orphan", || {
            children(self.parent).is_empty().then_some(())
        });
    }
}

// ---- A process as /proc shows it ----

/// The only child of `pid`, once it has exactly one.
pub fn only_child(pid: Pid) -> Option<Pid> {
    let kids = children(pid);
    (kids.len() == 1).then(|| kids[0])
}

/// The children of `pid` (zombies included), from /proc.
pub fn children(pid: Pid) -> Vec<Pid> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| ppid(Pid::from_raw(*p)) == Some(pid))
        .map(Pid::from_raw)
        .collect()
}

/// /proc/PID/stat after the command name: space-separated fields, the state letter first,
/// then the parent; `None` once `pid` is gone.
pub fn stat(pid: Pid) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    Some(stat[stat.rfind(')')? + 2..].to_string())
}

fn ppid(pid: Pid) -> Option<Pid> {
    stat(pid)?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
        .map(Pid::from_raw)
}

/// R, S, T, Z...: the state of `pid`, which must exist (a zombie does).
pub fn state(pid: Pid) -> char {
    let stat = stat(pid).unwrap_or_else(|| panic!("pid {pid} is gone"));
    stat.chars().next().unwrap()
}

/// Field `name` of /proc/PID/status: "Uid" gives "65535\t65535\t65535\t65535".
pub fn status_field(pid: Pid, name: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status_value(&status, name).to_string()
}

/// Field `name` of a /proc/PID/status text (one read by another path).
pub fn status_value<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in {status}"))
        .trim()
}

/// Whether `pid`, running natively, is inside `arch`'s blocking call now: the first field
/// of /proc/PID/syscall is the number of the call a sleeping process is in. (Under qemu it
/// would be one of qemu's own host calls.)
pub fn in_blocking_call(pid: Pid, arch: &Arch) -> bool {
    let nr = (arch.sysno)(arch.block).unwrap().to_string();
    let now = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    now.split(' ').next() == Some(nr.as_str())
}

/// Waits until `pid`, running natively, sleeps in `arch`'s blocking call: every handler is
/// installed then.
pub fn wait_blocked(pid: Pid, arch: &Arch) {
    poll(&format!("pid {pid} to block in {}", arch.block), || {
        in_blocking_call(pid, arch).then_some(())
    });
}
