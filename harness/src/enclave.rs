//! A private little host for one container runtime: fresh PID, mount and network namespaces
//! whose PID 1 is our pause, with tmpfs on `/run`, `/var/lib` and `/var/tmp`.
//!
//! containerd 1.6, its shims, runc, the CNI plugins and podman write to compiled-in paths
//! whatever their config says (`/run/containerd/s`, `/run/containerd/runc`,
//! `/var/run/netns`, `/var/lib/cni`, `/run/libpod`, podman's scratch files in `/var/tmp`).
//! Inside the enclave those land on tmpfs, the CNI bridge and veths live in the enclave's
//! network namespace, and every process it holds is in its PID namespace. One SIGKILL to
//! its PID 1 makes the kernel kill them all; the mounts, the tmpfs and the network
//! namespace go with the last of them. What is left on the host is only the cgroups runc
//! makes, and every one is under `cgroup_parent`, which the runtime is told to use and
//! which is removed after the kill.
//!
//! The kill happens on drop (a passing or failing test), on Ctrl-C or SIGTERM (a handler
//! in this process), and when this test process dies in any other way: `unshare` gets
//! SIGKILL as its parent-death signal, and `unshare --kill-child` passes it on to PID 1.
//! Only in that last case do the (empty) cgroups stay, until the next run removes them.

use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::arch::AMD64;
use crate::process::{poll, poll_for};
use crate::procfs::{children, only_child, status_value};

/// Mounted before pause takes over as PID 1 (`$0` is its path), and the loopback brought
/// up, which a fresh network namespace has down (a registry inside listens there). PID 1 is
/// our pause because holding namespaces and reaping the orphans re-parented to it (shims,
/// conmon) is its job.
const SETUP: &str = "for dir in /run /var/lib /var/tmp; do \
        mount -t tmpfs -o mode=0755 tmpfs $dir || exit; \
    done; \
    ip link set lo up || exit; \
    exec \"$0\"";

pub struct Enclave {
    unshare: Child,
    /// The enclave's PID 1 (a pause), as the host numbers it.
    pub init: Pid,
    /// The cgroup path, relative to every hierarchy's root, that the runtime is told to
    /// put all its cgroups under. Unique per run.
    pub cgroup_parent: String,
}

/// Every cgroup parent is `/pause-k8s-<name>-<pid of the test process>`.
const CGROUP_PREFIX: &str = "pause-k8s-";

/// What the Ctrl-C handler must tear down: each live enclave's PID 1 and cgroup parent.
static LIVE: Mutex<Vec<(Pid, String)>> = Mutex::new(Vec::new());

impl Enclave {
    /// `name` makes the cgroup parent recognisable; the process id makes it unique.
    pub fn new(name: &str) -> Enclave {
        on_interrupt_tear_down();
        remove_stale_cgroups();
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--net",
            "--propagation=private",
            "--",
            "sh",
            "-c",
            SETUP,
        ])
        .arg(AMD64.binary())
        .stdin(Stdio::null())
        // Read only if the setup fails: unshare also complains when its child is killed.
        .stderr(Stdio::piped());
        // SAFETY: the closure runs in the child between fork and exec and makes one
        // async-signal-safe system call. The death signal follows the thread that forks:
        // this test's thread, which outlives the enclave (dropped on the same thread).
        // spawn() returns only after the exec, so the parent cannot die before the prctl.
        unsafe {
            cmd.pre_exec(|| Ok(nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?));
        }
        let mut unshare = cmd.spawn().expect("spawn unshare");
        let pause = AMD64.binary();
        let init = poll("the enclave's PID 1 to become pause", || {
            if let Some(status) = unshare.try_wait().unwrap() {
                let mut stderr = String::new();
                let _ = unshare.stderr.take().unwrap().read_to_string(&mut stderr);
                panic!("the enclave's setup failed ({status}): {SETUP}\n{stderr}");
            }
            let child = only_child(Pid::from_raw(unshare.id() as i32))?;
            (fs::read_link(format!("/proc/{child}/exe")).ok()? == pause).then_some(child)
        });
        let cgroup_parent = format!("/{CGROUP_PREFIX}{name}-{}", std::process::id());
        LIVE.lock().unwrap().push((init, cgroup_parent.clone()));
        Enclave {
            unshare,
            init,
            cgroup_parent,
        }
    }

    /// `path` (absolute, as seen inside) from the host, through PID 1's root.
    pub fn path(&self, path: &str) -> PathBuf {
        Path::new(&format!("/proc/{}/root", self.init)).join(path.trim_start_matches('/'))
    }

    /// The enclave's network namespace, for a process of the host to join.
    pub fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.init))
    }

    /// /proc/PID inside the enclave, for a PID as the enclave numbers it.
    pub fn proc(&self, pid: u32) -> PathBuf {
        self.path(&format!("/proc/{pid}"))
    }

    /// Every process inside, as the enclave numbers them (its PID 1 included).
    pub fn processes(&self) -> Vec<u32> {
        let dir = fs::read_dir(self.path("/proc")).expect("the enclave's /proc");
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect()
    }

    /// The cgroups the runtime made under the cgroup parent and has not removed, in every
    /// hierarchy.
    pub fn cgroups(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = cgroups_under(&self.cgroup_parent);
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    found.push(entry.path());
                    dirs.push(entry.path());
                }
            }
        }
        found
    }

    /// Runs `program` inside: in all three namespaces, as a child of `nsenter`.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--target={}", self.init))
            .args(["--pid", "--mount", "--net", "--"])
            .arg(program);
        cmd
    }

    /// A TCP connection to `127.0.0.1:port` in the enclave's network namespace: a port the
    /// runtime publishes there is the enclave's host port.
    pub fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        let netns = fs::File::open(format!("/proc/{}/ns/net", self.init))?;
        // A thread of its own enters the namespace; the socket stays in it after the thread.
        std::thread::spawn(move || {
            nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET)?;
            TcpStream::connect(("127.0.0.1", port))
        })
        .join()
        .unwrap()
    }

    /// The host's number for the process numbered `pid` inside (the second field of the
    /// host's `NSpid`, among PID 1's descendants), so the host's /proc can watch it.
    pub fn host_pid(&self, pid: u32) -> Pid {
        let mut todo = vec![self.init];
        while let Some(parent) = todo.pop() {
            for child in children(parent) {
                let Ok(status) = fs::read_to_string(format!("/proc/{child}/status")) else {
                    continue;
                };
                let inner = status_value(&status, "NSpid").split_whitespace().nth(1);
                if inner == Some(&pid.to_string()) {
                    return child;
                }
                todo.push(child);
            }
        }
        panic!("no process {pid} in the enclave of {}", self.init)
    }

    /// Tears the enclave down (as dropping it does) and checks that nothing is left.
    pub fn close(self) {
        let cgroup_parent = self.cgroup_parent.clone();
        drop(self);
        let left = cgroups_under(&cgroup_parent);
        assert!(left.is_empty(), "cgroups left behind: {left:?}");
    }
}

