//! Debian 13's containers tools and cosign (skopeo 1.18, podman 5.4, cosign 2.5), which
//! `just setup` unpacks with all they link into a private root, `$PAUSE_TRIXIE_ROOT` (the
//! Justfile's `trixie-root`), never installing them into this machine's dpkg. Debian 12's
//! skopeo 1.9 and podman 4.3 are built with sigstore turned off: signing stops with
//! `creating signature: Debian-local change: sigstore disabled`, and a `sigstoreSigned`
//! policy rejects every image with `Source image rejected: Debian-local change: sigstore
//! disabled`. Debian 13's are built without that change.
//!
//! skopeo needs glibc 2.38 (Debian 12 has 2.36), so it runs here through the root's own
//! dynamic loader and libraries and still sees this machine's files; podman needs its whole
//! userland and runs chrooted into the root (tests/release/podman.rs); cosign links only
//! glibc 2.34's symbols and runs as it is. The loader and library paths are amd64's, the one
//! architecture the suite runs natively.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::workspace::just_evaluate;

/// The environment variable (the Justfile exports it) that names the root.
pub const ROOT_VAR: &str = "PAUSE_TRIXIE_ROOT";

/// The root: `$PAUSE_TRIXIE_ROOT`, else the Justfile's value of it (for `cargo test` run
/// without just).
pub fn root() -> PathBuf {
    std::env::var_os(ROOT_VAR)
        .map(PathBuf::from)
        .or_else(|| Some(just_evaluate(ROOT_VAR)?.trim().into()))
        .unwrap_or_else(|| panic!("{ROOT_VAR} is not set and just is missing: run through just"))
}

/// The Justfile's `trixie_tools` that the root lacks; `None` (a skip, outside CI) without
/// `just` to read the list from.
pub fn missing() -> Option<Vec<String>> {
    let tools = just_evaluate("trixie_tools")?;
    let bin = root().join("usr/bin");
    let missing = tools.split_whitespace().filter(|t| !bin.join(t).is_file());
    Some(missing.map(String::from).collect())
}

/// The root's skopeo, run here through the root's loader and libraries.
pub fn skopeo() -> Command {
    let root = root();
    let mut cmd = Command::new(root.join("usr/lib64/ld-linux-x86-64.so.2"));
    cmd.arg("--library-path")
        .arg(root.join("usr/lib/x86_64-linux-gnu"))
        .arg(root.join("usr/bin/skopeo"));
    cmd
}

/// The root's cosign, with a `$HOME` of its own: it keeps a cache there that nothing here
/// needs, and must not write into the caller's. The directory goes when `home` is dropped.
pub fn cosign(home: &TempDir) -> Command {
    let mut cmd = Command::new(root().join("usr/bin/cosign"));
    cmd.env("HOME", home.path());
    cmd
}

/// `cosign verify --key KEY` of `image` (`HOST/NAME:TAG` or `@DIGEST`), offline: key-based
/// signatures have no transparency-log entry to look up. `insecure`: a registry spoken to
/// over plain HTTP.
pub fn cosign_verify(home: &TempDir, key: &Path, image: &str, insecure: bool) -> Command {
    let mut cmd = cosign(home);
    cmd.args(["verify", "--insecure-ignore-tlog", "--key"])
        .arg(key);
    if insecure {
        cmd.args(["--allow-http-registry", "--allow-insecure-registry"]);
    }
    cmd.arg(image);
    cmd
}
