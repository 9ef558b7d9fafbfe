//! pause as PID 1 of fresh PID, network, IPC and UTS namespaces, as in a pod: no warning,
//! every orphan re-parented to it is reaped, one that stays costs it nothing, and SIGTERM
//! from the parent namespace ends it with status 0.

use std::time::Duration;

use pause_harness::*;

fn pid1_quiet_and_terminates(arch: &'static Arch) {
    if !can_run_pod(arch) {
        return;
    }
    let pause = Pause::start_pod(arch);
    pause.wait_blocked();
    // PID 1 must not warn.
    pause.terminate(TERMINATED);
}

/// 1,000 grandchildren made inside the namespace outlive their parent, so the kernel
/// re-parents them to PID 1; once released they exit, and pause must reap every one.
fn reaps_a_thousand_orphans(arch: &'static Arch) {
    const N: usize = 1000;
    if !can_enter_pod(arch) {
        return;
    }
    let pause = Pause::start_pod(arch);
    pause.wait_blocked();
    let mut orphans = Orphans::make(&pause, N);
    orphans.release();
    orphans.wait_reaped();
    drop(orphans);
    pause.terminate(TERMINATED);
}

/// A child that stays while others exit, as a daemon in any real pod: pause reaps the dead,
/// finds the live one not ready (wait4 gives 0), and goes back to its blocking call,
/// spending no CPU. A reaper that loops while wait4 returns >= 0 spins here.
fn a_child_that_stays_costs_nothing(arch: &'static Arch) {
    const N: usize = 100;
    if !can_enter_pod(arch) {
        return;
    }
    let pause = Pause::start_pod(arch);
    pause.wait_blocked();
    let mut orphans = Orphans::make(&pause, N);
    orphans.release_all_but_one();
    orphans.wait_left(1);
    poll("pause to sleep again", || {
        let asleep = state(pause.pid) == 'S';
        // Natively, also in its own blocking call; under qemu /proc shows qemu's calls.
        (asleep && (!arch.native() || in_blocking_call(pause.pid, arch))).then_some(())
    });
    let window = Duration::from_millis(500);
    assert!(
        idle_over(pause.pid, window),
        "pause spends CPU with a child alive"
    );
    drop(orphans);
    pause.terminate(TERMINATED);
}

per_arch!(
    pid1_quiet_and_terminates,
    reaps_a_thousand_orphans,
    a_child_that_stays_costs_nothing,
);
