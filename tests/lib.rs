//! The std harness's shared parts: the architectures under test, how to run a dist/ binary
//! natively or under qemu-user, and deadline-bounded waiting on real processes.
//!
//! Every test runs the release binaries in `dist/` (built by `just dist`), so what is tested
//! is what ships.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long any single wait in the suite may take before it counts as a hang.
pub const DEADLINE: Duration = Duration::from_secs(20);

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
    budget: 704,
    sysno: sysno_of!(x86_64),
};

pub const ARM64: Arch = Arch {
    name: "arm64",
    qemu: Some("qemu-aarch64-static"),
    machine: em::AARCH64,
    arch_file: "aarch64.rs",
    block: "ppoll",
    budget: 784,
    sysno: sysno_of!(aarch64),
};

pub const ARM: Arch = Arch {
    name: "arm",
    qemu: Some("qemu-arm-static"),
    machine: em::ARM,
    arch_file: "arm.rs",
    block: "pause",
    budget: 608,
    sysno: sysno_of!(arm),
};

pub const I386: Arch = Arch {
    name: "386",
    qemu: Some("qemu-i386-static"),
    machine: em::I386,
    arch_file: "x86.rs",
    block: "pause",
    budget: 640,
    sysno: sysno_of!(x86),
};

pub const RISCV64: Arch = Arch {
    name: "riscv64",
    qemu: Some("qemu-riscv64-static"),
    machine: em::RISCV,
    arch_file: "riscv64.rs",
    block: "ppoll",
    budget: 720,
    sysno: sysno_of!(riscv64),
};

pub const S390X: Arch = Arch {
    name: "s390x",
    qemu: Some("qemu-s390x-static"),
    machine: em::S390,
    arch_file: "s390x.rs",
    block: "pause",
    budget: 736,
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
    budget: 1024,
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

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether `tool` is on PATH. Outside CI a missing tool skips the calling test, with the
/// reason printed; under CI=true it fails it.
pub fn have(tool: &str, why: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    if !found {
        assert!(
            !in_ci(),
            "{tool} is missing (needed {why}); CI must install it (`just setup`)"
        );
        eprintln!("SKIPPED: {tool} is not installed (needed {why}); `just setup` installs it");
    }
    found
}

/// Whether this process may create namespaces (root, or the capabilities for it).
pub fn privileged(why: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        assert!(!in_ci(), "CI must run as root ({why})");
        eprintln!("SKIPPED: not root (needed {why})");
    }
    root
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

pub fn command(argv: &[String]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// Polls `done` until it returns `Some` or the deadline passes.
pub fn poll<T>(what: &str, mut done: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = done() {
            return v;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        sleep(Duration::from_millis(5));
    }
}

/// What a finished process left.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// qemu's -strace log (foreign architectures; empty when native).
    pub trace: String,
}

/// A running pause (or the wrapper that runs it), killed when dropped.
pub struct Pause {
    child: Option<Child>,
    /// The process that executes pause's code: pause itself, or qemu running it.
    pub pid: Pid,
    arch: &'static Arch,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Pause {
    /// Starts pause with `args`, stdout and stderr captured.
    pub fn start(arch: &'static Arch, args: &[&str]) -> Pause {
        Self::start_with(arch, args, &[], |_| {})
    }

    /// Starts `wrapper ++ pause-argv`, after `setup` adjusts the command. When the wrapper
    /// forks (unshare --fork), `pid` is found as the wrapper's only child.
    pub fn start_with(
        arch: &'static Arch,
        args: &[&str],
        wrapper: &[&str],
        setup: impl FnOnce(&mut Command),
    ) -> Pause {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("qemu-strace.log");
        let mut argv: Vec<String> = wrapper.iter().map(|s| s.to_string()).collect();
        argv.extend(arch.argv(&log, args));
        let mut cmd = command(&argv);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        setup(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {argv:?}: {e}"));
        let outer = Pid::from_raw(child.id() as i32);
        let pid = if wrapper.first() == Some(&"unshare") {
            poll("unshare to fork pause", || only_child(outer))
        } else {
            outer
        };
        Pause {
            child: Some(child),
            pid,
            arch,
            log,
            _dir: dir,
        }
    }

    /// Waits until pause sleeps in its blocking call: every handler is installed then.
    pub fn wait_blocked(&self) {
        let what = format!("pid {} to block in {}", self.pid, self.arch.block);
        match self.arch.qemu {
            // qemu logs each guest syscall as it is entered.
            Some(_) => poll(&what, || {
                let log = fs::read_to_string(&self.log).unwrap_or_default();
                log.lines()
                    .any(|l| l.contains(&format!(" {}(", self.arch.block)))
                    .then_some(())
            }),
            None => {
                let nr = (self.arch.sysno)(self.arch.block).unwrap().to_string();
                let file = format!("/proc/{}/syscall", self.pid);
                poll(&what, || {
                    let now = fs::read_to_string(&file).unwrap_or_default();
                    (now.split(' ').next() == Some(nr.as_str())).then_some(())
                })
            }
        }
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid, sig).unwrap();
    }

    fn qemu_log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits, within the deadline, for the process this handle started to exit.
    pub fn wait(mut self) -> Output {
        let mut child = self.child.take().unwrap();
        let status = poll("pause to exit", || child.try_wait().unwrap());
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut s) = child.stdout.take() {
            s.read_to_string(&mut stdout).unwrap();
        }
        if let Some(mut s) = child.stderr.take() {
            s.read_to_string(&mut stderr).unwrap();
        }
        let trace = self.qemu_log();
        Output {
            status,
            stdout,
            stderr,
            trace,
        }
    }
}

impl Drop for Pause {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs pause with `args` to completion (it must exit by itself).
pub fn run(arch: &'static Arch, args: &[&str]) -> Output {
    Pause::start(arch, args).wait()
}

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

fn ppid(pid: Pid) -> Option<Pid> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok().map(Pid::from_raw)
}

/// The syscall names in a qemu -strace log, in order.
pub fn qemu_syscalls(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
        .filter_map(|l| {
            let call = l.split_once(' ')?.1;
            Some(call.split('(').next()?.to_string())
        })
        .collect()
}

pub const WARNING: &str = "Warning: pause should be the first process\n";
pub const TERMINATED: &str = "Shutting down, got signal: Terminated\n";
pub const INTERRUPT: &str = "Shutting down, got signal: Interrupt\n";
