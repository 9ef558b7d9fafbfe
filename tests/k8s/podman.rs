//! podman (Debian's 4.3) inside an enclave, with its own containers.conf and storage.conf.
//!
//! Its storage (`/var/lib/containers/storage`, `/run/containers/storage`) and its state
//! (`/run/libpod`, the events file) are the enclave's tmpfs; conmon and the containers run
//! in the enclave's PID namespace, so none of it outlives the enclave.

use std::fs;
use std::process::{Command, Stdio};

use pause_harness::k8s::Enclave;

const CONTAINERS_CONF: &str = "/run/containers.conf";
const STORAGE_CONF: &str = "/run/storage.conf";

/// podman 4.3 needs, here: runc (crun 1.8 refuses this host's hybrid cgroups), cgroupfs
/// (no systemd), the file events logger (no journald), and ulimits no higher than this
/// process's hard limits, which root without CAP_SYS_RESOURCE cannot raise; `{nofile}`
/// and `{nproc}` are those limits. `network_config_dir`: the CNI backend writes a lock
/// file there on every command (by default in the host's /etc/cni/net.d).
const CONTAINERS_CONF_TEMPLATE: &str = r#"[containers]
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_config_dir = "/run/cni"
"#;

const STORAGE_CONF_TEXT: &str = r#"[storage]
driver = "overlay"
graphroot = "/var/lib/containers/storage"
runroot = "/run/containers/storage"
"#;

pub struct Podman<'a> {
    enclave: &'a Enclave,
}

impl<'a> Podman<'a> {
    pub fn new(enclave: &'a Enclave) -> Podman<'a> {
        let conf = CONTAINERS_CONF_TEMPLATE
            .replace("{nofile}", &hard_limit("Max open files"))
            .replace("{nproc}", &hard_limit("Max processes"));
        fs::write(enclave.path(CONTAINERS_CONF), conf).unwrap();
        fs::write(enclave.path(STORAGE_CONF), STORAGE_CONF_TEXT).unwrap();
        Podman { enclave }
    }

    /// Runs `podman ARGS` to completion; fails the test unless it succeeds.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run podman");
        assert!(
            out.status.success(),
            "podman {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.enclave.command("podman");
        cmd.args(args)
            .env("CONTAINERS_CONF", CONTAINERS_CONF)
            .env("CONTAINERS_STORAGE_CONF", STORAGE_CONF)
            .stdin(Stdio::null());
        cmd
    }
}

/// The hard limit in this process's /proc/self/limits row `name`, as podman writes it.
fn hard_limit(name: &str) -> String {
    let limits = fs::read_to_string("/proc/self/limits").unwrap();
    let row = limits
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in /proc/self/limits"));
    match row.split_whitespace().nth(1).unwrap() {
        "unlimited" => "-1".to_string(),
        limit => limit.to_string(),
    }
}
