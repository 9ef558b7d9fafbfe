//! deploy/seccomp.json, the profile shipped for the pod: it allows exactly what pause calls
//! on some architecture plus what the runtime needs after installing it; every call pause
//! makes, traced, is allowed; real runtimes run pause under it; without the blocking call
//! pause exits 42.

use std::collections::BTreeSet;
use std::fs;

use nix::sys::signal::Signal;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};
use pause_harness::oci::{Kind, Runtime, assert_locked_down, locked_down_bundle};
use pause_harness::*;

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
    if !arch.runnable() || (arch.native() && !have("strace", "to trace syscalls")) {
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

/// The shipped profile reaches the runtime as a kubelet's Localhost profile would, in a
/// locked-down sandbox: pause starts under it, runs its SIGCHLD handler, is stopped and
/// continued, and exits 0 on SIGTERM.
fn runs_under_the_profile(kind: Kind) {
    let Some(rt) = Runtime::new(kind) else { return };
    let pause = rt.run("seccomp", locked_down_bundle(Some(profile())));
    let pid = pause.pid();
    wait_blocked_again(pid, &AMD64, 0);
    assert_locked_down(pid);
    // Mode 2 is a filter; the runtime's is the only one.
    assert_eq!(status_field(pid, "Seccomp"), "2");
    assert_eq!(status_field(pid, "Seccomp_filters"), "1");
    pause.exercise_then_terminate();
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

per_arch!(profile_allows_every_call_pause_makes);
