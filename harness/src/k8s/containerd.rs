//! A real containerd (Debian's 1.6, `/usr/bin/containerd`) inside an enclave, and a CRI
//! client for it: the gRPC API a kubelet speaks, over the daemon's unix socket.
//!
//! containerd runs with its usual paths (`/var/lib/containerd`, `/run/containerd`), which
//! inside the enclave are tmpfs; the host reaches the socket through `/proc/PID/root`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::{KillOnDrop, poll, poll_for};
use crate::procfs::only_child;
use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{StatusRequest, VersionRequest};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::enclave::Enclave;

/// The programs it runs: the daemon, its shim, `ctr` for the task API, and runc.
pub const TOOLS: &[&str] = &["containerd", "containerd-shim-runc-v2", "ctr", "runc"];

const CONFIG: &str = "/run/containerd-config.toml";
const SOCKET: &str = "/run/containerd/containerd.sock";
const LOG: &str = "/run/containerd.log";
const CNI_CONF_DIR: &str = "/run/cni";

/// The config this test runs containerd with; `{sandbox_image}` is our image. There is no
/// AppArmor and no systemd here; `restrict_oom_score_adj`: root here lacks
/// CAP_SYS_RESOURCE, so containerd must not set an oom_score_adj below its own.
/// `config_path`: a `hosts.toml` per registry name (`HOSTS_DIR/NAME/hosts.toml`) says
/// where and how to reach it, as a node is configured for a registry of its own.
const CONFIG_TEMPLATE: &str = r#"version = 2
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/run/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/run/containerd-hosts"
"#;

const HOSTS_DIR: &str = "/run/containerd-hosts";

/// Images named `NAME/...` come from `{server}` (`HOST:PORT`) over plain HTTP. (containerd
/// takes HTTPS for a name unless it is loopback's, `localhost` or `127.0.0.1`.) 1.6 refuses
/// a hosts.toml with no `host` table ("invalid `host` tree"), so the server is one too.
const PLAIN_HTTP_HOST: &str = r#"server = "http://{server}"

[host."http://{server}"]
  capabilities = ["pull", "resolve"]
"#;

/// A bridge network with host-local addresses. containerd 1.6 needs a CNI config that
/// gives the pod an `eth0` (loopback alone is refused); it adds `lo` itself. The bridge
/// lives in the enclave's network namespace, so neither its name nor the subnet can
/// collide with the host's or another run's; the name still carries the process id.
const CNI_TEMPLATE: &str = r#"{
  "cniVersion": "1.0.0",
  "name": "pause-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "{bridge}",
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.88.0.0/16" }]] }
    }
  ]
}
"#;

pub struct Containerd {
    /// `nsenter`, whose only child is containerd.
    nsenter: Child,
    daemon: Pid,
    log: PathBuf,
    socket: PathBuf,
    tokio: tokio::runtime::Runtime,
    channel: Channel,
}

