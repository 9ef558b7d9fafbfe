//! An image as published, the ground `verify` and `release` stand on: where it is
//! (`Reference`, an OCI layout or a registry's repository and tag) and what an OCI layout of
//! it holds (`Image`: the index, its platforms, and the artifacts that refer to it, the SBOM
//! and the provenance, under the distribution spec's tag fallback, `sha256-<hex of the index
//! digest>`, which is how `just image` lays them out and how they are pushed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result, bail, ensure};
use oci_spec::image::{
    ANNOTATION_CREATED, ANNOTATION_REF_NAME, ANNOTATION_REVISION, Descriptor, Digest, ImageIndex,
    ImageManifest,
};

use crate::built::fallback_tag;
use crate::command;

/// Where an image is, as skopeo names it.
pub struct Reference {
    /// The transport and place, up to the tag: `oci:DIR` or `docker://HOST/NAME`.
    pub base: String,
    pub tag: String,
    /// A registry on loopback, spoken to over plain HTTP.
    pub insecure: bool,
}

impl Reference {
    /// `oci:DIR[:TAG]` (TAG `latest` by default) or `docker://HOST/NAME[:TAG]`.
    pub fn parse(arg: &str) -> Result<Reference> {
        if let Some(rest) = arg.strip_prefix("oci:") {
            let (dir, tag) = rest.split_once(':').unwrap_or((rest, "latest"));
            return Ok(Reference {
                base: format!("oci:{dir}"),
                tag: tag.to_string(),
                insecure: false,
            });
        }
        let Some(rest) = arg.strip_prefix("docker://") else {
            bail!(
                "{arg}: name an OCI layout (oci:DIR[:TAG]) or a registry (docker://HOST/NAME:TAG)"
            );
        };
        let name_start = rest.rfind('/').context("docker://HOST/NAME:TAG")? + 1;
        let (base, tag) = match rest[name_start..].split_once(':') {
            Some((name, tag)) => (format!("{}{name}", &rest[..name_start]), tag),
            None => (rest.to_string(), "latest"),
        };
        let host = rest.split('/').next().unwrap_or_default();
        // A registry on loopback speaks plain HTTP, as Docker assumes of localhost. Trust
        // never rests on the transport here: digests are compared, signatures verified.
        let insecure = host.starts_with("localhost") || host.starts_with("127.");
        Ok(Reference {
            base: format!("docker://{base}"),
            tag: tag.to_string(),
            insecure,
        })
    }

    /// A registry's `HOST/NAME:TAG` (`docker://` optional), the tag given, not defaulted:
    /// where a release goes.
    pub fn registry(arg: &str) -> Result<Reference> {
        let rest = arg.strip_prefix("docker://").unwrap_or(arg);
        let usage = || format!("{arg}: name a registry repository and tag, HOST/NAME:TAG");
        let (path, tag) = rest.rsplit_once(':').with_context(usage)?;
        let (host, name) = path.split_once('/').with_context(usage)?;
        // A digest names one image, not a release; a port is a number.
        let port = host.split_once(':').map_or("0", |(_, port)| port);
        ensure!(
            !host.is_empty()
                && port.parse::<u16>().is_ok()
                && !name.is_empty()
                && !tag.is_empty()
                && !tag.contains('/')
                && !rest.contains('@'),
            usage()
        );
        Reference::parse(&format!("docker://{rest}"))
    }

    pub fn with_tag(&self, tag: &str) -> String {
        format!("{}:{tag}", self.base)
    }

    /// A registry's `HOST/NAME`, as a policy, a signature and a pin name it.
    pub fn repository(&self) -> Option<&str> {
        self.base.strip_prefix("docker://")
    }
}

/// `skopeo copy --all FROM TO`, its output shown only when it fails.
fn skopeo_copy(from: &str, to: &str, insecure: bool) -> Result<()> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--quiet", "--all"]);
    if insecure {
        cmd.arg("--src-tls-verify=false");
    }
    command::output(cmd.args([from, to]), &format!("skopeo copy {from}"))?;
    Ok(())
}

/// An image in an OCI layout: its index, and the artifacts that refer to it.
pub struct Image {
    layout: PathBuf,
    pub index_descriptor: Descriptor,
    pub index: ImageIndex,
    /// The referrers' manifests, by artifact type; `None` when none could be found.
    pub referrers: Option<Vec<(Descriptor, ImageManifest)>>,
}

