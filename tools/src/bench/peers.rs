//! The peers: the programs in the role of pause, and how the bench builds those it builds.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use super::process::argv;

/// A program in the role of pause.
pub(super) struct Peer {
    pub(super) name: &'static str,
    pub(super) exe: PathBuf,
    /// The argv that makes it sit idle as a pause does.
    pub(super) idle: Vec<CString>,
    /// Its quick-exit run.
    pub(super) quick_exit: QuickExit,
    /// The system call it sits in while idle.
    pub(super) block: &'static str,
    /// It runs `sleep infinity` as its child (tini and dumb-init need a program to run).
    pub(super) supervises: bool,
    /// Its OCI image blobs are measured (ours and the glibc C pause).
    pub(super) packaged: bool,
    /// This project's pause, highlighted in the summary and the chart.
    pub(super) ours: bool,
}

/// A run that exits at once: a version flag, or for the floor nothing at all.
pub(super) struct QuickExit {
    pub(super) argv: Vec<CString>,
    /// The flag, for the tables.
    pub(super) flag: String,
    /// The first line it printed, which names its version.
    pub(super) says: String,
}

impl QuickExit {
    /// Runs it once, checking that it exits 0, which also brings it into the page cache.
    pub(super) fn check(name: &str, exe: &Path, flag: &[&str]) -> Result<QuickExit> {
        let out = Command::new(exe)
            .args(flag)
            .env_clear()
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        ensure!(
            out.status.success(),
            "{name} {flag:?} exited with {}",
            out.status
        );
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        Ok(QuickExit {
            argv: argv(exe, flag),
            flag: flag.join(" "),
            says: text.lines().next().unwrap_or_default().trim().to_string(),
        })
    }
}

pub(super) const C_FLAGS: &[&str] = &["-Os", "-static", "-s"];
/// One PT_LOAD and nothing else, as in ours: a floor with more segments to map than ours
/// would not be a floor.
pub(super) const FLOOR_FLAGS: &[&str] = &[
    "-Os",
    "-static",
    "-nostdlib",
    "-s",
    "-Wl,-n",
    "-Wl,--build-id=none",
    "-fno-asynchronous-unwind-tables",
];

/// The hand-written pause is linked as ours is (build.rs): static, no build id, no padding,
/// and our linker script (added by `build_programs`); then its section headers go, as
/// `just dist` drops ours.
pub(super) const ASM_FLAGS: &[&str] = &[
    "-nostdlib",
    "-static",
    "-no-pie",
    "-Wl,--nmagic",
    "-Wl,--build-id=none",
    "-Wl,-z,noexecstack",
];

/// The programs the bench builds itself, from bench/.
pub(super) struct BuiltPrograms {
    asm: PathBuf,
    pub(super) glibc: PathBuf,
    musl: PathBuf,
    pub(super) floor: PathBuf,
}

pub(super) fn build_programs(root: &Path, out: &Path) -> Result<BuiltPrograms> {
    let pause_c = root.join("bench/pause.c");
    let built = BuiltPrograms {
        asm: out.join("pause-asm"),
        glibc: out.join("pause-c-glibc"),
        musl: out.join("pause-c-musl"),
        floor: out.join("floor"),
    };
    let linked = out.join("pause-asm.linked");
    let script = format!("-Wl,-T,{}", root.join("linker/pause.ld").display());
    let asm_flags: Vec<&str> = ASM_FLAGS.iter().copied().chain([script.as_str()]).collect();
    compile(
        "gcc",
        &asm_flags,
        &root.join("bench/pause-amd64.S"),
        &linked,
    )?;
    strip_sections(&linked, &built.asm)?;
    compile("gcc", C_FLAGS, &pause_c, &built.glibc)?;
    compile("musl-gcc", C_FLAGS, &pause_c, &built.musl)?;
    let floor_c = root.join("bench/floor.c");
    compile("gcc", FLOOR_FLAGS, &floor_c, &built.floor)?;
    Ok(built)
}

