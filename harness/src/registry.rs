//! A private image registry: Debian's `docker-registry` (distribution 2.8) on a loopback
//! port of its own, plain HTTP, no auth, with its storage in a temp dir; stopped and its
//! storage removed when dropped.
//!
//! Plain HTTP on loopback is what every client here must be told to accept: skopeo
//! `--dest-tls-verify=false` / `--src-tls-verify=false`, podman `--tls-verify=false`,
//! containerd a `hosts.toml` with an `http://` server.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::Signal;
use tempfile::TempDir;

use crate::process::{DEADLINE, finish, poll};
use crate::skip::{have, have_file};
use crate::workspace::workspace;

pub const BINARY: &str = "/usr/bin/docker-registry";

/// Port 0: the kernel picks a free port as the registry binds, so two runs never race
/// for one; the registry logs the address it got.
const CONFIG: &str = "version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:0
";

/// The address line of the registry's log (`msg=\"listening on 127.0.0.1:PORT\"`).
const LISTENING: &str = "listening on ";

/// Whether a registry and skopeo (to push to it) are here (see `available`).
pub fn can_run_registry(why: &str) -> bool {
    have_file(BINARY, "docker-registry", why) && have("skopeo", why)
}

/// What `push_dist_image` pushed.
pub struct Pushed {
    /// `REGISTRY/REPOSITORY:TAG`.
    pub tagged: String,
    /// `sha256:...`: what skopeo's `--digestfile` says it pushed, the index's digest.
    pub digest: String,
}

pub struct Registry {
    daemon: Child,
    address: String,
    /// The network namespace whose loopback it listens on; `None` for this process's.
    netns: Option<String>,
    dir: TempDir,
}

impl Registry {
    /// Starts one on this host's loopback.
    pub fn start() -> Registry {
        Self::start_in(None)
    }

    /// Starts one on the loopback of the network namespace `netns` (a `/proc/PID/ns/net`,
    /// whose `lo` is up): what a container runtime inside that namespace pulls from.
    pub fn start_in(netns: Option<&Path>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("storage");
        let config = dir.path().join("config.yml");
        fs::write(&config, CONFIG.replace("{root}", root.to_str().unwrap())).unwrap();
        let log = dir.path().join("registry.log");
        let netns = netns.map(|p| p.display().to_string());
        let mut cmd = in_netns(netns.as_deref(), BINARY);
        cmd.arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap());
        // SAFETY: one async-signal-safe system call between fork and exec. The registry
        // dies with the thread that started it, which drops it too: it never outlives a
        // test killed by a signal that skips Drop. (nsenter without --pid execs the
        // registry in its own process, which keeps the death signal.)
        unsafe {
            cmd.pre_exec(|| Ok(nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?));
        }
        let mut daemon = cmd.spawn().expect("spawn docker-registry");
        let address = poll("the registry to listen", || {
            if let Some(status) = daemon.try_wait().unwrap() {
                let log = fs::read_to_string(&log).unwrap_or_default();
                panic!("docker-registry exited ({status}):\n{log}");
            }
            let log = fs::read_to_string(&log).unwrap();
            let rest = log.split_once(LISTENING)?.1;
            Some(rest.split('"').next()?.to_string())
        });
        Registry {
            daemon,
            address,
            netns,
            dir,
        }
    }

    /// `127.0.0.1:PORT`: the registry's host part of an image reference.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `program`, run where the registry's loopback is (its network namespace).
    pub fn command(&self, program: &str) -> Command {
        in_netns(self.netns.as_deref(), program)
    }

    /// Pushes the image `just image` wrote, every platform and the index, as
    /// `REGISTRY/repo_tag`, with the README's command (`skopeo copy --all --digestfile`).
    pub fn push_dist_image(&self, repo_tag: &str) -> Pushed {
        let from = format!("oci:{}:latest", workspace().join("dist/oci").display());
        let tagged = format!("{}/{repo_tag}", self.address);
        let digestfile = self.dir.path().join(format!("{repo_tag}.digest"));
        let status = finish(
            self.command("skopeo")
                .args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
                .arg("--digestfile")
                .arg(&digestfile)
                .arg(&from)
                .arg(format!("docker://{tagged}")),
            "skopeo copy --all to the registry",
        );
        assert!(
            status.success(),
            "skopeo copy --all {from} docker://{tagged}: {status}"
        );
        let digest = fs::read_to_string(&digestfile).unwrap().trim().to_string();
        Pushed { tagged, digest }
    }

    /// The bytes the registry serves for `reference` (a tag or a digest after the
    /// repository), through skopeo: the manifest or index exactly as stored.
    pub fn raw(&self, reference: &str) -> Vec<u8> {
        let out = self
            .command("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{reference}"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo inspect --raw docker://{reference}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The registry's own `/v2/_catalog`: every repository pushed to it.
    pub fn catalog(&self) -> Vec<String> {
        self.list("/v2/_catalog", "repositories")
    }

    /// The tags of the repository `name` (`/v2/NAME/tags/list`).
    pub fn tags(&self, name: &str) -> Vec<String> {
        self.list(&format!("/v2/{name}/tags/list"), "tags")
    }

    /// PUTs `bytes` as the manifest `reference` (a tag) of the repository `name`, exactly as
    /// given, as an attacker with push access would; the digest the registry gives it.
    pub fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let url = format!("http://{}/v2/{name}/manifests/{reference}", self.address);
        let response = self
            .agent()
            .put(&url)
            .header("Content-Type", media_type)
            .send(bytes)
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
        let digest = response.headers().get("Docker-Content-Digest");
        digest
            .unwrap_or_else(|| panic!("PUT {url}: no digest"))
            .to_str()
            .unwrap()
            .to_string()
    }

    /// The JSON list `field` at `path`, unpaged: asked without `n`, distribution 2.8 lists
    /// up to 100 repositories in a catalog and every tag, more than a test pushes.
    fn list(&self, path: &str, field: &str) -> Vec<String> {
        let url = format!("http://{}{path}", self.address);
        let body = self
            .agent()
            .get(&url)
            .call()
            .and_then(|mut r| r.body_mut().read_to_string())
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let list: serde_json::Value = serde_json::from_str(&body).unwrap();
        let entries = list[field]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        entries
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    }

    /// An HTTP client for the registry, whose every request ends within the deadline. It
    /// reaches only a registry on this process's loopback.
    fn agent(&self) -> ureq::Agent {
        assert!(
            self.netns.is_none(),
            "a registry in another network namespace"
        );
        ureq::Agent::config_builder()
            .timeout_global(Some(DEADLINE))
            .build()
            .into()
    }

    /// The registry's log so far, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    /// SIGKILL: it holds nothing but its storage, which goes with the temp dir after it.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- the registry's log ---\n{}", self.log());
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// `program` in the network namespace `netns`, or here.
fn in_netns(netns: Option<&str>, program: &str) -> Command {
    match netns {
        Some(netns) => {
            let mut cmd = Command::new("nsenter");
            cmd.arg(format!("--net={netns}")).arg("--").arg(program);
            cmd
        }
        None => Command::new(program),
    }
}
