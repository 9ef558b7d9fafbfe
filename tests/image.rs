//! The OCI image `just image` writes (tools/src/image.rs), checked with the programs that
//! consume it: two builds are byte-identical; skopeo reads the index and every platform by
//! its tag; umoci unpacks every platform to a rootfs holding only `/pause`, the dist binary
//! itself; podman and containerd load the archive as `localhost/pause:latest`; every
//! platform's blobs stay under 2 KiB. (Docker loads the per-platform docker-archives in
//! tests/docker.rs.)
//!
//! Each test builds its own image into a temp dir with the Justfile's command plus `--out`,
//! from the dist binaries that exist (all seven under CI=true).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest, MediaType};
use oci_spec::runtime::Spec;
use pause_harness::layout::Layout;
use pause_harness::podman::{PrivatePodman, can_run_podman};
use pause_harness::*;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

/// What one platform's blobs (config, manifest, layer) may weigh.
const BLOB_BUDGET: u64 = 2048;
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether `arch`'s dist binary exists. Outside CI a missing one skips the caller (with
/// the reason printed); under CI=true it fails it.
fn built(arch: &Arch) -> bool {
    let path = workspace().join(format!("dist/pause-linux-{}", arch.name));
    let missing = format_args!("{} is not built (`just dist`)", path.display());
    available(path.is_file(), missing)
}

/// The architectures the image is made of.
fn arches() -> Vec<&'static Arch> {
    ALL.iter().copied().filter(|a| built(a)).collect()
}

/// An image built by `just image`'s command into a temp dir, removed when dropped; read as a
/// `Layout` (its `oci` dir).
struct BuiltImage {
    dir: TempDir,
    layout: Layout,
}

impl BuiltImage {
    /// Builds it with `env` added to (`Some`) or removed from (`None`) the environment.
    fn build(env: &[(&str, Option<&str>)]) -> BuiltImage {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(workspace())
            .args(["run", "--quiet", "--release", "-p", "pause-tools", "--"])
            .args(["image", "--out"])
            .arg(dir.path())
            .args(arches().iter().map(|a| a.name));
        for (key, value) in env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "pause-tools image: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let layout = Layout::at(dir.path().join("oci"));
        BuiltImage { dir, layout }
    }

    fn archive(&self) -> PathBuf {
        self.dir.path().join("pause-oci.tar")
    }
}

impl std::ops::Deref for BuiltImage {
    type Target = Layout;

    fn deref(&self) -> &Layout {
        &self.layout
    }
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                found.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    found
}

