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

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use pause_harness::registry::{Registry, can_run_registry};
use pause_harness::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const SBOM: &str = "application/spdx+json";
const PROVENANCE: &str = "application/vnd.in-toto+json";
/// How long `just verify` may take: a clean build of every arch and of the image tool.
const VERIFY_LIMIT: Duration = Duration::from_secs(1800);

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

/// The SBOM is valid SPDX for `pyspdxtools` (which does refuse a broken copy), and says what
/// is in the image: each platform's binary by its sha256, from the index's revision,
/// Apache-2.0, built by rustc, depending on nothing.
#[test]
fn sbom_is_valid_spdx_and_lists_each_binary() {
    let Some(layout) = shipped() else { return };
    let bytes = document(&layout, SBOM);
    let dir = tempfile::tempdir().unwrap();
    let valid = dir.path().join("sbom.spdx.json");
    fs::write(&valid, &bytes).unwrap();
    let Some(out) = venv("pyspdxtools", &["-i", valid.to_str().unwrap()]) else {
        return;
    };
    assert!(out.status.success(), "pyspdxtools: {out:?}");

    let sbom: Value = serde_json::from_slice(&bytes).unwrap();
    let mut broken = sbom.clone();
    broken["packages"][2]["checksums"][0]["checksumValue"] = "not-a-digest".into();
    let invalid = dir.path().join("broken.spdx.json");
    fs::write(&invalid, broken.to_string()).unwrap();
    let out = venv("pyspdxtools", &["-i", invalid.to_str().unwrap()]).unwrap();
    assert!(!out.status.success(), "pyspdxtools took a broken checksum");

    assert_eq!(sbom["spdxVersion"], "SPDX-2.3");
    let packages: BTreeMap<&str, &Value> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p))
        .collect();
    let relationships: Vec<(&str, &str, &str)> = sbom["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap();
            (
                field("spdxElementId"),
                field("relationshipType"),
                field("relatedSpdxElement"),
            )
        })
        .collect();
    let revision = revision(&layout);
    for arch in ALL.iter().filter(|a| a.binary().is_file()) {
        let name = format!("pause-linux-{}", arch.name);
        let package = packages[name.as_str()];
        let id = package["SPDXID"].as_str().unwrap();
        assert_eq!(
            package["checksums"][0]["checksumValue"],
            sha256_hex(&fs::read(arch.binary()).unwrap()),
            "{name}"
        );
        assert_eq!(package["licenseDeclared"], "Apache-2.0");
        assert!(package["sourceInfo"].as_str().unwrap().contains(&revision));
        assert!(relationships.contains(&("SPDXRef-rustc", "BUILD_TOOL_OF", id)));
        let depends: Vec<_> = relationships
            .iter()
            .filter(|(from, kind, _)| *from == id && *kind == "DEPENDS_ON")
            .collect();
        assert_eq!(
            depends,
            [&(id, "DEPENDS_ON", "NONE")],
            "{name} links nothing"
        );
    }
}

/// in-toto-attestation's checks of a Statement v1 and of a SLSA provenance v1 predicate.
const VALIDATE_STATEMENT: &str = "
import json, sys
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
doc = json.load(open(sys.argv[1]))
Statement.copy_from_pb(json_format.ParseDict(doc, statement_pb2.Statement())).validate()
assert doc['predicateType'] == 'https://slsa.dev/provenance/v1'
json_format.ParseDict(doc['predicate'], provenance_pb2.Provenance())
";

/// The provenance is an in-toto Statement v1 with a SLSA provenance v1 predicate (and the
/// validators refuse one whose subjects lack digests); its subjects are the platform
/// manifests, its source the index's revision, its materials the toolchain and Cargo.lock,
/// and its commands the Justfile's, for every platform.
#[test]
fn provenance_is_a_slsa_statement_of_every_manifest() {
    let Some(layout) = shipped() else { return };
    let bytes = document(&layout, PROVENANCE);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("provenance.json");
    fs::write(&path, &bytes).unwrap();
    let check = |path: &Path| {
        venv(
            "python3",
            &["-c", VALIDATE_STATEMENT, path.to_str().unwrap()],
        )
    };
    let Some(out) = check(&path) else { return };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let statement: Value = serde_json::from_slice(&bytes).unwrap();
    let mut broken = statement.clone();
    broken["subject"][0]["digest"] = serde_json::json!({});
    let invalid = dir.path().join("broken.json");
    fs::write(&invalid, broken.to_string()).unwrap();
    assert!(
        !check(&invalid).unwrap().status.success(),
        "a subject without a digest passed"
    );

    let index: ImageIndex = serde_json::from_slice(&layout.blob(&layout.tagged("latest"))).unwrap();
    let subjects: Vec<String> = statement["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("sha256:{}", s["digest"]["sha256"].as_str().unwrap()))
        .collect();
    let manifests: Vec<String> = index
        .manifests()
        .iter()
        .map(|d| d.digest().to_string())
        .collect();
    assert_eq!(subjects, manifests);

    let definition = &statement["predicate"]["buildDefinition"];
    let dependency = |name: &str| {
        definition["resolvedDependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {definition}"))
            .clone()
    };
    assert_eq!(
        dependency("source")["digest"]["gitCommit"],
        revision(&layout)
    );
    let lock = fs::read(workspace().join("Cargo.lock")).unwrap();
    assert_eq!(
        dependency("Cargo.lock")["digest"]["sha256"],
        sha256_hex(&lock)
    );
    let rustc = Command::new("rustc").arg("-vV").output().unwrap().stdout;
    assert_eq!(
        dependency("rustc")["annotations"]["rustc -vV"].as_str(),
        Some(String::from_utf8(rustc).unwrap().as_str())
    );
    let commands = definition["externalParameters"]["commands"].to_string();
    let Some(arches) = justfile_arches() else {
        return;
    };
    for (arch, target) in arches {
        for part in [
            format!("--target \\\"{target}\\\""),
            format!("\\\"dist/pause-linux-{arch}\\\""),
        ] {
            assert!(commands.contains(&part), "no {part} in {commands}");
        }
    }
}

