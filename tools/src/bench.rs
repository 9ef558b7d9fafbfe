//! `pause-tools bench`: pause beside the programs that do its job, measured on this machine.
//!
//! Writes `bench/results.md` (every figure, with the machine, date and commit),
//! `bench/summary.md` (the fragment the README shows) and `bench/chart.svg`. It runs as root
//! (it makes PID namespaces) in a few minutes on two cores. Nothing here is asserted by a
//! test: speed is measured, never tested.
//!
//! The peers, each in the role of a pod's pause: ours (`dist/pause-linux-amd64`); the same
//! behaviour written by hand in assembly (`bench/pause-amd64.S`, linked and stripped as ours
//! is: what the compiler costs); the classic C design (`bench/pause.c`) built static with
//! glibc and with musl; `catatonit -P`;
//! `tini-static` and `dumb-init`, which only run as the parent of a program, so they run
//! `sleep infinity` (their figures are their own process's; sleep's are its own row); and
//! `sleep infinity` alone.
//!
//! How each figure is taken (x86_64 only: the peers are host binaries):
//! - syscalls: `strace -f`, the peer's own process from its execve up to and including its
//!   first blocking call, not as PID 1 (so a "not PID 1" warning counts).
//! - VmRSS and Pss: /proc/PID/status and /proc/PID/smaps_rollup while it sits blocked.
//! - exec-to-exit: posix_spawn of the peer with its quick-exit flag (stdio on /dev/null, an
//!   empty environment) until waitpid returns, beside the floor: `bench/floor.c`, a static
//!   ELF whose only system call is exit_group. Runs alternate between peers in a shuffled
//!   order, so that neither load from elsewhere nor one run's aftermath favours any of them.
//! - SIGTERM-to-exit: from kill(2) until waitpid returns, once the peer (and its child) is
//!   blocked; not PID 1, so the signal is handled by whatever the peer installed.
//! - reaping: the peer as PID 1 of a new PID namespace (`unshare --pid --fork`). Processes
//!   forked inside it, each blocked reading one byte from a pipe, are orphaned to it; the
//!   clock runs from writing their bytes until the last one's /proc entry is gone (reaped).
//!   The peer then gets SIGTERM from the parent namespace, which ends a PID 1 only if it
//!   handles the signal.
//!
//! Crates: `nix` (posix_spawn, fork, setns, kill, waitpid, the subreaper flag); `rustix`
//! (pidfd_open and poll: waits with a deadline, which nix lacks); `libc` (`_exit` in a forked
//! child, which nix does not wrap); `procfs` (VmRSS, Pss, parent pids, the CPU model);
//! `syscalls` (syscall names to x86_64 numbers, the table the tests use); `goblin` (whether an
//! ELF names an interpreter); `plotters` (the chart, SVG backend only); `humantime` (the date);
//! `tempfile` (strace logs); `fastrand` (seeded shuffles of the run order).

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Write as _;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{CloneFlags, setns};
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawn};
use nix::sys::prctl;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, geteuid, pipe2};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use procfs::Current as _;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{PidfdFlags, pidfd_open};

const US: Duration = Duration::from_micros(1);
const MS: Duration = Duration::from_millis(1);

/// exec-to-exit runs per peer (and for the floor).
const EXEC_RUNS: usize = 1000;
/// SIGTERM-to-exit runs per peer.
const TERM_RUNS: usize = 200;
/// Orphans per reaping round, and rounds per peer.
const ORPHANS: usize = 10_000;
const REAP_ROUNDS: usize = 3;
/// How long any wait may take before the bench stops with an error.
const DEADLINE: Duration = Duration::from_secs(20);
/// How long a PID 1 gets to reap the orphans before it counts as not reaping at all.
const REAP_LIMIT: Duration = Duration::from_secs(5);
/// How long a PID 1 gets to exit on SIGTERM before it counts as ignoring it.
const PID1_TERM_LIMIT: Duration = Duration::from_secs(2);

pub fn main(args: &[String]) -> Result<()> {
    ensure!(
        args.is_empty(),
        "usage: pause-tools bench (it takes no options)"
    );
    ensure!(
        geteuid().is_root(),
        "the bench runs as root: it makes PID namespaces"
    );
    // Whatever a peer leaves behind (dumb-init's child when dumb-init is killed, say) is
    // re-parented to the bench rather than to the host's init, so the bench reaps it.
    prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
    let result = run();
    reap_strays();
    result
}

