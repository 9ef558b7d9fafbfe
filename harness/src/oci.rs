//! OCI runtimes (runc, crun) driven as a CRI runtime drives them: bundles unpacked from the
//! shipped image or made from busybox, containers on a private state dir, every one deleted
//! when its handle is dropped; the sandbox settings a CRI runtime gives pause; one test per
//! runtime.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::arch::AMD64;
use crate::pause::TERMINATED;
use crate::process::{KillOnDrop, poll};
use crate::procfs::{state, status_field, voluntary_sleeps, wait_blocked_again};
use crate::skip::{have, privileged};
use crate::workspace::workspace;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use oci_spec::runtime::{
    Capabilities, ContainerState, LinuxCapabilitiesBuilder, LinuxSeccomp, Spec, State,
};
use tempfile::TempDir;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Runc,
    Crun,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Runc => "runc",
            Kind::Crun => "crun",
        }
    }
}

/// One runtime on a private state dir (`--root`). The dir is removed once the last handle
/// to it, including every container made through it, is gone.
#[derive(Clone)]
pub struct Runtime {
    kind: Kind,
    root: Rc<TempDir>,
}

impl Runtime {
    /// The runtime, or `None` where the calling test skips (outside CI, with the reason).
    pub fn new(kind: Kind) -> Option<Runtime> {
        let ok = privileged("to run containers")
            && have(kind.name(), "to run pods")
            && have("umoci", "to unpack the image into a bundle")
            && have("busybox", "for the app containers");
        ok.then(|| Runtime {
            kind,
            root: Rc::new(tempfile::tempdir().unwrap()),
        })
    }

