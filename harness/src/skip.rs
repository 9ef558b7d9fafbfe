//! What the machine has (tools on PATH, files, privilege), and when a test may skip for
//! what it lacks: only outside CI, saying why; with `CI=true` a missing tool or privilege
//! fails the test instead.

use std::fmt::Display;
use std::path::{Path, PathBuf};

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The one rule for what a test needs from the machine: when `found` is false the calling
/// test skips outside CI, saying `missing`, and fails under CI=true, where `just setup` has
/// installed everything and the suite runs as root.
pub fn available(found: bool, missing: impl Display) -> bool {
    if !found {
        assert!(!in_ci(), "{missing}: CI must provide it");
        eprintln!("SKIPPED: {missing}");
    }
    found
}

/// Whether `tool` is on PATH (see `available`).
pub fn have(tool: &str, why: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    let missing = format_args!("{tool} is not installed (needed {why}); `just setup` installs it");
    available(found, missing)
}

/// Like `have`, for a file outside PATH that the Debian package `package` installs.
pub fn have_file(path: &str, package: &str, why: &str) -> bool {
    let found = Path::new(path).is_file();
    let missing = format_args!("{path} is missing (needed {why}); `just setup` installs {package}");
    available(found, missing)
}

/// Whether this process may create namespaces and run containers: root (see `available`).
pub fn privileged(why: &str) -> bool {
    available(
        nix::unistd::geteuid().is_root(),
        format_args!("not root (needed {why})"),
    )
}

/// `tool`'s path on PATH (the caller has checked it is there).
pub fn which(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not on PATH"))
}
