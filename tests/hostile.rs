//! Hostile conditions: what a node, a runtime or a neighbour in the pod may do to pause, and
//! that it comes through: no stdio at all, argv and environment near ARG_MAX, 10,000 orphans
//! at once, signal floods, unhandled signals from inside the pod, stop and continue, a
//! refused blocking call, a container with no capabilities and no /proc.

use std::fs;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::{SysconfVar, sysconf};
use pause_harness::oci::{Kind, Runtime, assert_locked_down, locked_down_bundle};
use pause_harness::*;

/// Tests that fork thousands of processes take turns: two at once would only double the
/// load on a machine's PID space and memory that other work shares.
fn one_crowd_at_a_time() -> MutexGuard<'static, ()> {
    static CROWD: Mutex<()> = Mutex::new(());
    // A test that failed while holding it poisons it; the next one may still go.
    CROWD.lock().unwrap_or_else(|e| e.into_inner())
}

/// fds 0, 1 and 2 all closed, as by a runtime that hands over no stdio at all: pause runs,
/// its writes fail and change nothing, and SIGTERM still ends it with status 0.
fn all_stdio_closed(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    let close_all = ["sh", "-c", "exec \"$@\" <&- >&- 2>&-", "sh"];
    let pause = Pause::start_with(arch, &[], &close_all, |_| {});
    pause.wait_blocked();
    if arch.native() {
        let fds: Vec<_> = fs::read_dir(format!("/proc/{}/fd", pause.pid))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        for fd in ["0", "1", "2"] {
            assert!(!fds.iter().any(|f| f == fd), "fd {fd} is open: {fds:?}");
        }
    }
    let out = pause.terminate("");
    assert_eq!(out.stdout, "");
    if !arch.native() {
        // qemu's log took the lowest free descriptor, 0; the guest's fd 2 stayed closed.
        let warning = out.trace.lines().find(|l| l.contains(" write(2,"));
        let warning = warning.unwrap_or_else(|| panic!("no warning write: {}", out.trace));
        assert!(warning.ends_with("(Bad file descriptor)"), "{warning}");
    }
}

/// Thousands of arguments and a big environment, together close to ARG_MAX. pause scans
/// argv only: `-v` in last place is still found, and without it pause runs as usual.
fn argv_and_environment_near_arg_max(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    // The kernel allows argv plus envp a quarter of the stack limit (what sysconf reports),
    // at most 6 MiB; each string costs its bytes, its NUL and a pointer.
    let limit = (sysconf(SysconfVar::ARG_MAX).unwrap().unwrap() as usize).min(6 << 20);
    let cost = |len: usize| len + 1 + size_of::<usize>();
    let inherited: usize = std::env::vars_os()
        .map(|(k, v)| cost(k.len() + 1 + v.len()))
        .sum();
    // 64 KiB stay free for the binary's path and qemu's own arguments.
    let half = (limit - inherited - (64 << 10)) / 2;
    let args: Vec<String> = (0..half / cost(100))
        .map(|i| format!("{i:0>100}"))
        .collect();
    let value = "e".repeat(100_000); // below MAX_ARG_STRLEN, 128 KiB per string
    let env: Vec<(String, &str)> = (0..half / cost(100_020))
        .map(|i| (format!("PAUSE_HOSTILE_{i}"), value.as_str()))
        .collect();
    assert!(
        args.len() > 5000,
        "ARG_MAX {limit} leaves too little to test"
    );

    let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
    argv.push("-v");
    let with_env = |cmd: &mut Command| {
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
    };
    let out = Pause::start_with(arch, &argv, &[], with_env).wait();
    assert_eq!(out.status.code(), Some(0), "{:?}", out.status);
    assert_eq!(out.stdout, VERSION_LINE);
    assert_eq!(out.stderr, "");

    argv.pop();
    let pause = Pause::start_with(arch, &argv, &[], with_env);
    pause.wait_blocked();
    pause.terminate(&format!("{WARNING}{TERMINATED}"));
}

