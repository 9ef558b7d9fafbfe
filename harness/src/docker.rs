//! A private Docker daemon: Debian's docker.io 20.10 `dockerd`, started in an enclave of its
//! own (enclave.rs) with its own data root, exec root, pidfile, config, log and socket.
//!
//! In the enclave's network namespace dockerd's `docker0` bridge, its iptables chains, its
//! `ip_forward` sysctl and the ports it publishes (its docker-proxy listens there) are the
//! enclave's: no other dockerd on the machine sees them, and they go with the namespace.
//! Everything it writes is on the enclave's tmpfs (its data root on `/var/lib`, where
//! overlay2 works; the rest on `/run`), its overlay mounts are in the enclave's mount
//! namespace, and containers' cgroups go under the enclave's cgroup parent. The host's client
//! reaches the socket through the enclave's root (`/proc/PID/root/run/docker.sock`). So
//! dropping the handle, or Ctrl-C (the enclave's handler), kills the enclave, which takes
//! dockerd, its containerd and every container with it, and leaves nothing on the host.
//!
//! The daemon reads its own config, never `/etc/docker/daemon.json`, and that config moves
//! the trust key dockerd 20.10 would otherwise write to `/etc/docker/key.json`. The client is
//! Debian's, by path, with its own `DOCKER_CONFIG`, so that neither another `docker` on PATH
//! nor `~/.docker` takes part.

use std::fs;
use std::process::{Command, Output, Stdio};

use crate::enclave::Enclave;
use crate::process::{DEADLINE, KillOnDrop, finish, poll_for};
use crate::skip::{have, have_file, privileged};

/// Debian's docker.io: the daemon and its client.
pub const DOCKERD: &str = "/usr/sbin/dockerd";
pub const DOCKER: &str = "/usr/bin/docker";

/// dockerd's files, inside the enclave (on its tmpfs).
const DATA_ROOT: &str = "/var/lib/docker";
const EXEC_ROOT: &str = "/run/docker";
const PIDFILE: &str = "/run/docker.pid";
const CONFIG: &str = "/run/docker-daemon.json";
const LOG: &str = "/run/dockerd.log";
const SOCKET: &str = "/run/docker.sock";
/// The client's config directory.
const CLIENT: &str = "/run/docker-client";

pub struct Docker {
    // Dropped first: killing the enclave ends dockerd, and so the nsenter that started it.
    enclave: Enclave,
    _daemon: KillOnDrop,
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
        let config = serde_json::json!({
            "deprecated-key-path": format!("{EXEC_ROOT}/key.json"),
            "cgroup-parent": enclave.cgroup_parent,
        });
        fs::write(enclave.path(CONFIG), config.to_string()).unwrap();
        fs::create_dir(enclave.path(CLIENT)).unwrap();
        let output = fs::File::create(enclave.path(LOG)).unwrap();
        let mut daemon = KillOnDrop::spawn(
            enclave
                .command(DOCKERD)
                .args(["--config-file", CONFIG, "--data-root", DATA_ROOT])
                .args(["--exec-root", EXEC_ROOT, "--pidfile", PIDFILE])
                .args(["-H", &format!("unix://{SOCKET}")])
                .stdin(Stdio::null())
                .stdout(output.try_clone().unwrap())
                .stderr(output),
        );
        let answered = poll_for(DEADLINE, || {
            if let Some(status) = daemon.0.try_wait().unwrap() {
                panic!("dockerd exited ({status}):\n{}", log(&enclave));
            }
            let version = client(&enclave, &["version"]).output().unwrap();
            version.status.success().then_some(())
        });
        assert!(
            answered.is_some(),
            "dockerd did not answer:\n{}",
            log(&enclave)
        );
        Docker {
            enclave,
            _daemon: daemon,
        }
    }

    /// The address the client is given: `-H unix://...`, a path on the host.
    pub fn host(&self) -> String {
        host(&self.enclave)
    }

    /// The enclave dockerd runs in: its network namespace is where published ports are, and
    /// its `path`s are scratch space that goes with it.
    pub fn enclave(&self) -> &Enclave {
        &self.enclave
    }

    /// `docker -H HOST args` with Debian's client, for the caller to run.
    pub fn command(&self, args: &[&str]) -> Command {
        client(&self.enclave, args)
    }

    /// Runs `docker args` to its end within the deadline.
    pub fn output(&self, args: &[&str]) -> Output {
        let child = KillOnDrop::spawn(&mut self.command(args));
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
            "docker {args:?}: {}\n{stdout}{stderr}\ndockerd's log:\n{}",
            out.status,
            self.log()
        );
        stdout
    }

    /// What dockerd has logged so far.
    pub fn log(&self) -> String {
        log(&self.enclave)
    }
}

fn host(enclave: &Enclave) -> String {
    format!("unix://{}", enclave.path(SOCKET).display())
}

fn client(enclave: &Enclave, args: &[&str]) -> Command {
    let mut cmd = Command::new(DOCKER);
    cmd.env("DOCKER_CONFIG", enclave.path(CLIENT))
        .args(["-H", &host(enclave)])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn log(enclave: &Enclave) -> String {
    fs::read_to_string(enclave.path(LOG)).unwrap_or_default()
}

/// `args` as a shell would take them back: those with spaces or shell characters in single
/// quotes.
fn quoted(args: &[&str]) -> String {
    let quote = |a: &&str| match a.contains([' ', '\'', '"', '$', '&', '>', '<', '{']) {
        true => format!("'{}'", a.replace('\'', r"'\''")),
        false => a.to_string(),
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}
