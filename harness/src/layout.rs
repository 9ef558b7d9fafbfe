//! Reading an OCI image layout (`dist/oci`, or one built into a temp dir): its index.json,
//! the descriptors it tags, and their blobs.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use crate::arch::Arch;
use crate::workspace::workspace;

pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    pub fn at(dir: impl Into<PathBuf>) -> Layout {
        Layout { dir: dir.into() }
    }

    /// The layout `just image` wrote.
    pub fn dist() -> Layout {
        let layout = Layout::at(workspace().join("dist/oci"));
        let index = layout.dir.join("index.json");
        assert!(
            index.is_file(),
            "{} is missing: run `just image`",
            index.display()
        );
        layout
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The `oci:` transport reference of a tag in the layout, for skopeo and podman.
    pub fn reference(&self, tag: &str) -> String {
        format!("oci:{}:{tag}", self.dir.display())
    }

    pub fn index_json(&self) -> ImageIndex {
        ImageIndex::from_file(self.dir.join("index.json")).unwrap()
    }

    /// The descriptor the layout's index.json names `tag`: `latest` (the index) or an
    /// arch's name (its manifest).
    pub fn tagged(&self, tag: &str) -> Descriptor {
        let index = self.index_json();
        let mut found = index
            .manifests()
            .iter()
            .filter(|d| ref_name(d) == Some(tag));
        let descriptor = found.next().unwrap_or_else(|| panic!("no ref {tag}"));
        assert!(found.next().is_none(), "two refs named {tag}");
        descriptor.clone()
    }

    /// The manifest descriptor of `arch`'s platform.
    pub fn platform(&self, arch: &Arch) -> Descriptor {
        self.tagged(arch.name)
    }

    pub fn blob(&self, descriptor: &Descriptor) -> Vec<u8> {
        let digest = descriptor.digest();
        let path = self
            .dir
            .join(format!("blobs/{}/{}", digest.algorithm(), digest.digest()));
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, descriptor.size(), "{}", path.display());
        bytes
    }

    pub fn manifest(&self, tag: &str) -> ImageManifest {
        serde_json::from_slice(&self.blob(&self.tagged(tag))).unwrap()
    }

    pub fn config(&self, tag: &str) -> ImageConfiguration {
        serde_json::from_slice(&self.blob(self.manifest(tag).config())).unwrap()
    }
}

/// A descriptor's `org.opencontainers.image.ref.name`: its tag in the layout.
pub fn ref_name(descriptor: &Descriptor) -> Option<&str> {
    descriptor
        .annotations()
        .as_ref()?
        .get("org.opencontainers.image.ref.name")
        .map(String::as_str)
}
