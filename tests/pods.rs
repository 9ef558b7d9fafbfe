//! Real pods under runc and crun, built as a kubelet builds them: the shipped image's pause
//! (dist/oci, tag amd64, unpacked by umoci) as the infra container with its own namespaces,
//! and busybox app containers that join its network, IPC, UTS and PID namespaces by path.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType, Spec};
use pause_harness::oci::{
    Bundle, Container, Kind, Runtime, assert_locked_down, locked_down_bundle,
};
use pause_harness::{
    AMD64, Orphans, TERMINATED, have, held_fifo, per_runtime, poll, status_field,
    wait_in_blocking_call,
};

/// The namespaces an app shares with the pod; it keeps its own mount namespace.
const SHARED: [(LinuxNamespaceType, &str); 4] = [
    (LinuxNamespaceType::Network, "net"),
    (LinuxNamespaceType::Ipc, "ipc"),
    (LinuxNamespaceType::Uts, "uts"),
    (LinuxNamespaceType::Pid, "pid"),
];

/// A pod: the pause container, running and blocked in its `pause` syscall.
struct Pod {
    rt: Runtime,
    pause: Container,
    hostname: String,
}

impl Pod {
    fn start(kind: Kind) -> Option<Pod> {
        let rt = Runtime::new(kind)?;
        let bundle = locked_down_bundle(None);
        let files: Vec<_> = fs::read_dir(bundle.rootfs())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, ["pause"], "the image's rootfs must hold only /pause");

        let hostname = format!("pod-{}", std::process::id());
        let mut spec = bundle.spec();
        let process = spec.process().as_ref().unwrap();
        assert_eq!(process.args().as_deref(), Some(&["/pause".to_string()][..]));
        assert_eq!((process.user().uid(), process.user().gid()), (65535, 65535));
        spec.set_hostname(Some(hostname.clone()));
        set_namespaces(&mut spec, None);
        bundle.save(&spec);

        let pause = rt.run("pause", bundle);
        wait_in_blocking_call(pause.pid(), &AMD64);
        Some(Pod {
            rt,
            pause,
            hostname,
        })
    }

    /// A busybox bundle whose `sh` runs `script` inside the pod's shared namespaces.
    fn app_bundle(&self, script: &str) -> Bundle {
        let bundle = Bundle::busybox();
        let mut spec = bundle.spec();
        let process = spec.process_mut().as_mut().unwrap();
        process.set_args(Some(vec!["sh".into(), "-c".into(), script.into()]));
        // The UTS namespace is the pod's: a hostname here would be refused.
        spec.set_hostname(None);
        set_namespaces(&mut spec, Some(self.pause.pid()));
        bundle.save(&spec);
        bundle
    }

    /// Runs an app container whose `sh` runs `script`.
    fn app(&self, name: &str, script: &str) -> Container {
        self.rt.run(name, self.app_bundle(script))
    }

    /// SIGTERM through the runtime, as a kubelet stops a sandbox: pause exits 0 and says why.
    fn terminate(self) {
        self.pause.kill("TERM");
        let out = self.pause.wait();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), TERMINATED);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    }
}

fn namespace(typ: LinuxNamespaceType, path: Option<String>) -> oci_spec::runtime::LinuxNamespace {
    let ns = LinuxNamespaceBuilder::default().typ(typ);
    match path {
        Some(path) => ns.path(path),
        None => ns,
    }
    .build()
    .unwrap()
}

/// Gives the spec the pod's namespaces, new or (`join`) those of that process, and a new
/// mount namespace of its own.
fn set_namespaces(spec: &mut Spec, join: Option<Pid>) {
    let mut namespaces: Vec<_> = SHARED
        .iter()
        .map(|(typ, name)| namespace(*typ, join.map(|pid| format!("/proc/{pid}/ns/{name}"))))
        .collect();
    namespaces.push(namespace(LinuxNamespaceType::Mount, None));
    let linux = spec.linux_mut().as_mut().unwrap();
    linux.set_namespaces(Some(namespaces));
}

/// The inode of `pid`'s namespace `name`: equal inodes are the same namespace.
fn ns_inode(pid: Pid, name: &str) -> u64 {
    fs::metadata(format!("/proc/{pid}/ns/{name}"))
        .unwrap()
        .ino()
}

/// The pause container runs locked down: uid/gid 65535, no capabilities at all,
/// no_new_privs, a read-only root; and it is PID 1, so it does not warn.
fn pause_is_locked_down(kind: Kind) {
    let Some(pod) = Pod::start(kind) else { return };
    let pid = pod.pause.pid();
    // uid, gid, no_new_privs, PID 1, and the other three capability sets.
    assert_locked_down(pid);
    for caps in ["CapInh", "CapAmb"] {
        assert_eq!(status_field(pid, caps), "0000000000000000", "{caps}");
    }

    let mounts = fs::read_to_string(format!("/proc/{}/mountinfo", pod.pause.pid())).unwrap();
    // Fields: id, parent, dev, root, mount point, options.
    let root = mounts
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .rfind(|f| f[4] == "/")
        .expect("no / in mountinfo");
    assert!(root[5].split(',').any(|o| o == "ro"), "{root:?}");
    pod.terminate();
}

