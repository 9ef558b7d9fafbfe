//! Pods under churn through containerd's CRI (`pause_harness::k8s::churn`, which the bench
//! times): after hundreds of pod lifecycles, a few at a time, nothing of any pod is left
//! and every sandbox's exit was recorded. Correctness only; speed is the bench's.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Instant;

use k8s_cri::v1::{ListContainersRequest, ListPodSandboxRequest, PodSandboxState, VersionRequest};
use pause_harness::k8s::churn::{CONCURRENCY, PODS, churn};
use pause_harness::k8s::{Enclave, Events, sandbox_config};
use pause_harness::{DEADLINE, poll, poll_for, stat_at};

use super::{our_containerd, pod_namespaces, run_pod, stop_and_remove_pod};

/// What containerd 1.6's StopPodSandbox ends a running sandbox with: SIGKILL
/// (stopSandboxContainer), so 128 + 9 whatever the sandbox does; StopContainer with no
/// grace period ends the app the same way.
const KILLED: u32 = 128 + 9;

#[test]
fn pods_under_churn_leave_nothing_behind() {
    let started = Instant::now();
    let Some((enclave, containerd)) = our_containerd("the churn test", "churn") else {
        return;
    };
    let events = Events::watch(&containerd, &enclave);
    let before = Leftovers::of(&enclave);
    // The checks see what a live pod holds: its pause and shim, its mounts, network
    // namespace and cgroups.
    let sandbox = sandbox_config("churn-seen", &enclave.cgroup_parent, pod_namespaces());
    let pod = run_pod(&containerd, &sandbox);
    // RunPodSandbox returns once runc has started the sandbox, which may still be runc's
    // init (`runc:[2:INIT]`) a moment before it execs pause.
    let new_names = |live: &Leftovers| -> BTreeSet<String> {
        new(&before.processes, &live.processes)
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    };
    let live = poll_for(DEADLINE, || {
        let live = Leftovers::of(&enclave);
        let names = new_names(&live);
        ["pause", "containerd-shim"]
            .iter()
            .all(|n| names.contains(*n))
            .then_some(live)
    })
    .unwrap_or_else(|| {
        panic!(
            "no pause and shim: {:?}",
            new_names(&Leftovers::of(&enclave))
        )
    });
    assert!(
        !new(&before.mounts, &live.mounts).is_empty(),
        "no mount of the live pod"
    );
    assert!(
        !live.netns.is_empty() && !live.cgroups.is_empty(),
        "{live:?}"
    );
    stop_and_remove_pod(&containerd, &pod);

    let churning = Instant::now();
    let cycles = churn(&containerd, &enclave, 0..PODS);
    assert_eq!(cycles.len(), PODS);
    let churned = churning.elapsed();

    // Every sandbox's exit is on record: PodSandboxStatus said NOTREADY once it was
    // stopped (the CRI's status has no exit code), and its task's exit event carries it.
    for cycle in &cycles {
        assert_eq!(
            cycle.stopped,
            Some(PodSandboxState::SandboxNotready),
            "pod {} after StopPodSandbox",
            cycle.pod
        );
    }
    let exits = poll("every sandbox's and app's exit event", || {
        let exits = events.exits();
        cycles
            .iter()
            .all(|c| exits.contains_key(&c.pod) && exits.contains_key(&c.app))
            .then_some(exits)
    });
    for cycle in &cycles {
        assert_eq!(
            exits[&cycle.pod], KILLED,
            "sandbox {}'s exit status",
            cycle.pod
        );
        assert_eq!(exits[&cycle.app], KILLED, "app {}'s exit status", cycle.app);
    }

    // Nothing is left: the CRI and containerd list nothing, and the enclave holds only
    // what it held before the first pod.
    let mut cri = containerd.runtime();
    let pods = containerd.call(cri.list_pod_sandbox(ListPodSandboxRequest { filter: None }));
    assert!(pods.items.is_empty(), "{pods:?}");
    let containers = containerd.call(cri.list_containers(ListContainersRequest { filter: None }));
    assert!(containers.containers.is_empty(), "{containers:?}");
    for listing in [&["tasks", "ls", "-q"][..], &["containers", "ls", "-q"]] {
        let left = containerd.ctr(listing);
        assert!(left.trim().is_empty(), "ctr {listing:?}: {left}");
    }
    let ids: Vec<&str> = cycles.iter().flat_map(|c| [&*c.pod, &*c.app]).collect();
    // Shims exit a moment after their last task is deleted: wait for the enclave to hold
    // what it held before the first pod, then say what differs if it never does.
    let mut after = Leftovers::of(&enclave);
    let _ = poll_for(DEADLINE, || {
        after = Leftovers::of(&enclave);
        (after.processes == before.processes && after.mounts == before.mounts).then_some(())
    });
    before.assert_same(&after, &ids);
    let version = containerd.call(cri.version(VersionRequest::default()));
    assert!(!version.runtime_version.is_empty(), "{version:?}");

    drop(events);
    drop(containerd);
    enclave.close();
    eprintln!(
        "churn test: {PODS} pods, {CONCURRENCY} at a time, in {churned:.1?}; {:.1?} in all",
        started.elapsed()
    );
}