impl Containerd {
    /// Starts containerd with `sandbox_image` as the CRI's pause image, and waits until
    /// its CRI answers. Each `(name, server)` of `plain_http_hosts` has it pull the images
    /// named `name/...` from the registry at `server` (`HOST:PORT`), over HTTP.
    pub fn start(
        enclave: &Enclave,
        sandbox_image: &str,
        plain_http_hosts: &[(&str, &str)],
    ) -> Containerd {
        fs::write(
            enclave.path(CONFIG),
            CONFIG_TEMPLATE.replace("{sandbox_image}", sandbox_image),
        )
        .unwrap();
        for (name, server) in plain_http_hosts {
            let dir = enclave.path(&format!("{HOSTS_DIR}/{name}"));
            fs::create_dir_all(&dir).unwrap();
            let hosts = PLAIN_HTTP_HOST.replace("{server}", server);
            fs::write(dir.join("hosts.toml"), hosts).unwrap();
        }
        fs::create_dir(enclave.path(CNI_CONF_DIR)).unwrap();
        let bridge = format!("pause{}", std::process::id());
        fs::write(
            enclave.path(&format!("{CNI_CONF_DIR}/10-pause-test.conflist")),
            CNI_TEMPLATE.replace("{bridge}", &bridge),
        )
        .unwrap();

        let log = enclave.path(LOG);
        let out = File::create(&log).unwrap();
        let nsenter = enclave
            .command("containerd")
            .args(["--config", CONFIG])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn containerd");
        let daemon = poll("nsenter to start containerd", || {
            only_child(Pid::from_raw(nsenter.id() as i32))
        });
        let socket = enclave.path(SOCKET);
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let channel = connect(&tokio, &socket);
        let mut containerd = Containerd {
            nsenter,
            daemon,
            log,
            socket,
            tokio,
            channel,
        };
        // The socket and then the CRI plugin come up a little after the daemon starts:
        // wait as a kubelet does, until the CRI's Status says the runtime and the network
        // (the CNI config) are ready.
        let mut cri = containerd.runtime();
        poll("the CRI to report the runtime and network ready", || {
            if let Some(status) = containerd.nsenter.try_wait().unwrap() {
                panic!("containerd exited ({status})\n{}", tail(&containerd.log));
            }
            let status = containerd
                .tokio
                .block_on(cri.status(StatusRequest { verbose: false }))
                .ok()?
                .into_inner()
                .status?;
            let ready = |kind: &str| {
                status
                    .conditions
                    .iter()
                    .any(|c| c.r#type == kind && c.status)
            };
            (ready("RuntimeReady") && ready("NetworkReady")).then_some(())
        });
        let version = containerd.call(cri.version(VersionRequest::default()));
        eprintln!(
            "{} {} (CRI {})",
            version.runtime_name, version.runtime_version, version.runtime_api_version
        );
        containerd
    }

    pub fn runtime(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(self.channel.clone())
    }

    pub fn images(&self) -> ImageServiceClient<Channel> {
        ImageServiceClient::new(self.channel.clone())
    }

    /// Runs one CRI call to completion; a gRPC error fails the test. (A failing test
    /// prints the end of containerd's log when the daemon is dropped.)
    pub fn call<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> T {
        match self.tokio.block_on(call) {
            Ok(response) => response.into_inner(),
            Err(status) => panic!("CRI call failed: {status}"),
        }
    }

    /// Runs `work` (many CRI calls at once, say) on the client's runtime.
    pub fn block_on<F: Future>(&self, work: F) -> F::Output {
        self.tokio.block_on(work)
    }

    /// `ctr` on this daemon, in the CRI's namespace; fails the test unless it succeeds.
    pub fn ctr(&self, args: &[&str]) -> String {
        let out = self.ctr_command(args).output().expect("run ctr");
        assert!(
            out.status.success(),
            "ctr {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn ctr_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(&self.socket)
            .args(["--namespace", "k8s.io"])
            .args(args)
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for Containerd {
    /// SIGTERM, as a service manager would stop it; SIGKILL if it hangs. Whatever it
    /// leaves (shims, containers) dies with the enclave.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", tail(&self.log));
        }
        if self.nsenter.try_wait().ok().flatten().is_none() {
            let _ = kill(self.daemon, Signal::SIGTERM);
            let exited = poll_for(Duration::from_secs(10), || {
                self.nsenter.try_wait().ok().flatten()
            });
            if exited.is_none() {
                let _ = kill(self.daemon, Signal::SIGKILL);
            }
        }
        let _ = self.nsenter.wait();
    }
}

/// A channel to the socket that connects on first use (and reconnects after a failure),
/// so calls can be retried until the daemon listens. It spawns its worker task, so it is
/// made inside `tokio`.
fn connect(tokio: &tokio::runtime::Runtime, socket: &Path) -> Channel {
    let path = socket.to_path_buf();
    let connector = tower::service_fn(move |_: Uri| {
        let path = path.clone();
        async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
    });
    let _runtime = tokio.enter();
    // The URI is required but unused: the connector always dials the socket.
    Endpoint::from_static("http://localhost").connect_with_connector_lazy(connector)
}

/// The end of containerd's log, for failure messages.
fn tail(log: &Path) -> String {
    let log = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
    format!("--- last lines of containerd's log ---\n{tail}")
}

/// `ctr events`: containerd's event stream, which carries each task's exit status.
pub struct Events {
    _ctr: KillOnDrop,
    log: PathBuf,
}

impl Events {
    /// Starts `ctr events` and returns once it is subscribed: it has printed an event
    /// this makes (relabelling the CRI's namespace).
    pub fn watch(containerd: &Containerd, enclave: &Enclave) -> Events {
        let log = enclave.path("/run/events.log");
        let ctr = KillOnDrop::spawn(
            containerd
                .ctr_command(&["events"])
                .stdout(fs::File::create(&log).unwrap()),
        );
        let events = Events { _ctr: ctr, log };
        let mut probe = 0;
        poll("`ctr events` to subscribe", || {
            probe += 1;
            let label = format!("pause-test-probe={probe}");
            containerd.ctr(&["namespaces", "label", "k8s.io", &label]);
            let log = fs::read_to_string(&events.log).unwrap();
            log.contains(" /namespaces/update ").then_some(())
        });
        events
    }

    /// The exit status of container `id`'s task, once its `/tasks/exit` event is out.
    pub fn exit_of(&self, id: &str) -> u32 {
        poll(&format!("the exit event of {id}"), || {
            self.exits().remove(id)
        })
    }

    /// The exit status of each container whose own task (not an exec) has exited so far.
    pub fn exits(&self) -> HashMap<String, u32> {
        let log = fs::read_to_string(&self.log).unwrap();
        log.lines()
            .filter_map(|line| {
                let json = line.split_once(" /tasks/exit ")?.1;
                let event: serde_json::Value = serde_json::from_str(json).unwrap();
                let id = event["container_id"].as_str()?;
                // ctr prints the event as Go JSON, which leaves out a zero exit_status.
                (event["id"] == id).then(|| {
                    (
                        id.to_string(),
                        event["exit_status"].as_u64().unwrap_or(0) as u32,
                    )
                })
            })
            .collect()
    }
}