fn run() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("tools/ has a parent")?
        .to_path_buf();
    let build = root.join("target/bench");
    fs::create_dir_all(&build)?;
    let spawner = Spawner::new()?;

    let built = build_peers(&root, &build)?;
    let peers = peers(&root, &built)?;
    let floor = Quick::check("floor", &built.floor, &[])?;

    let mut statics = Vec::new();
    for peer in &peers {
        progress(&format!("{}: sizes and strace", peer.name));
        statics.push(Fixed::of(peer)?);
    }

    progress(&format!("exec to exit: {EXEC_RUNS} runs of each"));
    let mut quick: Vec<&Quick> = peers.iter().map(|p| &p.quick).collect();
    quick.push(&floor);
    let mut exec = time_quick_exits(&spawner, &quick)?;
    let floor_exec = exec.pop().context("the floor's times")?;

    progress(&format!("SIGTERM to exit: {TERM_RUNS} runs of each"));
    let idle = time_sigterm(&spawner, &peers)?;

    let mut pid1 = Vec::new();
    for peer in &peers {
        progress(&format!(
            "{}: as PID 1, reaping {REAP_ROUNDS} x {ORPHANS} orphans",
            peer.name
        ));
        pid1.push(as_pid1(&spawner, peer)?);
    }

    let figures: Vec<Figures> = statics
        .into_iter()
        .zip(exec)
        .zip(idle)
        .zip(pid1)
        .map(|(((fixed, exec), idle), pid1)| Figures {
            fixed,
            exec,
            idle,
            pid1,
        })
        .collect();
    let report = Report {
        machine: Machine::here(&root)?,
        peers: &peers,
        figures: &figures,
        floor: floor_exec,
        floor_bytes: fs::metadata(&built.floor)?.len(),
        arches: arch_sizes(&root.join("dist"))?,
        root: root.clone(),
    };
    let out = root.join("bench");
    fs::write(out.join("results.md"), report.results())?;
    fs::write(out.join("summary.md"), report.summary())?;
    report.chart(&out.join("chart.svg"))?;
    progress("wrote bench/results.md, bench/summary.md, bench/chart.svg");
    Ok(())
}

fn progress(what: &str) {
    eprintln!("bench: {what}");
}

// ----- the peers ---------------------------------------------------------------------------

/// A program in the role of pause.
struct Peer {
    name: &'static str,
    exe: PathBuf,
    /// The argv that makes it sit idle as a pause does.
    idle: Vec<CString>,
    /// Its quick-exit run.
    quick: Quick,
    /// The system call it sits in while idle.
    block: &'static str,
    /// It runs `sleep infinity` as its child (tini and dumb-init need a program to run).
    supervises: bool,
    /// Its OCI image blobs are measured (ours and the glibc C pause).
    packaged: bool,
    /// This project's pause, highlighted in the summary and the chart.
    ours: bool,
}

/// A run that exits at once: a version flag, or for the floor nothing at all.
struct Quick {
    argv: Vec<CString>,
    /// The flag, for the tables.
    flag: String,
    /// The first line it printed, which names its version.
    says: String,
}

impl Quick {
    /// Runs it once, checking that it exits 0, which also brings it into the page cache.
    fn check(name: &str, exe: &Path, flag: &[&str]) -> Result<Quick> {
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
        Ok(Quick {
            argv: argv(exe, flag),
            flag: flag.join(" "),
            says: text.lines().next().unwrap_or_default().trim().to_string(),
        })
    }
}

const C_FLAGS: &[&str] = &["-Os", "-static", "-s"];
/// One PT_LOAD and nothing else, as in ours: a floor with more segments to map than ours
/// would not be a floor.
const FLOOR_FLAGS: &[&str] = &[
    "-Os",
    "-static",
    "-nostdlib",
    "-s",
    "-Wl,-n",
    "-Wl,--build-id=none",
    "-fno-asynchronous-unwind-tables",
];

/// The hand-written pause is linked as ours is (build.rs): static, no build id, no padding,
/// and our linker script (added by `build_peers`); then its section headers go, as
/// `just dist` drops ours.
const ASM_FLAGS: &[&str] = &[
    "-nostdlib",
    "-static",
    "-no-pie",
    "-Wl,--nmagic",
    "-Wl,--build-id=none",
    "-Wl,-z,noexecstack",
];

/// The programs the bench builds itself, from bench/.
struct Built {
    asm: PathBuf,
    glibc: PathBuf,
    musl: PathBuf,
    floor: PathBuf,
}

fn build_peers(root: &Path, out: &Path) -> Result<Built> {
    let pause_c = root.join("bench/pause.c");
    let built = Built {
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
/// uses it (GNU objcopy in Debian 12 cannot drop section headers).
fn strip_sections(linked: &Path, out: &Path) -> Result<()> {
    // The host's lib/rustlib/<host>/lib; llvm-tools puts its programs in the sibling bin/.
    let libdir = Command::new("rustc")
        .arg("--print=target-libdir")
        .output()?;
    ensure!(
        libdir.status.success(),
        "rustc --print=target-libdir failed"
    );
    let libdir = PathBuf::from(String::from_utf8(libdir.stdout)?.trim());
    let objcopy = libdir.with_file_name("bin").join("llvm-objcopy");
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

fn peers(root: &Path, built: &Built) -> Result<Vec<Peer>> {
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
            quick: Quick::check(name, &exe, flag)?,
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

fn which(tool: &str) -> Result<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(tool))
                .find(|p| p.is_file())
        })
        .with_context(|| format!("{tool} is not installed: `just setup` installs the peers"))
}

