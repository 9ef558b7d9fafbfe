//! An image's files as an OCI layout and as an oci-archive: the index over the platforms,
//! every blob once, and `index.json` naming what the layout holds.

use std::collections::HashMap;
#[cfg(feature = "bench")]
use std::path::Path;

#[cfg(feature = "bench")]
use anyhow::Context;
use anyhow::Result;
use oci_spec::image::{
    ANNOTATION_REF_NAME, Descriptor, ImageIndexBuilder, MediaType, OciLayoutBuilder,
};

use crate::built::{Blob, Meta, json};
use crate::platform::{Image, file_header};

/// containerd's name annotation, which podman also reads first.
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";

/// The image index over every platform's manifest.
pub(crate) fn index(images: &[Image], meta: &Meta) -> Result<Blob> {
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(images.iter().map(Image::entry).collect::<Vec<_>>())
        .annotations(meta.annotations())
        .build()?;
    Blob::json(MediaType::ImageIndex, &index)
}

/// Every blob of the image and of what is attached to it, each once, in digest order.
pub(crate) fn blobs<'a>(
    images: &'a [Image],
    index: &'a Blob,
    attached: &'a [Blob],
) -> Vec<&'a Blob> {
    let mut blobs = vec![index];
    for image in images {
        blobs.extend([&image.layer, &image.config, &image.manifest]);
    }
    blobs.extend(attached);
    blobs.sort_by_key(|b| b.path());
    blobs.dedup_by_key(|b| b.path());
    blobs
}

/// Every file of a layout whose `index.json` lists `refs`, by path inside it.
pub(crate) fn layout(refs: Vec<Descriptor>, blobs: &[&Blob]) -> Result<Vec<(String, Vec<u8>)>> {
    let top = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(refs)
        .build()?;
    let version = OciLayoutBuilder::default()
        .image_layout_version("1.0.0")
        .build()?;
    let mut files = vec![
        ("oci-layout".to_string(), json(&version)?),
        ("index.json".to_string(), json(&top)?),
    ];
    files.extend(blobs.iter().map(|b| (b.path(), b.bytes.clone())));
    Ok(files)
}

/// `descriptor` named `reference` in a layout, for OCI tools and for containerd/podman.
pub(crate) fn named(mut descriptor: Descriptor, reference: &str) -> Descriptor {
    descriptor.set_annotations(Some(HashMap::from([
        (ANNOTATION_REF_NAME.to_string(), reference.to_string()),
        (
            ANNOTATION_IMAGE_NAME.to_string(),
            crate::built::reference(reference),
        ),
    ])));
    descriptor
}

/// A layout's files as an oci-archive: a tar of them after the directories of the blobs
/// (every digest made here is sha256).
pub(crate) fn oci_archive(files: &[(String, Vec<u8>)], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut header = file_header(0, 0o755, mtime);
        header.set_entry_type(tar::EntryType::Directory);
        tar.append_data(&mut header, dir, std::io::empty())?;
    }
    for (name, bytes) in files {
        let mut header = file_header(bytes.len(), 0o644, mtime);
        tar.append_data(&mut header, name, &bytes[..])?;
    }
    Ok(tar.into_inner()?)
}

// The bench's (feature `bench`): it packages its peers as each platform is packaged here.
#[cfg(feature = "bench")]
/// The bytes of every blob of a single-platform image of `binary` made as `main` makes
/// them: config, manifest and layer.
pub fn blob_bytes(binary: &Path, arch: &str) -> Result<u64> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    Ok(Image::new(&bytes, arch, &Meta::from_env()?)?.bytes())
}

#[cfg(feature = "bench")]
/// A single-platform image of `binary`, made as `main` makes each platform's, as an
/// oci-archive that containerd imports as `localhost/pause:<tag>`: how the bench packages a
/// peer in the role of the pod sandbox.
pub fn single_archive(binary: &Path, arch: &str, tag: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let meta = Meta::from_env()?;
    let images = [Image::new(&bytes, arch, &meta)?];
    let index = index(&images, &meta)?;
    let files = layout(
        vec![named(index.descriptor.clone(), tag)],
        &blobs(&images, &index, &[]),
    )?;
    oci_archive(&files, meta.epoch)
}
