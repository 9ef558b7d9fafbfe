//! What proves the image in `dist/oci`: the SBOM and the provenance `just image` attaches to
//! the index, found by their `subject`, checked by real validators (PyPI's `spdx-tools` and
//! `in-toto-attestation`, in the venv `just setup` makes), and `just verify`, which rebuilds
//! the commit and must match a fresh copy and a copy pushed to a registry (where the artifacts
//! are found by subject too), and name what was altered in a tampered one.
//!
//! Debian's `in-toto` (1.3.1) is not used: it models in-toto layouts and links, not the
//! attestation framework's Statement v1. `in-toto-attestation` is the in-toto project's own
//! binding of it: its `Statement.validate()` checks the statement and its subjects, and its
//! SLSA provenance v1 protobuf refuses a predicate with a field the schema lacks.
//!
//! One module per document: `sbom`, `provenance`, and `verify` (the rebuild, the copies and
//! the registry).

use std::path::Path;
use std::process::{Command, Stdio};

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use pause_harness::{Layout, available, just_evaluate, workspace};
use sha2::{Digest as _, Sha256};

mod provenance;
mod sbom;
mod verify;

const SBOM: &str = "application/spdx+json";
const PROVENANCE: &str = "application/vnd.in-toto+json";

/// `dist/oci`, as `just image` wrote it.
fn shipped() -> Option<Layout> {
    let dir = workspace().join("dist/oci");
    available(
        dir.join("index.json").is_file(),
        "dist/oci is not built (`just image`)",
    )
    .then(|| Layout::at(dir))
}

/// The index and the manifests that `index.json` lists whose `subject` is it.
fn referrers(layout: &Layout) -> (Descriptor, Vec<ImageManifest>) {
    let index = layout.tagged("latest");
    let found = layout
        .index_json()
        .manifests()
        .iter()
        .filter(|d| d.artifact_type().is_some())
        .map(|d| serde_json::from_slice::<ImageManifest>(&layout.blob(d)).unwrap())
        .filter(|m| m.subject().as_ref().map(Descriptor::digest) == Some(index.digest()))
        .collect();
    (index, found)
}

/// The document of the referrer of type `artifact_type`.
fn document(layout: &Layout, artifact_type: &str) -> Vec<u8> {
    let (_, found) = referrers(layout);
    let of_type = |m: &&ImageManifest| {
        m.artifact_type()
            .as_ref()
            .map(ToString::to_string)
            .as_deref()
            == Some(artifact_type)
    };
    let manifest = found.iter().find(of_type).expect(artifact_type);
    layout.blob(&manifest.layers()[0])
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The index's revision annotation.
fn revision(layout: &Layout) -> String {
    let index: ImageIndex = serde_json::from_slice(&layout.blob(&layout.tagged("latest"))).unwrap();
    index.annotations().as_ref().unwrap()["org.opencontainers.image.revision"].clone()
}

/// Runs the venv's `program args`; its output, whether it succeeded or not.
fn venv(program: &str, args: &[&str]) -> Option<std::process::Output> {
    let dir = just_evaluate("venv")?;
    let path = Path::new(&dir).join("bin").join(program);
    if !available(
        path.is_file(),
        format_args!("{} is missing; `just setup` installs it", path.display()),
    ) {
        return None;
    }
    Some(
        Command::new(path)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

/// Two artifacts refer to the index, an SBOM and a provenance, each an OCI 1.1 artifact
/// manifest: the empty config, one layer of its own type; and the referrers tag fallback,
/// `sha256-<hex of the index>`, lists the same two.
#[test]
fn two_artifacts_refer_to_the_index() {
    let Some(layout) = shipped() else { return };
    let (index, found) = referrers(&layout);
    let mut types: Vec<String> = found
        .iter()
        .map(|m| m.artifact_type().as_ref().unwrap().to_string())
        .collect();
    types.sort();
    assert_eq!(types, [SBOM, PROVENANCE]);
    for manifest in &found {
        let config = manifest.config();
        assert_eq!(
            config.media_type().to_string(),
            "application/vnd.oci.empty.v1+json"
        );
        assert_eq!(layout.blob(config), b"{}");
        assert_eq!(config.data().as_deref(), Some("e30="));
        let [layer] = &manifest.layers()[..] else {
            panic!("one layer: {manifest:?}")
        };
        assert_eq!(
            Some(layer.media_type().to_string()),
            manifest.artifact_type().as_ref().map(ToString::to_string)
        );
    }
    let fallback = format!("sha256-{}", index.digest().digest());
    let listing: ImageIndex =
        serde_json::from_slice(&layout.blob(&layout.tagged(&fallback))).unwrap();
    let mut listed: Vec<String> = listing
        .manifests()
        .iter()
        .map(|d| d.artifact_type().as_ref().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, types);
}
