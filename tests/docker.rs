//! Docker as its users run it, with Debian 12's docker.io 20.10 (a private dockerd, see
//! src/docker.rs): `docker load` of `just image`'s docker-archives, the Containerfile under
//! the classic builder and BuildKit, and the classic pod walkthrough: a pause container
//! holding the pod's namespaces and port, busybox apps joining them; and `docker pull` of
//! each platform from a registry.
//!
//! `cargo test -p pause-tests --test docker -- --nocapture` prints each docker command and
//! its output: the walkthrough as typed.

use std::fs;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use oci_spec::image::ImageConfiguration;
use pause_harness::docker::Docker;
use pause_harness::*;

/// The name `dist/pause-docker-<arch>.tar` loads as.
const PAUSE_IMAGE: &str = "localhost/pause:latest";
const APP_IMAGE: &str = "localhost/pause-test-app:latest";
/// The pod's host port. The enclave's network namespace is new: nothing else listens there.
const HOST_PORT: u16 = 8080;
const GREETING: &str = "hello from the app";
/// `docker history`'s row for `just image`'s one layer (tools/src/image.rs).
const CREATED_BY: &str = "just image (pause-tools image)";

fn archive(arch: &Arch) -> PathBuf {
    workspace().join(format!("dist/pause-docker-{}.tar", arch.name))
}

/// Whether `arch`'s docker-archive is built (`just image`; see `available`).
fn built(arch: &Arch) -> bool {
    let path = archive(arch);
    let missing = format_args!("{} is not built (`just image`)", path.display());
    available(path.is_file(), missing)
}

/// `docker image inspect`'s value of a Go template.
fn inspect(docker: &Docker, format: &str, image: &str) -> String {
    let out = docker.run(&["image", "inspect", "--format", format, image]);
    out.trim().to_string()
}

