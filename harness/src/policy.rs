//! The signature policy that consumers enforce on pause: `deploy/policy.json` and
//! `deploy/registries.d/pause.yaml`, the files the README shows, written for one registry
//! repository and one public key. The release test gives them to podman (as its
//! `/etc/containers`), `just verify --key` and `just release` to skopeo (`--policy`,
//! `--registries.d`), so what is tested is what an operator installs.
//!
//! A signature is sigstore's: the "simple signing" payload and its signature as a layer of
//! the `sha256-<hex>.sig` manifest beside the signed manifest, as cosign and skopeo attach it.

use std::fs;
use std::path::{Path, PathBuf};

/// The two files, as shipped.
pub const POLICY_JSON: &str = include_str!("../../deploy/policy.json");
pub const REGISTRIES_D: &str = include_str!("../../deploy/registries.d/pause.yaml");
/// Where the shipped files name the repository and the public key: what `write` replaces.
pub const SHIPPED_REPOSITORY: &str = "registry.example/pause";
pub const SHIPPED_KEY: &str = "/etc/containers/pause.pub";
/// The file name the registries.d file has in the shipped directory.
pub const REGISTRIES_D_FILE: &str = "pause.yaml";

/// A policy written into a directory laid out as `/etc/containers` is.
pub struct Policy {
    pub policy_json: PathBuf,
    pub registries_d: PathBuf,
}

impl Policy {
    /// Writes `dir/policy.json` and `dir/registries.d/pause.yaml` for `repository`
    /// (`HOST/NAME`) and the public key at `key` (as the consumer will open it).
    pub fn write(dir: &Path, repository: &str, key: &str) -> std::io::Result<Policy> {
        for what in [SHIPPED_REPOSITORY, SHIPPED_KEY] {
            assert!(
                POLICY_JSON.contains(what),
                "deploy/policy.json no longer names {what}"
            );
        }
        let registries_d = write_registries_d(dir, repository)?;
        let policy_json = dir.join("policy.json");
        let policy = POLICY_JSON
            .replace(SHIPPED_REPOSITORY, repository)
            .replace(SHIPPED_KEY, key);
        fs::write(&policy_json, policy)?;
        Ok(Policy {
            policy_json,
            registries_d,
        })
    }
}

/// Only `dir/registries.d/pause.yaml` for `repository`: what a signing push needs (skopeo
/// writes sigstore attachments only where registries.d turns them on). The directory.
pub fn write_registries_d(dir: &Path, repository: &str) -> std::io::Result<PathBuf> {
    assert!(
        REGISTRIES_D.contains(SHIPPED_REPOSITORY),
        "deploy/registries.d no longer names {SHIPPED_REPOSITORY}"
    );
    let registries_d = dir.join("registries.d");
    fs::create_dir_all(&registries_d)?;
    fs::write(
        registries_d.join(REGISTRIES_D_FILE),
        REGISTRIES_D.replace(SHIPPED_REPOSITORY, repository),
    )?;
    Ok(registries_d)
}

/// The tag of the signatures of the manifest `digest` (`sha256:<hex>`): `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}