fn argv(exe: &Path, args: &[&str]) -> Vec<CString> {
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

// ----- figures -----------------------------------------------------------------------------

/// min, median and max of one timed figure.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stats {
    min: Duration,
    median: Duration,
    max: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        let n = samples.len();
        Stats {
            min: samples[0],
            // The lower median for an even count: always a time that was measured.
            median: samples[(n - 1) / 2],
            max: samples[n - 1],
        }
    }
}

/// What the peer did as PID 1.
struct Pid1 {
    /// Time to reap every orphan, per round; or how many were left when it gave up.
    reaped: std::result::Result<Stats, usize>,
    /// SIGTERM from the parent namespace ended it.
    ends_on_sigterm: bool,
}

/// A peer's figures that repeat exactly from run to run.
struct Fixed {
    file_bytes: u64,
    /// It names an interpreter (ld.so), so its file is not all it loads.
    dynamic: bool,
    image_bytes: Option<u64>,
    syscalls: usize,
}

impl Fixed {
    fn of(peer: &Peer) -> Result<Fixed> {
        let bytes = fs::read(&peer.exe)?;
        let elf = goblin::elf::Elf::parse(&bytes)
            .with_context(|| format!("{} is not an ELF", peer.exe.display()))?;
        let image_bytes = match peer.packaged {
            true => Some(crate::image::blob_bytes(&peer.exe, "amd64")?),
            false => None,
        };
        Ok(Fixed {
            file_bytes: bytes.len() as u64,
            dynamic: elf.interpreter.is_some(),
            image_bytes,
            syscalls: count_syscalls(peer)?,
        })
    }
}

/// A peer idle and not PID 1: its memory, and SIGTERM to exit.
struct Idle {
    rss_kb: u64,
    pss_kb: u64,
    term: Stats,
    /// How a SIGTERM'd run ended.
    term_status: String,
}

struct Figures {
    fixed: Fixed,
    exec: Stats,
    idle: Idle,
    pid1: Pid1,
}

/// Runs the peer idle under `strace -f` until it blocks, then counts its system calls.
fn count_syscalls(peer: &Peer) -> Result<usize> {
    let log = tempfile::NamedTempFile::new()?;
    let mut cmd = Command::new(which("strace")?);
    cmd.args(["-f", "-qq", "-o"])
        .arg(log.path())
        .arg("--")
        .arg(&peer.exe)
        .args(peer.idle[1..].iter().map(|a| a.to_str().expect("UTF-8")))
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let child = cmd.spawn().context("spawning strace")?;
    let mut strace = Running::adopt(Pid::from_raw(child.id() as i32))?;
    let pid = poll_until("strace to start the peer", || {
        only_child(strace.pid).filter(|&p| exe_is(p, &peer.exe))
    })?;
    wait_blocked(pid, peer.block)?;
    // strace itself must live to finish its log: end only what it traces, then wait for it.
    for p in descendants(strace.pid) {
        let _ = kill(p, Signal::SIGKILL);
    }
    strace.wait("strace")?;
    let text = fs::read_to_string(log.path())?;
    syscalls_until(&text, peer.block).with_context(|| {
        format!(
            "{}: no {} call in its strace log:\n{text}",
            peer.name, peer.block
        )
    })
}

/// How many system calls the first process in an `strace -f` log made, from its execve up to
/// and including the first call named `block`; None if it never made one.
fn syscalls_until(log: &str, block: &str) -> Option<usize> {
    let mut first = None;
    let mut count = 0;
    for line in log.lines() {
        let (pid, event) = line.split_once(' ')?;
        if *first.get_or_insert(pid) != pid {
            continue; // a child's
        }
        let event = event.trim_start();
        // Resumptions continue a call already counted; `---` and `+++` are signals and exits.
        if event.starts_with("<...") || event.starts_with("---") || event.starts_with("+++") {
            continue;
        }
        count += 1;
        if event.split('(').next() == Some(block) {
            return Some(count);
        }
    }
    None
}

/// The order of one round of runs: every target once, shuffled afresh each round, so that no
/// program always follows the same one (whose exit, freeing a big address space say, leaves
/// the kernel work that would land on it) and load from elsewhere falls on all alike. Seeded,
/// so a rerun repeats the orders.
struct Rounds {
    rng: fastrand::Rng,
    n: usize,
}

impl Rounds {
    fn new(n: usize) -> Rounds {
        Rounds {
            rng: fastrand::Rng::with_seed(1),
            n,
        }
    }

    fn next_order(&mut self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.n).collect();
        self.rng.shuffle(&mut order);
        order
    }
}

/// exec-to-exit times of every target, `EXEC_RUNS` each.
fn time_quick_exits(spawner: &Spawner, targets: &[&Quick]) -> Result<Vec<Stats>> {
    let mut samples = vec![Vec::with_capacity(EXEC_RUNS); targets.len()];
    let mut rounds = Rounds::new(targets.len());
    for _ in 0..EXEC_RUNS {
        for i in rounds.next_order() {
            let start = Instant::now();
            let mut run = spawner.spawn(&targets[i].argv)?;
            let status = run.wait("a quick exit")?;
            samples[i].push(start.elapsed());
            ensure!(
                matches!(status, WaitStatus::Exited(_, 0)),
                "{:?}: {status:?}",
                targets[i].argv
            );
        }
    }
    Ok(samples.into_iter().map(Stats::of).collect())
}

