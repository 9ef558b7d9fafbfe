//! podman on this host with a store of its own: root, run root, scratch and libpod dirs in
//! a temp dir (removed when dropped), the vfs driver (no overlay mounts to leave behind), and
//! no events written to the host's.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use tempfile::TempDir;

use crate::skip::{have, privileged};

/// Whether podman can run with a private store here (see `available`).
pub fn can_run_podman(why: &str) -> bool {
    have("podman", why) && privileged("to use a private podman store")
}

pub struct PrivatePodman {
    dir: TempDir,
    conf: PathBuf,
}

impl PrivatePodman {
    pub fn new() -> PrivatePodman {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("containers.conf");
        let podman = PrivatePodman { dir, conf };
        // podman unpacks archives and pulls under /var/tmp by default: keep that here too.
        let tmp = podman.subdir("tmp");
        let text = format!("[engine]\nevents_logger = \"none\"\nimage_copy_tmp_dir = \"{tmp}\"\n");
        fs::write(&podman.conf, text).unwrap();
        podman
    }

    fn subdir(&self, name: &str) -> String {
        let path = self.dir.path().join(name);
        fs::create_dir_all(&path).unwrap();
        path.display().to_string()
    }

    /// Runs `podman ARGS` to completion; fails the test unless it succeeds. Its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("podman")
            .env("CONTAINERS_CONF", &self.conf)
            .args([
                "--root",
                &self.subdir("root"),
                "--runroot",
                &self.subdir("run"),
            ])
            .args([
                "--tmpdir",
                &self.subdir("libpod"),
                "--storage-driver",
                "vfs",
            ])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "podman {args:?}: {stdout}{stderr}");
        stdout
    }
}

impl Default for PrivatePodman {
    fn default() -> Self {
        Self::new()
    }
}