impl Drop for Enclave {
    fn drop(&mut self) {
        // Until unshare has reaped PID 1, its number cannot name another process.
        if self.unshare.try_wait().ok().flatten().is_none() {
            let _ = kill(self.init, Signal::SIGKILL);
        }
        // unshare returns once PID 1 is reaped, and the kernel reaps a namespace's PID 1
        // only after every other process in the namespace is gone.
        let _ = self.unshare.wait();
        remove_cgroups(&self.cgroup_parent);
        LIVE.lock().unwrap().retain(|(init, _)| *init != self.init);
    }
}

/// Ctrl-C or SIGTERM would end this process without running any drop: kill each live
/// enclave and remove its cgroups first. (Its processes would die anyway, through the
/// parent-death signals; the cgroups would not go.)
fn on_interrupt_tear_down() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        ctrlc::set_handler(|| {
            let live = LIVE.lock().unwrap().clone();
            for (init, _) in &live {
                let _ = kill(*init, Signal::SIGKILL);
            }
            for (_, cgroup_parent) in &live {
                remove_cgroups(cgroup_parent);
            }
            std::process::exit(130);
        })
        .expect("install the Ctrl-C handler");
    });
}

/// A test process killed by SIGKILL could not remove its cgroups: remove those whose
/// test process is gone. (A live one, this run's or a concurrent run's, keeps its own.)
fn remove_stale_cgroups() {
    let names: Vec<String> = hierarchies()
        .iter()
        .filter_map(|h| fs::read_dir(h).ok())
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    for name in names {
        let pid = name
            .strip_prefix(CGROUP_PREFIX)
            .and_then(|rest| rest.rsplit_once('-'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            remove_cgroups(&format!("/{name}"));
        }
    }
}

/// The cgroup v2 root and, on v1 or hybrid hosts, each hierarchy mounted below it.
fn hierarchies() -> Vec<PathBuf> {
    let root = PathBuf::from("/sys/fs/cgroup");
    let mut all: Vec<PathBuf> = fs::read_dir(&root)
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_dir())
        .collect();
    all.push(root);
    all
}

fn cgroups_under(parent: &str) -> Vec<PathBuf> {
    hierarchies()
        .into_iter()
        .map(|h| h.join(parent.trim_start_matches('/')))
        .filter(|dir| dir.is_dir())
        .collect()
}

/// Removes every cgroup under `parent`, children first. A cgroup whose last process has
/// just been killed can refuse rmdir for a moment (EBUSY): retry for a few seconds.
fn remove_cgroups(parent: &str) {
    poll_for(Duration::from_secs(5), || {
        let left = cgroups_under(parent);
        for dir in &left {
            remove_tree(dir);
        }
        left.is_empty().then_some(())
    });
}

/// A cgroup directory's files vanish with it: only the subdirectories need removing first.
fn remove_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}