/// What a pod could leave in the enclave.
#[derive(Debug)]
struct Leftovers {
    /// Each process's pid (as the enclave numbers them) and command name.
    processes: BTreeSet<(u32, String)>,
    /// The pids of zombies among them.
    zombies: Vec<u32>,
    /// Mount points in the enclave's mount namespace, which containerd, its shims and
    /// runc all work in (the pods' own namespaces are gone with their processes).
    mounts: BTreeSet<String>,
    /// Network namespaces pinned in `/run/netns` (`/var/run/netns`), where containerd 1.6
    /// keeps each pod's.
    netns: BTreeSet<String>,
    cgroups: BTreeSet<String>,
}

impl Leftovers {
    fn of(enclave: &Enclave) -> Leftovers {
        let (mut processes, mut zombies) = (BTreeSet::new(), Vec::new());
        for pid in enclave.processes() {
            let proc = enclave.proc(pid);
            let (Ok(comm), Some(stat)) = (fs::read_to_string(proc.join("comm")), stat_at(&proc))
            else {
                continue; // gone meanwhile
            };
            processes.insert((pid, comm.trim().to_string()));
            if stat.starts_with('Z') {
                zombies.push(pid);
            }
        }
        let mountinfo = fs::read_to_string(format!("/proc/{}/mountinfo", enclave.init)).unwrap();
        let mounts = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(String::from))
            .collect();
        let names = |dir: &Path| -> BTreeSet<String> {
            fs::read_dir(dir)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        };
        Leftovers {
            processes,
            zombies,
            mounts,
            netns: names(&enclave.path("/run/netns")),
            cgroups: enclave
                .cgroups()
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
        }
    }

    /// `after` holds exactly what `self` held, and nothing names any of `ids`.
    fn assert_same(&self, after: &Leftovers, ids: &[&str]) {
        // Shims, pauses, runc and apps would be new processes; only the enclave's PID 1
        // and containerd were there before.
        let processes = new(&self.processes, &after.processes);
        assert!(
            processes.is_empty(),
            "processes left (pid, name): {processes:?}"
        );
        assert!(
            after.zombies.is_empty(),
            "zombies left: {:?}",
            after.zombies
        );
        let mounts = new(&self.mounts, &after.mounts);
        assert!(mounts.is_empty(), "mounts left: {mounts:?}");
        let named: Vec<&String> = after
            .mounts
            .iter()
            .filter(|m| ids.iter().any(|id| m.contains(id)))
            .collect();
        assert!(named.is_empty(), "mounts of the pods: {named:?}");
        assert!(
            after.netns.is_empty(),
            "network namespaces left: {:?}",
            after.netns
        );
        assert!(
            after.cgroups.is_empty(),
            "pod cgroups left: {:?}",
            after.cgroups
        );
    }
}

/// What `after` holds that `before` did not.
fn new<T: Ord + Clone>(before: &BTreeSet<T>, after: &BTreeSet<T>) -> Vec<T> {
    after.difference(before).cloned().collect()
}
