//! `just verify`: one rebuild of HEAD against a fresh copy, tampered copies and a copy
//! pushed to a registry.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use pause_harness::registry::{Registry, can_run_registry};
use pause_harness::{
    AMD64, ARM64, KillOnDrop, Layout, available, finish, have, justfile_arches, poll_for, workspace,
};
use serde_json::Value;

use crate::{PROVENANCE, SBOM, referrers, revision, sha256_hex, shipped};

/// How long `just verify` may take: a clean build of every arch and of the image tool.
const VERIFY_LIMIT: Duration = Duration::from_secs(1800);

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
