//! The exact system calls pause makes, read by real tracers (strace natively, qemu's
//! -strace for foreign architectures), and arch/'s syscall numbers checked against the
//! `syscalls` crate.

use nix::sys::signal::Signal;
use pause_harness::signals::Handled;
use pause_harness::*;

/// What pause must do from execve on, not being PID 1: one getpid, the warning, three
/// rt_sigactions, the blocking call; then on SIGTERM the message and exit_group.
fn expected(arch: &Arch) -> Vec<&'static str> {
    let block = arch.block;
    vec![
        "getpid",
        "write",
        "rt_sigaction",
        "rt_sigaction",
        "rt_sigaction",
        block,
        "write",
        "exit_group",
    ]
}

fn exact_syscall_sequence(arch: &'static Arch) {
    if !arch.runnable() {
        return;
    }
    if arch.native() {
        return native_sequence(arch);
    }
    let pause = Pause::start(arch, &[]);
    pause.wait_blocked();
    pause.signal(Signal::SIGTERM);
    let out = pause.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(trace_calls(&out.trace), expected(arch), "{}", out.trace);
    let calls: Vec<&str> = out
        .trace
        .lines()
        .filter(|l| !l.starts_with("---"))
        .collect();
    assert!(
        calls[1].contains(" write(2,0x") && calls[1].ends_with(",43) = 43"),
        "{}",
        calls[1]
    );
    for (line, sig) in calls[2..5].iter().zip(["SIGINT", "SIGTERM", "SIGCHLD"]) {
        assert!(line.contains(&format!(" rt_sigaction({sig},0x")), "{line}");
        assert!(line.ends_with(",NULL) = 0"), "{line}");
    }
    assert!(calls[6].ends_with(",38) = 38"), "{}", calls[6]);
    assert!(calls[7].ends_with(" exit_group(0)"), "{}", calls[7]);
}

per_arch!(
    exact_syscall_sequence,
    numbers_match_the_syscalls_crate,
    signals_match_the_kernel_headers
);

/// strace, natively: also checks the arguments that matter.
fn native_sequence(arch: &'static Arch) {
    if !have("strace", "to trace syscalls") {
        return;
    }
    let pause = Pause::start_traced(arch, &[]);
    pause.wait_blocked();
    let text = pause.terminate(&format!("{WARNING}{TERMINATED}")).trace;
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    let names = trace_calls(&text);
    assert_eq!(names[0], "execve", "{text}");
    assert_eq!(names[1..], expected(arch), "{text}");

    let warning = r#"write(2, "Warning: pause should be the first process\n", 43) = 43"#;
    assert_eq!(calls[2], warning, "{text}");
    let sigaction = |i: usize, sig: &str, flags: &str| {
        let line = calls[i];
        assert!(
            line.starts_with(&format!("rt_sigaction({sig}, {{sa_handler=0x")),
            "{line}"
        );
        assert!(line.contains(&format!("sa_flags={flags},")), "{line}");
        assert!(line.contains("sa_mask=[]"), "{line}");
        assert!(line.ends_with("NULL, 8) = 0"), "{line}");
    };
    sigaction(3, "SIGINT", "SA_RESTORER|SA_NOCLDSTOP");
    sigaction(4, "SIGTERM", "SA_RESTORER|SA_NOCLDSTOP");
    sigaction(5, "SIGCHLD", "SA_RESTORER|SA_NOCLDSTOP");
    let message = r#"write(2, "Shutting down, got signal: Terminated\n", 38) = 38"#;
    assert_eq!(calls[7], message, "{text}");
    assert!(calls[8].starts_with("exit_group(0)"), "{text}");
}

/// Each `pub const NAME: usize = N;` in the `nr` module of the arch's file must be the
/// number the `syscalls` crate gives for `name` on that architecture, and the module must
/// name every call pause makes there.
fn numbers_match_the_syscalls_crate(arch: &'static Arch) {
    let nr = nr_table(arch);
    for (name, value) in &nr {
        assert_eq!((arch.sysno)(name), Some(*value), "{}: {name}", arch.name);
    }
    for call in expected(arch) {
        assert!(
            nr.iter().any(|(n, _)| n == call),
            "{}: nr lacks {call}",
            arch.name
        );
    }
}

/// The signal numbers pause handles and the sigset's size, as src/sys.rs and arch/ give them,
/// against the kernel's uapi headers: `arch/mips/include/uapi/asm/signal.h` on MIPS
/// (SIGCHLD 18, `_NSIG` 128), the generic table (`include/uapi/asm-generic/signal.h`, and
/// x86's, arm's, s390's and powerpc's own, which agree) elsewhere (SIGCHLD 17, `_NSIG` 64).
/// SIGINT and SIGTERM are 2 and 15 in all of them.
fn signals_match_the_kernel_headers(arch: &'static Arch) {
    let (sigchld, nsig) = match arch.target_arch {
        "mips" | "mips64" => (18, 128),
        _ => (17, 64),
    };
    let handled = Handled::of(arch);
    assert_eq!(
        (
            handled.int,
            handled.term,
            handled.chld,
            handled.sigset_bytes * 8
        ),
        (2, 15, sigchld, nsig),
        "{}: (SIGINT, SIGTERM, SIGCHLD, sigset bits)",
        arch.name
    );
}