/// Runs `program args`, asserting success; its stdout.
fn stdout_of(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The same inputs give the same bytes: every blob, index.json and the archive; the SBOM
/// and the provenance (tests/attestations.rs) among the blobs.
#[test]
fn two_builds_are_identical() {
    let (a, b) = (BuiltImage::build(&[]), BuiltImage::build(&[]));
    for tag in ["sbom", "provenance"] {
        let manifest: ImageManifest = serde_json::from_slice(&a.blob(&a.tagged(tag))).unwrap();
        a.blob(&manifest.layers()[0]);
    }
    let (a, b) = (files(a.dir.path()), files(b.dir.path()));
    assert!(a.contains_key(Path::new("oci/index.json")));
    assert!(a.contains_key(Path::new("pause-oci.tar")));
    for arch in arches() {
        let archive = format!("pause-docker-{}.tar", arch.name);
        assert!(a.contains_key(Path::new(&archive)), "no {archive}");
    }
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(
            bytes == &b[path],
            "{} differs between builds",
            path.display()
        );
        // A blob's name is its content's digest.
        if let Ok(name) = path.strip_prefix("oci/blobs/sha256") {
            assert_eq!(name.to_str().unwrap(), hex(&Sha256::digest(bytes)));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every timestamp is SOURCE_DATE_EPOCH when set, else the HEAD commit's time; the
/// revision is HEAD, the version the crate's.
#[test]
fn time_version_and_revision() {
    let image = BuiltImage::build(&[("SOURCE_DATE_EPOCH", Some("86400"))]);
    let arch = arches()[0].name;
    let config = image.config(arch);
    assert_eq!(config.created().as_deref(), Some("1970-01-02T00:00:00Z"));
    // One history row, for the one layer, at the same time (`docker history` shows it).
    let history = config.history().clone().unwrap_or_default();
    let [row] = &history[..] else {
        panic!("one history row: {history:?}");
    };
    assert_eq!(row.created().as_deref(), Some("1970-01-02T00:00:00Z"));
    assert_eq!(row.empty_layer(), None);
    let annotations = image.manifest(arch).annotations().clone().unwrap();
    assert_eq!(
        annotations["org.opencontainers.image.created"],
        "1970-01-02T00:00:00Z"
    );
    assert_eq!(annotations["org.opencontainers.image.version"], VERSION);
    assert_eq!(
        annotations["org.opencontainers.image.licenses"],
        "Apache-2.0"
    );
    assert_eq!(
        image.tagged(VERSION).digest(),
        image.tagged("latest").digest()
    );

    if !have("git", "to read the HEAD commit") {
        return;
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(workspace())
            .env("TZ", "UTC")
            .args(args)
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap().trim().to_string())
    };
    let Some(head) = git(&["rev-parse", "HEAD"]) else {
        available(false, "not a git checkout");
        return;
    };
    let committed = git(&[
        "log",
        "-1",
        "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
        "--format=%cd",
    ])
    .unwrap();
    let image = BuiltImage::build(&[("SOURCE_DATE_EPOCH", None)]);
    let annotations = image.manifest(arch).annotations().clone().unwrap();
    assert_eq!(annotations["org.opencontainers.image.revision"], head);
    assert_eq!(annotations["org.opencontainers.image.created"], committed);
    assert_eq!(image.config(arch).created().as_deref(), Some(&*committed));
}

/// skopeo reads the index by both its names and from the archive, and it lists every
/// platform, each the manifest its arch tag names.
#[test]
fn skopeo_reads_the_index() {
    if !have("skopeo", "to read OCI images") {
        return;
    }
    let image = BuiltImage::build(&[]);
    let raw = stdout_of("skopeo", &["inspect", "--raw", &image.reference("latest")]);
    assert_eq!(
        stdout_of("skopeo", &["inspect", "--raw", &image.reference(VERSION)]),
        raw
    );
    let archive = format!("oci-archive:{}", image.archive().display());
    assert_eq!(stdout_of("skopeo", &["inspect", "--raw", &archive]), raw);
    assert_eq!(
        image.tagged("latest").digest().digest(),
        hex(&Sha256::digest(&raw))
    );

    let index: ImageIndex = serde_json::from_slice(&raw).unwrap();
    assert_eq!(index.media_type(), &Some(MediaType::ImageIndex));
    let arches = arches();
    assert_eq!(index.manifests().len(), arches.len());
    for (entry, arch) in index.manifests().iter().zip(&arches) {
        let p = entry.platform().as_ref().unwrap();
        let (architecture, variant) = arch.platform();
        assert_eq!(p.architecture().to_string(), architecture);
        assert_eq!(p.os().to_string(), "linux");
        assert_eq!(p.variant().as_deref(), variant);
        assert_eq!(entry.digest(), image.tagged(arch.name).digest());
    }
}

/// skopeo reads each platform by its tag: the right architecture, and a config that runs
/// `/pause` as 65535:65535.
fn skopeo_reads_the_platform(arch: &'static Arch) {
    if !built(arch) || !have("skopeo", "to read OCI images") {
        return;
    }
    let image = BuiltImage::build(&[]);
    let reference = image.reference(arch.name);
    let inspect: serde_json::Value =
        serde_json::from_slice(&stdout_of("skopeo", &["inspect", &reference])).unwrap();
    let (architecture, variant) = arch.platform();
    assert_eq!(inspect["Architecture"], architecture);
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(
        inspect["Digest"],
        image.tagged(arch.name).digest().to_string()
    );

    let raw = stdout_of("skopeo", &["inspect", "--config", &reference]);
    let config: ImageConfiguration = serde_json::from_slice(&raw).unwrap();
    assert_eq!(config.architecture().to_string(), architecture);
    assert_eq!(config.variant().as_deref(), variant);
    let run = config.config().as_ref().unwrap();
    assert_eq!(run.user().as_deref(), Some("65535:65535"));
    assert_eq!(
        run.entrypoint().as_deref(),
        Some(&["/pause".to_string()][..])
    );
    assert_eq!(run.cmd(), &None);
}

/// umoci unpacks each platform to a rootfs whose only entry is `/pause`: the dist binary,
/// 0755, owned by 0:0; and the runtime config it derives runs it as 65535:65535.
fn umoci_unpacks_only_pause(arch: &'static Arch) {
    if !built(arch)
        || !have("umoci", "to unpack OCI images")
        || !privileged("to unpack files owned by 0:0")
    {
        return;
    }
    let image = BuiltImage::build(&[]);
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("bundle");
    let tagged = format!("{}:{}", image.path().display(), arch.name);
    stdout_of(
        "umoci",
        &["unpack", "--image", &tagged, bundle.to_str().unwrap()],
    );

    let rootfs = bundle.join("rootfs");
    let entries: Vec<_> = fs::read_dir(&rootfs)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["pause"], "the rootfs holds only /pause");
    let pause = rootfs.join("pause");
    let meta = fs::symlink_metadata(&pause).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.mode() & 0o7777, 0o755);
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    assert!(fs::read(&pause).unwrap() == fs::read(arch.binary()).unwrap());

    let spec = Spec::load(bundle.join("config.json")).unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.args().as_deref(), Some(&["/pause".to_string()][..]));
    assert_eq!((process.user().uid(), process.user().gid()), (65535, 65535));
}