impl Image {
    /// Copies the image `reference` names, and its referrers, into a new layout `dir`.
    pub fn fetch(reference: &Reference, dir: &Path) -> Result<Image> {
        let to = |tag: &str| format!("oci:{}:{tag}", dir.display());
        skopeo_copy(
            &reference.with_tag(&reference.tag),
            &to("image"),
            reference.insecure,
        )?;
        let mut image = Image::read(dir, "image", None)?;
        let tag = fallback_tag(image.index_descriptor.digest());
        // No referrers tag is a finding for the table, not an error.
        if skopeo_copy(&reference.with_tag(&tag), &to(&tag), reference.insecure).is_ok() {
            image = Image::read(dir, "image", Some(&tag))?;
        }
        Ok(image)
    }

    /// The image `tag` names in the layout `dir`, with the referrers `referrers` names.
    pub fn read(dir: &Path, tag: &str, referrers: Option<&str>) -> Result<Image> {
        let top = ImageIndex::from_file(dir.join("index.json"))
            .with_context(|| format!("reading {}/index.json", dir.display()))?;
        let tagged = |tag: &str| {
            top.manifests()
                .iter()
                .find(|d| {
                    d.annotations()
                        .as_ref()
                        .and_then(|a| a.get(ANNOTATION_REF_NAME))
                        .is_some_and(|n| n == tag)
                })
                .cloned()
                .with_context(|| format!("{}: no image tagged {tag}", dir.display()))
        };
        let mut image = Image {
            layout: dir.to_path_buf(),
            index_descriptor: tagged(tag)?,
            index: ImageIndex::default(),
            referrers: None,
        };
        image.index = serde_json::from_slice(&image.blob(image.index_descriptor.digest())?)?;
        if let Some(referrers) = referrers {
            let listing: ImageIndex =
                serde_json::from_slice(&image.blob(tagged(referrers)?.digest())?)?;
            let mut found = Vec::new();
            for entry in listing.manifests() {
                let manifest: ImageManifest = serde_json::from_slice(&image.blob(entry.digest())?)?;
                // A referrer is so by its subject, whatever lists it.
                if manifest.subject().as_ref().map(Descriptor::digest)
                    == Some(image.index_descriptor.digest())
                {
                    found.push((entry.clone(), manifest));
                }
            }
            image.referrers = Some(found);
        }
        Ok(image)
    }

    fn blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self
            .layout
            .join(format!("blobs/{}/{}", digest.algorithm(), digest.digest()));
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    }

    pub fn manifest(&self, digest: &Digest) -> Result<ImageManifest> {
        Ok(serde_json::from_slice(&self.blob(digest)?)?)
    }

    fn annotation(&self, key: &str) -> Option<&String> {
        self.index.annotations().as_ref()?.get(key)
    }

    pub fn revision(&self) -> Result<String> {
        self.annotation(ANNOTATION_REVISION)
            .cloned()
            .with_context(|| {
                format!("the index has no {ANNOTATION_REVISION} annotation: it names no commit")
            })
    }

    /// The index's `created` as Unix seconds: the build's one time.
    pub fn created(&self) -> Option<u64> {
        let created = humantime::parse_rfc3339(self.annotation(ANNOTATION_CREATED)?).ok()?;
        Some(created.duration_since(UNIX_EPOCH).ok()?.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::Reference;

    #[test]
    fn a_release_names_a_registry_repository_and_its_tag() {
        for arg in [
            "127.0.0.1:5000/pause:0.1.0",
            "docker://127.0.0.1:5000/pause:0.1.0",
        ] {
            let target = Reference::registry(arg).unwrap();
            assert_eq!(target.repository(), Some("127.0.0.1:5000/pause"), "{arg}");
            assert_eq!(target.tag, "0.1.0");
            assert!(target.insecure, "{arg}: loopback is plain HTTP");
        }
        let target = Reference::registry("registry.example/team/pause:0.1.0").unwrap();
        assert_eq!(target.repository(), Some("registry.example/team/pause"));
        assert!(!target.insecure);
        for arg in [
            "pause:0.1.0",
            "127.0.0.1:5000/pause",
            "registry.example/pause",
            "registry.example/pause:",
            "registry.example/pause@sha256:00",
            "oci:dist/oci:0.1.0",
        ] {
            assert!(
                Reference::registry(arg).is_err(),
                "{arg} taken for a release target"
            );
        }
    }
}
