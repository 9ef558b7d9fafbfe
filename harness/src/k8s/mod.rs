//! The Kubernetes path's machinery, shared by the k8s tests and the bench's churn section:
//! containerd with its CRI (containerd.rs), in an enclave (../enclave.rs), with the app image
//! (../busybox.rs); the requests a kubelet makes, and pods under churn (churn.rs).

pub mod churn;
pub mod containerd;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, ImageSpec, LinuxContainerConfig,
    LinuxContainerSecurityContext, LinuxPodSandboxConfig, LinuxSandboxSecurityContext,
    NamespaceOption, PodSandboxConfig, PodSandboxMetadata,
};

pub use crate::enclave::Enclave;
pub use containerd::{Containerd, Events};

use crate::busybox;

use crate::workspace::workspace;

/// The name `dist/pause-oci.tar` carries, which both runtimes import it as.
pub const PAUSE_IMAGE: &str = "localhost/pause:latest";
pub const APP_IMAGE: &str = "localhost/pause-test-app:latest";

/// Our image, as `just image` wrote it.
pub fn pause_archive() -> PathBuf {
    let path = workspace().join("dist/pause-oci.tar");
    assert!(
        path.is_file(),
        "{} is missing: run `just image`",
        path.display()
    );
    path
}

/// containerd in `enclave` with `sandbox_archive` (an image named `sandbox_image`) as its
/// pods' sandbox, and the app image imported.
pub fn containerd_with_images(
    enclave: &Enclave,
    sandbox_archive: &Path,
    sandbox_image: &str,
) -> Containerd {
    let containerd = Containerd::start(enclave, sandbox_image, &[]);
    let app_archive = enclave.path("/run/app.tar");
    busybox::write_archive(&app_archive, APP_IMAGE);
    for archive in [sandbox_archive, &app_archive] {
        containerd.ctr(&["images", "import", &archive.display().to_string()]);
    }
    containerd
}

pub fn image_spec(image: &str) -> ImageSpec {
    ImageSpec {
        image: image.into(),
        ..Default::default()
    }
}

/// A pod named `name` (unique per run through the process id), its cgroups under
/// `cgroup_parent` (an enclave's), its namespaces as `namespaces` says.
pub fn sandbox_config(
    name: &str,
    cgroup_parent: &str,
    namespaces: NamespaceOption,
) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("{name}-{}", std::process::id()),
            namespace: "default".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent.into(),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(namespaces),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A container of the app image running `command`, in the pod's namespaces as
/// `namespaces` says (the kubelet passes the sandbox's own).
pub fn app_config(name: &str, command: &[&str], namespaces: NamespaceOption) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(image_spec(APP_IMAGE)),
        command: command.iter().map(|w| w.to_string()).collect(),
        linux: Some(LinuxContainerConfig {
            security_context: Some(LinuxContainerSecurityContext {
                namespace_options: Some(namespaces),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The process id in a verbose CRI status (`info["info"]`, JSON with a `pid`), as the
/// enclave numbers it.
pub fn verbose_pid(info: &HashMap<String, String>) -> u32 {
    let json: serde_json::Value = serde_json::from_str(&info["info"]).unwrap();
    json["pid"].as_u64().expect("pid in the verbose status") as u32
}
