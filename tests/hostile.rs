//! Hostile conditions: what a node, a runtime or a neighbour in the pod may do to pause, and
//! that it comes through: no stdio at all, argv and environment near ARG_MAX, 10,000 orphans
//! at once, signal floods, unhandled signals from inside the pod, stop and continue, a
//! container with no capabilities and no /proc, the seccomp allowlist in deploy/seccomp.json,
//! a refused blocking call; and what it exposes: its memory map, and bytes that any clean
//! build reproduces.

// Shared with pods.rs, which uses the parts this file does not.
#[allow(dead_code)]
#[path = "oci.rs"]
mod oci;

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, SysconfVar, sysconf};
use oci::{Kind, Runtime, assert_locked_down, locked_down_bundle, per_runtime};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};
use pause_tests::*;

const LOOP_TERMINATED: &str = "Error: infinite loop terminated\n";

fn can_enter_pod(arch: &'static Arch) -> bool {
    can_run_pod(arch) && have("nsenter", "to enter the pod's PID namespace")
}

/// Tests that fork thousands of processes take turns: two at once would only double the
/// load on a machine's PID space and memory that other work shares.
fn one_crowd_at_a_time() -> MutexGuard<'static, ()> {
    static CROWD: Mutex<()> = Mutex::new(());
    // A test that failed while holding it poisons it; the next one may still go.
    CROWD.lock().unwrap_or_else(|e| e.into_inner())
}

