//! The provenance: an in-toto Statement of SLSA provenance v1 over every platform manifest.

use std::fs;
use std::path::Path;
use std::process::Command;

use oci_spec::image::ImageIndex;
use pause_harness::{justfile_arches, workspace};
use serde_json::Value;

use crate::{PROVENANCE, document, revision, sha256_hex, shipped, venv};

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
