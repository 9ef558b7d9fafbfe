//! pause as PID 1 of fresh PID, network, IPC and UTS namespaces, as in a pod: no warning,
//! every orphan re-parented to it is reaped, and SIGTERM from the parent namespace ends it
//! with status 0.

use pause_tests::*;

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
    if !can_run_pod(arch) || !have("nsenter", "to enter the namespace") {
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

per_arch!(pid1_quiet_and_terminates, reaps_a_thousand_orphans);
