//! What `pause-tools image` attaches to the image index: the SBOM (sbom.rs) and the build
//! provenance (provenance.rs), each as an OCI 1.1 artifact manifest whose `subject` is the
//! index: `artifactType` the document's media type, the config the empty descriptor
//! (`application/vnd.oci.empty.v1+json`, `{}`), one layer holding the document.
//!
//! The layout's `index.json` lists both manifests (named `sbom` and `provenance`), and, under
//! the tag the distribution spec's referrers fallback gives an index (`sha256-<hex>` of its
//! digest), an image index of the two: what a registry without the referrers API serves for
//! "the referrers of this index". skopeo 1.9 copies only what a reference names, never
//! referrers, so that tag is how they travel: `skopeo copy --all oci:dist/oci:sha256-<hex>
//! docker://HOST/NAME:sha256-<hex>` pushes the fallback index and both artifacts.

use std::collections::HashMap;

use anyhow::Result;
use oci_spec::image::{
    ANNOTATION_CREATED, ANNOTATION_REF_NAME, ANNOTATION_TITLE, Descriptor, DescriptorBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType,
};

use crate::built::{Blob, Built, Meta, PROVENANCE_TYPE, SBOM_TYPE, fallback_tag};
use crate::{provenance, sbom};

/// The blobs the attachments add to the layout, and their entries in its `index.json`.
pub struct Attached {
    pub blobs: Vec<Blob>,
    pub refs: Vec<Descriptor>,
}

/// The SBOM and the provenance of the image whose index is `index`, attached to it.
pub fn attach(built: &[Built], index: &Blob, meta: &Meta) -> Result<Attached> {
    let empty = Blob::new(MediaType::EmptyJSON, b"{}".to_vec())?;
    let documents = [
        (
            "sbom",
            SBOM_TYPE,
            "sbom.spdx.json",
            sbom::document(built, meta)?,
        ),
        (
            "provenance",
            PROVENANCE_TYPE,
            "provenance.intoto.json",
            provenance::statement(built, meta)?,
        ),
    ];
    let mut blobs = Vec::new();
    let mut refs = Vec::new();
    let mut referrers = Vec::new();
    for (name, media_type, title, bytes) in documents {
        let media_type = MediaType::Other(media_type.to_string());
        let mut layer = Blob::new(media_type.clone(), bytes)?;
        layer.descriptor.set_annotations(Some(HashMap::from([(
            ANNOTATION_TITLE.to_string(),
            title.to_string(),
        )])));
        // Only the created time: the referrers API lists a manifest's annotations, and
        // clients sort referrers by it.
        let annotations = HashMap::from([(ANNOTATION_CREATED.to_string(), meta.created.clone())]);
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .artifact_type(media_type.clone())
            .config(empty_descriptor(&empty))
            .layers(vec![layer.descriptor.clone()])
            .subject(subject(&index.descriptor)?)
            .annotations(annotations.clone())
            .build()?;
        let manifest = Blob::json(MediaType::ImageManifest, &manifest)?;
        let mut entry = manifest.descriptor.clone();
        entry.set_artifact_type(Some(media_type));
        entry.set_annotations(Some(annotations.clone()));
        referrers.push(entry.clone());
        let mut named = annotations;
        named.insert(ANNOTATION_REF_NAME.to_string(), name.to_string());
        entry.set_annotations(Some(named));
        refs.push(entry);
        blobs.extend([layer, manifest]);
    }
    let fallback = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(referrers)
        .build()?;
    let fallback = Blob::json(MediaType::ImageIndex, &fallback)?;
    let mut entry = fallback.descriptor.clone();
    entry.set_annotations(Some(HashMap::from([(
        ANNOTATION_REF_NAME.to_string(),
        fallback_tag(index.descriptor.digest()),
    )])));
    refs.push(entry);
    blobs.extend([empty, fallback]);
    Ok(Attached { blobs, refs })
}

/// The empty config as OCI 1.1 writes it: its two bytes inline as `data`.
fn empty_descriptor(empty: &Blob) -> Descriptor {
    let mut descriptor = empty.descriptor.clone();
    descriptor.set_data(Some("e30=".to_string()));
    descriptor
}

/// The index as a `subject`: media type, digest and size only.
fn subject(index: &Descriptor) -> Result<Descriptor> {
    Ok(DescriptorBuilder::default()
        .media_type(index.media_type().clone())
        .digest(index.digest().clone())
        .size(index.size())
        .build()?)
}
