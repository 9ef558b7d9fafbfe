//! The report: results.md, summary.md and the one text that says how each figure is taken.

use std::ffi::{CString, OsStr};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::churn::{self, ChurnFigures};
use super::figures::{Figures, PodFigures, Stats};
use super::format::{MS, US, count_spread, ratio, spread, thousands, whole};
use super::machine::Machine;
use super::memcg;
use super::peers::{ASM_FLAGS, C_FLAGS, FLOOR_FLAGS, Peer};
use super::plan::{EXEC_RUNS, ORPHANS, POD_ROUNDS, REAP_LIMIT, REAP_ROUNDS, TERM_RUNS};

pub(super) fn arch_sizes(dist: &Path) -> Result<Vec<(String, u64)>> {
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

pub(super) struct Report<'a> {
    pub(super) machine: Machine,
    pub(super) peers: &'a [Peer],
    pub(super) figures: &'a [Figures],
    pub(super) churn: &'a [ChurnFigures],
    pub(super) floor: Stats,
    pub(super) floor_bytes: u64,
    pub(super) arches: Vec<(String, u64)>,
    /// The hierarchy the pods' cgroups were read in.
    pub(super) cgroups: memcg::Version,
    /// The checkout, left out of the paths shown.
    pub(super) root: PathBuf,
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

    pub(super) fn rows(&self) -> impl Iterator<Item = (&Peer, &Figures)> {
        self.peers.iter().zip(self.figures)
    }

    pub(super) fn results(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(s, "# pause against its peers\n");
        let _ = writeln!(
            s,
            "Measured by `just bench` (`tools/src/bench/`) on {}, {} cores, Linux {}, \
             {}, commit {}. Chart: [chart.svg](chart.svg).\n",
            m.cpu, m.cores, m.kernel, m.date, m.commit
        );

        let _ = writeln!(s, "## Size, startup and memory\n");
        let _ = writeln!(
            s,
            "| peer | file bytes | linking | OCI image blob bytes | syscalls, execve to block \
             | blocks in | VmRSS kB | Pss kB | VmPTE kB |\n|---|---:|---|---:|---:|---|---:|---:|---:|"
        );
        for (peer, f) in self.rows() {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | `{}` | {} | {} | {} |",
                peer.name,
                thousands(f.exact.file_bytes),
                if f.exact.dynamic { "dynamic" } else { "static" },
                f.exact.image_bytes.map_or("—".into(), thousands),
                f.exact.syscalls,
                peer.block,
                count_spread(f.idle.rss_kb),
                count_spread(f.idle.pss_kb),
                count_spread(f.idle.pte_kb),
            );
        }
        s += &self.pods();

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
                peer.quick_exit.flag,
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

        s += &churn::results(self.churn);

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
                peer.quick_exit.flag,
                peer.quick_exit.says
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

    /// The per-pod table: each peer that runs alone, as a pod's process.
    fn pods(&self) -> String {
        let mut s = format!(
            "\n## Per pod, as a node pays it ({}, min / median / max kB)\n\n\
             | peer | charge once idle | of it kernel | of it user pages | usage file as read \
             | left charged once it has exited |\n|---|---:|---:|---:|---:|---:|\n",
            self.cgroups.name()
        );
        for (peer, f) in self.rows() {
            let Some(pod) = &f.pod else { continue };
            let PodFigures {
                charge,
                user,
                kernel,
                as_read,
                left,
            } = *pod;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                peer.name,
                count_spread(charge),
                count_spread(kernel),
                count_spread(user),
                count_spread(as_read),
                count_spread(left)
            );
        }
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

    pub(super) fn summary(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| | file bytes | syscalls to block | VmRSS kB | pod charge kB | exec to exit µs | \
             SIGTERM to exit µs | reap {} orphans ms |\n|---|---:|---:|---:|---:|---:|---:|---:|",
            thousands(ORPHANS as u64)
        );
        for (peer, f) in self.rows() {
            let name = match peer.ours {
                true => format!("**{}**", peer.name),
                false => peer.name.to_string(),
            };
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} | {} | {} | {} |",
                thousands(f.exact.file_bytes),
                f.exact.syscalls,
                f.idle.rss_kb.median,
                f.pod.map_or("—".into(), |p| thousands(p.charge.median)),
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
                    thousands(f.exact.image_bytes?)
                ))
            })
            .collect();
        let _ = writeln!(
            s,
            "\nMedians on {} ({} cores), Linux {}, {}; a static ELF that only exits takes {} µs \
             from exec to exit. VmRSS: {} runs of each. Pod charge: what the memory cgroup of \
             a runc container running the peer alone is charged once it idles, kernel memory \
             included ({}, {} pods of each). OCI image blobs: {}. Every figure with min and \
             max, and how each is taken: [bench/results.md](bench/results.md).\n\n\
             {}\n\n\
             ![pause against its peers](bench/chart.svg)",
            m.cpu,
            m.cores,
            m.kernel,
            &m.date[..10],
            whole(self.floor.median, US),
            thousands(TERM_RUNS as u64),
            self.cgroups.name(),
            POD_ROUNDS,
            images.join(", "),
            churn::summary(self.churn)
        );
        s
    }
}

