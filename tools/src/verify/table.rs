//! The table `just verify` prints for each image: every digest of the published image
//! against the rebuild's, the index, each platform's manifest, config and layers, and each
//! artifact's manifest and document.
//!
//! The fallback index itself is not compared: it is the registry's listing, not the
//! image's, and skopeo 1.9 rewrites it on copy (its image-spec types drop `artifactType`).
//! Blob contents need no check of their own: skopeo refuses a blob whose bytes do not match
//! its digest.

use anyhow::Result;
use oci_spec::image::{Descriptor, Digest, ImageManifest};

use crate::built::{PROVENANCE_TYPE, SBOM_TYPE, platform_name};
use crate::published::Image;

/// One row of the table: what it is, its parts' names, and their digests in the fetched
/// image and in the rebuild (`None`: that side has no such thing).
struct Row {
    what: String,
    parts: &'static [&'static str],
    got: Option<Vec<String>>,
    want: Option<Vec<String>>,
}

/// Prints the table of `image` against `built`; the names of what differs.
pub fn compare(image: &Image, built: &Image) -> Result<Vec<String>> {
    let mut rows = Vec::new();
    // Each platform, in the rebuild's order, then any the image has and the rebuild lacks.
    let mut platforms: Vec<String> = Vec::new();
    for entry in built
        .index
        .manifests()
        .iter()
        .chain(image.index.manifests())
    {
        let name = platform_of(entry);
        if !platforms.contains(&name) {
            platforms.push(name);
        }
    }
    for name in platforms {
        rows.push(Row {
            got: platform_parts(image, &name)?,
            want: platform_parts(built, &name)?,
            what: name,
            parts: &["manifest", "config", "layer"],
        });
    }
    let index = |image: &Image| Some(vec![image.index_descriptor.digest().to_string()]);
    rows.push(Row {
        what: "index".into(),
        parts: &["index"],
        got: index(image),
        want: index(built),
    });
    for (name, artifact_type) in [("sbom", SBOM_TYPE), ("provenance", PROVENANCE_TYPE)] {
        rows.push(Row {
            what: format!("{name} ({artifact_type})"),
            parts: &["manifest", "config", "document"],
            got: artifact_parts(image, artifact_type),
            want: artifact_parts(built, artifact_type),
        });
    }

    let mut mismatches = Vec::new();
    println!("| what | manifest | config | layer or document |");
    println!("|---|---|---|---|");
    for row in &rows {
        let mut cells = Vec::new();
        match (&row.got, &row.want) {
            // Absent on one side: one finding for the row, not one a part.
            (None, _) | (_, None) => {
                let cell = if row.got.is_none() {
                    "MISSING"
                } else {
                    "EXTRA"
                };
                cells.resize(row.parts.len(), cell);
                mismatches.push(format!("{} {}", row.what, cell.to_lowercase()));
            }
            (Some(got), Some(want)) => {
                for (i, part) in row.parts.iter().enumerate() {
                    let cell = if got[i] == want[i] {
                        "match"
                    } else {
                        "MISMATCH"
                    };
                    if cell != "match" {
                        mismatches.push(match *part {
                            "index" => "index".to_string(),
                            part => format!("{} {part}", row.what),
                        });
                    }
                    cells.push(cell);
                }
            }
        }
        cells.resize(3, "-");
        println!("| {} | {} |", row.what, cells.join(" | "));
    }
    Ok(mismatches)
}

fn platform_of(entry: &Descriptor) -> String {
    entry
        .platform()
        .as_ref()
        .map_or_else(|| "(no platform)".to_string(), platform_name)
}

/// A manifest's config digest and its layers' digests (joined: one value for the list).
fn manifest_parts(digest: &Digest, manifest: &ImageManifest) -> Vec<String> {
    let layers: Vec<String> = manifest
        .layers()
        .iter()
        .map(|l| l.digest().to_string())
        .collect();
    vec![
        digest.to_string(),
        manifest.config().digest().to_string(),
        layers.join(","),
    ]
}

fn platform_parts(image: &Image, name: &str) -> Result<Option<Vec<String>>> {
    let Some(entry) = image
        .index
        .manifests()
        .iter()
        .find(|d| platform_of(d) == name)
    else {
        return Ok(None);
    };
    Ok(Some(manifest_parts(
        entry.digest(),
        &image.manifest(entry.digest())?,
    )))
}

fn artifact_parts(image: &Image, artifact_type: &str) -> Option<Vec<String>> {
    let (entry, manifest) = image.referrers.iter().flatten().find(|(_, m)| {
        m.artifact_type()
            .as_ref()
            .map(ToString::to_string)
            .as_deref()
            == Some(artifact_type)
    })?;
    Some(manifest_parts(entry.digest(), manifest))
}
