//! Whether an image in a registry is signed by a key, checked the way its consumers check
//! it. Each platform manifest, by its digest: skopeo (Debian 13's: Debian 12's cannot check
//! a sigstore signature) copies it under the shipped signature policy, written for that
//! repository and key (`pause_harness::policy`), as podman and CRI-O pull one platform. The index, by its digest: cosign (`verify --key`), because
//! containers/image never checks an index's own signature (copying a list, with `--all` or
//! `--multi-arch index-only`, it checks only each platform's manifest). A refusal's reason is
//! the finding. `just verify --key` and `just release` (after its push) both ask this.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use pause_harness::policy::Policy;
use pause_harness::trixie;

use crate::built::platform_name;
use crate::published::{Image, Reference};

/// What of `image` (the index and each platform manifest it lists), published at
/// `reference`, is not signed by `key` (the public key's PEM file): one line each, empty
/// when every signature verifies.
pub fn problems(reference: &Reference, image: &Image, key: &Path) -> Result<Vec<String>> {
    let repository = reference
        .repository()
        .context("signatures are kept only by a registry: name docker://HOST/NAME:TAG")?;
    let key = std::path::absolute(key)?;
    std::fs::metadata(&key).with_context(|| format!("no public key at {}", key.display()))?;
    let dir = tempfile::tempdir()?;
    let policy = Policy::write(dir.path(), repository, &key.to_string_lossy())?;
    let index = image.index_descriptor.digest();
    let mut found = Vec::new();
    let home = tempfile::tempdir()?;
    let by_digest = format!("{repository}@{index}");
    let mut cosign = trixie::cosign_verify(&home, &key, &by_digest, reference.insecure);
    if let Some(why) = refusal(&mut cosign, "cosign")? {
        found.push(format!("index {index}: {why}"));
    }
    for (i, entry) in image.index.manifests().iter().enumerate() {
        let mut copy = trixie::skopeo();
        // The policy is enforced on the source whatever is written; an OCI layout cannot
        // hold sigstore signatures, so none are copied.
        copy.args(["copy", "--quiet", "--remove-signatures"])
            .arg("--policy")
            .arg(&policy.policy_json)
            .arg("--registries.d")
            .arg(&policy.registries_d);
        if reference.insecure {
            copy.arg("--src-tls-verify=false");
        }
        copy.arg(format!("docker://{repository}@{}", entry.digest()))
            .arg(format!("oci:{}:{i}", dir.path().join("copy").display()));
        if let Some(why) = refusal(&mut copy, "skopeo")? {
            let platform = entry.platform().as_ref();
            let name = platform.map_or_else(String::new, platform_name);
            found.push(format!("{name} {}: {why}", entry.digest()));
        }
    }
    Ok(found)
}

/// Runs the verifier `cmd`; `None` if it accepts, else its reason.
fn refusal(cmd: &mut Command, what: &str) -> Result<Option<String>> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what} (`just setup` unpacks it)"))?;
    Ok((!out.status.success()).then(|| reason(&String::from_utf8_lossy(&out.stderr))))
}

/// skopeo's or cosign's reason: the last line, without skopeo's `time=... level=fatal msg=`
/// or cosign's `error during command execution: `.
fn reason(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let line = line.split_once("msg=").map_or(line, |(_, msg)| msg);
    let line = line
        .strip_prefix("error during command execution: ")
        .unwrap_or(line);
    line.trim().trim_matches('"').replace("\\\"", "\"")
}
