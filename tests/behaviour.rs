//! pause.c's observable behaviour, byte for byte, on every architecture: the version flag,
//! the warning, the shutdown messages and exit codes, and indifference to broken stdio.

use std::fs::File;
use std::os::unix::process::CommandExt;

use nix::sys::signal::Signal;
use pause_harness::*;
use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};

/// `-v` in any case and any argv position prints the version and exits 0; nothing else runs.
fn version_flag(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    for args in [
        &["-v"][..],
        &["-V"],
        &["x", "-v"],
        &["--foo", "-V", "bar"],
        &["-v", "-v"],
    ] {
        let out = run_pause(arch, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert_eq!(out.stdout, VERSION_LINE, "{args:?}");
        assert_eq!(out.stderr, "", "{args:?}: no warning before the version");
    }
}

/// Arguments that merely resemble the flag are ignored, as strcasecmp would.
fn near_misses_are_ignored(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    for arg in ["-vv", "v", "--v", "-", "", "-w", "--version", "-v "] {
        let pause = Pause::start(arch, &[arg]);
        pause.wait_blocked();
        pause.signal(Signal::SIGTERM);
        let out = pause.wait();
        assert_eq!(out.status.code(), Some(0), "{arg:?}: {out:?}");
        assert_eq!(out.stdout, "", "{arg:?}");
        assert_eq!(out.stderr, format!("{WARNING}{TERMINATED}"), "{arg:?}");
    }
}

fn sigterm_exits_zero(arch: &'static Arch) {
    shutdown(arch, Signal::SIGTERM, TERMINATED);
}

fn sigint_exits_zero(arch: &'static Arch) {
    shutdown(arch, Signal::SIGINT, INTERRUPT);
}

fn shutdown(arch: &'static Arch, sig: Signal, message: &str) {
    if !arch.runnable() {
        return;
    }
    let pause = Pause::start(arch, &[]);
    pause.wait_blocked();
    pause.signal(sig);
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, format!("{WARNING}{message}"));
}

/// SIGCHLD wakes the blocking call and pause loops and sleeps again; signals it has no
/// handler for leave it asleep.
fn survives_other_signals(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    let pause = Pause::start(arch, &[]);
    pause.wait_blocked();
    // Each SIGCHLD ends the wait with EINTR and the loop goes round, each time before the
    // next signal is sent: one that landed while the last one's handler ran would end pause
    // through its own handler and hide a loop that had ended.
    for _ in 0..2 {
        let before = pause.sleeps();
        pause.signal(Signal::SIGCHLD);
        pause.wait_blocked_again(before);
    }
    // Signals it has no handler for do not end the wait at all.
    pause.signal(Signal::SIGCONT);
    pause.signal(Signal::SIGWINCH);
    pause.terminate(&format!("{WARNING}{TERMINATED}"));
}

/// A closed stderr, or one that is full, makes the writes fail and changes nothing else.
fn broken_stderr_changes_nothing(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    // Closed: `exec 2>&-` leaves fd 2 closed in pause (under qemu too: qemu logs to a file).
    let pause = Pause::start_with(arch, &[], &["sh", "-c", "exec \"$@\" 2>&-", "sh"], |_| {});
    pause.wait_blocked();
    pause.signal(Signal::SIGTERM);
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(0), "stderr closed: {out:?}");

    // Full: every write fails with ENOSPC.
    let pause = Pause::start_with(arch, &[], &[], |cmd| {
        cmd.stderr(File::options().write(true).open("/dev/full").unwrap());
    });
    pause.wait_blocked();
    pause.signal(Signal::SIGTERM);
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(0), "stderr on /dev/full: {out:?}");

    // The version flag with stdout closed or full still exits 0.
    for redirect in ["exec \"$@\" >&-", "exec \"$@\" >/dev/full"] {
        let out = Pause::start_with(arch, &["-v"], &["sh", "-c", redirect, "sh"], |_| {}).wait();
        assert_eq!(out.status.code(), Some(0), "{redirect}: {out:?}");
    }
}