/// SIGTERM-to-exit times of every peer, idle and not PID 1, `TERM_RUNS` each; the first run
/// of each also reads its memory while it sits blocked.
fn time_sigterm(spawner: &Spawner, peers: &[Peer]) -> Result<Vec<Idle>> {
    let mut samples = vec![Vec::with_capacity(TERM_RUNS); peers.len()];
    let mut first = vec![None; peers.len()];
    let mut rounds = Rounds::new(peers.len());
    for _ in 0..TERM_RUNS {
        for i in rounds.next_order() {
            let peer = &peers[i];
            let mut run = spawner.spawn(&peer.idle)?;
            wait_idle(peer, run.pid)?;
            let memory = match first[i] {
                None => Some(memory_kb(run.pid)?),
                Some(_) => None,
            };
            let start = Instant::now();
            kill(run.pid, Signal::SIGTERM)?;
            let status = run.wait(peer.name)?;
            samples[i].push(start.elapsed());
            if let Some((rss_kb, pss_kb)) = memory {
                first[i] = Some((rss_kb, pss_kb, describe(status)));
            }
        }
    }
    samples
        .into_iter()
        .zip(first)
        .map(|(times, first)| {
            let (rss_kb, pss_kb, term_status) = first.context("no first run")?;
            Ok(Idle {
                rss_kb,
                pss_kb,
                term: Stats::of(times),
                term_status,
            })
        })
        .collect()
}

fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exit {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("killed by {}", signal.as_str()),
        other => format!("{other:?}"),
    }
}

/// VmRSS and Pss in kB.
fn memory_kb(pid: Pid) -> Result<(u64, u64)> {
    let process = procfs::process::Process::new(pid.as_raw())?;
    let rss = process.status()?.vmrss.context("no VmRSS")?;
    let rollup = process.smaps_rollup()?.memory_map_rollup;
    let pss = rollup
        .0
        .first()
        .and_then(|map| map.extension.map.get("Pss"))
        .context("no Pss in smaps_rollup")?;
    Ok((rss, pss / 1024))
}

