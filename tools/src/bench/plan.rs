//! How much the bench measures and how long it waits: the counts and limits every part
//! reads (and results.md states), and how it says what it is doing.

use std::time::Duration;

/// exec-to-exit runs per peer (and for the floor).
pub(super) const EXEC_RUNS: usize = 1000;
/// SIGTERM-to-exit runs per peer; each also reads the peer's memory.
pub(super) const TERM_RUNS: usize = 1000;
/// Orphans per reaping round, and rounds per peer.
pub(super) const ORPHANS: usize = 10_000;
pub(super) const REAP_ROUNDS: usize = 3;
/// Fresh pods per peer, for the per-pod charge (about 7 s a round).
pub(super) const POD_ROUNDS: usize = 11;
/// How long any wait may take before the bench stops with an error.
pub(super) const DEADLINE: Duration = Duration::from_secs(20);
/// How long a PID 1 gets to reap the orphans before it counts as not reaping at all.
pub(super) const REAP_LIMIT: Duration = Duration::from_secs(5);
/// How long a PID 1 gets to exit on SIGTERM before it counts as ignoring it.
pub(super) const PID1_TERM_LIMIT: Duration = Duration::from_secs(2);

/// One line on stderr as each part starts: the bench takes minutes.
pub(super) fn progress(what: &str) {
    eprintln!("bench: {what}");
}
