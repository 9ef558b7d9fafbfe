//! What the bench measures of a peer, the ground its parts share: each kind of figure, and
//! `Stats` (min, median, max) over the samples of one.

use std::time::Duration;

/// min, median and max of one figure's samples: times, or kB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Stats<T = Duration> {
    pub(super) min: T,
    pub(super) median: T,
    pub(super) max: T,
}

impl<T: Ord + Copy> Stats<T> {
    pub(super) fn of(mut samples: Vec<T>) -> Stats<T> {
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

/// A peer's figures that repeat exactly from run to run.
pub(super) struct ExactFigures {
    pub(super) file_bytes: u64,
    /// It names an interpreter (ld.so), so its file is not all it loads.
    pub(super) dynamic: bool,
    pub(super) image_bytes: Option<u64>,
    pub(super) syscalls: usize,
}

/// A peer idle and not PID 1: its memory, and SIGTERM to exit.
pub(super) struct IdleFigures {
    pub(super) rss_kb: Stats<u64>,
    pub(super) pss_kb: Stats<u64>,
    /// Its page tables (VmPTE).
    pub(super) pte_kb: Stats<u64>,
    pub(super) term: Stats,
    /// How a SIGTERM'd run ended.
    pub(super) term_status: String,
}

/// Everything measured of one peer.
pub(super) struct Figures {
    pub(super) exact: ExactFigures,
    pub(super) exec: Stats,
    pub(super) idle: IdleFigures,
    pub(super) pid1: Pid1Figures,
    /// As the process of a container in a memory cgroup of its own, if it runs alone there.
    pub(super) pod: Option<PodFigures>,
}

/// A peer's pod figures, in kB, over `POD_ROUNDS` fresh containers.
#[derive(Clone, Copy)]
pub(super) struct PodFigures {
    /// What the cgroup is charged once the peer idles: `user` + `kernel`.
    pub(super) charge: Stats<u64>,
    pub(super) user: Stats<u64>,
    pub(super) kernel: Stats<u64>,
    /// The usage file as read, which also holds the kernel's per-CPU precharge.
    pub(super) as_read: Stats<u64>,
    /// `charge` again once the peer has exited and been reaped, before the cgroup is removed.
    pub(super) left: Stats<u64>,
}

/// What the peer did as PID 1.
pub(super) struct Pid1Figures {
    /// Time to reap every orphan, per round; or how many were left when it gave up.
    pub(super) reaped: std::result::Result<Stats, usize>,
    /// SIGTERM from the parent namespace ended it.
    pub(super) ends_on_sigterm: bool,
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
}
