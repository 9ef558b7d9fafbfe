//! The path a kubelet drives, with real runtimes and our image (`dist/pause-oci.tar`, from
//! `just image`): containerd 1.6's CRI runs it as the pod sandbox, podman 4.3 as a pod's
//! infra container; in pull.rs containerd pulls it from a registry instead. Each runtime
//! runs inside an enclave (pause_harness::enclave) that the kernel tears down with the test,
//! so nothing a runtime makes outlives it (the machinery is the harness's,
//! `pause_harness::k8s`, which the bench's churn shares).

mod churn;
mod podman;
mod probes;
mod pull;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use k8s_cri::v1::{
    ContainerConfig, ContainerStatusRequest, CreateContainerRequest, ExecSyncRequest,
    ImageStatusRequest, ListPodSandboxRequest, NamespaceMode, NamespaceOption, PodSandboxConfig,
    PodSandboxState, PodSandboxStatusRequest, RemovePodSandboxRequest, RunPodSandboxRequest,
    StartContainerRequest, StopPodSandboxRequest,
};
use nix::sys::signal::Signal;
use pause_harness::busybox;
use pause_harness::k8s::{
    APP_IMAGE, Containerd, Enclave, Events, PAUSE_IMAGE, containerd, containerd_with_images,
    image_spec, pause_archive, sandbox_config, verbose_pid,
};
use pause_harness::{AMD64, have, have_file, poll, privileged, signal_bit, status_value};

use podman::Podman;
/// The app serves this on the pod's localhost; private to the pod's network namespace.
const PORT: &str = "8080";
const GREETING: &str = "hello from the app";

#[test]
fn containerd_cri_runs_our_image_as_the_pod_sandbox() {
    let started = Instant::now();
    let Some((enclave, containerd)) = our_containerd("the containerd CRI test", "containerd")
    else {
        return;
    };
    let mut images = containerd.images();
    for image in [PAUSE_IMAGE, APP_IMAGE] {
        let status = containerd.call(images.image_status(ImageStatusRequest {
            image: Some(image_spec(image)),
            verbose: false,
        }));
        assert!(status.image.is_some(), "the CRI does not see {image}");
    }
    let events = Events::watch(&containerd, &enclave);
    let mut cri = containerd.runtime();

    // A pod as a kubelet makes one: the sandbox, then an app container in its namespaces.
    let sandbox = sandbox_config("pause-test", &enclave.cgroup_parent, pod_namespaces());
    let pod = run_pod(&containerd, &sandbox);
    let pause = enclave.proc(sandbox_pause(&containerd, &enclave, &pod));

    let (app, app_pid) = run_app(&containerd, &pod, &sandbox, app_config());
    assert_shares_namespaces(&enclave.proc(app_pid), &pause);
    let exec = containerd.call(
        cri.exec_sync(ExecSyncRequest {
            container_id: app.clone(),
            cmd: [busybox::BINARY, "cat", "/proc/1/cmdline"]
                .map(String::from)
                .into(),
            timeout: 10,
        }),
    );
    assert_eq!(exec.exit_code, 0, "{exec:?}");
    assert_eq!(exec.stdout, b"/pause\0", "the app's PID 1 is not /pause");
    assert_app_answers_on_the_pods_localhost(&pause);

    terminate_pod(&containerd, &events, &pod);

    // StopPodSandbox on a running pod, which is how a kubelet ends one: containerd 1.6
    // sends the sandbox SIGKILL, never SIGTERM (pkg/cri/server/sandbox_stop.go,
    // stopSandboxContainer), so pause's status is 128 + 9 whatever pause does.
    let pod = run_pod(&containerd, &sandbox);
    stop_and_remove_pod(&containerd, &pod);
    assert_eq!(events.exit_of(&pod), 128 + 9, "StopPodSandbox's SIGKILL");
    let left = containerd.call(cri.list_pod_sandbox(ListPodSandboxRequest { filter: None }));
    assert!(left.items.is_empty(), "{left:?}");

    drop(events);
    drop(containerd);
    enclave.close();
    eprintln!("containerd test: {:.1?}", started.elapsed());
}

