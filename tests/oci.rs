//! OCI runtimes (runc, crun) driven as a CRI runtime drives them: bundles unpacked from the
//! shipped image or made from busybox, containers on a private state dir, every one deleted
//! when its handle is dropped.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::unistd::Pid;
use oci_spec::runtime::{ContainerState, Spec, State};
use pause_tests::{have, poll, privileged, workspace};
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
        let child = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let what = format!("{} {args:?}", self.kind.name());
        finish(Reaped(child), &what)
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
        let child = self
            .command()
            .args([&["exec", "--detach", id], argv].concat())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .unwrap();
        let what = format!("{} exec --detach {id} {argv:?}", self.kind.name());
        let status = finish(Reaped(child), &what).status;
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
            if let Some(status) = container.child.as_mut().unwrap().try_wait().unwrap() {
                let out = finish(Reaped(container.child.take().unwrap()), &what);
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
        let child = self
            .command()
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
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

/// A child process killed and reaped when dropped, so a hung one does not outlive its test.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits, within the deadline, for `child` to exit, then collects what it printed (a few
/// lines at most, which its pipes hold until then).
fn finish(mut child: Reaped, what: &str) -> Output {
    let status = poll(what, || child.0.try_wait().unwrap());
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let Some(pipe) = &mut child.0.stdout {
        pipe.read_to_end(&mut stdout).unwrap();
    }
    if let Some(pipe) = &mut child.0.stderr {
        pipe.read_to_end(&mut stderr).unwrap();
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

/// A container run in the foreground by its runtime. Dropping it deletes it (killing what
/// is left of it), reaps the runtime process, then removes the bundle.
pub struct Container {
    rt: Runtime,
    pub id: String,
    child: Option<Child>,
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

    /// Waits, within the deadline, for the container to exit: the runtime exits with the
    /// init's status, and the init's stdout and stderr are what the runtime's pipes got.
    pub fn wait(mut self) -> Output {
        let what = format!("container {} to exit", self.id);
        finish(Reaped(self.child.take().unwrap()), &what)
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
        drop(self.child.take().map(Reaped));
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
