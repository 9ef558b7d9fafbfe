//! The measurements of every peer not as PID 1: exact figures, exec to exit, SIGTERM to exit.

use std::fs;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::figures::{ExactFigures, IdleFigures, Stats};
use super::peers::{Peer, QuickExit, which};
use super::plan::{EXEC_RUNS, TERM_RUNS};
use super::process::{
    Memory, Running, Spawner, descendants, exe_is, memory_kb, only_child, poll_until, wait_blocked,
    wait_idle,
};

impl ExactFigures {
    pub(super) fn of(peer: &Peer) -> Result<ExactFigures> {
        let bytes = fs::read(&peer.exe)?;
        let elf = goblin::elf::Elf::parse(&bytes)
            .with_context(|| format!("{} is not an ELF", peer.exe.display()))?;
        let image_bytes = match peer.packaged {
            true => Some(crate::layout::blob_bytes(&peer.exe, "amd64")?),
            false => None,
        };
        Ok(ExactFigures {
            file_bytes: bytes.len() as u64,
            dynamic: elf.interpreter.is_some(),
            image_bytes,
            syscalls: count_syscalls(peer)?,
        })
    }
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
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
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
pub(super) fn time_quick_exits(spawner: &Spawner, targets: &[&QuickExit]) -> Result<Vec<Stats>> {
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

/// SIGTERM-to-exit times of every peer, idle and not PID 1, `TERM_RUNS` each; every run also
/// reads its memory while it sits blocked (a fresh process each time: where the kernel puts
/// its stack, and so how many pages that takes, changes from run to run).
pub(super) fn time_sigterm(spawner: &Spawner, peers: &[Peer]) -> Result<Vec<IdleFigures>> {
    let mut times = vec![Vec::with_capacity(TERM_RUNS); peers.len()];
    let mut memory = vec![Vec::with_capacity(TERM_RUNS); peers.len()];
    let mut status = vec![None; peers.len()];
    let mut rounds = Rounds::new(peers.len());
    for _ in 0..TERM_RUNS {
        for i in rounds.next_order() {
            let peer = &peers[i];
            let mut run = spawner.spawn(&peer.idle)?;
            wait_idle(run.pid, peer.block, peer.supervises)?;
            memory[i].push(memory_kb(run.pid)?);
            let start = Instant::now();
            kill(run.pid, Signal::SIGTERM)?;
            let ended = run.wait(peer.name)?;
            times[i].push(start.elapsed());
            status[i].get_or_insert_with(|| describe(ended));
        }
    }
    times
        .into_iter()
        .zip(memory)
        .zip(status)
        .map(|((times, memory), status)| {
            let of = |pick: fn(&Memory) -> u64| Stats::of(memory.iter().map(pick).collect());
            Ok(IdleFigures {
                rss_kb: of(|m| m.rss_kb),
                pss_kb: of(|m| m.pss_kb),
                pte_kb: of(|m| m.pte_kb),
                term: Stats::of(times),
                term_status: status.context("no run")?,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