/// Replaces the JSON blob `old` of the layout `dir` by `edit`ed bytes, and every manifest,
/// index and `index.json` entry that points at it (and so on up), as a tamperer who wants a
/// consistent image would.
fn tamper(dir: &Path, old: &Descriptor, edit: impl FnOnce(&mut Value)) {
    let blob = |d: &str| {
        dir.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut value: Value =
        serde_json::from_slice(&fs::read(blob(old.digest().as_ref())).unwrap()).unwrap();
    edit(&mut value);
    let mut todo = vec![(
        old.digest().to_string(),
        serde_json::to_vec(&value).unwrap(),
    )];
    while let Some((old, bytes)) = todo.pop() {
        let new = format!("sha256:{}", sha256_hex(&bytes));
        fs::write(blob(&new), &bytes).unwrap();
        // Rewrites each descriptor of `old` in `value`; whether there was one.
        fn repoint(value: &mut Value, old: &str, new: &str, size: usize) -> bool {
            match value {
                Value::Object(map) if map.get("digest").and_then(Value::as_str) == Some(old) => {
                    map.insert("digest".into(), new.into());
                    map.insert("size".into(), size.into());
                    true
                }
                Value::Object(map) => map
                    .values_mut()
                    .fold(false, |a, v| repoint(v, old, new, size) | a),
                Value::Array(list) => list
                    .iter_mut()
                    .fold(false, |a, v| repoint(v, old, new, size) | a),
                _ => false,
            }
        }
        for entry in fs::read_dir(dir.join("blobs/sha256")).unwrap() {
            let path = entry.unwrap().path();
            let Ok(mut value) = serde_json::from_slice::<Value>(&fs::read(&path).unwrap()) else {
                continue;
            };
            if repoint(&mut value, &old, &new, bytes.len()) {
                let name = format!("sha256:{}", path.file_name().unwrap().to_str().unwrap());
                todo.push((name, serde_json::to_vec(&value).unwrap()));
            }
        }
        let top = dir.join("index.json");
        let mut value: Value = serde_json::from_slice(&fs::read(&top).unwrap()).unwrap();
        if repoint(&mut value, &old, &new, bytes.len()) {
            fs::write(&top, serde_json::to_vec(&value).unwrap()).unwrap();
        }
    }
}

/// A copy of the shipped layout, as skopeo copies it: the index and its referrers' tag.
fn copy_of(layout: &Layout, to: &Path) {
    let fallback = format!("sha256-{}", layout.tagged("latest").digest().digest());
    for tag in ["latest", &fallback] {
        let from = layout.reference(tag);
        let to = format!("oci:{}:{tag}", to.display());
        let status = finish(
            Command::new("skopeo").args(["copy", "-q", "--all", &from, &to]),
            "skopeo copy",
        );
        assert!(status.success(), "skopeo copy {from}");
    }
}

/// `just verify` of three copies of `dist/oci`, with one rebuild of their commit (HEAD):
/// the fresh copy matches in every digest; the copy whose amd64 manifest was pointed at
/// another layer fails, naming that layer (and the index and manifest above it), while the
/// other platforms match; the copy whose SBOM says another license fails, naming the SBOM,
/// while the image and the provenance match.
#[test]
fn verify_matches_a_fresh_copy_and_names_what_was_altered() {
    let Some(layout) = shipped() else { return };
    if !can_run_registry("to verify a pushed copy") || !have("git", "to rebuild the commit") {
        return;
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(workspace())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let changes = git(&["status", "--porcelain", "--untracked-files=no"]);
    if !available(
        changes.is_empty(),
        format_args!(
            "uncommitted changes; verify rebuilds HEAD, which dist/oci would not be:\n{changes}"
        ),
    ) {
        return;
    }
    assert_eq!(
        revision(&layout),
        git(&["rev-parse", "HEAD"]),
        "dist/oci is stale: `just image`"
    );
    let (Some(_), true) = (
        justfile_arches(),
        AMD64.binary().is_file() && ARM64.binary().is_file(),
    ) else {
        return;
    };

    let work = tempfile::tempdir().unwrap();
    let copies = ["fresh", "layer", "sbom"].map(|name| {
        let dir = work.path().join(name);
        copy_of(&layout, &dir);
        dir
    });
    let other_layer = {
        let manifest: ImageManifest =
            serde_json::from_slice(&layout.blob(&layout.tagged("arm64"))).unwrap();
        serde_json::to_value(&manifest.layers()[0]).unwrap()
    };
    tamper(&copies[1], &layout.tagged("amd64"), |m| {
        m["layers"][0] = other_layer
    });
    let (_, found) = referrers(&layout);
    let sbom = found
        .iter()
        .find(|m| m.artifact_type().as_ref().unwrap().to_string() == SBOM)
        .unwrap();
    tamper(&copies[2], &sbom.layers()[0], |doc| {
        doc["packages"][2]["licenseDeclared"] = "MIT".into()
    });

    // The registry copy: pushed, its artifacts found by subject, then verified like the rest.
    let registry = Registry::start();
    let pushed = push_and_find_referrers(&registry, &layout);
    let mut refs = copies.map(|dir| format!("oci:{}", dir.display())).to_vec();
    refs.push(pushed);
    let mut child = KillOnDrop::spawn(
        Command::new("just")
            .arg("verify")
            .args(&refs)
            .current_dir(workspace())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // Read while it runs (the rebuild prints more than a pipe holds), and wait for its end
    // within the limit: on a hang, dropping the child kills it, which ends the readers too.
    let read = |pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || std::io::read_to_string(pipe).unwrap())
    };
    let out = read(Box::new(child.0.stdout.take().unwrap()));
    let err = read(Box::new(child.0.stderr.take().unwrap()));
    let status = poll_for(VERIFY_LIMIT, || child.0.try_wait().unwrap()).expect("just verify ended");
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    eprintln!("{stdout}");
    assert!(
        !status.success(),
        "two tampered copies passed:\n{stdout}\n{stderr}"
    );
    let report = |dir: &str| {
        let prefix = format!("{dir}: ");
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(lines.len(), 2, "{dir}:\n{stdout}\n{stderr}");
        lines[1].strip_prefix(&prefix).unwrap().to_string()
    };
    assert_eq!(report(&refs[0]), "every digest matches the rebuild");
    assert_eq!(report(&refs[3]), "every digest matches the rebuild");
    assert_eq!(
        report(&refs[1]),
        "MISMATCH: linux/amd64 manifest, linux/amd64 layer, index, \
         sbom (application/spdx+json) missing, provenance (application/vnd.in-toto+json) missing"
    );
    assert_eq!(
        report(&refs[2]),
        "MISMATCH: sbom (application/spdx+json) manifest, sbom (application/spdx+json) document"
    );
}

/// Pushes `layout` to `registry` (the suite's own, plain HTTP on loopback) as the README does, the index and then its referrers' tag, finds both artifacts from the index
/// by their `subject` through that tag (Debian's docker-registry, distribution 2.8, has no
/// referrers API: the tag is the spec's fallback for it), and returns the reference for
/// `just verify`, which can then join the three above in its one rebuild.
fn push_and_find_referrers(registry: &Registry, layout: &Layout) -> String {
    let index = layout.tagged("latest");
    let fallback = format!("sha256-{}", index.digest().digest());
    let repository = format!("docker://{}/pause", registry.address());
    for tag in ["latest", &fallback] {
        let from = layout.reference(tag);
        let to = format!("{repository}:{tag}");
        let args = ["copy", "-q", "--all", "--dest-tls-verify=false", &from, &to];
        let status = finish(
            registry.command("skopeo").args(args),
            "skopeo copy to the registry",
        );
        assert!(status.success(), "skopeo copy {from} {to}");
    }
    let raw = |reference: &str| -> Vec<u8> {
        let args = ["inspect", "--raw", "--tls-verify=false", reference];
        let out = registry.command("skopeo").args(args).output().unwrap();
        assert!(out.status.success(), "skopeo inspect {reference}: {out:?}");
        out.stdout
    };
    let pushed = format!("{repository}:latest");
    assert_eq!(sha256_hex(&raw(&pushed)), index.digest().digest());
    let listing: ImageIndex =
        serde_json::from_slice(&raw(&format!("{repository}:{fallback}"))).unwrap();
    let mut types: Vec<String> = listing
        .manifests()
        .iter()
        .map(|entry| {
            let manifest: ImageManifest =
                serde_json::from_slice(&raw(&format!("{repository}@{}", entry.digest()))).unwrap();
            assert_eq!(
                manifest.subject().as_ref().map(Descriptor::digest),
                Some(index.digest())
            );
            manifest.artifact_type().as_ref().unwrap().to_string()
        })
        .collect();
    types.sort();
    assert_eq!(types, [SBOM, PROVENANCE]);
    pushed
}