    fn command(&self) -> Command {
        let mut cmd = match self.kind {
            Kind::Crun if hybrid_cgroups() => {
                // crun 1.8 refuses a cgroup v1 host that also mounts v2 (with a controller) at
                // /sys/fs/cgroup/unified. In a private mount namespace (unshare makes every
                // copied mount private, so the host keeps its own) without that mount it sees
                // plain v1. Only the runtime process is moved: its state dir is shared.
                let mut cmd = Command::new("unshare");
                cmd.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                    .arg(r#"umount -l /sys/fs/cgroup/unified && exec "$@""#)
                    .args(["sh", "crun"]);
                cmd
            }
            kind => Command::new(kind.name()),
        };
        cmd.arg("--root").arg(self.root.path());
        cmd
    }

    /// Runs `runtime ARGS` to the end, within the deadline.
    pub fn output(&self, args: &[&str]) -> Output {
        let child = KillOnDrop::spawn(
            self.command()
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        child.output(&format!("{} {args:?}", self.kind.name()))
    }

    /// Runs `runtime ARGS`, which must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "{} {args:?}: {}: {}",
            self.kind.name(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The runtime's view of container `id`, if it knows it.
    pub fn state(&self, id: &str) -> Option<State> {
        let out = self.output(&["state", id]);
        out.status.success().then_some(())?;
        serde_json::from_slice(&out.stdout).ok()
    }

    /// `runtime exec ID ARGV` in the foreground; returns the process's stdout.
    pub fn exec(&self, id: &str, argv: &[&str]) -> String {
        self.ok(&[&["exec", id], argv].concat())
    }

    /// `runtime exec --detach ID ARGV`. The process inherits the runtime's stdio and
    /// outlives it, so that is a file, not a pipe whose end would never come.
    pub fn exec_detached(&self, id: &str, argv: &[&str]) {
        let mut log = tempfile::tempfile().unwrap();
        let mut child = KillOnDrop::spawn(
            self.command()
                .args([&["exec", "--detach", id], argv].concat())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log.try_clone().unwrap()),
        );
        let what = format!("{} exec --detach {id} {argv:?}", self.kind.name());
        let status = child.wait(&what);
        let mut said = String::new();
        log.seek(SeekFrom::Start(0)).unwrap();
        log.read_to_string(&mut said).unwrap();
        assert!(status.success(), "{what}: {status}: {said}");
    }

    /// Starts container `name` from `bundle` in the foreground (`runtime run`) and waits until
    /// it runs. The runtime stays the parent of the container's init: it reaps it at once and
    /// exits with its status, and the init's stdout and stderr come back on its own.
    pub fn run(&self, name: &str, bundle: Bundle) -> Container {
        let mut container = self.spawn(name, bundle);
        let what = format!("{} to run {}", self.kind.name(), container.id);
        let pid = poll(&what, || {
            if let Some(status) = container.child.as_mut().unwrap().0.try_wait().unwrap() {
                let out = container.child.take().unwrap().output(&what);
                panic!("{what}: it exited early, {status}: {out:?}");
            }
            let state = self.state(&container.id)?;
            match state.status() {
                ContainerState::Running => state.pid().map(Pid::from_raw),
                _ => None,
            }
        });
        container.pid = Some(pid);
        container
    }

    /// Runs container `name` from `bundle` to the end: what it printed and its status.
    pub fn run_to_end(&self, name: &str, bundle: Bundle) -> Output {
        self.spawn(name, bundle).wait()
    }

    fn spawn(&self, name: &str, bundle: Bundle) -> Container {
        // Unique on this host across runs: the runtime names the container's cgroups after it.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("pause-test-{}-{n}-{name}", std::process::id());
        let child = KillOnDrop::spawn(
            self.command()
                .args(["run", "--bundle"])
                .arg(bundle.path())
                .arg(&id)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        Container {
            rt: self.clone(),
            id,
            child: Some(child),
            pid: None,
            _bundle: bundle,
        }
    }
}

/// Whether cgroup v2 is mounted beside v1 at /sys/fs/cgroup/unified ("hybrid").
fn hybrid_cgroups() -> bool {
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    // Field 5 of each line is the mount point.
    mounts
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup/unified"))
}

/// A container run in the foreground by its runtime. Dropping it deletes it (killing what
/// is left of it), reaps the runtime process, then removes the bundle.
pub struct Container {
    rt: Runtime,
    pub id: String,
    child: Option<KillOnDrop>,
    pid: Option<Pid>,
    _bundle: Bundle,
}

impl Container {
    /// The container's init, as the host sees it.
    pub fn pid(&self) -> Pid {
        self.pid.expect("the container was not seen running")
    }

    /// `runtime kill ID SIGNAL`.
    pub fn kill(&self, signal: &str) {
        self.rt.ok(&["kill", &self.id, signal]);
    }

    /// `runtime exec ID ARGV`; returns its stdout.
    pub fn exec(&self, argv: &[&str]) -> String {
        self.rt.exec(&self.id, argv)
    }

    /// For a container running our pause (native, so amd64): SIGCHLD (the handler runs,
    /// calls wait4, returns through the signal trampoline), then SIGSTOP and SIGCONT (the
    /// blocking call is restarted), then SIGTERM through the runtime, as a kubelet stops a
    /// sandbox: status 0, the message, nothing on stdout.
    pub fn exercise_then_terminate(self) {
        let pid = self.pid();
        let before = voluntary_sleeps(pid);
        kill(pid, Signal::SIGCHLD).unwrap();
        wait_blocked_again(pid, &AMD64, before);
        kill(pid, Signal::SIGSTOP).unwrap();
        poll("pause to stop", || (state(pid) == 'T').then_some(()));
        let before = voluntary_sleeps(pid);
        kill(pid, Signal::SIGCONT).unwrap();
        wait_blocked_again(pid, &AMD64, before);
        self.kill("TERM");
        let out = self.wait();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), TERMINATED);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    }

    /// Waits, within the deadline, for the container to exit: the runtime exits with the
    /// init's status, and the init's stdout and stderr are what the runtime's pipes got.
    pub fn wait(mut self) -> Output {
        let what = format!("container {} to exit", self.id);
        self.child.take().unwrap().output(&what)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // Not through `output`: a panic here, while a failed test unwinds, would abort.
        let _ = self
            .rt
            .command()
            .args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        drop(self.child.take());
    }
}

/// An OCI bundle (config.json and rootfs/) in a temporary directory.
pub struct Bundle {
    dir: TempDir,
}

impl Bundle {
    /// The shipped image's `tag` (e.g. `amd64`) from dist/oci, unpacked by umoci.
    pub fn from_image(tag: &str) -> Bundle {
        let layout = workspace().join("dist/oci");
        assert!(
            layout.join("index.json").is_file(),
            "{} is missing: run `just image`",
            layout.display()
        );
        let bundle = Bundle {
            dir: tempfile::tempdir().unwrap(),
        };
        let image = format!("{}:{tag}", layout.display());
        let out = Command::new("umoci")
            .args(["unpack", "--image", &image])
            .arg(bundle.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "umoci unpack {image}: {out:?}");
        bundle
    }

