//! Pods under churn: the k8s tests' churn (`pause_harness::k8s::churn`, checked there for what
//! it leaves behind) timed through containerd's CRI, once with our image as the pods'
//! sandbox and once with the glibc C pause packaged the same way. This module measures and
//! presents its own section; `report` prints it in results.md and summary.md.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use pause_harness::k8s::churn::{CONCURRENCY, PODS, churn};
use pause_harness::k8s::{Enclave, containerd_with_images};

use super::format::{MS, whole};
use super::peers::which;
use super::plan::progress;

/// What the churn needs on the machine (`just setup` installs them).
const TOOLS: &[&str] = &[
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "runc",
    "unshare",
    "nsenter",
];
const CNI_BRIDGE: &str = "/usr/lib/cni/bridge";
/// Rounds the churn of each sandbox image is cut into (`PODS` in all).
const ROUNDS: usize = 4;
/// The tag the C pause's image gets.
const GLIBC_TAG: &str = "bench-c-glibc";
const OURS_TAG: &str = "bench-ours";

/// One sandbox image's churn.
pub(super) struct ChurnFigures {
    pub(super) name: &'static str,
    pub(super) ours: bool,
    pub(super) run_pod_sandbox: Percentiles,
    pub(super) cycle: Percentiles,
    /// The lowest and highest RunPodSandbox p50 of a single round: how far one round's
    /// median strays, the yardstick for a difference between the two images.
    pub(super) round_p50s: (Duration, Duration),
    pub(super) took: Duration,
}

impl ChurnFigures {
    /// The timed figures in whole milliseconds, in the order both tables give them:
    /// RunPodSandbox p50 and p95, one round's lowest and highest p50, the cycle's p50 and p95.
    fn milliseconds(&self) -> [String; 6] {
        [
            self.run_pod_sandbox.p50,
            self.run_pod_sandbox.p95,
            self.round_p50s.0,
            self.round_p50s.1,
            self.cycle.p50,
            self.cycle.p95,
        ]
        .map(|d| whole(d, MS))
    }
}

/// The 50th and 95th percentiles of one timed figure (nearest rank: always a time that
/// was measured).
#[derive(Clone, Copy)]
pub(super) struct Percentiles {
    pub(super) p50: Duration,
    pub(super) p95: Duration,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort();
        let rank = |p: usize| samples[(samples.len() * p).div_ceil(100).max(1) - 1];
        Percentiles {
            p50: rank(50),
            p95: rank(95),
        }
    }
}

/// Churns ours (`dist/pause-linux-amd64`) and the glibc C pause (`glibc`), both packaged
/// into `build`, each under a containerd of its own in an enclave of its own, both up
/// throughout: `ROUNDS` rounds of `PODS / ROUNDS` pods each, in the order ABBA..., so
/// that neither always goes first and load from elsewhere falls on both alike.
pub(super) fn measure(glibc: &Path, build: &Path) -> Result<Vec<ChurnFigures>> {
    for tool in TOOLS {
        which(tool)?;
    }
    ensure!(
        Path::new(CNI_BRIDGE).is_file(),
        "{CNI_BRIDGE} is missing: `just setup` installs containernetworking-plugins"
    );
    // Both packaged alike, single-platform (ours would otherwise come as the multi-platform
    // index), so that only the binary differs.
    let package = |binary: &Path, tag: &str| -> Result<(PathBuf, String)> {
        let archive = build.join(format!("{tag}-oci.tar"));
        let bytes = crate::layout::single_archive(binary, "amd64", tag)?;
        fs::write(&archive, bytes).with_context(|| format!("writing {}", archive.display()))?;
        Ok((archive, crate::built::reference(tag)))
    };
    let (ours_archive, ours_image) = package(&pause_harness::AMD64.binary(), OURS_TAG)?;
    let (glibc_archive, glibc_image) = package(glibc, GLIBC_TAG)?;
    let sandboxes = [
        ("pause (ours)", true, "ours", ours_archive, ours_image),
        (
            "C pause (glibc)",
            false,
            "glibc",
            glibc_archive,
            glibc_image,
        ),
    ];
    progress(&format!(
        "pods under churn: {PODS} each through containerd's CRI, {CONCURRENCY} at a time"
    ));
    let mut runs: Vec<_> = sandboxes
        .into_iter()
        .map(|(name, ours, short, archive, image)| {
            let enclave = Enclave::new(&format!("bench-churn-{short}"));
            let containerd = containerd_with_images(&enclave, &archive, &image);
            (
                name,
                ours,
                enclave,
                containerd,
                Vec::new(),
                Vec::new(),
                Duration::ZERO,
            )
        })
        .collect();
    let per_round = PODS / ROUNDS;
    for round in 0..ROUNDS {
        let pods = round * per_round..(round + 1) * per_round;
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (_, _, enclave, containerd, cycles, round_p50s, took) = &mut runs[i];
            let started = Instant::now();
            let round = churn(containerd, enclave, pods.clone());
            *took += started.elapsed();
            round_p50s.push(Percentiles::of(round.iter().map(|c| c.run_pod_sandbox).collect()).p50);
            cycles.extend(round);
        }
    }
    let mut figures = Vec::new();
    for (name, ours, enclave, containerd, cycles, round_p50s, took) in runs {
        drop(containerd);
        enclave.close();
        ensure!(
            cycles.len() == PODS,
            "{name}: {} pods churned",
            cycles.len()
        );
        figures.push(ChurnFigures {
            name,
            ours,
            run_pod_sandbox: Percentiles::of(cycles.iter().map(|c| c.run_pod_sandbox).collect()),
            cycle: Percentiles::of(cycles.iter().map(|c| c.whole).collect()),
            round_p50s: (
                *round_p50s.iter().min().unwrap(),
                *round_p50s.iter().max().unwrap(),
            ),
            took,
        });
    }
    Ok(figures)
}

