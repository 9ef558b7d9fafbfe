//! The OCI image `just image` writes (tools/src/image.rs), checked with the programs that
//! consume it: two builds are byte-identical; skopeo reads the index and every platform by
//! its tag; umoci unpacks every platform to a rootfs holding only `/pause`, the dist binary
//! itself; podman and containerd load the archive as `localhost/pause:latest`; every
//! platform's blobs stay under 2 KiB. (Docker loads the per-platform docker-archives in
//! tests/docker.rs.)
//!
//! Each test builds its own image into a temp dir with the Justfile's command plus `--out`,
//! from the dist binaries that exist (every arch's under CI=true).
//!
//! `platform` checks each platform; `runtimes` loads the whole archive into podman and
//! containerd.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::image::{ImageIndex, ImageManifest, MediaType};
use pause_harness::layout::Layout;
use pause_harness::*;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

mod platform;
mod runtimes;

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