/// One platform's image is a config, a manifest and one gzip layer, under 2 KiB in all.
fn blobs_fit_in_2_kib(arch: &'static Arch) {
    if !built(arch) {
        return;
    }
    let image = BuiltImage::build(&[]);
    let entry = image.tagged(arch.name);
    let manifest = image.manifest(arch.name);
    let [layer] = &manifest.layers()[..] else {
        panic!("one layer: {manifest:?}");
    };
    assert_eq!(layer.media_type(), &MediaType::ImageLayerGzip);
    let sizes = [&entry, manifest.config(), layer].map(|d| image.blob(d).len() as u64);
    let total: u64 = sizes.iter().sum();
    eprintln!(
        "{}: manifest {} + config {} + layer {} = {total} bytes",
        arch.name, sizes[0], sizes[1], sizes[2]
    );
    assert!(total < BLOB_BUDGET, "{}: {total} bytes of blobs", arch.name);
}

/// A platform request resolves through the index to this platform's manifest: `skopeo copy`
/// with the request's architecture and variant takes exactly that manifest from `latest`
/// (for linux/arm/v6 the Thumb-1 build, not the Thumb-2 one of v7).
fn platform_request_resolves_to_its_manifest(arch: &'static Arch) {
    if !built(arch) || !have("skopeo", "to read OCI images") {
        return;
    }
    let image = BuiltImage::build(&[]);
    let copy = tempfile::tempdir().unwrap();
    let (architecture, variant) = arch.platform();
    let mut request = vec!["--override-os", "linux", "--override-arch", architecture];
    if let Some(variant) = variant {
        request.extend(["--override-variant", variant]);
    }
    let (from, to) = (
        image.reference("latest"),
        format!("dir:{}", copy.path().display()),
    );
    let args = [&request[..], &["copy", &from, &to]].concat();
    stdout_of("skopeo", &args);
    let copied = fs::read(copy.path().join("manifest.json")).unwrap();
    assert!(
        copied == image.blob(&image.tagged(arch.name)),
        "{request:?} resolved to another manifest"
    );
}

per_arch!(
    platform_request_resolves_to_its_manifest,
    skopeo_reads_the_platform,
    umoci_unpacks_only_pause,
    blobs_fit_in_2_kib
);

/// `podman load` takes the archive as `localhost/pause:latest`, into a private store.
#[test]
fn podman_loads_the_archive() {
    if !can_run_podman("to load the archive") {
        return;
    }
    let image = BuiltImage::build(&[]);
    let podman = PrivatePodman::new();
    let loaded = podman.run(&["load", "-i", image.archive().to_str().unwrap()]);
    assert!(
        loaded.contains("Loaded image: localhost/pause:latest"),
        "{loaded}"
    );
    let user = podman.run(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{.Config.Entrypoint}}",
        "localhost/pause:latest",
    ]);
    assert_eq!(user.trim(), "65535:65535 [/pause]");
}

/// A containerd of the test's own (private root, state and socket), killed when dropped.
struct ContainerdImages {
    _daemon: KillOnDrop,
    socket: String,
    _dir: TempDir,
}

impl ContainerdImages {
    fn start() -> ContainerdImages {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().display();
        let socket = format!("{at}/containerd.sock");
        // Only the content and image services are needed: no CRI, and no opt plugin,
        // which would create /opt/containerd on the host.
        let config = format!(
            "version = 2\nroot = \"{at}/root\"\nstate = \"{at}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.internal.v1.opt\"]\n\
             [grpc]\naddress = \"{socket}\"\n"
        );
        fs::write(dir.path().join("config.toml"), config).unwrap();
        let log = fs::File::create(dir.path().join("containerd.log")).unwrap();
        let daemon = KillOnDrop::spawn(
            Command::new("containerd")
                .arg("--config")
                .arg(dir.path().join("config.toml"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let containerd = ContainerdImages {
            _daemon: daemon,
            socket,
            _dir: dir,
        };
        poll("containerd to serve", || {
            containerd.ctr(&["version"]).status.success().then_some(())
        });
        containerd
    }

    fn ctr(&self, args: &[&str]) -> std::process::Output {
        Command::new("ctr")
            .args(["--address", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }
}

/// `ctr images import` takes the archive as `localhost/pause:latest`, every platform in it.
#[test]
fn containerd_imports_the_archive() {
    if !have("containerd", "to import the archive")
        || !have("ctr", "to import the archive")
        || !privileged("to run containerd")
    {
        return;
    }
    let image = BuiltImage::build(&[]);
    let containerd = ContainerdImages::start();
    let out = containerd.ctr(&["images", "import", image.archive().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ctr images import: {stderr}");
    let out = containerd.ctr(&["images", "ls"]);
    let listing = String::from_utf8(out.stdout).unwrap();
    let line = listing
        .lines()
        .find(|l| l.starts_with("localhost/pause:latest "))
        .unwrap_or_else(|| panic!("no localhost/pause:latest in\n{listing}"));
    let column = line.split_whitespace().find(|w| w.starts_with("linux/"));
    let listed: Vec<&str> = column.unwrap_or_default().split(',').collect();
    let expected: Vec<String> = arches().iter().map(|a| a.os_arch_variant()).collect();
    assert_eq!(listed.len(), expected.len(), "{line}");
    for platform in &expected {
        assert!(listed.contains(&platform.as_str()), "{platform} in {line}");
    }
}
