//! pause as PID 1 of fresh PID, network, IPC and UTS namespaces, as in a pod: no warning,
//! every orphan re-parented to it is reaped, and SIGTERM from the parent namespace ends it
//! with status 0.

use std::fs::OpenOptions;
use std::io::Write;
use std::process::{Command, Stdio};

use nix::sys::signal::Signal;
use pause_tests::*;

const POD: &[&str] = &[
    "unshare",
    "--pid",
    "--net",
    "--ipc",
    "--uts",
    "--fork",
    "--mount-proc",
];

fn can_run(arch: &'static Arch) -> bool {
    privileged("to create namespaces") && have("unshare", "to create namespaces") && arch.runnable()
}

fn pid1_quiet_and_terminates(arch: &'static Arch) {
    if !can_run(arch) {
        return;
    }
    let pause = Pause::start_with(arch, &[], POD, |_| {});
    pause.wait_blocked();
    pause.signal(Signal::SIGTERM);
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr, TERMINATED, "PID 1 must not warn");
}

/// 1,000 grandchildren made inside the namespace outlive their parent, so the kernel
/// re-parents them to PID 1; once released they exit, and pause must reap every one.
fn reaps_a_thousand_orphans(arch: &'static Arch) {
    const N: usize = 1000;
    if !can_run(arch) || !have("nsenter", "to enter the namespace") {
        return;
    }
    let pause = Pause::start_with(arch, &[], POD, |_| {});
    pause.wait_blocked();

    // Each orphan blocks reading one line from this FIFO. The harness holds it open for
    // writing, so no open blocks and no line is lost before every reader has it open.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("release");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let mut release = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();

    let pid = pause.pid.to_string();
    let script = format!("i=0; while [ $i -lt {N} ]; do read _ < \"$1\" & i=$((i+1)); done");
    let mut maker = Command::new("nsenter")
        .args(["--target", &pid, "--pid", "--", "sh", "-c", &script, "sh"])
        .arg(&fifo)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let status = poll("the orphan maker to exit", || maker.try_wait().unwrap());
    assert!(status.success());

    // The maker is gone: all N are now pause's children (alive, waiting for their line).
    poll("the orphans to be re-parented to pause", || {
        (children(pause.pid).len() == N).then_some(())
    });
    release.write_all(&[b'\n'; N]).unwrap();
    poll("pause to reap every orphan", || {
        children(pause.pid).is_empty().then_some(())
    });
    drop(release);

    pause.signal(Signal::SIGTERM);
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr, TERMINATED);
}

per_arch!(pid1_quiet_and_terminates, reaps_a_thousand_orphans);
