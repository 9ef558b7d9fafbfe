//! The image archive loaded whole by the runtimes that take it: podman and containerd.

use std::fs;
use std::process::{Command, Stdio};

use pause_harness::podman::{PrivatePodman, can_run_podman};
use pause_harness::*;
use tempfile::TempDir;

use crate::{BuiltImage, arches};

/// `podman load` takes the archive as `localhost/pause:latest`, into a private store.
#[test]
fn podman_loads_the_archive() {
    if !can_run_podman("to load the archive") {
        return;
    }
    let image = BuiltImage::build(&[]);
    let podman = PrivatePodman::new();
    let loaded = podman.run(&["load", "-i", image.archive().to_str().unwrap()]);
    assert!(
        loaded.contains("Loaded image: localhost/pause:latest"),
        "{loaded}"
    );
    let user = podman.run(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{.Config.Entrypoint}}",
        "localhost/pause:latest",
    ]);
    assert_eq!(user.trim(), "65535:65535 [/pause]");
}

/// A containerd of the test's own (private root, state and socket), killed when dropped.
struct ContainerdImages {
    _daemon: KillOnDrop,
    socket: String,
    _dir: TempDir,
}

impl ContainerdImages {
    fn start() -> ContainerdImages {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().display();
        let socket = format!("{at}/containerd.sock");
        // Only the content and image services are needed: no CRI, and no opt plugin,
        // which would create /opt/containerd on the host.
        let config = format!(
            "version = 2\nroot = \"{at}/root\"\nstate = \"{at}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.internal.v1.opt\"]\n\
             [grpc]\naddress = \"{socket}\"\n"
        );
        fs::write(dir.path().join("config.toml"), config).unwrap();
        let log = fs::File::create(dir.path().join("containerd.log")).unwrap();
        let daemon = KillOnDrop::spawn(
            Command::new("containerd")
                .arg("--config")
                .arg(dir.path().join("config.toml"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let containerd = ContainerdImages {
            _daemon: daemon,
            socket,
            _dir: dir,
        };
        poll("containerd to serve", || {
            containerd.ctr(&["version"]).status.success().then_some(())
        });
        containerd
    }

    fn ctr(&self, args: &[&str]) -> std::process::Output {
        Command::new("ctr")
            .args(["--address", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }
}

/// `ctr images import` takes the archive as `localhost/pause:latest`, every platform in it.
#[test]
fn containerd_imports_the_archive() {
    if !have("containerd", "to import the archive")
        || !have("ctr", "to import the archive")
        || !privileged("to run containerd")
    {
        return;
    }
    let image = BuiltImage::build(&[]);
    let containerd = ContainerdImages::start();
    let out = containerd.ctr(&["images", "import", image.archive().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ctr images import: {stderr}");
    let out = containerd.ctr(&["images", "ls"]);
    let listing = String::from_utf8(out.stdout).unwrap();
    let line = listing
        .lines()
        .find(|l| l.starts_with("localhost/pause:latest "))
        .unwrap_or_else(|| panic!("no localhost/pause:latest in\n{listing}"));
    let column = line.split_whitespace().find(|w| w.starts_with("linux/"));
    let listed: Vec<&str> = column.unwrap_or_default().split(',').collect();
    let expected: Vec<String> = arches().iter().map(|a| a.os_arch_variant()).collect();
    assert_eq!(listed.len(), expected.len(), "{line}");
    for platform in &expected {
        assert!(listed.contains(&platform.as_str()), "{platform} in {line}");
    }
}