/// 10,000 orphans re-parented to pause, released at once: pause reaps every one (a SIGCHLD
/// stands for any number of children; the handler loops until none is left).
fn reaps_ten_thousand_orphans(arch: &'static Arch) {
    const N: usize = 10_000;
    if !can_enter_pod(arch) {
        return;
    }
    let _crowd = one_crowd_at_a_time();
    let pause = Pause::start_pod(arch);
    pause.wait_blocked();
    let mut orphans = Orphans::make(&pause, N);
    orphans.release();
    orphans.wait_reaped();
    pause.terminate(TERMINATED);
}

/// SIGTERM while the reaper runs: thousands of orphans released and SIGTERM sent right
/// after. Status 0 and the message exactly once; the kernel takes the rest of the pod down
/// with its PID 1 before the parent can reap it, so returning at all means nothing hangs.
fn sigterm_while_reaping(arch: &'static Arch) {
    const N: usize = 5_000;
    if !can_enter_pod(arch) {
        return;
    }
    let _crowd = one_crowd_at_a_time();
    let pause = Pause::start_pod(arch);
    pause.wait_blocked();
    let mut orphans = Orphans::make(&pause, N);
    orphans.release();
    pause.terminate(TERMINATED);
}

/// 100,000 SIGCHLD as fast as kill(2) goes, then a burst of SIGTERM. Standard signals
/// coalesce, so pause runs the reaper as often as it can and finds nothing; then it exits 0
/// with the message exactly once (SIGTERM is blocked while its handler runs, which exits).
fn sigchld_flood_then_sigterm(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    let pause = Pause::start(arch, &[]);
    pause.wait_blocked();
    for _ in 0..100_000 {
        pause.signal(Signal::SIGCHLD);
    }
    for _ in 0..100 {
        pause.signal(Signal::SIGTERM);
    }
    let out = pause.wait();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?} {}",
        out.status,
        out.stderr
    );
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, format!("{WARNING}{TERMINATED}"));
}

/// Signals sent to PID 1 from inside its own PID namespace, as any process in the pod may:
/// the kernel drops every one whose disposition is the default, SIGKILL and SIGSTOP too, so
/// pause neither dies nor stops, and it still answers SIGTERM from the node.
///
/// Under qemu-user only SIGKILL and SIGSTOP are sent. qemu installs a host handler for every
/// other signal to emulate it for the guest, so the kernel delivers them; qemu then carries
/// out the guest's default action by raising the signal at itself, which the kernel drops
/// for a PID 1, and waits for it forever. That is qemu's emulation, not pause.
fn unhandled_signals_from_inside_the_pod(arch: &'static Arch) {
    if !can_enter_pod(arch) {
        return;
    }
    let pause = Pause::start_pod(arch);
    pause.wait_blocked();
    let handled = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGCHLD];
    let signals: Vec<i32> = match arch.native() {
        // Every standard signal but the three pause handles, and the first and last
        // real-time signals.
        true => Signal::iterator()
            .filter(|s| !handled.contains(s))
            .map(|s| s as i32)
            .chain([34, 64])
            .collect(),
        false => vec![Signal::SIGKILL as i32, Signal::SIGSTOP as i32],
    };
    let script: String = signals.iter().map(|s| format!("kill -{s} 1 && ")).collect();
    let status = finish(
        Command::new("nsenter")
            .args(["--target", &pause.pid.to_string(), "--pid", "--"])
            .args(["sh", "-c", &format!("{script}true")]),
        "the signals from inside to be sent",
    );
    // kill(2) succeeded every time: the kernel took each signal, and dropped it.
    assert!(status.success(), "kill from inside the pod: {status}");
    assert_eq!(
        pending_signals(pause.pid),
        0,
        "signals {signals:?} were queued"
    );
    assert_eq!(state(pause.pid), 'S', "pause should still sleep");
    pause.wait_blocked();
    pause.terminate(TERMINATED);
}

/// SIGSTOP and SIGCONT from the node (a debugger, an operator): pause stops, continues and
/// sleeps again; a SIGTERM sent while it is stopped waits, and ends it on SIGCONT with
/// status 0.
fn stop_and_continue_from_outside(arch: &'static Arch) {
    if !can_enter_pod(arch) {
        return;
    }
    let pause = Pause::start_pod(arch);
    pause.wait_blocked();
    pause.signal(Signal::SIGSTOP);
    poll("pause to stop", || (state(pause.pid) == 'T').then_some(()));
    pause.signal(Signal::SIGCONT);
    poll("pause to sleep again", || {
        (state(pause.pid) == 'S').then_some(())
    });
    pause.wait_blocked();

    pause.signal(Signal::SIGSTOP);
    poll("pause to stop again", || {
        (state(pause.pid) == 'T').then_some(())
    });
    pause.signal(Signal::SIGTERM);
    assert_ne!(
        pending_signals(pause.pid) & signal_bit(Signal::SIGTERM),
        0,
        "SIGTERM not held"
    );
    assert_eq!(state(pause.pid), 'T', "a stopped pause acted on SIGTERM");
    pause.signal(Signal::SIGCONT);
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr, TERMINATED);
}