/// How each figure is taken: results.md's `## How`, and the only statement of the bench's
/// method (the code's comments point here).
fn method() -> String {
    format!(
        "
## How

- x86_64 only: the peers are host binaries.
- Not PID 1, as a plain child of the bench, unless the column says PID 1. tini and dumb-init
  run `sleep infinity` (they only ever run as a program's parent): their syscalls, memory and
  quick exit are their own process's; their SIGTERM'd run ends when the sleep they forward
  the signal to is gone.
- syscalls: `strace -f`, the peer's own process from its `execve` up to and including its
  first blocking call, both counted (a \"not PID 1\" warning counts too).
- exec to exit: posix_spawn of the peer with its quick-exit flag (stdio on /dev/null, empty
  environment) until waitpid returns, {exec} runs each; × floor is the ratio of its median to
  the floor's, whose time is exec and exit alone.
- SIGTERM to exit: from kill(2) until waitpid returns, once the peer (and its child) sits in
  its blocking call; not PID 1, so the signal is handled by whatever the peer installed; a
  fresh process each run, {term} runs each.
- VmRSS, Pss and VmPTE (the page tables, kernel memory that VmRSS leaves out): read from
  /proc on each of those {term} runs while the peer sits blocked. They vary from run to run
  because the kernel lowers each new process's initial stack pointer by a random amount, so
  its argv and auxv tables take one stack page or two (under `setarch -R` they do not vary):
  one sample is a draw, the median is the figure. A single figure means every run agreed.
- Per pod, as a node pays it: each peer that is static and runs no other program (so that a
  rootfs holding only its file is all it needs) is the only process of a real OCI container,
  `runc run --detach` of a bundle made as a CRI runtime makes a sandbox's: rootfs holding
  only the peer as /pause, read-only; uid and gid 65535; runc's default namespaces (pid,
  network, ipc, uts, mount, cgroup); a memory cgroup of its own, which runc makes. Each of
  {pods} rounds starts one pod per peer at once, as pods share a node, waits until every peer
  sits in its blocking call and is its cgroup's only process, waits 3 s (the kernel folds its
  per-CPU counters into memory.stat every 2 s) and reads every cgroup; then kills and reaps
  every peer, waits 3 s and reads again; then deletes the containers, and runc their cgroups.
- charge once idle = user pages + kernel memory. On cgroup v1: memory.stat's rss + cache, and
  memory.kmem.usage_in_bytes (kernel stacks, page tables, slab, the pod's namespaces and
  mounts), which v1 charges to memory.usage_in_bytes as well (the kernel's cgroup-v1/memory
  doc, 2.7: kmem charges are \"also visible from the user counter\"; it is on unless booted
  with cgroup.memory=nokmem). On cgroup v2: memory.stat's anon + file, and kernel + sock.
- usage file as read: memory.usage_in_bytes (v1) or memory.current (v2), the figure a
  kubelet reads and the one a limit, and so the OOM killer, is held to. It is the charge
  plus the kernel's per-CPU precharge: a cgroup is charged up to 64 pages at a time on each
  CPU, which later charges use up (the v1 doc calls the file \"a fuzz value\"), so it jumps by
  up to 256 kB per CPU between pods for reasons that are not the peer's. Compare charges.
- The runtime's leftovers are included, not subtracted: they are charged to the pod, so the
  node pays them. runc's init runs in the cgroup before it execs the peer; the memory that exec
  frees is uncharged, but the kernel objects it made (the namespaces, the mounts, dentries of
  the paths it walked) and any page cache it read first stay charged to the pod. Every peer
  gets the same runc, bundle and namespaces, so that part is the same in every row and the
  differences between rows are the peers' own. The last column is what is still charged 3 s
  after the peer was reaped, its namespaces gone with it: what the runtime left behind.
- The peer's file is in the page cache before its first pod starts, charged to the bench that
  wrote it: as on a node, where every pod maps the one /pause of the image's layer, a pod is
  charged none of its file's pages (only those it dirties, such as .data and .bss).
- Runs go one of each per round, in a fresh (seeded) random order each round, so that no
  program always follows the same one and load from elsewhere falls on all alike.
- PID 1: the peer under `unshare --pid --fork`. Each of {rounds} rounds forks {n} processes
  inside the namespace, each blocked reading one byte from a pipe, whose parent then exits so
  that they are re-parented to the peer; the time runs from writing their {n} bytes until the
  last one's /proc entry is gone (polled every millisecond), so it includes their own wake-up
  and exit, the same work whoever reaps. Then SIGTERM from the parent namespace: a PID 1 gets
  it only through a handler.
- Every timed figure is noisy: two cores shared with other work, no CPU pinning; the max is
  one outlier run, so compare medians. Sizes and syscall counts are exact and repeat.
{churn}",
        exec = thousands(EXEC_RUNS as u64),
        term = thousands(TERM_RUNS as u64),
        pods = POD_ROUNDS,
        rounds = REAP_ROUNDS,
        n = thousands(ORPHANS as u64),
        churn = churn::method(),
    )
}
