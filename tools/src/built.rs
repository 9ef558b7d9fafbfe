//! What a build is made of, the ground the image modules stand on: its metadata (`Meta`),
//! content-addressed blobs (`Blob`), each platform as the documents describe it (`Built`),
//! and the names and media types the image, its attachments and `verify` all use.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result};
use oci_spec::image::{
    ANNOTATION_CREATED, ANNOTATION_DESCRIPTION, ANNOTATION_LICENSES, ANNOTATION_REVISION,
    ANNOTATION_SOURCE, ANNOTATION_TITLE, ANNOTATION_VERSION, Descriptor, Digest, MediaType,
    Platform,
};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::command;

/// The repository name containerd and podman give the image.
pub const REPOSITORY: &str = "localhost/pause";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const TITLE: &str = "pause";
const DESCRIPTION: &str = "The process that holds a Kubernetes pod's namespaces";
const LICENSES: &str = "Apache-2.0";

/// The name containerd and podman give the image tagged `tag`.
pub fn reference(tag: &str) -> String {
    format!("{REPOSITORY}:{tag}")
}

/// What the image says about where it came from.
pub(crate) struct Meta {
    /// Seconds since the epoch: the one time every timestamp uses.
    pub(crate) epoch: u64,
    /// `epoch` in RFC 3339.
    pub(crate) created: String,
    /// The git commit built from, when run in a checkout.
    pub(crate) revision: Option<String>,
}

impl Meta {
    pub(crate) fn from_env() -> Result<Meta> {
        let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(s) => s
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a Unix time"))?,
            Err(_) => git(&["log", "-1", "--format=%ct"])
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
        };
        let time = UNIX_EPOCH + Duration::from_secs(epoch);
        Ok(Meta {
            epoch,
            created: humantime::format_rfc3339_seconds(time).to_string(),
            revision: git(&["rev-parse", "HEAD"]),
        })
    }

    /// The `org.opencontainers.image.*` annotations of the index and of every manifest.
    pub(crate) fn annotations(&self) -> HashMap<String, String> {
        let mut map: HashMap<String, String> = [
            (ANNOTATION_CREATED, self.created.as_str()),
            (ANNOTATION_VERSION, VERSION),
            (ANNOTATION_TITLE, TITLE),
            (ANNOTATION_DESCRIPTION, DESCRIPTION),
            (ANNOTATION_LICENSES, LICENSES),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(revision) = &self.revision {
            map.insert(ANNOTATION_REVISION.into(), revision.clone());
        }
        // Only a URL the project declares (`repository` in Cargo.toml), never a guess.
        if let Some(source) = option_env!("CARGO_PKG_REPOSITORY").filter(|s| !s.is_empty()) {
            map.insert(ANNOTATION_SOURCE.into(), source.into());
        }
        map
    }
}

/// The stdout of a successful `git ARGS` in the current directory; none outside a checkout.
fn git(args: &[&str]) -> Option<String> {
    let text = command::git(Path::new("."), args).ok()?;
    (!text.is_empty()).then_some(text)
}

/// Content and the descriptor that addresses it.
pub(crate) struct Blob {
    pub(crate) descriptor: Descriptor,
    pub(crate) bytes: Vec<u8>,
}

impl Blob {
    pub(crate) fn new(media_type: MediaType, bytes: Vec<u8>) -> Result<Blob> {
        let descriptor = Descriptor::new(media_type, bytes.len() as u64, sha256(&bytes)?);
        Ok(Blob { descriptor, bytes })
    }

    pub(crate) fn json(media_type: MediaType, value: &impl Serialize) -> Result<Blob> {
        Blob::new(media_type, json(value)?)
    }

    /// Its path in a layout: `blobs/<algorithm>/<hex>`.
    pub(crate) fn path(&self) -> String {
        let digest = self.descriptor.digest();
        format!("blobs/{}/{}", digest.algorithm(), digest.digest())
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Result<Digest> {
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(bytes))).parse()?)
}

/// Compact JSON with every object's keys sorted, whatever map type held them.
pub(crate) fn json(value: &impl Serialize) -> Result<Vec<u8>> {
    let mut value = serde_json::to_value(value)?;
    value.sort_all_objects();
    Ok(serde_json::to_vec(&value)?)
}

/// The SBOM's media type: its layer's and its manifest's `artifactType`.
pub const SBOM_TYPE: &str = "application/spdx+json";
/// The in-toto Statement's.
pub const PROVENANCE_TYPE: &str = "application/vnd.in-toto+json";

/// One platform of the image, as the documents describe it.
pub struct Built {
    /// The name in the Justfile's list (`arm-v6`).
    pub arch: String,
    pub platform: Platform,
    /// The binary `/pause` of its layer.
    pub binary: Digest,
    pub manifest: Digest,
}

/// `os/architecture[/variant]`, as `--platform` flags write it.
pub fn platform_name(platform: &Platform) -> String {
    let mut name = format!("{}/{}", platform.os(), platform.architecture());
    if let Some(variant) = platform.variant() {
        name = format!("{name}/{variant}");
    }
    name
}

/// The tag under which a registry without the referrers API keeps the referrers of
/// `digest` (OCI distribution spec 1.1, "referrers tag schema").
pub fn fallback_tag(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm(), digest.digest())
}