/// Kubernetes issue 85191: a seccomp profile that refuses the blocking call. pause.c retries
/// it forever at 100% CPU; this pause writes the error and exits 42 at once, having used
/// next to no CPU time.
///
/// Under qemu the filter sees qemu's host calls. qemu carries a guest ppoll to a host ppoll,
/// so the refusal reaches the guest (arm64, riscv64). It emulates a guest pause with a host
/// sigsuspend and returns EINTR whatever happened, so no filter can make the guest's pause
/// fail (arm, 386, s390x, ppc64le): there the test checks exactly that, a filter refusing
/// the host `pause` changes nothing and the guest sleeps and answers SIGTERM as usual.
fn refused_blocking_call_exits_42(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    let filter = refusing([(arch.block.parse().unwrap(), vec![])]);
    let pause = Pause::start_filtered(arch, filter);
    if !arch.native() && arch.block == "pause" {
        pause.wait_blocked();
        pause.terminate(&format!("{WARNING}{TERMINATED}"));
        return;
    }
    poll("pause to exit", || (state(pause.pid) == 'Z').then_some(()));
    let cpu = cpu_time(pause.pid);
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(42), "{out:?}");
    assert_eq!(out.stderr, format!("{WARNING}{LOOP_TERMINATED}"));
    // Spinning even for the time it takes to notice would show here; this is startup alone
    // (qemu's, under qemu).
    assert!(cpu <= Duration::from_millis(100), "used {cpu:?} of CPU");
}

per_arch!(
    all_stdio_closed,
    argv_and_environment_near_arg_max,
    reaps_ten_thousand_orphans,
    sigterm_while_reaping,
    sigchld_flood_then_sigterm,
    unhandled_signals_from_inside_the_pod,
    stop_and_continue_from_outside,
    refused_blocking_call_exits_42,
);

/// The strictest sandbox a pod may get, without /proc or /sys: of the usual mounts only the
/// /dev tmpfs stays, since crun fills a /dev with the default devices, in the rootfs itself
/// if nothing is mounted there. pause needs none of them. crun, the runtime of CRI-O and
/// podman, runs it; runc 1.1 cannot, since its own init lists /proc/self/fd before exec and
/// fails without /proc. Native only (as every runtime test): the runtime execs the binary
/// itself, and a foreign one would need binfmt_misc and qemu inside the rootfs.
#[test]
fn crun_without_proc() {
    let Some(rt) = Runtime::new(Kind::Crun) else {
        return;
    };
    let bundle = locked_down_bundle(None);
    let mut spec = bundle.spec();
    let mounts = spec.mounts().clone().unwrap_or_default();
    let dev = mounts
        .into_iter()
        .filter(|m| m.destination().as_os_str() == "/dev");
    spec.set_mounts(Some(dev.collect()));
    // Both name paths under /proc and /sys, which are not there to mask.
    let linux = spec.linux_mut().as_mut().unwrap();
    linux.set_masked_paths(None);
    linux.set_readonly_paths(None);
    bundle.save(&spec);

    let pause = rt.run("no-proc", bundle);
    let pid = pause.pid();
    wait_blocked_again(pid, &AMD64, 0);
    assert_locked_down(pid);
    let mounts = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    // Fields: id, parent, dev, root, mount point, options.
    let mounts: Vec<Vec<&str>> = mounts.lines().map(|l| l.split(' ').collect()).collect();
    let points: Vec<&str> = mounts.iter().map(|m| m[4]).collect();
    assert_eq!(points, ["/", "/dev"], "{mounts:?}");
    assert!(mounts[0][5].split(',').any(|o| o == "ro"), "{mounts:?}");
    pause.exercise_then_terminate();
}