/// An app in the pod sees pause as its PID 1 and the pod's hostname as its own.
fn app_sees_pause_as_pid1_and_the_pod_hostname(kind: Kind) {
    let Some(pod) = Pod::start(kind) else { return };
    let app = pod.app("app", "exec sleep 1000000");
    assert_eq!(app.exec(&["cat", "/proc/1/cmdline"]), "/pause\0");
    assert_eq!(app.exec(&["hostname"]), format!("{}\n", pod.hostname));
    let ps = app.exec(&["ps", "-o", "pid,comm"]);
    assert!(
        ps.lines().any(|l| l.split_whitespace().eq(["1", "pause"])),
        "{ps}"
    );
    for (_, name) in SHARED {
        assert_eq!(
            ns_inode(app.pid(), name),
            ns_inode(pod.pause.pid(), name),
            "{name}"
        );
    }
    drop(app);
    pod.terminate();
}

/// A server in one app and a client in another container of the pod meet on 127.0.0.1.
fn localhost_is_shared(kind: Kind) {
    let Some(pod) = Pod::start(kind) else { return };
    // The pod has its own network namespace, so no port here can collide with the host's
    // or another run's; a distinct one per process still makes a mix-up visible.
    let port = 20000 + std::process::id() % 20000;
    // nc half-closes the connection when its stdin ends, and a client that sees that first
    // quits before sending. The server's stdin is a FIFO held open here, so it never ends.
    let bundle = pod.app_bundle(&format!("exec nc -l -p {port} < /stdin"));
    let _stdin = held_fifo(&bundle.rootfs().join("stdin"));
    let server = pod.rt.run("server", bundle);
    let listening = format!(":{port:04X}");
    poll("the server to listen", || {
        let tcp = ["tcp", "tcp6"].map(|t| {
            fs::read_to_string(format!("/proc/{}/net/{t}", pod.pause.pid())).unwrap_or_default()
        });
        // Fields: sl, local address, remote address, state (0A is LISTEN).
        tcp.iter()
            .flat_map(|t| t.lines())
            .any(|l| {
                let f: Vec<_> = l.split_whitespace().collect();
                f.len() > 3 && f[1].ends_with(&listening) && f[3] == "0A"
            })
            .then_some(())
    });

    let message = format!("hello from pod {}", pod.hostname);
    let client = pod.app_bundle(&format!("echo '{message}' | nc -w1 127.0.0.1 {port}"));
    let sent = pod.rt.run_to_end("client", client);
    assert!(sent.status.success(), "{sent:?}");

    let got = server.wait();
    assert!(got.status.success(), "{got:?}");
    assert_eq!(String::from_utf8_lossy(&got.stdout), format!("{message}\n"));
    pod.terminate();
}

/// Killing an app and starting a new one leaves the pod's network namespace as it was:
/// the same namespace, with the address added to its `lo` still there.
fn network_outlives_its_apps(kind: Kind) {
    if !have("nsenter", "to configure the pod's network") || !have("ip", "to add an address") {
        return;
    }
    let Some(pod) = Pod::start(kind) else { return };
    let pause = pod.pause.pid();
    let net = ns_inode(pause, "net");
    let added = Command::new("nsenter")
        .args(["--target", &pause.to_string(), "--net", "--"])
        .args(["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"])
        .status()
        .unwrap();
    assert!(added.success());

    let first = pod.app("first", "exec sleep 1000000");
    assert_eq!(ns_inode(first.pid(), "net"), net);
    first.kill("KILL");
    let out = first.wait();
    assert!(!out.status.success(), "{out:?}");

    let second = pod.app("second", "exec sleep 1000000");
    assert_eq!(ns_inode(second.pid(), "net"), net);
    let addrs = second.exec(&["ip", "-o", "-4", "addr", "show", "dev", "lo"]);
    assert!(addrs.contains("inet 127.0.0.2/8"), "{addrs}");
    assert_eq!(pod.pause.pid(), pause);
    assert_eq!(ns_inode(pause, "net"), net);
    drop(second);
    pod.terminate();
}

/// Orphans made in an app are re-parented to pause, its PID 1, which reaps every one.
fn pause_reaps_orphans_of_apps(kind: Kind) {
    const N: usize = 100;
    let Some(pod) = Pod::start(kind) else { return };
    // Each orphan blocks reading one line from this FIFO.
    let bundle = pod.app_bundle("exec sleep 1000000");
    let release = held_fifo(&bundle.rootfs().join("release"));
    let app = pod.rt.run("app", bundle);

    let mut orphans = Orphans::adopt(pod.pause.pid(), N, release, |script| {
        // Detached: a foreground `exec` makes the runtime a subreaper that would catch them.
        pod.rt
            .exec_detached(&app.id, &["sh", "-c", script, "sh", "/release"]);
    });
    orphans.release();
    orphans.wait_reaped();
    drop(app);
    pod.terminate();
}

/// SIGTERM to the pause container alone: exit status 0 and exactly pause.c's message.
fn stops_with_status_0_on_sigterm(kind: Kind) {
    let Some(pod) = Pod::start(kind) else { return };
    pod.terminate();
}

per_runtime!(
    pause_is_locked_down,
    app_sees_pause_as_pid1_and_the_pod_hostname,
    localhost_is_shared,
    network_outlives_its_apps,
    pause_reaps_orphans_of_apps,
    stops_with_status_0_on_sigterm,
);
