//! The classic pod walkthrough: a pause container holding the pod's namespaces and port,
//! busybox apps joining them, and what a locked-down pause still holds.

use std::fs;
use std::io::{Read, Write};
use std::time::Duration;

use pause_harness::docker::Docker;
use pause_harness::*;

use crate::{PAUSE_IMAGE, archive, built};

const APP_IMAGE: &str = "localhost/pause-test-app:latest";
/// The pod's host port. The enclave's network namespace is new: nothing else listens there.
const HOST_PORT: u16 = 8080;
const GREETING: &str = "hello from the app";

/// The app: busybox's httpd serving GREETING on the pod's port 80.
const APP: &[&str] = &[
    "busybox",
    "sh",
    "-c",
    "mkdir -p /www && echo \"$0\" > /www/index.html && exec busybox httpd -f -p 80 -h /www",
    GREETING,
];

/// The pod of the classic walkthrough, with pause as Docker runs it by default.
#[test]
fn the_classic_walkthrough() {
    walkthrough(&[]);
}

/// Without `--ipc=shareable`, Docker 20.10 refuses the app the pause container's IPC
/// namespace (the README's reason for it).
#[test]
fn joining_a_private_ipc_namespace_fails() {
    let Some(docker) = docker_with_images() else {
        return;
    };
    docker.run(&["run", "-d", "--name", "pod", PAUSE_IMAGE]);
    let app = [
        "run",
        "--rm",
        "--ipc=container:pod",
        APP_IMAGE,
        "busybox",
        "true",
    ];
    let out = docker.output(&app);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("$ docker {}\n{stderr}", app.join(" "));
    assert!(
        !out.status.success() && stderr.contains("non-shareable IPC"),
        "{stderr}"
    );
}

/// A dockerd with pause and the busybox app image, when the test can run here.
fn docker_with_images() -> Option<Docker> {
    if !Docker::can_start("for the walkthrough") || !built(&AMD64) {
        return None;
    }
    let docker = Docker::start();
    docker.run(&["load", "-i", archive(&AMD64).to_str().unwrap()]);
    let rootfs = docker.enclave().path("/run/busybox.tar");
    fs::write(&rootfs, busybox::layer()).unwrap();
    let import = [
        "import",
        "--change",
        "ENV PATH=/bin",
        rootfs.to_str().unwrap(),
        APP_IMAGE,
    ];
    docker.run(&import);
    Some(docker)
}

/// The same pod, with pause under the shipped seccomp profile, read-only, with no
/// capabilities and no way to gain privileges.
#[test]
fn the_walkthrough_with_pause_locked_down() {
    let seccomp = format!(
        "seccomp={}",
        workspace().join("deploy/seccomp.json").display()
    );
    walkthrough(&[
        "--security-opt",
        &seccomp,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    ]);
}

fn walkthrough(pause_options: &[&str]) {
    let Some(docker) = docker_with_images() else {
        return;
    };
    let enclave = docker.enclave();

    // The pod: pause holds the network namespace with the host port, and an IPC namespace
    // others may join (20.10's default, private, refuses them: `non-shareable IPC`).
    let publish = format!("127.0.0.1:{HOST_PORT}:80");
    let pause = [
        &[
            "run",
            "-d",
            "--name",
            "pod",
            "-p",
            &publish,
            "--ipc=shareable",
        ][..],
        pause_options,
        &[PAUSE_IMAGE],
    ]
    .concat();
    docker.run(&pause);
    let join = [
        "--net=container:pod",
        "--ipc=container:pod",
        "--pid=container:pod",
    ];
    let app = [
        &["run", "-d", "--name", "app"][..],
        &join,
        &[APP_IMAGE],
        APP,
    ]
    .concat();
    docker.run(&app);
    assert_eq!(
        get(&docker, HOST_PORT),
        GREETING,
        "the host port reaches the app"
    );

    // A second app reaches the first on the pod's localhost.
    let fetched = docker.run(&[
        "run",
        "--rm",
        "--net=container:pod",
        APP_IMAGE,
        "busybox",
        "wget",
        "-qO-",
        "http://127.0.0.1/",
    ]);
    assert_eq!(fetched.trim(), GREETING);

    // In the app, PID 1 is /pause, as 65535.
    let ps = docker.run(&["exec", "app", "busybox", "ps"]);
    let first = ps
        .lines()
        .find(|l| l.split_whitespace().next() == Some("1"));
    let first: Vec<&str> = first
        .unwrap_or_else(|| panic!("no PID 1 in\n{ps}"))
        .split_whitespace()
        .collect();
    assert_eq!(first, ["1", "65535", "/pause"], "{ps}");

    // The app dies and comes back: the pod's network namespace, and so its port, stay.
    let pid_of = |name: &str| {
        inspect_container(&docker, "{{.State.Pid}}", name)
            .parse::<u32>()
            .unwrap()
    };
    let netns = |pid: u32| fs::read_link(enclave.proc(pid).join("ns/net")).unwrap();
    let pod_netns = netns(pid_of("pod"));
    assert_eq!(netns(pid_of("app")), pod_netns);
    docker.run(&["rm", "-f", "app"]);
    docker.run(&app);
    assert_eq!(
        netns(pid_of("app")),
        pod_netns,
        "the new app is in the pod's network namespace"
    );
    assert_eq!(
        get(&docker, HOST_PORT),
        GREETING,
        "the host port reaches the new app"
    );

    // Orphans the app leaves are re-parented to pause, which reaps every one: the host's
    // /proc shows none left, not even a zombie.
    let pause_pid = enclave.host_pid(pid_of("pod"));
    let release = held_fifo(&enclave.proc(pid_of("app")).join("root/release"));
    let mut orphans = Orphans::adopt(pause_pid, 5, release, |script| {
        docker.run(&[
            "exec", "-d", "app", "busybox", "sh", "-c", script, "sh", "/release",
        ]);
    });
    orphans.release();
    orphans.wait_reaped();

    // docker stop: SIGTERM, which pause answers with its message and status 0.
    docker.run(&["stop", "pod"]);
    assert_eq!(
        inspect_container(&docker, "{{.State.ExitCode}}", "pod"),
        "0"
    );
    let logs = docker.command(&["logs", "pod"]).output().unwrap();
    eprintln!(
        "$ docker logs pod\n{}",
        String::from_utf8_lossy(&logs.stderr)
    );
    assert_eq!(String::from_utf8(logs.stdout).unwrap(), "");
    assert_eq!(String::from_utf8(logs.stderr).unwrap(), TERMINATED);
}

fn inspect_container(docker: &Docker, format: &str, name: &str) -> String {
    docker
        .run(&["container", "inspect", "--format", format, name])
        .trim()
        .to_string()
}

/// The body of `GET /` on the enclave's `127.0.0.1:port`, once it answers (within the
/// deadline: httpd starts after `docker run` returns).
fn get(docker: &Docker, port: u16) -> String {
    let response = poll("the app to answer on the host port", || {
        let mut stream = docker.enclave().connect(port).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        // docker-proxy accepts before the app listens, then closes: an empty answer.
        (!response.is_empty()).then_some(response)
    });
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{response}"
    );
    body.trim().to_string()
}