/// The peer as PID 1 of a new PID namespace: reaping rounds, then SIGTERM.
fn as_pid1(spawner: &Spawner, peer: &Peer) -> Result<Pid1> {
    let unshare = which("unshare")?;
    let mut wrapped = argv(&unshare, &["--pid", "--fork", "--kill-child"]);
    wrapped.extend(peer.idle.iter().cloned());
    let mut namespace = spawner.spawn(&wrapped)?;
    let init = poll_until("unshare to fork the peer", || {
        only_child(namespace.pid).filter(|&p| exe_is(p, &peer.exe))
    })?;
    wait_idle(peer, init)?;

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
    Ok(Pid1 {
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

// ----- processes ---------------------------------------------------------------------------

/// posix_spawn with stdio on /dev/null, an empty environment and default signal handling:
/// the cheapest honest way to start a program, so that the floor is low.
struct Spawner {
    actions: PosixSpawnFileActions,
    attr: PosixSpawnAttr,
    _devnull: File,
}

impl Spawner {
    fn new() -> Result<Spawner> {
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

    fn spawn(&self, argv: &[CString]) -> Result<Running> {
        let no_env: &[CString] = &[];
        let pid = posix_spawn(argv[0].as_c_str(), &self.actions, &self.attr, argv, no_env)
            .with_context(|| format!("spawning {argv:?}"))?;
        Running::adopt(pid)
    }
}

/// A child of the bench, and everything under it: killed and reaped when dropped unless it
/// was waited for, so nothing outlives a failed run.
struct Running {
    pid: Pid,
    pidfd: OwnedFd,
    reaped: bool,
}

impl Running {
    fn adopt(pid: Pid) -> Result<Running> {
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
    fn try_wait(&mut self, limit: Duration) -> Result<Option<WaitStatus>> {
        let timeout = Timespec::try_from(limit)?;
        let mut fds = [PollFd::new(&self.pidfd, PollFlags::IN)];
        if poll(&mut fds, Some(&timeout))? == 0 {
            return Ok(None);
        }
        let status = waitpid(self.pid, None)?;
        self.reaped = true;
        Ok(Some(status))
    }

    fn wait(&mut self, what: &str) -> Result<WaitStatus> {
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
fn reap_strays() {
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
fn poll_until<T>(what: &str, mut done: impl FnMut() -> Option<T>) -> Result<T> {
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
fn wait_blocked(pid: Pid, name: &str) -> Result<()> {
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

/// Waits until the peer, and the program it supervises, are blocked.
fn wait_idle(peer: &Peer, pid: Pid) -> Result<()> {
    wait_blocked(pid, peer.block)?;
    if peer.supervises {
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

fn children(parent: Pid) -> Vec<Pid> {
    process_table()
        .into_iter()
        .filter(|&(_, ppid)| ppid == parent)
        .map(|(pid, _)| pid)
        .collect()
}

fn only_child(parent: Pid) -> Option<Pid> {
    match children(parent)[..] {
        [child] => Some(child),
        _ => None,
    }
}

fn descendants(root: Pid) -> Vec<Pid> {
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
fn gone(pid: Pid, parent: Pid) -> bool {
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
fn exe_is(pid: Pid, exe: &Path) -> bool {
    fs::canonicalize(exe)
        .is_ok_and(|exe| fs::read_link(format!("/proc/{pid}/exe")).ok() == Some(exe))
}

// ----- the report --------------------------------------------------------------------------

struct Machine {
    cpu: String,
    cores: usize,
    kernel: String,
    date: String,
    commit: String,
}

impl Machine {
    fn here(root: &Path) -> Result<Machine> {
        let cpuinfo = procfs::CpuInfo::current()?;
        let git = |args: &[&str]| -> Option<String> {
            let out = Command::new("git")
                .args(args)
                .current_dir(root)
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let mut commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or("unknown".into());
        if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) {
            commit += " with uncommitted changes";
        }
        Ok(Machine {
            cpu: cpuinfo.model_name(0).unwrap_or("unknown CPU").to_string(),
            cores: std::thread::available_parallelism()?.get(),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")?
                .trim()
                .to_string(),
            date: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            commit,
        })
    }
}

fn arch_sizes(dist: &Path) -> Result<Vec<(String, u64)>> {
    let mut sizes = Vec::new();
    for entry in fs::read_dir(dist)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(arch) = name.strip_prefix("pause-linux-") {
            sizes.push((arch.to_string(), entry.metadata()?.len()));
        }
    }
    sizes.sort();
    Ok(sizes)
}

struct Report<'a> {
    machine: Machine,
    peers: &'a [Peer],
    figures: &'a [Figures],
    floor: Stats,
    floor_bytes: u64,
    arches: Vec<(String, u64)>,
    /// The checkout, left out of the paths shown.
    root: PathBuf,
}

impl Report<'_> {
    /// Words joined by spaces, paths inside the checkout relative to it.
    fn shown(&self, argv: &[CString]) -> String {
        let words: Vec<_> = argv
            .iter()
            .map(|w| {
                let path = Path::new(OsStr::from_bytes(w.as_bytes()));
                path.strip_prefix(&self.root)
                    .unwrap_or(path)
                    .display()
                    .to_string()
            })
            .collect();
        words.join(" ")
    }

    fn rows(&self) -> impl Iterator<Item = (&Peer, &Figures)> {
        self.peers.iter().zip(self.figures)
    }

    fn results(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(s, "# pause against its peers\n");
        let _ = writeln!(
            s,
            "Measured by `just bench` (`tools/src/bench.rs`) on {}, {} cores, Linux {}, \
             {}, commit {}. Chart: [chart.svg](chart.svg).\n",
            m.cpu, m.cores, m.kernel, m.date, m.commit
        );

        let _ = writeln!(s, "## Size, startup and memory\n");
        let _ = writeln!(
            s,
            "| peer | file bytes | linking | OCI image blob bytes | syscalls, execve to block \
             | blocks in | VmRSS kB | Pss kB |\n|---|---:|---|---:|---:|---|---:|---:|"
        );
        for (peer, f) in self.rows() {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | `{}` | {} | {} |",
                peer.name,
                thousands(f.fixed.file_bytes),
                if f.fixed.dynamic { "dynamic" } else { "static" },
                f.fixed.image_bytes.map_or("—".into(), thousands),
                f.fixed.syscalls,
                peer.block,
                f.idle.rss_kb,
                f.idle.pss_kb
            );
        }

        let _ = writeln!(
            s,
            "\n## Timings (min / median / max)\n\n\
             | peer | quick exit | exec to exit, µs | × floor | SIGTERM to exit, µs | \
             SIGTERM'd run | PID 1: reap {} orphans, ms | PID 1: SIGTERM |\n\
             |---|---|---:|---:|---:|---|---:|---|",
            thousands(ORPHANS as u64)
        );
        for (peer, f) in self.rows() {
            let exec = f.exec;
            let pid1 = &f.pid1;
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {:.1} | {} | {} | {} | {} |",
                peer.name,
                peer.quick.flag,
                spread(exec, US),
                ratio(exec.median, self.floor.median),
                spread(f.idle.term, US),
                f.idle.term_status,
                match pid1.reaped {
                    Ok(stats) => spread(stats, MS),
                    Err(left) => format!(
                        "does not reap: {} zombies left after {} s",
                        thousands(left as u64),
                        REAP_LIMIT.as_secs()
                    ),
                },
                if pid1.ends_on_sigterm {
                    "exits"
                } else {
                    "ignored"
                }
            );
        }
        let _ = writeln!(
            s,
            "| floor: only exit_group | (none) | {} | 1.0 | | | | |",
            spread(self.floor, US)
        );

        let _ = writeln!(
            s,
            "\n## pause on every architecture\n\n| arch | file bytes |\n|---|---:|"
        );
        for (arch, bytes) in &self.arches {
            let _ = writeln!(s, "| {arch} | {} |", thousands(*bytes));
        }

        let _ = writeln!(s, "\n## The peers\n");
        for peer in self.peers {
            let _ = writeln!(
                s,
                "- {}: `{}`, idle as `{}`; `{}` says \"{}\".",
                peer.name,
                self.shown(&peer.idle[..1]),
                self.shown(&peer.idle),
                peer.quick.flag,
                peer.quick.says
            );
        }
        let _ = writeln!(
            s,
            "- hand-written asm: `bench/pause-amd64.S`, `gcc {a} \
             -Wl,-T,linker/pause.ld`, then `llvm-objcopy --strip-sections`.\n\
             - C pause: `bench/pause.c`, `gcc {c}` and `musl-gcc {c}`.\n\
             - floor: `bench/floor.c`, `gcc {}`, {} bytes.",
            FLOOR_FLAGS.join(" "),
            thousands(self.floor_bytes),
            a = ASM_FLAGS.join(" "),
            c = C_FLAGS.join(" "),
        );
        s += &method();
        let _ = writeln!(s, "{}", self.noise());
        s
    }

    /// Which timed figures spread most, from this run's own samples.
    fn noise(&self) -> String {
        let spread = |pick: &dyn Fn(&Figures) -> Option<Stats>| {
            self.rows()
                .filter_map(|(p, f)| Some((p.name, pick(f)?)))
                .map(|(name, st)| (name, st.max.as_secs_f64() / st.median.as_secs_f64()))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or("n/a".into(), |(name, r)| {
                    format!("max up to {r:.1} × median ({name})")
                })
        };
        format!(
            "- Spread in this run: exec to exit {}; SIGTERM to exit {}; reaping {}.\n",
            spread(&|f| Some(f.exec)),
            spread(&|f| Some(f.idle.term)),
            spread(&|f| f.pid1.reaped.ok()),
        )
    }

    fn summary(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| | file bytes | syscalls to block | VmRSS kB | exec to exit µs | \
             SIGTERM to exit µs | reap {} orphans ms |\n|---|---:|---:|---:|---:|---:|---:|",
            thousands(ORPHANS as u64)
        );
        for (peer, f) in self.rows() {
            let name = match peer.ours {
                true => format!("**{}**", peer.name),
                false => peer.name.to_string(),
            };
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} | {} | {} |",
                thousands(f.fixed.file_bytes),
                f.fixed.syscalls,
                f.idle.rss_kb,
                whole(f.exec.median, US),
                whole(f.idle.term.median, US),
                match f.pid1.reaped {
                    Ok(t) => whole(t.median, MS),
                    _ => "never".into(),
                },
            );
        }
        let images: Vec<String> = self
            .rows()
            .filter_map(|(p, f)| {
                Some(format!(
                    "{} {} bytes",
                    p.name,
                    thousands(f.fixed.image_bytes?)
                ))
            })
            .collect();
        let _ = writeln!(
            s,
            "\nMedians on {} ({} cores), Linux {}, {}; a static ELF that only exits takes {} µs \
             from exec to exit. OCI image blobs: {}. Every figure with min and max, and how \
             each is taken: [bench/results.md](bench/results.md).\n\n\
             ![pause against its peers](bench/chart.svg)",
            m.cpu,
            m.cores,
            m.kernel,
            &m.date[..10],
            whole(self.floor.median, US),
            images.join(", ")
        );
        s
    }

    fn chart(&self, path: &Path) -> Result<()> {
        let bars = |bar: &dyn Fn(&Peer, &Figures) -> Bar| -> Vec<Bar> {
            self.rows().map(|(p, f)| bar(p, f)).collect()
        };
        let mut exec = bars(&|p, f| Bar::time(p.name, p.ours, f.exec, US));
        exec.push(Bar::time("floor (exit only)", false, self.floor, US));
        let panels = [
            Panel {
                title: "file bytes".into(),
                bars: bars(&|p, f| Bar::count(p, f.fixed.file_bytes)),
            },
            Panel {
                title: "syscalls from execve to blocking".into(),
                bars: bars(&|p, f| Bar::count(p, f.fixed.syscalls as u64)),
            },
            Panel {
                title: "VmRSS while idle, kB".into(),
                bars: bars(&|p, f| Bar::count(p, f.idle.rss_kb)),
            },
            Panel {
                title: "exec to exit, µs (median; line: min to max)".into(),
                bars: exec,
            },
            Panel {
                title: "SIGTERM to exit, µs (median; min to max)".into(),
                bars: bars(&|p, f| Bar::time(p.name, p.ours, f.idle.term, US)),
            },
            Panel {
                title: format!(
                    "reap {} orphans as PID 1, ms (median; min to max)",
                    thousands(ORPHANS as u64)
                ),
                bars: bars(&|p, f| match f.pid1.reaped {
                    Ok(stats) => Bar::time(p.name, p.ours, stats, MS),
                    Err(_) => Bar {
                        value: None,
                        text: "never reaps".into(),
                        ..Bar::count(p, 0)
                    },
                }),
            },
        ];
        let title = format!(
            "pause against its peers (log scales; {}, {} cores, {})",
            self.machine.cpu,
            self.machine.cores,
            &self.machine.date[..10]
        );
        draw(path, &title, &panels)
    }
}

/// How the figures are taken, for results.md.
fn method() -> String {
    format!(
        "
## How

- Not PID 1, as a plain child of the bench, unless the column says PID 1. tini and dumb-init
  run `sleep infinity` (they only ever run as a program's parent): their syscalls, memory and
  quick exit are their own process's; their SIGTERM'd run ends when the sleep they forward
  the signal to is gone.
- syscalls: `strace -f`, the peer's own process from its `execve` up to and including its
  first blocking call, both counted.
- exec to exit: posix_spawn of the peer with its quick-exit flag (stdio on /dev/null, empty
  environment) until waitpid returns, {exec} runs each; × floor is the ratio of its median to
  the floor's, whose time is exec and exit alone.
- SIGTERM to exit: from kill(2) until waitpid returns, once the peer (and its child) sits in
  its blocking call; a fresh process each run, {term} runs each.
- Runs go one of each per round, in a fresh (seeded) random order each round, so that no
  program always follows the same one and load from elsewhere falls on all alike.
- PID 1: the peer under `unshare --pid --fork`. Each of {rounds} rounds forks {n} processes
  inside the namespace, each blocked reading one byte from a pipe, whose parent then exits so
  that they are re-parented to the peer; the time runs from writing their {n} bytes until the
  last one's /proc entry is gone (polled every millisecond), so it includes their own wake-up
  and exit, the same work whoever reaps. Then SIGTERM from the parent namespace: a PID 1 gets
  it only through a handler.
- Every timed figure is noisy: two cores shared with other work, no CPU pinning; the max is
  one outlier run, so compare medians. Sizes and syscall counts are exact and repeat; memory
  moves by a page or so between runs.
",
        exec = thousands(EXEC_RUNS as u64),
        term = TERM_RUNS,
        rounds = REAP_ROUNDS,
        n = thousands(ORPHANS as u64),
    )
}

// ----- the chart ---------------------------------------------------------------------------

struct Panel {
    title: String,
    bars: Vec<Bar>,
}

struct Bar {
    label: String,
    /// None: nothing to draw, only `text`.
    value: Option<f64>,
    text: String,
    /// min and max, drawn as a line through the bar.
    range: Option<(f64, f64)>,
    ours: bool,
}

impl Bar {
    fn count(peer: &Peer, n: u64) -> Bar {
        Bar {
            label: peer.name.into(),
            value: Some(n as f64),
            text: thousands(n),
            range: None,
            ours: peer.ours,
        }
    }

    /// The median as the bar, min to max as the line, in `unit`s.
    fn time(label: &str, ours: bool, stats: Stats, unit: Duration) -> Bar {
        let units = |d: Duration| d.as_secs_f64() / unit.as_secs_f64();
        Bar {
            label: label.into(),
            value: Some(units(stats.median)),
            text: whole(stats.median, unit),
            range: Some((units(stats.min), units(stats.max))),
            ours,
        }
    }
}

const OURS: RGBColor = RGBColor(217, 95, 2);
const PEER: RGBColor = RGBColor(117, 140, 168);

fn draw(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    let root = SVGBackend::new(path, (1200, 960)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (head, body) = root.split_vertically(40);
    head.titled(title, ("sans-serif", 20)).map_err(plot_error)?;
    for (area, panel) in body.split_evenly((3, 2)).iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

fn draw_panel(area: &DrawingArea<SVGBackend, plotters::coord::Shift>, panel: &Panel) -> Result<()> {
    let n = panel.bars.len();
    let values = panel.bars.iter().flat_map(|b| {
        let range = b.range.into_iter().flat_map(|(min, max)| [min, max]);
        b.value.into_iter().chain(range)
    });
    // With every bar text only, any range will do.
    let (lo, hi) = values
        .fold(None, |seen: Option<(f64, f64)>, v| {
            let (lo, hi) = seen.unwrap_or((v, v));
            Some((lo.min(v), hi.max(v)))
        })
        .unwrap_or((1.0, 1.0));
    // Whole decades, with room right of the longest bar for its figure.
    let low = 10f64.powf(lo.max(1.0).log10().floor());
    let high = 10f64.powf((hi * 8.0).log10().ceil());
    // Row 0 is drawn at the bottom: list the first peer at the top.
    let row = |i: usize| n - 1 - i;
    let labels: Vec<&str> = panel.bars.iter().map(|b| b.label.as_str()).collect();

    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 16))
        .margin(8)
        .margin_right(24)
        .x_label_area_size(24)
        .y_label_area_size(130)
        .build_cartesian_2d((low..high).log_scale(), (0..n - 1).into_segmented())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i < n => labels[row(*i)].to_string(),
            _ => String::new(),
        })
        .x_label_formatter(&|v| si(*v))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(plot_error)?;

    let text =
        TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, b) in panel.bars.iter().enumerate() {
        let y = row(i);
        let color = if b.ours { OURS } else { PEER };
        let end = match b.value {
            Some(v) => {
                let mut rect = Rectangle::new(
                    [
                        (low, SegmentValue::Exact(y)),
                        (v, SegmentValue::Exact(y + 1)),
                    ],
                    color.filled(),
                );
                rect.set_margin(4, 4, 0, 0);
                chart.draw_series([rect]).map_err(plot_error)?;
                v
            }
            None => low,
        };
        let mut text_at = end;
        if let Some((min, max)) = b.range {
            chart
                .draw_series([PathElement::new(
                    [
                        (min, SegmentValue::CenterOf(y)),
                        (max, SegmentValue::CenterOf(y)),
                    ],
                    BLACK.stroke_width(1),
                )])
                .map_err(plot_error)?;
            text_at = text_at.max(max);
        }
        chart
            .draw_series([Text::new(
                b.text.clone(),
                (text_at * 1.15, SegmentValue::CenterOf(y)),
                text.clone(),
            )])
            .map_err(plot_error)?;
    }
    Ok(())
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e}")
}

/// An axis label: 1, 10, 100, 1k, 10k, 100k, 1M.
fn si(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

// ----- formatting --------------------------------------------------------------------------

/// 690920 -> "690,920".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "min / **median** / max" in whole `unit`s.
fn spread(s: Stats, unit: Duration) -> String {
    let [min, median, max] = [s.min, s.median, s.max].map(|d| whole(d, unit));
    format!("{min} / **{median}** / {max}")
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// A time in whole `unit`s, rounded as in every table.
fn whole(d: Duration, unit: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() / unit.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn stats_take_the_lower_median_of_measured_samples() {
        let odd = Stats::of(vec![us(5), us(1), us(3)]);
        assert_eq!(
            odd,
            Stats {
                min: us(1),
                median: us(3),
                max: us(5)
            }
        );
        let even = Stats::of(vec![us(4), us(1), us(3), us(2)]);
        assert_eq!(
            even,
            Stats {
                min: us(1),
                median: us(2),
                max: us(4)
            }
        );
    }

    const TINI_LOG: &str = "\
4040  execve(\"/usr/bin/tini-static\", [\"tini-static\", \"--\", \"sleep\"], 0x7ffe /* 0 vars */) = 0
4040  brk(NULL)                         = 0x23de9000
4040  clone(child_stack=NULL, flags=SIGCHLD) = 4043
4043  set_robust_list(0x23de9660, 24 <unfinished ...>
4040  rt_sigtimedwait(~[ILL TRAP], <unfinished ...>
4043  <... set_robust_list resumed>)    = 0
4043  rt_sigtimedwait(~[], NULL, NULL, 8) = 0
4040  <... rt_sigtimedwait resumed>NULL, {tv_sec=1, tv_nsec=0}, 8) = ? <unavailable>
4040  +++ killed by SIGKILL +++
";

    #[test]
    fn strace_counts_only_the_first_process_through_its_first_blocking_call() {
        assert_eq!(syscalls_until(TINI_LOG, "rt_sigtimedwait"), Some(4));
        assert_eq!(syscalls_until(TINI_LOG, "brk"), Some(2));
        assert_eq!(syscalls_until(TINI_LOG, "pause"), None);
    }

    #[test]
    fn strace_skips_signal_lines() {
        let log = "7  execve(\"/p\", [\"/p\"], 0x0 /* 0 vars */) = 0\n\
                   7  --- SIGCHLD {si_signo=SIGCHLD} ---\n\
                   7  pause( <unfinished ...>\n";
        assert_eq!(syscalls_until(log, "pause"), Some(2));
    }

    #[test]
    fn every_round_runs_each_target_once_and_the_orders_vary() {
        let mut rounds = Rounds::new(8);
        let orders: Vec<Vec<usize>> = (0..50).map(|_| rounds.next_order()).collect();
        for order in &orders {
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(sorted, (0..8).collect::<Vec<_>>());
        }
        // Target 7 does not always come right after the same target.
        let before_7: std::collections::HashSet<usize> = orders
            .iter()
            .filter_map(|o| {
                let at = o.iter().position(|&i| i == 7)?;
                Some(o[at.checked_sub(1)?])
            })
            .collect();
        assert!(before_7.len() > 3, "{before_7:?}");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(722), "722");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(690_920), "690,920");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(si(1.0), "1");
        assert_eq!(si(100.0), "100");
        assert_eq!(si(10_000.0), "10k");
        assert_eq!(si(1e6), "1M");
    }
}
