//! The image's SBOM: an SPDX 2.3 JSON document with one package per platform binary (its
//! sha256, the source revision, the license), the source it is generated from, and the Rust
//! toolchain as its build tool. It has no runtime components, and says so: each binary
//! `DEPENDS_ON NONE` (SPDX's way to state that a package has no such relationship), because
//! the binary links nothing, no libc and no crate.
//!
//! Deterministic: `created` is the image's one time, and `documentNamespace` is derived from
//! the revision and the binaries' digests (SPDX asks for a URI unique to the document; the
//! `spdx.org/spdxdocs` form is its recommendation for tools without a domain of their own).

use anyhow::Result;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::built::{Built, Meta, json, platform_name};
use crate::provenance::Toolchain;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const LICENSE: &str = "Apache-2.0";

/// The SPDX JSON bytes of the SBOM of the platforms `built`.
pub fn document(built: &[Built], meta: &Meta) -> Result<Vec<u8>> {
    let toolchain = Toolchain::of_this_build()?;
    let revision = meta.revision.as_deref().unwrap_or("NOASSERTION");
    let source_info = format!("built from git revision {revision}");

    let mut packages = vec![
        json!({
            "SPDXID": "SPDXRef-source",
            "name": "pause",
            "versionInfo": VERSION,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "SOURCE",
            "sourceInfo": source_info,
            "licenseConcluded": LICENSE,
            "licenseDeclared": LICENSE,
            "copyrightText": "NOASSERTION",
        }),
        json!({
            "SPDXID": "SPDXRef-rustc",
            "name": "rustc",
            "versionInfo": toolchain.release,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "APPLICATION",
            "comment": toolchain.version,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }),
    ];
    let mut relationships = vec![];
    let mut digests = Sha256::new();
    for b in built {
        let id = format!("SPDXRef-pause-linux-{}", b.arch);
        packages.push(json!({
            "SPDXID": id,
            "name": format!("pause-linux-{}", b.arch),
            "versionInfo": VERSION,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "APPLICATION",
            "checksums": [{ "algorithm": "SHA256", "checksumValue": b.binary.digest() }],
            "sourceInfo": source_info,
            "licenseConcluded": LICENSE,
            "licenseDeclared": LICENSE,
            "copyrightText": "NOASSERTION",
            "comment": format!(
                "/pause of the {} image: a static freestanding ELF that links nothing \
                 (no libc, no crate, no interpreter); it has no runtime components",
                platform_name(&b.platform)
            ),
        }));
        relationships.extend([
            relationship("SPDXRef-DOCUMENT", "DESCRIBES", &id),
            relationship(&id, "GENERATED_FROM", "SPDXRef-source"),
            relationship("SPDXRef-rustc", "BUILD_TOOL_OF", &id),
            relationship(&id, "DEPENDS_ON", "NONE"),
        ]);
        digests.update(b.binary.to_string());
    }
    let namespace = format!(
        "https://spdx.org/spdxdocs/pause-{VERSION}-{revision}-{}",
        hex::encode(digests.finalize())
    );
    json(&json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("pause-{VERSION}"),
        "documentNamespace": namespace,
        "comment": "The image holds only /pause. Each binary links nothing, so there are \
                    no runtime components: each DEPENDS_ON NONE.",
        "creationInfo": {
            "created": meta.created,
            "creators": [format!("Tool: pause-tools-{VERSION}")],
        },
        "packages": packages,
        "relationships": relationships,
    }))
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({ "spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to })
}
