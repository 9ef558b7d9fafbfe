//! The image through a real registry (Debian's docker-registry on loopback, harness/src/
//! registry.rs): `skopeo copy --all` pushes the index and every platform unchanged, and podman
//! pulls each platform by its `--platform` request, from the registry and from the OCI layout,
//! getting that platform's own build. (containerd pulls from it in tests/k8s/pull.rs.)

use oci_spec::image::{Descriptor, ImageIndex};
use pause_harness::layout::Layout;
use pause_harness::podman::{PrivatePodman, can_run_podman};
use pause_harness::registry::{Registry, can_run_registry};
use pause_harness::*;
use sha2::{Digest as _, Sha256};

const REPOSITORY_TAG: &str = "pause:0.1.0";

/// `bytes` are the blob `descriptor` names: its digest is theirs.
fn assert_is(bytes: &[u8], descriptor: &Descriptor, what: &str) {
    let digest = format!("sha256:{}", hex(&Sha256::digest(bytes)));
    assert_eq!(digest, descriptor.digest().to_string(), "{what}'s digest");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the registry serves after the push is dist/oci, byte for byte: the index by its
/// tag, and each platform's manifest by the digest the index lists.
#[test]
fn push_keeps_the_index_and_every_platform_digest() {
    if !can_run_registry("to push the image") {
        return;
    }
    let dist = Layout::dist();
    let registry = Registry::start();
    let pushed = registry.push_dist_image(REPOSITORY_TAG);

    let index = registry.raw(&pushed.tagged);
    let latest = dist.tagged("latest");
    assert_eq!(
        pushed.digest,
        latest.digest().to_string(),
        "skopeo's --digestfile"
    );
    assert_is(&index, &latest, "the pushed index");
    assert!(
        index == dist.blob(&latest),
        "the registry's index is not dist/oci's"
    );
    let index: ImageIndex = serde_json::from_slice(&index).unwrap();
    assert_eq!(index.manifests().len(), ALL.len(), "{index:?}");
    for arch in ALL {
        let platform = dist.platform(arch);
        assert!(
            index
                .manifests()
                .iter()
                .any(|m| m.digest() == platform.digest()),
            "{}: the pushed index has no {}",
            arch.name,
            platform.digest()
        );
        let by_digest = format!("{}/pause@{}", registry.address(), platform.digest());
        let manifest = registry.raw(&by_digest);
        assert_is(&manifest, &platform, arch.name);
        assert!(
            manifest == dist.blob(&platform),
            "{}: manifest bytes",
            arch.name
        );
    }
}

/// `podman pull --platform` of `reference` (the index) stores `arch`'s own image: its config
/// is that platform's (so arm/v5 and arm/v6, one binary, are still told apart), and its
/// `/pause` is `arch`'s build (so arm/v6 is the Thumb-1 one, not v7's Thumb-2).
fn assert_podman_pulls(arch: &Arch, podman: &PrivatePodman, pull: &[&str]) {
    let platform = arch.os_arch_variant();
    let args = [&["pull", "--quiet", "--platform", &platform][..], pull].concat();
    let id = podman.run(&args).trim().to_string();
    let config = Layout::dist().manifest(arch.name).config().digest().clone();
    assert_eq!(
        format!("sha256:{id}"),
        config.to_string(),
        "{platform} from {pull:?} is another platform's image"
    );
    let root = podman.run(&["image", "mount", &id]);
    let pause = std::fs::read(std::path::Path::new(root.trim()).join("pause")).unwrap();
    podman.run(&["image", "unmount", &id]);
    assert!(
        pause == std::fs::read(arch.binary()).unwrap(),
        "{platform}: the pulled /pause is not dist/pause-linux-{}",
        arch.name
    );
}

fn podman_pulls_its_platform_from_the_registry(arch: &'static Arch) {
    if !can_run_registry("to pull from a registry") || !can_run_podman("to pull the image") {
        return;
    }
    let registry = Registry::start();
    let pushed = registry.push_dist_image(REPOSITORY_TAG);
    let podman = PrivatePodman::new();
    assert_podman_pulls(arch, &podman, &["--tls-verify=false", &pushed.tagged]);
}

/// The same from the OCI layout itself (`oci:dist/oci:latest`), with no registry between.
fn podman_pulls_its_platform_from_the_layout(arch: &'static Arch) {
    if !can_run_podman("to pull the image") {
        return;
    }
    let podman = PrivatePodman::new();
    assert_podman_pulls(arch, &podman, &[&Layout::dist().reference("latest")]);
}

per_arch!(
    podman_pulls_its_platform_from_the_registry,
    podman_pulls_its_platform_from_the_layout
);