/// User plus system CPU time of `pid` so far (a zombie keeps its figures).
fn cpu_time(pid: Pid) -> Duration {
    let stat = stat(pid).unwrap();
    let fields: Vec<&str> = stat.split(' ').collect();
    // utime and stime, fields 14 and 15 of the whole line, in clock ticks.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let hz = sysconf(SysconfVar::CLK_TCK).unwrap().unwrap() as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// The signals pending for `pid`, for its thread or the whole process, as a bit mask.
fn pending(pid: Pid) -> u64 {
    ["SigPnd", "ShdPnd"]
        .map(|f| u64::from_str_radix(&status_field(pid, f), 16).unwrap())
        .into_iter()
        .fold(0, |all, mask| all | mask)
}

fn bit(sig: Signal) -> u64 {
    1 << (sig as i32 - 1)
}

/// How often `pid` has gone to sleep: each pass of pause's loop adds one.
fn sleeps(pid: Pid) -> u64 {
    status_field(pid, "voluntary_ctxt_switches")
        .parse()
        .unwrap()
}

/// Waits until the native (amd64) `pid` sleeps in its blocking call again after `before`
/// sleeps: whatever woke it has been handled and the loop went round.
fn blocked_again(pid: Pid, before: u64) {
    poll(
        &format!("pid {pid} to block in {} again", AMD64.block),
        || {
            assert_ne!(state(pid), 'Z', "pid {pid} exited");
            (in_blocking_call(pid, &AMD64) && sleeps(pid) > before).then_some(())
        },
    );
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
    if arch.qemu.is_none() {
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
    if arch.qemu.is_some() {
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
    assert_eq!(out.stdout, format!("pause {}\n", env!("CARGO_PKG_VERSION")));
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
    let signals: Vec<i32> = match arch.qemu {
        // Every standard signal but the three pause handles, and the first and last
        // real-time signals.
        None => Signal::iterator()
            .filter(|s| !handled.contains(s))
            .map(|s| s as i32)
            .chain([34, 64])
            .collect(),
        Some(_) => vec![Signal::SIGKILL as i32, Signal::SIGSTOP as i32],
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
    assert_eq!(pending(pause.pid), 0, "signals {signals:?} were queued");
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
        pending(pause.pid) & bit(Signal::SIGTERM),
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
    if arch.qemu.is_some() && arch.block == "pause" {
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
    profile_allows_every_call_pause_makes,
);

/// The running process's memory: the file's one read+execute segment, the stack, and the
/// kernel's vDSO (and vsyscall) pages. Nothing is writable but the stack, nothing both
/// writable and executable. Native only: under qemu, /proc shows qemu's memory.
#[test]
fn only_the_stack_is_writable() {
    let pause = Pause::start(&AMD64, &[]);
    pause.wait_blocked();
    let maps = fs::read_to_string(format!("/proc/{}/maps", pause.pid)).unwrap();
    let binary = AMD64.binary().display().to_string();
    let mut image = 0;
    for line in maps.lines() {
        // start-end perms offset dev inode [name]
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (perms, name) = (fields[1], fields.get(5).copied().unwrap_or(""));
        let (w, x) = (perms.contains('w'), perms.contains('x'));
        assert!(!(w && x), "writable and executable: {line}\n{maps}");
        if w {
            assert_eq!(name, "[stack]", "writable: {line}\n{maps}");
        }
        if name.starts_with(&binary) {
            assert_eq!(perms, "r-xp", "{line}\n{maps}");
            image += 1;
        } else {
            let kernel = ["[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]"];
            assert!(kernel.contains(&name), "unexpected mapping: {line}\n{maps}");
        }
    }
    assert_eq!(image, 1, "the file should be mapped once:\n{maps}");
    pause.signal(Signal::SIGTERM);
    assert_eq!(pause.wait().status.code(), Some(0));
}

/// Two builds from scratch, each in its own empty target directory, with the command
/// `just dist` runs, give the same bytes, and those are the bytes in dist/: nothing in the
/// output depends on the build directory, the time or the machine's state.
#[test]
fn two_clean_builds_are_bit_identical() {
    let Some(arches) = justfile_arches() else {
        return;
    };
    let workspace = workspace();
    let rustc = |arg: &str| {
        let out = Command::new("rustc").arg(arg).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let host = rustc("-vV");
    let host = host.lines().find_map(|l| l.strip_prefix("host: ")).unwrap();
    let objcopy = PathBuf::from(rustc("--print=sysroot").trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/llvm-objcopy");

    let builds = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for (arch, target) in &arches {
        let bytes: Vec<Vec<u8>> = builds
            .iter()
            .map(|dir| {
                let status = finish(
                    Command::new(env!("CARGO"))
                        .args(["build", "--quiet", "--config", "linker/cargo.toml"])
                        .args(["-p", "pause", "--release", "--target", target])
                        .env("CARGO_TARGET_DIR", dir.path())
                        .current_dir(&workspace),
                    &format!("the {target} build"),
                );
                assert!(status.success(), "{target}: {status}");
                let built = dir.path().join(target).join("release/pause");
                let stripped = dir.path().join(format!("pause-linux-{arch}"));
                let status = finish(
                    Command::new(&objcopy)
                        .arg("--strip-sections")
                        .args([&built, &stripped]),
                    "llvm-objcopy",
                );
                assert!(status.success(), "{target}: llvm-objcopy {status}");
                fs::read(stripped).unwrap()
            })
            .collect();
        assert!(bytes[0] == bytes[1], "{arch}: two clean builds differ");
        let shipped = fs::read(workspace.join(format!("dist/pause-linux-{arch}"))).unwrap();
        assert!(
            bytes[0] == shipped,
            "{arch}: dist/ differs from a clean build of this source (stale? `just dist`)"
        );
    }
}

/// deploy/seccomp.json.
fn profile() -> LinuxSeccomp {
    let path = workspace().join("deploy/seccomp.json");
    serde_json::from_str(&fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: not an OCI linux.seccomp: {e}", path.display()))
}

/// The syscalls the profile allows.
fn allowed(profile: &LinuxSeccomp) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for rule in profile.syscalls().as_deref().unwrap_or_default() {
        assert_eq!(rule.action(), LinuxSeccompAction::ScmpActAllow, "{rule:?}");
        assert!(
            rule.args().is_none(),
            "no rule may depend on arguments: {rule:?}"
        );
        names.extend(rule.names().iter().cloned());
    }
    names
}

/// The signal return pause needs where arch/ names none: the kernel's or the vDSO's
/// trampoline makes it (arm and s390x: sigreturn; arm64, riscv64, ppc64le: rt_sigreturn).
const SIGNAL_RETURN: [&str; 2] = ["rt_sigreturn", "sigreturn"];

/// What the runtime's init calls after installing the filter, up to and including the
/// execve of pause. Measured with strace on Debian 12's runc 1.1.5 and crun 1.8.1, with
/// noNewPrivileges (as containerd and cri-dockerd run every sandbox), in which case both
/// install the filter as late as they can:
/// - runc: close and openat, then write on its exec FIFO; openat, fstatfs and getdents64
///   to list /proc/self/fd and close stray descriptors; getpid; futex and rt_sigreturn for
///   the Go runtime (a refused futex crashes runc's init in about one run in ten); execve.
/// - crun: close, execve.
///
/// fstatfs64 is the name Go's fstatfs has on 32-bit arm and 386. Without noNewPrivileges
/// runc installs the filter before dropping privileges and needs some 20 calls more
/// (capget, capset, prctl, setgroups, setuid...): this profile is not for that case.
const RUNTIME: [&str; 7] = [
    "close",
    "execve",
    "fstatfs",
    "fstatfs64",
    "futex",
    "getdents64",
    "openat",
];

/// The profile allows exactly what pause calls on some architecture (every name in an
/// arch/ `nr` module, and the signal return) plus the runtime's documented set; it refuses
/// everything else with an error, and each name is a syscall somewhere.
#[test]
fn profile_is_in_step_with_arch() {
    let profile = profile();
    assert_eq!(profile.default_action(), LinuxSeccompAction::ScmpActErrno);
    // None listed: libseccomp cannot put big-endian s390x in one filter with the others
    // (EDOM), and runc 1.1 rejects SCMP_ARCH_RISCV64. Without a list every runtime filters
    // its native architecture, by name: one file serves all seven.
    assert_eq!(profile.architectures(), &None);

    let mut pause: BTreeSet<String> = ALL
        .iter()
        .flat_map(|a| nr_table(a))
        .map(|(name, _)| name)
        .collect();
    pause.extend(SIGNAL_RETURN.map(String::from));
    let mut expected = pause.clone();
    expected.extend(RUNTIME.map(String::from));
    let allowed = allowed(&profile);
    let missing: Vec<_> = pause.difference(&allowed).collect();
    assert!(missing.is_empty(), "pause calls {missing:?}, not allowed");
    assert_eq!(
        allowed, expected,
        "allowed beyond pause's and the runtime's calls"
    );
    for name in &allowed {
        assert!(
            ALL.iter().any(|a| (a.sysno)(name).is_some()),
            "{name} is no syscall on any architecture"
        );
    }
}

/// Every call pause makes, traced on the real binary (startup, the SIGCHLD handler with its
/// signal return, SIGTERM), is one the profile allows: arch/ and the profile cannot drift
/// apart unnoticed, not even by a call arch/ does not name.
fn profile_allows_every_call_pause_makes(arch: &'static Arch) {
    if !arch.runnable() || (arch.qemu.is_none() && !have("strace", "to trace syscalls")) {
        return;
    }
    let pause = Pause::start_traced(arch, &[]);
    pause.wait_blocked();
    pause.signal(Signal::SIGCHLD);
    let sigreturn = |c: &String| SIGNAL_RETURN.contains(&c.as_str());
    poll("the SIGCHLD handler to return", || {
        trace_calls(&pause.trace())
            .iter()
            .any(sigreturn)
            .then_some(())
    });
    pause.signal(Signal::SIGTERM);
    let out = pause.wait();
    let calls: BTreeSet<String> = trace_calls(&out.trace).into_iter().collect();
    assert_eq!(out.status.code(), Some(0), "{calls:?}");
    let allowed = allowed(&profile());
    assert!(
        calls.contains("wait4"),
        "the handler did not run: {calls:?}"
    );
    let refused: Vec<_> = calls.difference(&allowed).collect();
    assert!(
        refused.is_empty(),
        "{}: the profile refuses {refused:?}",
        arch.name
    );
}

/// SIGCHLD (the handler runs, calls wait4, returns through the signal trampoline), then
/// SIGSTOP and SIGCONT (the blocking call is restarted), then SIGTERM through the runtime,
/// as a kubelet stops a sandbox: status 0, the message, nothing on stdout.
fn exercise_and_stop(pause: oci::Container) {
    let pid = pause.pid();
    let before = sleeps(pid);
    kill(pid, Signal::SIGCHLD).unwrap();
    blocked_again(pid, before);
    kill(pid, Signal::SIGSTOP).unwrap();
    poll("pause to stop", || (state(pid) == 'T').then_some(()));
    let before = sleeps(pid);
    kill(pid, Signal::SIGCONT).unwrap();
    blocked_again(pid, before);
    pause.kill("TERM");
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), TERMINATED);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}

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
    blocked_again(pid, 0);
    assert_locked_down(pid);
    let mounts = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    // Fields: id, parent, dev, root, mount point, options.
    let mounts: Vec<Vec<&str>> = mounts.lines().map(|l| l.split(' ').collect()).collect();
    let points: Vec<&str> = mounts.iter().map(|m| m[4]).collect();
    assert_eq!(points, ["/", "/dev"], "{mounts:?}");
    assert!(mounts[0][5].split(',').any(|o| o == "ro"), "{mounts:?}");
    exercise_and_stop(pause);
}

/// The shipped profile reaches the runtime as a kubelet's Localhost profile would, in a
/// locked-down sandbox: pause starts under it, runs its SIGCHLD handler, is stopped and
/// continued, and exits 0 on SIGTERM.
fn runs_under_the_profile(kind: Kind) {
    let Some(rt) = Runtime::new(kind) else { return };
    let pause = rt.run("seccomp", locked_down_bundle(Some(profile())));
    let pid = pause.pid();
    blocked_again(pid, 0);
    assert_locked_down(pid);
    // Mode 2 is a filter; the runtime's is the only one.
    assert_eq!(status_field(pid, "Seccomp"), "2");
    assert_eq!(status_field(pid, "Seccomp_filters"), "1");
    exercise_and_stop(pause);
}

/// The same profile without the blocking call, under a real runtime: the error and 42.
fn profile_without_the_blocking_call_exits_42(kind: Kind) {
    let Some(rt) = Runtime::new(kind) else { return };
    let mut profile = profile();
    let rules = profile.syscalls().clone().unwrap();
    let rules = rules.into_iter().map(|mut rule| {
        let names = rule
            .names()
            .iter()
            .filter(|n| *n != "pause" && *n != "ppoll");
        rule.set_names(names.cloned().collect());
        rule
    });
    profile.set_syscalls(Some(rules.collect()));
    let out = rt.run_to_end("refused", locked_down_bundle(Some(profile)));
    assert_eq!(out.status.code(), Some(42), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), LOOP_TERMINATED);
}

per_runtime!(
    runs_under_the_profile,
    profile_without_the_blocking_call_exits_42
);
