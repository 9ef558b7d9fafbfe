//! podman 5.4 (Debian 13's, from `pause_harness::trixie`'s root: Debian 12's 4.3 rejects every
//! image under a `sigstoreSigned` policy, built with sigstore off) enforcing the shipped
//! policy. Each command runs chrooted into that root inside a mount namespace of its own,
//! where the root's `/etc/containers` is a temp dir holding only `deploy/policy.json` and
//! `deploy/registries.d/pause.yaml` (for this repository, the key at the path the policy
//! names), and its storage another: never this machine's configuration or store. The mounts
//! go with the namespace when podman exits.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use pause_harness::policy::{Policy, SHIPPED_KEY};
use pause_harness::{DEADLINE, output_within, trixie};
use tempfile::TempDir;

/// Makes the root a mount point (podman's layer unpacking remounts `/`), mounts what a
/// chroot needs, the private config and store over the root's, then runs podman there.
/// `$0` the root, `$1` the config, `$2` the store, then podman's arguments.
const CHROOT: &str = r#"set -e
root=$0 etc=$1 store=$2
shift 2
mount --bind "$root" "$root"
for dir in proc dev sys; do mount --rbind "/$dir" "$root/$dir"; done
for dir in run tmp var/tmp; do mount -t tmpfs tmpfs "$root/$dir"; done
mount --bind "$etc" "$root/etc/containers"
mount --bind "$store" "$root/var/lib/containers"
exec chroot "$root" podman --storage-driver vfs "$@""#;

pub struct Podman {
    etc: TempDir,
    store: TempDir,
}

impl Podman {
    /// podman whose policy requires `repository`'s images to be signed by `key`.
    pub fn new(repository: &str, key: &Path) -> Podman {
        let etc = tempfile::tempdir().unwrap();
        let inside = Path::new(SHIPPED_KEY);
        fs::copy(key, etc.path().join(inside.file_name().unwrap())).unwrap();
        assert_eq!(inside.parent(), Some(Path::new("/etc/containers")));
        Policy::write(etc.path(), repository, SHIPPED_KEY).unwrap();
        Podman {
            etc,
            store: tempfile::tempdir().unwrap(),
        }
    }

    /// `podman pull` of `image` for linux/amd64 from the suite's plain-HTTP registry.
    pub fn pull(&self, image: &str) -> Output {
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            CHROOT,
        ])
        .arg(trixie::root())
        .arg(self.etc.path())
        .arg(self.store.path())
        .args([
            "pull",
            "--tls-verify=false",
            "--platform",
            "linux/amd64",
            image,
        ])
        // Debian 12's hybrid cgroups: podman 5 warns of v1 on every command.
        .env("PODMAN_IGNORE_CGROUPSV1_WARNING", "1");
        output_within(DEADLINE, &mut cmd)
    }
}
