//! The pod's app image: one uncompressed layer holding only the host's static busybox as
//! `/bin/busybox`, written as an OCI archive (`oci-archive`) that `ctr images import` and
//! `podman load` both read, or as the root file system `docker import` takes (`layer`).
//! Commands name their applet: `/bin/busybox sleep 60`.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, OciLayoutBuilder, Os, RootFsBuilder,
};
use sha2::{Digest as _, Sha256};

/// Debian's busybox-static.
pub const BINARY: &str = "/bin/busybox";

/// Writes the image to `archive`, named `reference` (fully qualified, `localhost/...`).
pub fn write_archive(archive: &Path, reference: &str) {
    let layer = layer();
    let diff_id = sha256(&layer);
    let config = ImageConfigurationBuilder::default()
        .architecture(Arch::Amd64)
        .os(Os::Linux)
        .config(
            ConfigBuilder::default()
                .env(vec!["PATH=/bin".to_string()])
                .build()
                .unwrap(),
        )
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![diff_id.to_string()])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let config = serde_json::to_vec(&config).unwrap();
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(MediaType::ImageConfig, &config))
        .layers(vec![descriptor(MediaType::ImageLayer, &layer)])
        .build()
        .unwrap();
    let manifest = serde_json::to_vec(&manifest).unwrap();
    // containerd reads the first annotation, podman the second.
    let named = DescriptorBuilder::default()
        .media_type(MediaType::ImageManifest)
        .size(manifest.len() as u64)
        .digest(sha256(&manifest))
        .annotations(
            [
                "io.containerd.image.name",
                "org.opencontainers.image.ref.name",
            ]
            .map(|key| (key.to_string(), reference.to_string()))
            .into_iter()
            .collect::<HashMap<_, _>>(),
        )
        .build()
        .unwrap();
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .manifests(vec![named])
        .build()
        .unwrap();
    let layout = OciLayoutBuilder::default()
        .image_layout_version("1.0.0")
        .build()
        .unwrap();

    let mut tar = tar::Builder::new(File::create(archive).unwrap());
    append(
        &mut tar,
        "oci-layout",
        &serde_json::to_vec(&layout).unwrap(),
        0o644,
    );
    append(
        &mut tar,
        "index.json",
        &serde_json::to_vec(&index).unwrap(),
        0o644,
    );
    for blob in [&layer, &config, &manifest] {
        let name = format!("blobs/sha256/{}", sha256(blob).digest());
        append(&mut tar, &name, blob, 0o644);
    }
    tar.finish().unwrap();
}

/// The layer, a whole root file system: `bin/` and `bin/busybox`, owned by root.
pub fn layer() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    tar.append_data(&mut dir, "bin/", std::io::empty()).unwrap();
    let busybox = std::fs::read(BINARY).unwrap();
    append(&mut tar, "bin/busybox", &busybox, 0o755);
    tar.into_inner().unwrap()
}

fn append<W: std::io::Write>(tar: &mut tar::Builder<W>, path: &str, data: &[u8], mode: u32) {
    let mut header = tar::Header::new_ustar();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    tar.append_data(&mut header, path, data).unwrap();
}

fn descriptor(media_type: MediaType, blob: &[u8]) -> Descriptor {
    Descriptor::new(media_type, blob.len() as u64, sha256(blob))
}

fn sha256(blob: &[u8]) -> Digest {
    let hex: String = Sha256::digest(blob)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}").parse().unwrap()
}
