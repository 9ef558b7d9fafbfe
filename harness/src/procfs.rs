//! A process as /proc shows it: parent and children, state, status fields, CPU time, and
//! the system call it sleeps in.

use std::fs;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::{Pid, SysconfVar, sysconf};

use crate::arch::Arch;
use crate::process::poll;

/// The only child of `pid`, once it has exactly one.
pub fn only_child(pid: Pid) -> Option<Pid> {
    let kids = children(pid);
    (kids.len() == 1).then(|| kids[0])
}

/// The children of `pid` (zombies included), from /proc.
pub fn children(pid: Pid) -> Vec<Pid> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| ppid(Pid::from_raw(*p)) == Some(pid))
        .map(Pid::from_raw)
        .collect()
}

/// /proc/PID/stat after the command name: space-separated fields, the state letter first,
/// then the parent; `None` once `pid` is gone.
pub fn stat(pid: Pid) -> Option<String> {
    stat_at(Path::new(&format!("/proc/{pid}")))
}

/// `stat` of the process whose /proc directory is `proc` (one in another PID namespace's
/// /proc, say).
pub fn stat_at(proc: &Path) -> Option<String> {
    let stat = fs::read_to_string(proc.join("stat")).ok()?;
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    Some(stat[stat.rfind(')')? + 2..].to_string())
}

fn ppid(pid: Pid) -> Option<Pid> {
    stat(pid)?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
        .map(Pid::from_raw)
}

/// R, S, T, Z...: the state of `pid`, which must exist (a zombie does).
pub fn state(pid: Pid) -> char {
    state_of(pid).unwrap_or_else(|| panic!("pid {pid} is gone"))
}

/// The state of `pid`; `None` once it is gone.
pub fn state_of(pid: Pid) -> Option<char> {
    stat(pid)?.chars().next()
}

/// Whether `pid` runs the file `exe` (a canonical path), as /proc/PID/exe shows it; false
/// for a zombie, which has none.
pub fn exe_is(pid: Pid, exe: &Path) -> bool {
    fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe)
}

/// User plus system CPU time of `pid` so far (a zombie keeps its figures).
pub fn cpu_time(pid: Pid) -> Duration {
    let stat = stat(pid).unwrap_or_else(|| panic!("pid {pid} is gone"));
    let fields: Vec<&str> = stat.split(' ').collect();
    // utime and stime, fields 14 and 15 of the whole line, in clock ticks.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let hz = sysconf(SysconfVar::CLK_TCK).unwrap().unwrap() as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// Whether `pid` spends no CPU over `window`: less than a tenth of it, where one that spins
/// would spend all of it. This observes for a while on purpose; it waits for no condition.
pub fn idle_over(pid: Pid, window: Duration) -> bool {
    let before = cpu_time(pid);
    std::thread::sleep(window);
    cpu_time(pid) - before < window / 10
}

/// How often `pid` has gone to sleep: each pass of pause's loop adds one.
pub fn voluntary_sleeps(pid: Pid) -> u64 {
    status_field(pid, "voluntary_ctxt_switches")
        .parse()
        .unwrap()
}

/// The signals pending for `pid`, for its thread or the whole process, as a bit mask.
pub fn pending_signals(pid: Pid) -> u64 {
    ["SigPnd", "ShdPnd"]
        .map(|f| u64::from_str_radix(&status_field(pid, f), 16).unwrap())
        .into_iter()
        .fold(0, |all, mask| all | mask)
}

/// `sig`'s bit in the masks of /proc/PID/status.
pub fn signal_bit(sig: Signal) -> u64 {
    1 << (sig as i32 - 1)
}

/// Field `name` of /proc/PID/status: "Uid" gives "65535\t65535\t65535\t65535".
pub fn status_field(pid: Pid, name: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status_value(&status, name).to_string()
}

/// Field `name` of a /proc/PID/status text (one read by another path).
pub fn status_value<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in {status}"))
        .trim()
}

/// Whether `pid`, running natively, is inside `arch`'s blocking call now: the first field
/// of /proc/PID/syscall is the number of the call a sleeping process is in. (Under qemu it
/// would be one of qemu's own host calls.)
pub fn in_blocking_call(pid: Pid, arch: &Arch) -> bool {
    let nr = (arch.sysno)(arch.block).unwrap().to_string();
    let now = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    now.split(' ').next() == Some(nr.as_str())
}

/// Waits until `pid`, running natively, sleeps in `arch`'s blocking call: every handler is
/// installed then.
pub fn wait_in_blocking_call(pid: Pid, arch: &Arch) {
    poll(&format!("pid {pid} to block in {}", arch.block), || {
        in_blocking_call(pid, arch).then_some(())
    });
}

/// Waits until `pid`, running natively, sleeps in `arch`'s blocking call again after
/// `before` sleeps: whatever woke it has been handled and the loop went round.
pub fn wait_blocked_again(pid: Pid, arch: &Arch, before: u64) {
    poll(
        &format!("pid {pid} to block in {} again", arch.block),
        || {
            assert_ne!(state(pid), 'Z', "pid {pid} exited");
            (in_blocking_call(pid, arch) && voluntary_sleeps(pid) > before).then_some(())
        },
    );
}
