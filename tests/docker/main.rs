//! Docker as its users run it, with Debian 12's docker.io 20.10 (a private dockerd, see
//! harness/src/docker.rs): `docker load` of `just image`'s docker-archives, the Containerfile
//! under the classic builder and BuildKit, and the classic pod walkthrough: a pause container
//! holding the pod's namespaces and port, busybox apps joining them; and `docker pull` of
//! each platform from a registry.
//!
//! `cargo test -p pause-tests --test docker -- --nocapture` prints each docker command and
//! its output: the walkthrough as typed.
//!
//! The walkthrough, the pod as the classic posts build it by hand, is `walkthrough`.

use std::fs;
use std::io::Read;
use std::path::PathBuf;

use oci_spec::image::ImageConfiguration;
use pause_harness::docker::Docker;
use pause_harness::*;
mod walkthrough;

/// The name `dist/pause-docker-<arch>.tar` loads as.
const PAUSE_IMAGE: &str = "localhost/pause:latest";
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