    /// A rootfs holding only the host's static busybox as /bin/busybox with every applet
    /// linked beside it, and the runtime spec's defaults as config.json.
    pub fn busybox() -> Bundle {
        let bundle = Bundle {
            dir: tempfile::tempdir().unwrap(),
        };
        let bin = bundle.rootfs().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let host = Command::new("which").arg("busybox").output().unwrap();
        let host = String::from_utf8(host.stdout).unwrap();
        fs::copy(host.trim(), bin.join("busybox")).unwrap();
        let applets = Command::new("busybox").arg("--list").output().unwrap();
        for applet in String::from_utf8(applets.stdout).unwrap().lines() {
            if applet != "busybox" {
                symlink("busybox", bin.join(applet)).unwrap();
            }
        }
        bundle.save(&Spec::default());
        bundle
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    pub fn spec(&self) -> Spec {
        Spec::load(self.config()).unwrap()
    }

    pub fn save(&self, spec: &Spec) {
        spec.save(self.config()).unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The sandbox settings a CRI runtime gives pause, at their strictest: the shipped image's
/// bundle (rootfs holding only /pause, user 65535), no terminal (umoci asks for one; a CRI
/// runtime runs the sandbox without), no capabilities in any set, no_new_privs, a read-only
/// root; and `seccomp` if given.
pub fn locked_down_bundle(seccomp: Option<LinuxSeccomp>) -> Bundle {
    let bundle = Bundle::from_image(AMD64.name);
    let mut spec = bundle.spec();
    let process = spec.process_mut().as_mut().unwrap();
    process.set_terminal(Some(false));
    process.set_no_new_privileges(Some(true));
    let none = Capabilities::new;
    process.set_capabilities(Some(
        LinuxCapabilitiesBuilder::default()
            .bounding(none())
            .effective(none())
            .inheritable(none())
            .permitted(none())
            .ambient(none())
            .build()
            .unwrap(),
    ));
    spec.root_mut().as_mut().unwrap().set_readonly(Some(true));
    spec.linux_mut().as_mut().unwrap().set_seccomp(seccomp);
    bundle.save(&spec);
    bundle
}

/// What the runtime made of a `locked_down_bundle`, as the kernel reports it for `pid`: the
/// uid and gid, no permitted, effective or bounding capability, no_new_privs, PID 1.
pub fn assert_locked_down(pid: Pid) {
    for (field, value) in [
        ("Uid", "65535\t65535\t65535\t65535"),
        ("Gid", "65535\t65535\t65535\t65535"),
        ("CapPrm", "0000000000000000"),
        ("CapEff", "0000000000000000"),
        ("CapBnd", "0000000000000000"),
        ("NoNewPrivs", "1"),
    ] {
        assert_eq!(status_field(pid, field), value, "{field}");
    }
    let nspid = status_field(pid, "NSpid");
    assert_eq!(nspid.split_whitespace().last(), Some("1"), "not PID 1");
}

/// One `#[test]` per runtime for each named `fn(Kind)`, in modules named after the runtime:
/// `cargo test --test pods crun::` runs one runtime.
#[macro_export]
macro_rules! per_runtime {
    ($($test:ident),* $(,)?) => {
        mod runc {
            $( #[test] fn $test() { super::$test($crate::oci::Kind::Runc) } )*
        }
        mod crun {
            $( #[test] fn $test() { super::$test($crate::oci::Kind::Crun) } )*
        }
    };
}