#[test]
fn podman_pod_runs_our_image_as_its_infra_container() {
    let started = Instant::now();
    if !can_run("the podman test", &["podman", "conmon", "runc"]) {
        return;
    }
    let archive = pause_archive();
    let enclave = Enclave::new("podman");
    let podman = Podman::new(&enclave);
    // podman runs inside the enclave: it reads the app's archive at its inner path.
    busybox::write_archive(&enclave.path("/run/app.tar"), APP_IMAGE);
    let app_archive = PathBuf::from("/run/app.tar");
    for (archive, image) in [(archive, PAUSE_IMAGE), (app_archive, APP_IMAGE)] {
        let loaded = podman.run(&["load", "--input", &archive.display().to_string()]);
        assert!(
            loaded.contains(image),
            "podman load named it otherwise: {loaded}"
        );
    }

    let pod = podman.run(&[
        "pod",
        "create",
        "--name=pause-test",
        "--infra-image",
        PAUSE_IMAGE,
        "--infra-command=/pause",
        "--share=net,ipc,uts,pid",
        "--network=none",
        &format!("--cgroup-parent={}", enclave.cgroup_parent),
    ]);
    let mut run_app = vec!["run", "--detach", "--pod", &pod, "--name=app", APP_IMAGE];
    run_app.extend(APP_COMMAND);
    podman.run(&run_app);
    let infra = podman.run(&["pod", "inspect", &pod, "--format={{.InfraContainerID}}"]);
    let infra_pid: u32 = podman
        .run(&["inspect", &infra, "--format={{.State.Pid}}"])
        .parse()
        .unwrap();
    // (No user check: podman 4.3 runs the infra container as root whatever the image says.)
    let pause = enclave.proc(infra_pid);
    assert_is_our_pause_as_pid_1(&pause);
    let app_pid: u32 = podman
        .run(&["inspect", "app", "--format={{.State.Pid}}"])
        .parse()
        .unwrap();
    assert_shares_namespaces(&enclave.proc(app_pid), &pause);
    let cmdline = podman.run(&["exec", "app", busybox::BINARY, "cat", "/proc/1/cmdline"]);
    assert_eq!(cmdline, "/pause\0", "the app's PID 1 is not /pause");
    assert_app_answers_on_the_pods_localhost(&pause);

    // podman stops the app, then the infra container, with SIGTERM; pause must exit 0
    // well within the grace period, after which podman would send SIGKILL (status 137).
    podman.run(&["pod", "stop", "--time=10", &pod]);
    let exit = podman.run(&["inspect", &infra, "--format={{.State.ExitCode}}"]);
    assert_eq!(exit, "0", "the infra container's exit code");
    podman.run(&["pod", "rm", &pod]);

    enclave.close();
    eprintln!("podman test: {:.1?}", started.elapsed());
}

/// Root, the tools, and the CNI plugins; outside CI a missing one skips, in CI it fails.
fn can_run(test: &str, tools: &[&str]) -> bool {
    let why = format!("for {test}");
    privileged(&why)
        && ["unshare", "nsenter", "ip"]
            .iter()
            .chain(tools)
            .all(|tool| have(tool, &why))
        && have_file("/usr/lib/cni/bridge", "containernetworking-plugins", &why)
}

/// How each test of our image under containerd starts: `None` where `test` skips (outside
/// CI, for a missing tool); else an enclave named `name`, its containerd running our image
/// as the pods' sandbox, with the app image imported.
fn our_containerd(test: &str, name: &str) -> Option<(Enclave, Containerd)> {
    if !can_run(test, containerd::TOOLS) {
        return None;
    }
    let enclave = Enclave::new(name);
    let containerd = containerd_with_images(&enclave, &pause_archive(), PAUSE_IMAGE);
    Some((enclave, containerd))
}

/// Network, PID and IPC namespaces shared by the whole pod, held by the sandbox (pause).
fn pod_namespaces() -> NamespaceOption {
    NamespaceOption {
        network: NamespaceMode::Pod.into(),
        pid: NamespaceMode::Pod.into(),
        ipc: NamespaceMode::Pod.into(),
        ..Default::default()
    }
}

/// A persistent server on the pod's localhost that greets and hangs up.
const APP_COMMAND: [&str; 9] = [
    busybox::BINARY,
    "nc",
    "-ll",
    "-p",
    PORT,
    "-e",
    busybox::BINARY,
    "echo",
    GREETING,
];

fn app_config() -> ContainerConfig {
    pause_harness::k8s::app_config("app", &APP_COMMAND, pod_namespaces())
}

fn run_pod(containerd: &Containerd, sandbox: &PodSandboxConfig) -> String {
    containerd
        .call(containerd.runtime().run_pod_sandbox(RunPodSandboxRequest {
            config: Some(sandbox.clone()),
            runtime_handler: String::new(),
        }))
        .pod_sandbox_id
}