/// Exit 1, 2 or 3 when the SIGINT, SIGTERM or SIGCHLD handler cannot be installed. A seccomp
/// filter makes the kernel refuse rt_sigaction for that one signal. Under qemu the guest's
/// rt_sigaction becomes a host one for the same signal, so the same filter reaches it.
fn handler_failure_exit_codes(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    for (signo, code) in [(2, 1), (15, 2), (17, 3)] {
        let arg0 = SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, signo);
        let rule = SeccompRule::new(vec![arg0.unwrap()]).unwrap();
        let filter = refusing([(syscalls::Sysno::rt_sigaction, vec![rule])]);
        let out = Pause::start_filtered(arch, filter).wait();
        assert_eq!(
            out.status.code(),
            Some(code),
            "rt_sigaction({signo}) refused: {out:?}"
        );
        assert_eq!(out.stderr, WARNING);
    }
}

per_arch!(
    version_flag,
    near_misses_are_ignored,
    sigterm_exits_zero,
    sigint_exits_zero,
    survives_other_signals,
    broken_stderr_changes_nothing,
    handler_failure_exit_codes,
);

/// execve with argv = {NULL} works. Kernels before 5.18 start the program with argc == 0;
/// later ones substitute argv = {""}; either way no argument is read and pause runs as
/// usual. Native only: under qemu-user the guest's argv always holds the program name.
#[test]
fn empty_argv() {
    let path = std::ffi::CString::new(AMD64.binary().into_os_string().into_encoded_bytes());
    let path = path.unwrap();
    let pause = Pause::start_with(&AMD64, &[], &[], |cmd| {
        // SAFETY: between fork and exec the closure only calls execve, with pointers made
        // before the fork; if execve returns, its error goes back to the parent.
        unsafe {
            cmd.pre_exec(move || {
                let empty: [*const nix::libc::c_char; 1] = [std::ptr::null()];
                nix::libc::execve(path.as_ptr(), empty.as_ptr(), empty.as_ptr());
                Err(std::io::Error::last_os_error())
            });
        }
    });
    pause.wait_blocked();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pause.pid)).unwrap();
    assert!(
        cmdline.is_empty() || cmdline == b"\0",
        "argv should be empty, cmdline {cmdline:?}"
    );
    pause.terminate(&format!("{WARNING}{TERMINATED}"));
}

/// argv[0] is the program's name, not an argument: pause.c scans from argv[1], so a pause
/// started under the name `-v` runs as usual. Native only: qemu-user sets the guest's argv[0].
#[test]
fn argv0_is_not_an_argument() {
    let pause = Pause::start_with(&AMD64, &[], &[], |cmd| {
        cmd.arg0("-v");
    });
    pause.wait_blocked();
    pause.terminate(&format!("{WARNING}{TERMINATED}"));
}

/// Why linux/arm/v6 and v5 have a build of their own: the Thumb-2 `arm` build dies of an
/// illegal instruction on an ARM1176 (ARMv6, a Raspberry Pi Zero or 1), while the Thumb-1
/// build runs there and on an ARM926 (ARMv5TE), and is one binary for both.
#[test]
fn armv7_build_needs_armv7_and_v6_v5_share_one() {
    if !ARM.runnable() {
        return;
    }
    let on_arm1176 = |binary: std::path::PathBuf| {
        let mut cmd = std::process::Command::new(ARM.qemu);
        cmd.args(["-cpu", "arm1176"]).arg(binary).arg("-v");
        KillOnDrop::spawn(cmd.stdout(std::process::Stdio::null())).wait("qemu-arm to exit")
    };
    use std::os::unix::process::ExitStatusExt;
    let v7 = on_arm1176(ARM.binary());
    assert_eq!(v7.signal(), Some(4), "the Thumb-2 build on arm1176: {v7}");
    assert!(on_arm1176(ARM_V6.binary()).success());
    let (v6, v5) = (ARM_V6.binary(), ARM_V5.binary());
    assert!(std::fs::read(v6).unwrap() == std::fs::read(v5).unwrap());
}