/// results.md's section: the table, then how it was taken.
pub(super) fn results(figures: &[ChurnFigures]) -> String {
    let mut s = format!(
        "\n## Pods under churn (containerd {} CRI)\n\n\
         | sandbox image | RunPodSandbox p50 ms | p95 ms | one round's p50 ms | \
         whole cycle p50 ms | p95 ms | {PODS} pods took, s |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        containerd_version()
    );
    for f in figures {
        let [p50, p95, low, high, cycle_p50, cycle_p95] = f.milliseconds();
        let _ = writeln!(
            s,
            "| {} | {p50} | {p95} | {low} to {high} | {cycle_p50} | {cycle_p95} | {:.1} |",
            f.name,
            f.took.as_secs_f64()
        );
    }
    s
}

/// summary.md's sentence.
pub(super) fn summary(figures: &[ChurnFigures]) -> String {
    let each: Vec<String> = figures
        .iter()
        .map(|f| {
            let name = match f.ours {
                true => format!("**{}**", f.name),
                false => f.name.to_string(),
            };
            let [p50, p95, low, high, cycle_p50, cycle_p95] = f.milliseconds();
            format!(
                "{name} {p50} / {p95} ms (one round's p50 {low} to {high} ms; \
                 cycle {cycle_p50} / {cycle_p95} ms)"
            )
        })
        .collect();
    format!(
        "Pods under churn through containerd's CRI ({PODS} pod lifecycles, {CONCURRENCY} at a \
         time), RunPodSandbox p50 / p95: {}.",
        each.join("; ")
    )
}

/// results.md's `## How` bullet for this section.
pub(super) fn method() -> String {
    format!(
        "- Pods under churn: Debian's containerd 1.6 with its CRI, started fresh for each \
  sandbox image in an enclave of its own (PID, mount and network namespaces, tmpfs state; \
  `harness/src/k8s/`), the image imported as its `sandbox_image`; both daemons stay up \
  throughout. {PODS} pod lifecycles for each image, {CONCURRENCY} in flight at any time, \
  in {ROUNDS} rounds of {per_round} that alternate ABBA (ours, the C pause, the C pause, \
  ours...), so that neither always runs first; each as a kubelet drives one over gRPC: \
  RunPodSandbox (a CNI bridge network, network and IPC namespaces shared), an app container \
  (busybox `sleep`) created and started, stopped with no grace period and removed, \
  StopPodSandbox, RemovePodSandbox. RunPodSandbox is timed from request to answer, the \
  cycle from RunPodSandbox's request to RemovePodSandbox's answer; p50 and p95 by nearest \
  rank; \"one round's p50\" is the lowest and the highest of the {ROUNDS} rounds' own \
  RunPodSandbox p50, how far one image's median moves from round to round. Both images are \
  packaged by `pause-tools image`'s code as single-platform images of one form (one layer holding `/pause`, the same config): ours from \
  `dist/pause-linux-amd64`, the C pause from its glibc build. \"took\" sums an image's rounds. The k8s test `churn` checks that the same \
  churn leaves nothing behind.\n",
        per_round = PODS / ROUNDS,
    )
}

/// `containerd --version`'s version word, for the heading.
fn containerd_version() -> String {
    std::process::Command::new("containerd")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            out.split_whitespace().nth(2).map(String::from)
        })
        .unwrap_or_else(|| "unknown".into())
}
