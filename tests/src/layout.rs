//! An OCI image layout on disk (`dist/oci`, or a copy): what its `index.json` names, and its
//! blobs by descriptor, each checked against the descriptor's size.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex};

pub struct Layout(pub PathBuf);

impl Layout {
    pub fn new(dir: impl AsRef<Path>) -> Layout {
        Layout(dir.as_ref().to_path_buf())
    }

    pub fn index_json(&self) -> ImageIndex {
        ImageIndex::from_file(self.0.join("index.json")).unwrap()
    }

    /// The descriptor `index.json` names `tag`.
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

    pub fn blob(&self, descriptor: &Descriptor) -> Vec<u8> {
        let digest = descriptor.digest();
        let path = self
            .0
            .join(format!("blobs/{}/{}", digest.algorithm(), digest.digest()));
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, descriptor.size(), "{}", path.display());
        bytes
    }
}

/// Its `org.opencontainers.image.ref.name`: the tag it has in a layout's `index.json`.
pub fn ref_name(descriptor: &Descriptor) -> Option<&str> {
    descriptor
        .annotations()
        .as_ref()?
        .get("org.opencontainers.image.ref.name")
        .map(String::as_str)
}
