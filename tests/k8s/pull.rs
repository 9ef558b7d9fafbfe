//! containerd's CRI pulls the sandbox image from a registry, as a node does: the image is
//! pushed to a docker-registry on the enclave's loopback (`skopeo copy --all`, as the README
//! says), containerd names it as `sandbox_image`, and RunPodSandbox pulls and runs it. Once
//! by the registry's own address and a tag; once by a registry name that a `hosts.toml`
//! maps to it, pinned to the index's digest, and also under deploy/seccomp.json as the
//! sandbox's Localhost seccomp profile, the way a kubelet passes a pod's `seccompProfile`.

use std::fs;
use std::time::Instant;

use k8s_cri::v1::security_profile::ProfileType;
use k8s_cri::v1::{ImageStatusRequest, SecurityProfile};
use pause_harness::layout::Layout;
use pause_harness::registry::{Pushed, Registry, can_run_registry};
use pause_harness::{AMD64, status_value, workspace};

use pause_harness::k8s::{Containerd, Enclave, Events, containerd, image_spec, sandbox_config};

use super::{can_run, pod_namespaces, run_pod, sandbox_pause, terminate_pod};

/// The CRI's tools, and a registry with skopeo to push to it.
fn can_pull(test: &str) -> bool {
    can_run(test, containerd::TOOLS) && can_run_registry(&format!("for {test}"))
}

/// A registry name of no host (`.test` is reserved, RFC 2606): only the hosts.toml that maps
/// it to the registry can make it pull.
const REGISTRY_NAME: &str = "registry.pause.test";

/// containerd reaches a registry on loopback over plain HTTP with no hosts.toml.
#[test]
fn containerd_pulls_the_sandbox_image_by_tag_from_a_registry() {
    if !can_pull("the registry pull by tag") {
        return;
    }
    let sandbox = Sandbox::start("pull-tag", |_, pushed| (pushed.tagged.clone(), vec![]));
    sandbox.run(false);
    sandbox.close();
}

#[test]
fn containerd_pulls_the_sandbox_image_pinned_by_digest_and_runs_it_under_our_seccomp_profile() {
    if !can_pull("the registry pull by digest") {
        return;
    }
    let sandbox = Sandbox::start("pull-digest", |registry, pushed| {
        let image = format!("{REGISTRY_NAME}/pause@{}", pushed.digest);
        (image, vec![(REGISTRY_NAME, registry.address().to_string())])
    });
    sandbox.run(false);
    sandbox.run(true);
    sandbox.close();
}

/// An enclave holding a registry with our image in it (pushed as `pause:0.1.0`), and a
/// containerd whose `sandbox_image` and plain-HTTP hosts `config` makes of the two.
struct Sandbox {
    started: Instant,
    image: String,
    registry: Registry,
    containerd: Containerd,
    enclave: Enclave,
}

impl Sandbox {
    /// `name`: the enclave's, unique to the test (tests run side by side under `just test`).
    fn start(
        name: &str,
        config: impl FnOnce(&Registry, &Pushed) -> (String, Vec<(&'static str, String)>),
    ) -> Sandbox {
        let started = Instant::now();
        let enclave = Enclave::new(name);
        let registry = Registry::start_in(Some(&enclave.netns()));
        let pushed = registry.push_dist_image("pause:0.1.0");
        let (image, hosts) = config(&registry, &pushed);
        let hosts: Vec<(&str, &str)> = hosts.iter().map(|(n, s)| (*n, s.as_str())).collect();
        let containerd = Containerd::start(&enclave, &image, &hosts);
        Sandbox {
            started,
            image,
            registry,
            containerd,
            enclave,
        }
    }

    /// RunPodSandbox (which pulls the image the first time) runs our pause as the pod's
    /// PID 1, as the image's user, under the profile if `seccomp`; SIGTERM ends it with 0.
    fn run(&self, seccomp: bool) {
        let (containerd, enclave) = (&self.containerd, &self.enclave);
        let events = Events::watch(containerd, enclave);
        let mut config = sandbox_config("pause-pull", &enclave.cgroup_parent, pod_namespaces());
        if seccomp {
            let security = config.linux.as_mut().unwrap().security_context.as_mut();
            security.unwrap().seccomp = Some(SecurityProfile {
                profile_type: ProfileType::Localhost.into(),
                localhost_ref: workspace()
                    .join("deploy/seccomp.json")
                    .display()
                    .to_string(),
            });
        }
        let pod = run_pod(containerd, &config);

        // What it pulled is amd64's image from the registry: no image was there before.
        let status = containerd.call(containerd.images().image_status(ImageStatusRequest {
            image: Some(image_spec(&self.image)),
            verbose: false,
        }));
        let config_digest = Layout::dist()
            .manifest(AMD64.name)
            .config()
            .digest()
            .to_string();
        let pulled = status
            .image
            .unwrap_or_else(|| panic!("no image {}", self.image));
        assert_eq!(
            pulled.id, config_digest,
            "{} is not amd64's image",
            self.image
        );
        let log = self.registry.log();
        assert!(
            log.contains("http.request.useragent=\"containerd/"),
            "the registry served containerd nothing:\n{log}"
        );

        let pause = enclave.proc(sandbox_pause(containerd, enclave, &pod));
        let proc_status = fs::read_to_string(pause.join("status")).unwrap();
        // 2: a seccomp filter (SECCOMP_MODE_FILTER); 0: none.
        let mode = if seccomp { "2" } else { "0" };
        assert_eq!(
            status_value(&proc_status, "Seccomp"),
            mode,
            "{}",
            self.image
        );

        terminate_pod(containerd, &events, &pod);
    }

    fn close(self) {
        let Sandbox {
            started,
            image,
            registry,
            containerd,
            enclave,
        } = self;
        drop(containerd);
        drop(registry);
        enclave.close();
        eprintln!("{image}: {:.1?}", started.elapsed());
    }
}
