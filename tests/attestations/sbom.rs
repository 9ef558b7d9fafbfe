//! The SBOM: valid SPDX, and what it says the image holds.

use std::collections::BTreeMap;
use std::fs;

use pause_harness::ALL;
use serde_json::Value;

use crate::{SBOM, document, revision, sha256_hex, shipped, venv};

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
