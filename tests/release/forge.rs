//! The four forgeries a signature policy must refuse, each pushed into the released
//! repository, where the policy applies, and each handed to the check before the next is
//! made: an unsigned copy of the release's amd64 image (as a Docker v2s2 manifest, so its
//! digest, by which signatures are found, is new), then that same copy signed by another
//! key, the amd64 manifest altered after signing (its layer swapped for arm64's) with the
//! release's signature copied beside it, and the release's signature moved onto another
//! image (the suite's busybox app image). Signatures are moved as an attacker would: the
//! `.sig` manifest's bytes put under the forgery's digest tag, through the registry's own
//! HTTP API.

use std::path::Path;
use std::process::Command;

use pause_harness::layout::Layout;
use pause_harness::policy::{self, write_registries_d};
use pause_harness::registry::Registry;
use pause_harness::{busybox, finish, trixie};
use serde_json::Value;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

pub struct Forgeries<'a> {
    pub registry: &'a Registry,
    /// `HOST/pause`: where the release is.
    pub repository: &'a str,
    pub layout: &'a Layout,
    pub other_key: &'a Path,
    pub other_passphrase: &'a str,
}

/// What it is, the image to pull, and what podman and cosign must say of it.
pub type Forgery = (&'static str, String, &'static str, &'static str);

impl Forgeries<'_> {
    /// Makes each forgery and hands it to `check`, in turn.
    pub fn each(&self, mut check: impl FnMut(Forgery)) {
        let amd64 = self.layout.tagged("amd64").digest().to_string();
        let unsigned = format!("{}:unsigned", self.repository);
        let status = finish(
            Command::new("skopeo").args([
                "copy",
                "--quiet",
                "--format",
                "v2s2",
                "--dest-tls-verify=false",
                &self.layout.reference("amd64"),
                &format!("docker://{unsigned}"),
            ]),
            "skopeo copy",
        );
        assert!(status.success(), "pushing {unsigned}");
        check((
            "an unsigned copy",
            unsigned,
            "A signature was required, but no signature exists",
            "no signatures found",
        ));

        let other = format!("{}:other-key", self.repository);
        self.push_signed_by_other_key(&self.layout.reference("amd64"), &other, false);
        check((
            "the copy signed by another key",
            other,
            "cryptographic signature verification failed",
            "no matching signatures",
        ));

        let mut altered: Value =
            serde_json::from_slice(&self.layout.blob(&self.layout.tagged("amd64"))).unwrap();
        let arm64: Value =
            serde_json::from_slice(&self.layout.blob(&self.layout.tagged("arm64"))).unwrap();
        altered["layers"] = arm64["layers"].clone();
        let altered = self.put_manifest("altered", &serde_json::to_vec(&altered).unwrap());
        self.move_signature(&amd64, &altered);
        check((
            "a manifest altered after signing",
            format!("{}@{altered}", self.repository),
            "does not match",
            "no matching signatures",
        ));

        let archive = tempfile::tempdir().unwrap();
        let busybox_archive = archive.path().join("busybox.tar");
        busybox::write_archive(&busybox_archive, "localhost/busybox:latest");
        let digestfile = archive.path().join("digest");
        let status = finish(
            Command::new("skopeo")
                .args(["copy", "--quiet", "--dest-tls-verify=false", "--digestfile"])
                .arg(&digestfile)
                .arg(format!("oci-archive:{}", busybox_archive.display()))
                .arg(format!("docker://{}:another-image", self.repository)),
            "skopeo copy",
        );
        assert!(status.success(), "pushing busybox");
        let another = std::fs::read_to_string(&digestfile).unwrap();
        self.move_signature(&amd64, another.trim());
        check((
            "a signature moved onto another image",
            format!("{}@{}", self.repository, another.trim()),
            "does not match",
            "no matching signatures",
        ));
    }

    /// Pushes `from` as `to`, signed by the other key with Debian 13's skopeo (every
    /// instance, with `all`), as v2s2 unless `all` (a single image then has a digest of its
    /// own, apart from the release's).
    pub fn push_signed_by_other_key(&self, from: &str, to: &str, all: bool) {
        let dir = tempfile::tempdir().unwrap();
        let repository = to.rsplit_once(':').unwrap().0;
        let registries_d = write_registries_d(dir.path(), repository).unwrap();
        let passphrase = dir.path().join("passphrase");
        std::fs::write(&passphrase, self.other_passphrase).unwrap();
        let mut cmd = trixie::skopeo();
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg("--registries.d")
            .arg(&registries_d)
            .arg("--sign-by-sigstore-private-key")
            .arg(self.other_key)
            .arg("--sign-passphrase-file")
            .arg(&passphrase);
        if all {
            cmd.args(["--all", "--preserve-digests"]);
        } else {
            cmd.args(["--format", "v2s2"]);
        }
        let status = finish(cmd.arg(from).arg(format!("docker://{to}")), "skopeo copy");
        assert!(status.success(), "pushing {to} signed by the other key");
    }

    /// Puts the signatures of `from` under the signature tag of `to` (digests).
    fn move_signature(&self, from: &str, to: &str) {
        let signatures = self.registry.raw(&format!(
            "{}:{}",
            self.repository,
            policy::signature_tag(from)
        ));
        self.put_manifest(&policy::signature_tag(to), &signatures);
    }

    /// PUTs `bytes` as the OCI manifest tagged `tag` in the released repository; its digest.
    fn put_manifest(&self, tag: &str, bytes: &[u8]) -> String {
        let name = self.repository.split_once('/').unwrap().1;
        self.registry.put_manifest(name, tag, OCI_MANIFEST, bytes)
    }
}
