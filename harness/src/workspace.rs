//! The checkout the harness runs in, and what its Justfile says: the recipes' own list of
//! architectures and variables, read with `just` itself rather than parsed again.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::skip::have;

/// The Justfile's `arches`, the list every recipe builds from, as (Go name, Rust target)
/// pairs; `None` (a skip, outside CI) without `just`.
pub fn justfile_arches() -> Option<Vec<(String, String)>> {
    let list = just_evaluate("arches")?;
    let pairs = list.split_whitespace().map(|pair| {
        let (arch, target) = pair.split_once(':').expect(pair);
        (arch.to_string(), target.to_string())
    });
    Some(pairs.collect())
}

/// The value of the Justfile variable `name`; `None` (a skip, outside CI) without `just`.
pub fn just_evaluate(name: &str) -> Option<String> {
    if !have("just", "to read the Justfile") {
        return None;
    }
    let out = Command::new("just")
        .args(["--evaluate", name])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(out.status.success(), "just --evaluate {name}: {out:?}");
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The checkout: the workspace root, above this crate.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