/// `llvm-objcopy --strip-sections`, from the rustup component `llvm-tools` as `just dist`
/// uses it (GNU objcopy in Debian 12 cannot drop section headers), where the Justfile's
/// exported `LLVM_BIN` says.
fn strip_sections(linked: &Path, out: &Path) -> Result<()> {
    let llvm_bin = std::env::var_os("LLVM_BIN").context(
        "LLVM_BIN is not set: run the bench as `just bench`, which sets it to llvm-tools' bin/",
    )?;
    let objcopy = Path::new(&llvm_bin).join("llvm-objcopy");
    let status = Command::new(&objcopy)
        .arg("--strip-sections")
        .arg(linked)
        .arg(out)
        .status()
        .with_context(|| format!("running {}", objcopy.display()))?;
    ensure!(status.success(), "llvm-objcopy --strip-sections failed");
    Ok(())
}

fn compile(cc: &str, flags: &[&str], src: &Path, out: &Path) -> Result<()> {
    let status = Command::new(which(cc)?)
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(src)
        .status()?;
    ensure!(status.success(), "{cc} {flags:?} {} failed", src.display());
    Ok(())
}

/// The peers, each in the role of a pod's pause: ours (`dist/pause-linux-amd64`); the same
/// behaviour written by hand in assembly (`bench/pause-amd64.S`, linked and stripped as ours
/// is: what the compiler costs); the classic C design (`bench/pause.c`) built static with
/// glibc and with musl; `catatonit -P`; `tini-static` and `dumb-init`, which only run as the
/// parent of a program, so they run `sleep infinity`; and `sleep infinity` alone.
pub(super) fn peers(root: &Path, built: &BuiltPrograms) -> Result<Vec<Peer>> {
    let ours = root.join("dist/pause-linux-amd64");
    ensure!(
        ours.is_file(),
        "{} is missing: run `just dist`",
        ours.display()
    );
    let sleep = which("sleep")?;
    let sleep = sleep.to_str().context("sleep's path is not UTF-8")?;
    let peer = |name, exe: PathBuf, idle: &[&str], flag: &[&str], block| -> Result<Peer> {
        Ok(Peer {
            name,
            idle: argv(&exe, idle),
            quick_exit: QuickExit::check(name, &exe, flag)?,
            exe,
            block,
            supervises: false,
            packaged: false,
            ours: false,
        })
    };
    let packaged = |p: Peer| Peer {
        packaged: true,
        ..p
    };
    let supervising = |p: Peer| Peer {
        supervises: true,
        ..p
    };
    Ok(vec![
        Peer {
            ours: true,
            ..packaged(peer("pause (ours)", ours, &[], &["-v"], "pause")?)
        },
        peer(
            "pause, hand-written asm",
            built.asm.clone(),
            &[],
            &["-v"],
            "pause",
        )?,
        packaged(peer(
            "C pause (glibc)",
            built.glibc.clone(),
            &[],
            &["-v"],
            "pause",
        )?),
        peer("C pause (musl)", built.musl.clone(), &[], &["-v"], "pause")?,
        peer(
            "catatonit -P",
            which("catatonit")?,
            &["-P"],
            &["--version"],
            "read",
        )?,
        supervising(peer(
            "tini-static",
            which("tini-static")?,
            &["--", sleep, "infinity"],
            &["--version"],
            "rt_sigtimedwait",
        )?),
        supervising(peer(
            "dumb-init",
            which("dumb-init")?,
            &[sleep, "infinity"],
            &["--version"],
            "rt_sigtimedwait",
        )?),
        peer(
            "sleep infinity",
            PathBuf::from(sleep),
            &["infinity"],
            &["--version"],
            "pause",
        )?,
    ])
}

pub(super) fn which(tool: &str) -> Result<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(tool))
                .find(|p| p.is_file())
        })
        .with_context(|| format!("{tool} is not installed: `just setup` installs the peers"))
}
