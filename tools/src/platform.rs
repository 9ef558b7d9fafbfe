//! One platform's image: a gzip layer holding only `/pause` (0755, 0:0), its config
//! (`Entrypoint ["/pause"]`, `User 65535:65535`, one `history` row naming this build) and its
//! manifest; and the same platform as the docker-save archive Docker 20.10 loads.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{Context, Result};
use flate2::{Compression, GzBuilder};
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, HistoryBuilder, ImageConfigurationBuilder,
    ImageManifestBuilder, MediaType, Os, Platform, PlatformBuilder, RootFsBuilder,
};

use crate::built::{Blob, Meta, REPOSITORY, VERSION, json, sha256};

/// The nobody user: pause needs no privilege, and an image that says so runs as non-root
/// wherever the runtime honours it.
const USER: &str = "65535:65535";
/// What made the image, as `docker history` shows it.
const CREATED_BY: &str = "just image (pause-tools image)";

/// One platform's image.
pub(crate) struct Image {
    pub(crate) arch: String,
    /// The layer uncompressed, as a docker-archive holds it.
    pub(crate) tar: Vec<u8>,
    pub(crate) layer: Blob,
    pub(crate) config: Blob,
    pub(crate) manifest: Blob,
    pub(crate) platform: Platform,
}

impl Image {
    pub(crate) fn new(binary: &[u8], arch: &str, meta: &Meta) -> Result<Image> {
        let platform = platform(arch)?;
        let tar = layer_tar(binary, meta.epoch)?;
        // The config names the layer by the digest of its uncompressed tar (its diff_id).
        let diff_id = sha256(&tar)?;
        let layer = Blob::new(MediaType::ImageLayerGzip, gzip(&tar)?)?;

        let mut config = ImageConfigurationBuilder::default()
            .created(meta.created.clone())
            .architecture(platform.architecture().clone())
            .os(platform.os().clone())
            .config(
                ConfigBuilder::default()
                    .user(USER)
                    .entrypoint(vec!["/pause".to_string()])
                    .build()?,
            )
            .history(vec![
                HistoryBuilder::default()
                    .created(meta.created.clone())
                    .created_by(CREATED_BY)
                    .build()?,
            ])
            .rootfs(
                RootFsBuilder::default()
                    .typ("layers")
                    .diff_ids(vec![diff_id.to_string()])
                    .build()?,
            )
            .build()?;
        config.set_variant(platform.variant().clone());
        let config = Blob::json(MediaType::ImageConfig, &config)?;

        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(config.descriptor.clone())
            .layers(vec![layer.descriptor.clone()])
            .annotations(meta.annotations())
            .build()?;
        let manifest = Blob::json(MediaType::ImageManifest, &manifest)?;
        Ok(Image {
            arch: arch.to_string(),
            tar,
            layer,
            config,
            manifest,
            platform,
        })
    }

    pub(crate) fn bytes(&self) -> u64 {
        [&self.config, &self.manifest, &self.layer]
            .iter()
            .map(|b| b.descriptor.size())
            .sum()
    }

    /// This platform as a docker-save archive (see the module's doc), tagged `latest` and the
    /// version like the layout.
    pub(crate) fn docker_archive(&self, mtime: u64) -> Result<Vec<u8>> {
        let config = format!("{}.json", self.config.descriptor.digest().digest());
        let diff_id = sha256(&self.tar)?;
        let layer = format!("{}/layer.tar", diff_id.digest());
        let tags = ["latest", VERSION].map(|t| format!("{REPOSITORY}:{t}"));
        let manifest = serde_json::json!([{
            "Config": config,
            "RepoTags": tags,
            "Layers": [layer],
        }]);
        let tag_ids = ["latest", VERSION].map(|t| (t, diff_id.digest()));
        let repositories = HashMap::from([(REPOSITORY, HashMap::from(tag_ids))]);
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = file_header(0, 0o755, mtime);
        header.set_entry_type(tar::EntryType::Directory);
        tar.append_data(
            &mut header,
            format!("{}/", diff_id.digest()),
            std::io::empty(),
        )?;
        for (name, bytes) in [
            ("manifest.json", &json(&manifest)?),
            ("repositories", &json(&repositories)?),
            (&config, &self.config.bytes),
            (&layer, &self.tar),
        ] {
            let mut header = file_header(bytes.len(), 0o644, mtime);
            tar.append_data(&mut header, name, &bytes[..])?;
        }
        Ok(tar.into_inner()?)
    }

    /// Its manifest's descriptor as an index lists it: with the platform.
    pub(crate) fn entry(&self) -> Descriptor {
        let mut descriptor = self.manifest.descriptor.clone();
        descriptor.set_platform(Some(self.platform.clone()));
        descriptor
    }
}

/// The OCI platform of an architecture in the one list (pause-harness's `ALL`, which the
/// Justfile's `arches` matches), as that list states it.
pub(crate) fn platform(name: &str) -> Result<Platform> {
    let arch = pause_harness::ALL.iter().find(|a| a.name == name);
    let (architecture, variant) = arch
        .with_context(|| format!("unknown architecture {name:?}"))?
        .oci_platform;
    let mut platform = PlatformBuilder::default()
        .architecture(Arch::from(architecture))
        .os(Os::Linux)
        .build()?;
    platform.set_variant(variant.map(String::from));
    Ok(platform)
}

/// The uncompressed layer: one regular file, `pause`, and nothing else.
fn layer_tar(binary: &[u8], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_data(
        &mut file_header(binary.len(), 0o755, mtime),
        "pause",
        binary,
    )?;
    Ok(tar.into_inner()?)
}

/// A ustar header owned by 0:0 with no user or group names, so nothing of the build
/// machine leaks into the bytes.
pub(crate) fn file_header(size: usize, mode: u32, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size as u64);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header
}

/// gzip with no file name and mtime 0 in its header: the same bytes in, the same out.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}
