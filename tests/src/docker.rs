//! A private Docker daemon: Debian's docker.io 20.10 `dockerd`, started in an enclave of its
//! own (enclave.rs) with its own data root, exec root, pidfile, config and socket.
//!
//! In the enclave's network namespace dockerd's `docker0` bridge, its iptables chains, its
//! `ip_forward` sysctl and the ports it publishes (its docker-proxy listens there) are the
//! enclave's: no other dockerd on the machine sees them, and they go with the namespace.
//! Its data root is on the enclave's tmpfs (`/var/lib`), where overlay2 works, and its
//! overlay mounts live in the enclave's mount namespace; containers' cgroups go under the
//! enclave's cgroup parent. Only the socket is on the host's file system, in a temp dir,
//! so that the host's client talks to it. Dropping the handle kills the enclave, which takes
//! dockerd, its containerd and every container with it.
//!
//! The daemon reads its config from that temp dir, never `/etc/docker/daemon.json`, and the
//! config moves the trust key dockerd 20.10 otherwise writes to `/etc/docker/key.json`.
//! The client is Debian's, by path, with its own `DOCKER_CONFIG`, so that neither another
//! `docker` on PATH nor `~/.docker` takes part.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use crate::enclave::Enclave;
use crate::process::{DEADLINE, KillOnDrop, finish, poll_for};
use crate::skip::{have, have_file, privileged};

/// Debian's docker.io: the daemon and its client.
pub const DOCKERD: &str = "/usr/sbin/dockerd";
pub const DOCKER: &str = "/usr/bin/docker";

/// Where dockerd keeps its state, inside the enclave (on its tmpfs).
const DATA_ROOT: &str = "/var/lib/docker";
const EXEC_ROOT: &str = "/run/docker";
const PIDFILE: &str = "/run/docker.pid";

pub struct Docker {
    enclave: Enclave,
    _daemon: KillOnDrop,
    dir: TempDir,
}

impl Docker {
    /// Whether `start` can run here: root, docker.io, and the enclave's tools (see
    /// `available`).
    pub fn can_start(why: &str) -> bool {
        privileged(why)
            && have_file(DOCKERD, "docker.io", why)
            && have_file(DOCKER, "docker.io", why)
            && have("unshare", why)
            && have("nsenter", why)
            && have("ip", why)
    }

    /// Starts dockerd and waits, within the deadline, until it answers.
    pub fn start() -> Docker {
        let enclave = Enclave::new("docker");
        // The enclave's new loopback is down; on a host it is up, and ports publish there.
        let up = finish(
            enclave.command("ip").args(["link", "set", "lo", "up"]),
            "ip link set lo up",
        );
        assert!(up.success(), "ip link set lo up: {up}");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("daemon.json");
        let daemon_json = serde_json::json!({
            "deprecated-key-path": format!("{EXEC_ROOT}/key.json"),
            "cgroup-parent": enclave.cgroup_parent,
        });
        fs::write(&config, daemon_json.to_string()).unwrap();
        fs::create_dir(dir.path().join("client")).unwrap();
        let log = fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let mut daemon = KillOnDrop::spawn(
            enclave
                .command(DOCKERD)
                .arg("--config-file")
                .arg(&config)
                .args(["--data-root", DATA_ROOT, "--exec-root", EXEC_ROOT])
                .args(["--pidfile", PIDFILE, "-H", &host(dir.path())])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let log = || fs::read_to_string(dir.path().join("dockerd.log")).unwrap_or_default();
        let answered = poll_for(DEADLINE, || {
            if let Some(status) = daemon.0.try_wait().unwrap() {
                panic!("dockerd exited ({status}):\n{}", log());
            }
            let version = client(dir.path(), &["version"]).output().unwrap();
            version.status.success().then_some(())
        });
        assert!(answered.is_some(), "dockerd did not answer:\n{}", log());
        Docker {
            enclave,
            _daemon: daemon,
            dir,
        }
    }

    /// The address the client is given: `-H unix://...`.
    pub fn host(&self) -> String {
        host(self.dir.path())
    }

    /// The enclave dockerd runs in: its network namespace is where published ports are.
    pub fn enclave(&self) -> &Enclave {
        &self.enclave
    }

    /// `docker -H HOST args`, for the caller to run.
    pub fn command(&self, args: &[&str]) -> Command {
        client(self.dir.path(), args)
    }

    /// Runs `docker args` to its end within the deadline.
    pub fn output(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        let child = KillOnDrop::spawn(&mut cmd);
        child.output(&format!("docker {}", args.join(" ")))
    }

    /// Runs `docker args`, which must succeed; its stdout. The command and its output go to
    /// stderr, so that `--nocapture` shows the session as typed.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("$ docker {}\n{stdout}{stderr}", quoted(args));
        assert!(
            out.status.success(),
            "docker {args:?}: {}\n{stdout}{stderr}",
            out.status
        );
        stdout
    }

    /// What dockerd has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    /// A scratch directory on the host that is removed with the daemon.
    pub fn scratch(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

/// The daemon's address, its socket in `dir`.
fn host(dir: &Path) -> String {
    format!("unix://{}", dir.join("docker.sock").display())
}

/// Debian's client for the daemon of `dir`, with its config there too.
fn client(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(DOCKER);
    cmd.env("DOCKER_CONFIG", dir.join("client"))
        .args(["-H", &host(dir)])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `args` as a shell would take them back: those with spaces or quotes in single quotes.
fn quoted(args: &[&str]) -> String {
    let quote = |a: &&str| match a.contains([' ', '\'', '"', '$', '&', '>', '<']) {
        true => format!("'{}'", a.replace('\'', r"'\''")),
        false => a.to_string(),
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}
