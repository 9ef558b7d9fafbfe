//! Exec probes that leave a process behind, in a pod whose PID namespace is shared (what
//! users enable to get pause's reaping; openshift/images#27): every leftover is re-parented
//! to pause, which reaps it, so no zombie accumulates. Checked from the host, through the
//! enclave's /proc.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use k8s_cri::v1::ExecSyncRequest;
use pause_harness::busybox;
use pause_harness::k8s::{app_config, sandbox_config};
use pause_harness::{DEADLINE, poll, poll_for, stat_at};

use super::{our_containerd, pod_namespaces, run_app, run_pod, sandbox_pause, stop_and_remove_pod};

const PROBES: usize = 1000;
/// Probes in flight at once, as a kubelet runs several containers' probes: ExecSync waits
/// for the probe's output to close, which its `sleep` holds open, so one at a time would
/// take a tenth of a second each.
const AT_ONCE: usize = 4;
/// Each probe's shell exits at once, leaving its `sleep` to the pod.
const PROBE: &str = "sleep 0.1 &";
/// The witness: a sleep that outlives its shell without holding the probe's output.
const WITNESS: &str = "sleep 2 >/dev/null 2>&1 &";

#[test]
fn exec_probes_leave_no_zombie_in_a_shared_pid_namespace() {
    let started = Instant::now();
    let Some((enclave, containerd)) = our_containerd("the exec probe test", "probes") else {
        return;
    };
    let mut cri = containerd.runtime();
    let sandbox = sandbox_config("probes", &enclave.cgroup_parent, pod_namespaces());
    let pod = run_pod(&containerd, &sandbox);
    let pause_pid = sandbox_pause(&containerd, &enclave, &pod);
    let pause = enclave.proc(pause_pid);
    let (app, app_pid) = run_app(
        &containerd,
        &pod,
        &sandbox,
        app_config("app", &[busybox::BINARY, "sleep", "3600"], pod_namespaces()),
    );
    let held = [pause_pid, app_pid];
    let pod_ns = fs::read_link(pause.join("ns/pid")).unwrap();
    // The pod's processes, from the host: those in pause's PID namespace, with the
    // parent (as the enclave numbers it) and state of each; pause and the app left out.
    let leftovers = || -> Vec<(u32, u32, char)> {
        enclave
            .processes()
            .into_iter()
            .filter(|pid| !held.contains(pid))
            .filter_map(|pid| {
                let proc: PathBuf = enclave.proc(pid);
                (fs::read_link(proc.join("ns/pid")).ok()? == pod_ns).then_some(())?;
                let stat = stat_at(&proc)?;
                let mut fields = stat.split(' ');
                let state = fields.next()?.chars().next()?;
                Some((pid, fields.next()?.parse().ok()?, state))
            })
            .collect()
    };

    // While the probes run, a watcher samples the pod: each sleep whose shell has exited
    // shows up as pause's child for most of its tenth of a second.
    let probing = AtomicBool::new(true);
    let (reparented, most_zombies) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let (mut reparented, mut most_zombies) = (BTreeSet::new(), 0);
            while probing.load(Ordering::Relaxed) {
                let now = leftovers();
                reparented.extend(
                    now.iter()
                        .filter(|(_, parent, state)| *parent == pause_pid && *state != 'Z')
                        .map(|(pid, _, _)| *pid),
                );
                let zombies = now.iter().filter(|(_, _, state)| *state == 'Z').count();
                most_zombies = most_zombies.max(zombies);
                // A sampling cadence, not a wait: each sleep lives ~100 ms.
                std::thread::sleep(Duration::from_millis(5));
            }
            (reparented.len(), most_zombies)
        });
        // Stops the watcher however the probes end (a failed one panics).
        let _stop = Stop(&probing);
        for _ in 0..PROBES / AT_ONCE {
            let execs = containerd.block_on(async {
                let mut probes = JoinSet::new();
                for _ in 0..AT_ONCE {
                    let mut cri = cri.clone();
                    let cmd = [busybox::BINARY, "sh", "-c", PROBE]
                        .map(String::from)
                        .into();
                    let container_id = app.clone();
                    probes.spawn(async move {
                        cri.exec_sync(ExecSyncRequest {
                            container_id,
                            cmd,
                            timeout: 10,
                        })
                        .await
                    });
                }
                probes.join_all().await
            });
            for exec in execs {
                let exec = exec.expect("ExecSync failed").into_inner();
                assert_eq!(exec.exit_code, 0, "{exec:?}");
            }
        }
        drop(_stop);
        watcher.join().unwrap()
    });
    let probed = started.elapsed();
    // A witness that the leftovers are pause's to reap: one more probe whose sleep lets go
    // of the output, so ExecSync returns while it runs. Its shell exits at once, and the
    // sleep is then pause's child (the shim that ran the shell is outside the namespace).
    // The probes' own sleeps hold ExecSync until they end, so they are seen so only by luck.
    let witness = containerd.call(
        cri.exec_sync(ExecSyncRequest {
            container_id: app.clone(),
            cmd: [busybox::BINARY, "sh", "-c", WITNESS]
                .map(String::from)
                .into(),
            timeout: 10,
        }),
    );
    assert_eq!(witness.exit_code, 0, "{witness:?}");
    poll("the witness sleep to be pause's child", || {
        let now = leftovers();
        now.iter()
            .any(|&(_, parent, state)| parent == pause_pid && state != 'Z')
            .then_some(())
    });
    // The sleeps end within seconds; pause reaps each as it does.
    let mut left = leftovers();
    let _ = poll_for(DEADLINE, || {
        left = leftovers();
        left.is_empty().then_some(())
    });
    let zombies: Vec<_> = left.iter().filter(|(_, _, state)| *state == 'Z').collect();
    assert!(
        zombies.is_empty(),
        "zombies in the pod (pid, parent, state): {zombies:?}"
    );
    assert!(
        left.is_empty(),
        "probe processes still in the pod: {left:?}"
    );

    stop_and_remove_pod(&containerd, &pod);
    drop(containerd);
    enclave.close();
    eprintln!(
        "exec probes: {PROBES} in {probed:.1?}; sleeps seen as pause's children: {reparented}; \
         most zombies seen at once (each reaped): {most_zombies}; {:.1?} in all",
        started.elapsed()
    );
}

struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}
