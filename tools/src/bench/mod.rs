//! `pause-tools bench`: the command that measures pause beside its peers and writes the report.
//!
//! Writes `bench/results.md` (every figure, with the machine, date and commit),
//! `bench/summary.md` (the fragment the README shows) and `bench/chart.svg`. It runs as root
//! (it makes PID namespaces) in a few minutes on two cores, through `just bench`. Nothing here
//! is asserted by a test: speed is measured, never tested. How each figure is taken is said
//! once, in `report::method`, which results.md prints.
//!
//! The modules: `plan` (the counts and limits) and `figures` (what is measured), which the
//! others stand on; `peers` (the programs and how the bench builds its own), `measure` (the
//! figures of a peer not as PID 1), `pid1` (as PID 1), `cgroup` (as a pod's process under
//! runc, in its own memory cgroup), `churn` (pods under churn through containerd's CRI, its
//! own section), `process` (spawning, waiting and /proc), `report` (results.md, summary.md
//! and the method), `chart`, `format` (numbers).
//!
//! `pause-tools bench churn` runs only the churn and prints its section (`just bench-churn`),
//! writing nothing under bench/.
//!
//! Crates: `nix` (posix_spawn, fork, setns, kill, waitpid, the subreaper flag); `rustix`
//! (pidfd_open and poll: waits with a deadline, which nix lacks); `libc` (`_exit` in a forked
//! child, which nix does not wrap); `procfs` (VmRSS, Pss, parent pids, the CPU model);
//! `syscalls` (syscall names to x86_64 numbers, the table the tests use); `goblin` (whether an
//! ELF names an interpreter); `plotters` (the chart, SVG backend only); `humantime` (the date);
//! `tempfile` (strace logs, bundles); `fastrand` (seeded shuffles of the run order);
//! `oci-spec` (the pods' config.json, as the runtime spec types); `pause-harness` (the
//! k8s tests' enclave, containerd and churn, for the churn).

mod cgroup;
mod chart;
mod churn;
mod figures;
mod format;
mod machine;
mod measure;
mod memcg;
mod peers;
mod pid1;
mod plan;
mod process;
mod report;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use nix::sys::prctl;
use nix::unistd::geteuid;

use figures::{ExactFigures, Figures};
use machine::Machine;
use peers::QuickExit;
use plan::{EXEC_RUNS, ORPHANS, POD_ROUNDS, REAP_ROUNDS, TERM_RUNS, progress};
use process::Spawner;
use report::Report;

pub fn main(args: &[String]) -> Result<()> {
    let only_churn = match args {
        [] => false,
        [only] if only == "churn" => true,
        _ => anyhow::bail!("usage: pause-tools bench [churn]"),
    };
    ensure!(
        geteuid().is_root(),
        "the bench runs as root: it makes PID namespaces"
    );
    // Whatever a peer leaves behind (dumb-init's child when dumb-init is killed, say) is
    // re-parented to the bench rather than to the host's init, so the bench reaps it.
    prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
    let result = if only_churn { run_churn() } else { run() };
    process::reap_strays();
    result
}

fn checkout() -> Result<PathBuf> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("tools/ has a parent")?
        .to_path_buf())
}

/// Only the churn: its section on stdout and in target/bench/churn.md.
fn run_churn() -> Result<()> {
    let root = checkout()?;
    let build = root.join("target/bench");
    fs::create_dir_all(&build)?;
    let built = peers::build_programs(&root, &build)?;
    let figures = churn::measure(&built.glibc, &build)?;
    let section = churn::results(&figures) + "\n" + &churn::method();
    fs::write(build.join("churn.md"), &section)?;
    println!("{section}\n{}", churn::summary(&figures));
    Ok(())
}

fn run() -> Result<()> {
    let root = checkout()?;
    let build = root.join("target/bench");
    fs::create_dir_all(&build)?;
    let spawner = Spawner::new()?;

    let built = peers::build_programs(&root, &build)?;
    let peers = peers::peers(&root, &built)?;
    let floor = QuickExit::check("floor", &built.floor, &[])?;

    let mut exact = Vec::new();
    for peer in &peers {
        progress(&format!("{}: sizes and strace", peer.name));
        exact.push(ExactFigures::of(peer)?);
    }

    progress(&format!("exec to exit: {EXEC_RUNS} runs of each"));
    let mut quick_exits: Vec<&QuickExit> = peers.iter().map(|p| &p.quick_exit).collect();
    quick_exits.push(&floor);
    let mut exec = measure::time_quick_exits(&spawner, &quick_exits)?;
    let floor_exec = exec.pop().context("the floor's times")?;

    progress(&format!("SIGTERM to exit: {TERM_RUNS} runs of each"));
    let idle = measure::time_sigterm(&spawner, &peers)?;

    let mut pid1 = Vec::new();
    for peer in &peers {
        progress(&format!(
            "{}: as PID 1, reaping {REAP_ROUNDS} x {ORPHANS} orphans",
            peer.name
        ));
        pid1.push(pid1::as_pid1(&spawner, peer)?);
    }

    progress(&format!(
        "as a pod's process under runc: {POD_ROUNDS} pods of each that runs alone"
    ));
    let (cgroups, pods) = cgroup::measure(&peers, &exact)?;
    let churn = churn::measure(&built.glibc, &build)?;

    let figures: Vec<Figures> = exact
        .into_iter()
        .zip(exec)
        .zip(idle)
        .zip(pid1)
        .zip(pods)
        .map(|((((exact, exec), idle), pid1), pod)| Figures {
            exact,
            exec,
            idle,
            pid1,
            pod,
        })
        .collect();
    let report = Report {
        machine: Machine::here(&root)?,
        peers: &peers,
        figures: &figures,
        churn: &churn,
        floor: floor_exec,
        floor_bytes: fs::metadata(&built.floor)?.len(),
        cgroups,
        arches: report::arch_sizes(&root.join("dist"))?,
        root: root.clone(),
    };
    let out = root.join("bench");
    fs::write(out.join("results.md"), report.results())?;
    fs::write(out.join("summary.md"), report.summary())?;
    chart::write(&report, &out.join("chart.svg"))?;
    progress("wrote bench/results.md, bench/summary.md, bench/chart.svg");
    Ok(())
}
