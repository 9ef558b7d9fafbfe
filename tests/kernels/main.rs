//! Every architecture on a real Linux kernel of its own, not only under qemu-user: Debian's
//! kernel for it, booted under qemu-system with an initramfs of that architecture's
//! busybox-static, our dist/ binary, the probe (tests/probe) and `checks.sh`, which runs
//! pause's checks on that kernel and reports each on the console. A second boot runs pause as
//! the kernel's own init. Each guest's kernel, checks and seconds go to target/kernels/<arch>.md for the README.

mod debian;
mod guest;
mod zboot;

use std::fs;
use std::time::{Duration, Instant};

use guest::{Files, Vm};
use pause_harness::signals::Handled;
use pause_harness::*;

/// How long a guest may take to run every check (software emulation of a whole machine on
/// a shared core; measured: 50 to 90 s).
const CHECKS_LIMIT: Duration = Duration::from_secs(600);
/// How long a guest may take to boot to its init.
const BOOT_LIMIT: Duration = Duration::from_secs(180);
/// How long pause, as the kernel's init, is watched for a panic.
const INIT_WATCH: Duration = Duration::from_secs(5);

/// One README row (`just readme`): the kernel an arch was proven on, its checks, seconds.
fn record(arch: &Arch, kernel: &str, checks: &str, seconds: &str) {
    let dir = workspace().join("target/kernels");
    fs::create_dir_all(&dir).unwrap();
    let row = format!("| {} | {kernel} | {checks} | {seconds} |\n", arch.name);
    fs::write(dir.join(format!("{}.md", arch.name)), row).unwrap();
}

fn can_boot(arch: &Arch, kernel: &Kernel) -> bool {
    privileged("to make /dev/console in the initramfs")
        && have(kernel.qemu_system, "to boot the guest kernel")
        && have("apt-get", "to fetch Debian's kernel")
        && have("busybox", "to pack the initramfs")
        && arch.binary().is_file()
}

/// The probe built for `arch` by `just probe`.
fn probe(arch: &Arch) -> Vec<u8> {
    let path = workspace().join(format!("target/{}/release/pause-probe", arch.target));
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}: run `just probe`", path.display()))
}

/// What the guest gets besides busybox: pause, the probe, the checks as /init, the syscall
/// and signal numbers they need, and the exact bytes pause must print.
fn files(arch: &Arch) -> Files {
    let nr = |name: &str| {
        let table = nr_table(arch);
        let found = table.iter().find(|(n, _)| n == name).map(|(_, nr)| *nr);
        found.unwrap_or_else(|| panic!("{}: no {name} in arch/{}", arch.name, arch.arch_file))
    };
    let signals = Handled::of(arch);
    let facts = format!(
        "NR_BLOCK={}\nNR_RT_SIGACTION={}\nSIGINT={}\nSIGTERM={}\nSIGCHLD={}\nSIGCGT={}\n",
        nr(arch.block),
        nr("rt_sigaction"),
        signals.int,
        signals.term,
        signals.chld,
        signals.sigcgt()
    );
    let expect = [
        ("warning", WARNING.to_string()),
        ("terminated", TERMINATED.to_string()),
        ("warning-terminated", format!("{WARNING}{TERMINATED}")),
        ("warning-interrupt", format!("{WARNING}{INTERRUPT}")),
        (
            "warning-loop-terminated",
            format!("{WARNING}{LOOP_TERMINATED}"),
        ),
        ("version", VERSION_LINE.to_string()),
    ];
    let mut files: Files = vec![
        ("init".into(), include_bytes!("checks.sh").to_vec(), 0o755),
        ("pause".into(), fs::read(arch.binary()).unwrap(), 0o755),
        ("pause-probe".into(), probe(arch), 0o755),
        ("facts".into(), facts.into_bytes(), 0o644),
    ];
    for (name, bytes) in expect {
        files.push((format!("expect/{name}"), bytes.into_bytes(), 0o644));
    }
    files
}

/// A guest of `arch` booted on its kernel with `init` as the kernel's init, the kernel's own
/// messages below `loglevel` on the console; `None` where the calling test skips.
struct Booted {
    guest: Vm,
    kernel: &'static Kernel,
    version: String,
    started: Instant,
}

fn boot(arch: &'static Arch, init: &str, loglevel: u8) -> Option<Booted> {
    let kernel = arch.kernel;
    if !can_boot(arch, kernel) {
        return None;
    }
    let unpacked = debian::fetch(kernel);
    let started = Instant::now();
    let guest = Vm::boot(
        kernel,
        &unpacked.kernel,
        unpacked.dtb.as_deref(),
        &unpacked.busybox,
        files(arch),
        init,
        loglevel,
    );
    Some(Booted {
        guest,
        kernel,
        version: unpacked.version,
        started,
    })
}

/// Every check of checks.sh passes on `arch`'s own kernel.
fn checks_pass_on_its_kernel(arch: &'static Arch) {
    // Warnings and worse only: the checks' lines should have the console to themselves.
    let Some(Booted {
        guest,
        kernel,
        version,
        started,
    }) = boot(arch, "/init", 4)
    else {
        return;
    };
    guest.wait_for(arch, "`done` line", CHECKS_LIMIT, |l| l == "done");
    let seconds = started.elapsed().as_secs();
    let console = guest.console();
    let plan: usize = console
        .lines()
        .find_map(|l| l.strip_prefix("plan "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}: no plan line\n{}", arch.name, guest.tail()));
    let passed: Vec<&str> = console
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect();
    let failed: Vec<&str> = console.lines().filter(|l| l.starts_with("FAIL ")).collect();
    let uname = console
        .lines()
        .find_map(|l| l.strip_prefix("uname "))
        .unwrap_or("?");
    assert!(
        failed.is_empty() && passed.len() == plan,
        "{} on kernel {uname}: {} of {plan} checks passed; failed:\n{}\n---- console ----\n{}",
        arch.name,
        passed.len(),
        failed.join("\n"),
        guest.tail()
    );
    let kernel = format!("Debian {} {version}", kernel.suite);
    record(
        arch,
        &kernel,
        &format!("{plan} of {plan}"),
        &seconds.to_string(),
    );
    eprintln!(
        "{}: kernel {uname}: {plan} of {plan} checks in {seconds} s",
        arch.name
    );
}

/// pause as the kernel's own init (`rdinit=/pause`): the kernel starts it, it prints
/// nothing (it is PID 1), and nothing panics while it is watched.
fn runs_as_the_kernels_init(arch: &'static Arch) {
    // Info too (below 7): the kernel says "Run /pause as init process" at that level.
    let Some(Booted { guest, .. }) = boot(arch, "/pause", 7) else {
        return;
    };
    let started = |l: &str| l.contains("Run /pause as init process");
    guest.wait_for(arch, "start of /pause", BOOT_LIMIT, started);
    std::thread::sleep(INIT_WATCH); // an observation window, not a wait for a condition
    let console = guest.console();
    let after: Vec<&str> = console
        .lines()
        .skip_while(|l| !started(l))
        .skip(1)
        .collect();
    let said: Vec<&&str> = after.iter().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        !console.contains("Kernel panic") && said.iter().all(|l| l.starts_with('[')),
        "{}: pause as init printed or panicked:\n{}",
        arch.name,
        guest.tail()
    );
}

per_arch!(checks_pass_on_its_kernel, runs_as_the_kernels_init);