/// An app container made and started in `pod` as a kubelet does: its id, and its pid as the
/// CRI reports it.
fn run_app(
    containerd: &Containerd,
    pod: &str,
    sandbox: &PodSandboxConfig,
    config: ContainerConfig,
) -> (String, u32) {
    let mut cri = containerd.runtime();
    let app = containerd
        .call(cri.create_container(CreateContainerRequest {
            pod_sandbox_id: pod.to_string(),
            config: Some(config),
            sandbox_config: Some(sandbox.clone()),
        }))
        .container_id;
    containerd.call(cri.start_container(StartContainerRequest {
        container_id: app.clone(),
    }));
    let status = containerd.call(cri.container_status(ContainerStatusRequest {
        container_id: app.clone(),
        verbose: true,
    }));
    let pid = verbose_pid(&status.info);
    (app, pid)
}

/// SIGTERM through containerd's task API: pause ends the pod, with status 0, and the CRI
/// sees the sandbox go NOTREADY; stopping and removing it then cleans up.
fn terminate_pod(containerd: &Containerd, events: &Events, pod: &str) {
    containerd.ctr(&["tasks", "kill", "--signal", "SIGTERM", pod]);
    assert_eq!(events.exit_of(pod), 0, "pause's exit status after SIGTERM");
    poll("the CRI to see the sandbox exit", || {
        let status = containerd.call(containerd.runtime().pod_sandbox_status(
            PodSandboxStatusRequest {
                pod_sandbox_id: pod.into(),
                verbose: false,
            },
        ));
        (status.status?.state() == PodSandboxState::SandboxNotready).then_some(())
    });
    stop_and_remove_pod(containerd, pod);
}

fn stop_and_remove_pod(containerd: &Containerd, pod: &str) {
    let mut cri = containerd.runtime();
    containerd.call(cri.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: pod.into(),
    }));
    containerd.call(cri.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod.into(),
    }));
}

/// The PID (as the enclave numbers it) of `pod`'s sandbox process, checked to be our pause
/// as PID 1, run as the image's user.
fn sandbox_pause(containerd: &Containerd, enclave: &Enclave, pod: &str) -> u32 {
    let status = containerd.call(containerd.runtime().pod_sandbox_status(
        PodSandboxStatusRequest {
            pod_sandbox_id: pod.to_string(),
            verbose: true,
        },
    ));
    let pid = verbose_pid(&status.info);
    let pause = enclave.proc(pid);
    assert_is_our_pause_as_pid_1(&pause);
    let proc_status = fs::read_to_string(pause.join("status")).unwrap();
    assert_eq!(
        status_value(&proc_status, "Uid"),
        "65535\t65535\t65535\t65535",
        "the CRI runs the sandbox as the image's user"
    );
    pid
}

/// `proc` (a /proc/PID) runs dist/pause-linux-amd64, byte for byte, as PID 1 of its PID
/// namespace; returns once it catches SIGTERM (a namespace's PID 1 ignores a signal it has no
/// handler for, so one sent sooner would be lost).
fn assert_is_our_pause_as_pid_1(proc: &Path) {
    // The runtime reports the process while it may still be `runc init`, about to exec.
    poll("the pod's infra process to exec /pause", || {
        (fs::read_link(proc.join("exe")).ok()? == Path::new("/pause")).then_some(())
    });
    let (exe, ours) = (fs::read(proc.join("exe")).unwrap(), AMD64.binary());
    assert!(
        exe == fs::read(&ours).unwrap(),
        "the pod's infra process ({} bytes) is not {} (a stale image? run `just image`)",
        exe.len(),
        ours.display()
    );
    let status = fs::read_to_string(proc.join("status")).unwrap();
    assert_eq!(
        status_value(&status, "NSpid").split('\t').next_back(),
        Some("1"),
        "pause is not PID 1 of the pod"
    );
    poll("pause to install its SIGTERM handler", || {
        let status = fs::read_to_string(proc.join("status")).ok()?;
        let caught = u64::from_str_radix(status_value(&status, "SigCgt"), 16).unwrap();
        (caught & signal_bit(Signal::SIGTERM) != 0).then_some(())
    });
}

fn assert_shares_namespaces(app: &Path, pause: &Path) {
    for ns in ["net", "ipc", "uts", "pid"] {
        let path = |proc: &Path| fs::read_link(proc.join("ns").join(ns)).unwrap();
        assert_eq!(
            path(app),
            path(pause),
            "the app is not in the pod's {ns} namespace"
        );
    }
}

/// Dials 127.0.0.1 from inside the pause's network namespace: the app's server answers
/// there, so the two share localhost.
fn assert_app_answers_on_the_pods_localhost(pause: &Path) {
    let net = pause.join("ns/net");
    poll("the app to answer on the pod's localhost", || {
        let out = Command::new("nsenter")
            .arg(format!("--net={}", net.display()))
            .args([busybox::BINARY, "nc", "-w", "1", "127.0.0.1", PORT])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (String::from_utf8_lossy(&out.stdout).trim() == GREETING).then_some(())
    });
}