/// The bytes of `/pause` in `image`, as `docker cp` takes them out of a container of it.
fn pause_in(docker: &Docker, image: &str) -> Vec<u8> {
    let container = docker.run(&["create", image]).trim().to_string();
    let out = docker
        .command(&["cp", &format!("{container}:/pause"), "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker cp: {out:?}");
    docker.run(&["rm", &container]);
    let mut tar = tar::Archive::new(&out.stdout[..]);
    let mut entry = tar.entries().unwrap().next().unwrap().unwrap();
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    bytes
}

/// Every platform's archive loads, as `localhost/pause` at `latest` and the version, with
/// its config as the OCI image's (Docker's image ID is its digest): the platform, the user,
/// the entrypoint and one history row.
#[test]
fn docker_loads_every_platforms_archive() {
    if !Docker::can_start("to load the docker-archives") {
        return;
    }
    let docker = Docker::start();
    for arch in ALL.iter().filter(|a| built(a)) {
        let loaded = docker.run(&["load", "-i", archive(arch).to_str().unwrap()]);
        let version = concat!("localhost/pause:", env!("CARGO_PKG_VERSION"));
        assert!(
            loaded.contains(&format!("Loaded image: {PAUSE_IMAGE}")),
            "{loaded}"
        );
        assert!(
            loaded.contains(&format!("Loaded image: {version}")),
            "{loaded}"
        );
        let raw = docker
            .command(&["image", "inspect", PAUSE_IMAGE])
            .output()
            .unwrap();
        let inspected: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
        let inspected = &inspected[0];
        let (digest, config) = oci_config(arch);
        assert_eq!(inspected["Id"], digest);
        assert_eq!(inspected["Architecture"], config.architecture().to_string());
        assert_eq!(inspected["Variant"].as_str(), config.variant().as_deref());
        assert_eq!(inspected["Os"], "linux");
        assert_eq!(inspected["Config"]["User"], "65535:65535");
        assert_eq!(
            inspected["Config"]["Entrypoint"],
            serde_json::json!(["/pause"])
        );
        let history = docker.run(&["history", PAUSE_IMAGE]);
        let rows: Vec<&str> = history.lines().skip(1).collect();
        assert!(rows.len() == 1 && rows[0].contains(CREATED_BY), "{history}");
        assert!(pause_in(&docker, PAUSE_IMAGE) == fs::read(arch.binary()).unwrap());
    }
    // The host's own platform runs: `-v` prints the version line and exits 0.
    docker.run(&["load", "-i", archive(&AMD64).to_str().unwrap()]);
    let version = docker.run(&["run", "--rm", PAUSE_IMAGE, "-v"]);
    assert_eq!(version, VERSION_LINE);
}

/// The digest and config of `arch`'s image in the OCI layout `just image` wrote beside the
/// archive.
fn oci_config(arch: &Arch) -> (String, ImageConfiguration) {
    let layout = workspace().join("dist/oci");
    let index = oci_spec::image::ImageIndex::from_file(layout.join("index.json")).unwrap();
    let blob = |digest: &oci_spec::image::Digest| {
        fs::read(layout.join("blobs/sha256").join(digest.digest())).unwrap()
    };
    let named = index.manifests().iter().find(|d| {
        d.annotations()
            .as_ref()
            .and_then(|a| a.get("org.opencontainers.image.ref.name"))
            == Some(&arch.name.to_string())
    });
    let manifest: oci_spec::image::ImageManifest =
        serde_json::from_slice(&blob(named.unwrap().digest())).unwrap();
    let digest = manifest.config().digest();
    let config = serde_json::from_slice(&blob(digest)).unwrap();
    (digest.to_string(), config)
}

/// The Containerfile builds under both of Docker 20.10's builders from a context of only
/// the binaries: the classic one (which sets no TARGETARCH, so the file's default, amd64)
/// and BuildKit, which picks the binary of the platform asked for.
#[test]
fn containerfile_builds_with_the_classic_builder_and_buildkit() {
    if !Docker::can_start("to build the Containerfile") || !built(&AMD64) || !built(&ARM64) {
        return;
    }
    let docker = Docker::start();
    let root = workspace();
    let build = |buildkit: &str, tag: &str, platform: &[&str]| {
        let mut cmd = docker.command(
            &[
                &["build", "-f", "Containerfile", "-t", tag][..],
                platform,
                &["."],
            ]
            .concat(),
        );
        let out = cmd
            .current_dir(&root)
            .env("DOCKER_BUILDKIT", buildkit)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "$ DOCKER_BUILDKIT={buildkit} docker build -f Containerfile -t {tag} {} .\n{text}",
            platform.join(" ")
        );
        assert!(out.status.success(), "{text}");
        text
    };
    let classic = build("0", "localhost/pause:classic", &[]);
    // The classic builder sends the whole context before reading the Containerfile: only
    // dist/pause-linux-* (a few kB), not the checkout's target/ (hundreds of MB).
    let sent = classic
        .lines()
        .find_map(|l| l.strip_prefix("Sending build context to Docker daemon"));
    let sent = sent
        .unwrap_or_else(|| panic!("no context size in {classic}"))
        .trim();
    assert!(
        sent.ends_with("kB") && sent.trim_end_matches("kB").parse::<f64>().unwrap() < 100.0,
        "{sent}"
    );
    build("1", "localhost/pause:buildkit", &[]);
    build(
        "1",
        "localhost/pause:buildkit-arm64",
        &["--platform", "linux/arm64"],
    );
    for (tag, arch) in [
        ("classic", &AMD64),
        ("buildkit", &AMD64),
        ("buildkit-arm64", &ARM64),
    ] {
        let image = format!("localhost/pause:{tag}");
        let facts = inspect(
            &docker,
            "{{.Architecture}} {{.Config.User}} {{json .Config.Entrypoint}}",
            &image,
        );
        assert_eq!(facts, format!("{} 65535:65535 [\"/pause\"]", arch.name));
        assert!(
            pause_in(&docker, &image) == fs::read(arch.binary()).unwrap(),
            "{image}"
        );
    }
}

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

/// Docker pulls its platform from a registry (harness/src/registry.rs, run where dockerd's
/// loopback is): for every platform, `docker pull --platform` of the pushed index gets that
/// platform's own image (its ID is the platform's config digest, so arm/v5 and arm/v6 are
/// told apart) and its own `/pause`.
#[test]
fn docker_pulls_each_platform_from_a_registry() {
    let why = "to pull from a registry with Docker";
    if !Docker::can_start(why) || !registry::can_run_registry(why) {
        return;
    }
    let docker = Docker::start();
    let registry = registry::Registry::start_in(Some(&docker.enclave().netns()));
    let pushed = registry.push_dist_image("pause:0.1.0");
    for arch in ALL {
        let platform = arch.os_arch_variant();
        docker.run(&["pull", "--quiet", "--platform", &platform, &pushed.tagged]);
        let config = layout::Layout::dist()
            .manifest(arch.name)
            .config()
            .digest()
            .clone();
        assert_eq!(
            inspect(&docker, "{{.Id}}", &pushed.tagged),
            config.to_string(),
            "{platform}: docker pulled another platform's image"
        );
        assert!(
            pause_in(&docker, &pushed.tagged) == fs::read(arch.binary()).unwrap(),
            "{platform}: the pulled /pause is not dist/pause-linux-{}",
            arch.name
        );
    }
}
