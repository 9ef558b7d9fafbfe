//! The README's run command as a new user meets it: `./run` on a PATH with cargo and no
//! just, from a cold build. It prints nothing of its own, and Ctrl-C ends it as it ends
//! pause. A Rust user's first guess, plain cargo, stops with the commands that work.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use goblin::elf::Elf;
use goblin::elf::program_header::{PT_LOAD, ProgramHeader};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use pause_harness::*;

/// `./run` as a user without just would start it: a PATH of cargo, rustc and the system's
/// own tools, and a target directory of its own, so the build starts cold.
struct FreshUser {
    _bin: tempfile::TempDir,
    target: tempfile::TempDir,
    path: String,
}

impl FreshUser {
    fn new() -> FreshUser {
        let bin = tempfile::tempdir().unwrap();
        // rustup's proxies, under their own names: that is all rustup puts on a PATH.
        for tool in ["cargo", "rustc"] {
            std::os::unix::fs::symlink(which(tool), bin.path().join(tool)).unwrap();
        }
        let path = format!("{}:/usr/bin:/bin", bin.path().display());
        let just = std::env::split_paths(&path).find(|dir| dir.join("just").exists());
        assert!(
            just.is_none(),
            "{just:?} has just: this would not prove anything"
        );
        FreshUser {
            target: tempfile::tempdir().unwrap(),
            _bin: bin,
            path,
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", &self.path)
            .env("CARGO_TARGET_DIR", self.target.path())
            .current_dir(workspace())
            .stdin(Stdio::null());
        for var in ["HOME", "RUSTUP_HOME", "CARGO_HOME"] {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
        cmd
    }

    fn run(&self) -> Command {
        self.command(&workspace().join("run"))
    }

    /// Where `./run` builds pause: cargo's place for this host's target.
    fn built(&self) -> PathBuf {
        let target = self.target.path().join(Arch::host().target);
        target.join("release/pause")
    }
}

/// `./run -v` from a cold build: the version on stdout, and nothing at all on stderr (no
/// build output, no warnings).
#[test]
fn run_without_just_prints_the_version_and_nothing_else() {
    let user = FreshUser::new();
    let mut run = KillOnDrop::spawn(
        user.run()
            .arg("-v")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let status =
        poll_for(BUILD_LIMIT, || run.0.try_wait().unwrap()).expect("./run -v did not finish");
    let out = run.output("./run -v");
    assert!(status.success(), "./run -v: {status}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), VERSION_LINE);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// `./run` in the foreground, then Ctrl-C: the terminal sends SIGINT to the whole foreground
/// process group, and `./run` has become pause, so what ends is pause: its warning (it is
/// not PID 1 here), its message, status 0, nothing else.
#[test]
fn run_then_ctrl_c_ends_as_pause_ends() {
    let user = FreshUser::new();
    let mut run = KillOnDrop::spawn(
        user.run()
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let pid = Pid::from_raw(run.0.id() as i32);
    let built = user.built();
    poll_for(BUILD_LIMIT, || exe_is(pid, &built).then_some(()))
        .expect("./run did not become pause");
    wait_in_blocking_call(pid, Arch::host());
    killpg(pid, Signal::SIGINT).unwrap();
    let status = run.wait("./run after Ctrl-C");
    let out = run.output("./run");
    assert_eq!(status.code(), Some(0), "./run after Ctrl-C: {status}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("{WARNING}{INTERRUPT}")
    );
}

/// What `./run` runs is what `just dist` ships for this host: the same entry point, and the
/// same loadable bytes at the same addresses. Only the ELF header differs, where dist's copy
/// has no section headers to point to.
#[test]
fn run_builds_the_shipped_code() {
    let user = FreshUser::new();
    let out = user.run().arg("-v").output().unwrap();
    assert!(out.status.success(), "./run -v: {}", out.status);
    let built = std::fs::read(user.built()).unwrap();
    let shipped = std::fs::read(Arch::host().binary()).unwrap();
    assert_eq!(
        loaded(&built),
        loaded(&shipped),
        "./run's build differs from dist/ (stale? `just dist`)"
    );
}

/// The entry point and every loadable segment (address, flags, file bytes past the ELF
/// header).
fn loaded(file: &[u8]) -> (u64, Vec<(u64, u32, Vec<u8>)>) {
    let elf = Elf::parse(file).unwrap();
    let past_header = |p: &ProgramHeader| {
        let range = p.file_range();
        file[range.start.max(elf.header.e_ehsize.into())..range.end].to_vec()
    };
    let segments = elf.program_headers.iter().filter(|p| p.p_type == PT_LOAD);
    let segments = segments.map(|p| (p.p_vaddr, p.p_flags, past_header(p)));
    (elf.entry, segments.collect())
}

/// Plain cargo, the way a Rust user would try first: it stops at once with one error line
/// that names the commands that work.
#[test]
fn plain_cargo_names_the_right_command() {
    let user = FreshUser::new();
    for args in [&["build"][..], &["run"], &["run", "-p", "pause"]] {
        let out = user.command(&which("cargo")).args(args).output().unwrap();
        assert!(!out.status.success(), "cargo {args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or_default();
        assert!(
            first.contains("`./run` runs it") && first.contains("`just dist`"),
            "cargo {args:?}: {stderr}"
        );
    }
}
