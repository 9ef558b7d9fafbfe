//! Pods under churn: whole pod lifecycles through the CRI (`PODS` of them), `CONCURRENCY` at a time,
//! each as a kubelet drives one: RunPodSandbox, an app container created and started, the
//! app stopped and removed, StopPodSandbox, RemovePodSandbox. The k8s tests check what the
//! churn leaves behind; the bench times it.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ContainerConfig, CreateContainerRequest, NamespaceMode, NamespaceOption, PodSandboxConfig,
    PodSandboxState, PodSandboxStatusRequest, RemoveContainerRequest, RemovePodSandboxRequest,
    RunPodSandboxRequest, StartContainerRequest, StopContainerRequest, StopPodSandboxRequest,
};
use tokio::task::JoinSet;
use tonic::transport::Channel;

use super::{Containerd, Enclave, app_config, busybox, sandbox_config};

/// Pod lifecycles per churn.
pub const PODS: usize = 200;
/// Lifecycles in flight at any time.
pub const CONCURRENCY: usize = 4;

/// One pod's lifecycle.
pub struct Cycle {
    pub pod: String,
    pub app: String,
    /// From the RunPodSandbox request to its answer.
    pub run_pod_sandbox: Duration,
    /// From the RunPodSandbox request to RemovePodSandbox's answer.
    pub whole: Duration,
    /// What PodSandboxStatus said between StopPodSandbox and RemovePodSandbox.
    pub stopped: Option<PodSandboxState>,
}

/// A kubelet's default pod: network and IPC shared, each container its own PID namespace.
fn namespaces() -> NamespaceOption {
    NamespaceOption {
        network: NamespaceMode::Pod.into(),
        pid: NamespaceMode::Container.into(),
        ipc: NamespaceMode::Pod.into(),
        ..Default::default()
    }
}

/// Runs the lifecycles of pods `pods` (`churn-<i>`) on `containerd` (in `enclave`, whose
/// cgroup parent the pods use) and returns each in the order they started. A failed CRI
/// call fails the churn.
pub fn churn(containerd: &Containerd, enclave: &Enclave, pods: Range<usize>) -> Vec<Cycle> {
    let (next, end) = (Arc::new(AtomicUsize::new(pods.start)), pods.end);
    let mut cycles = containerd.block_on(async {
        let mut workers = JoinSet::new();
        for _ in 0..CONCURRENCY {
            let (cri, next) = (containerd.runtime(), next.clone());
            let cgroup_parent = enclave.cgroup_parent.clone();
            workers.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        return Ok::<_, tonic::Status>(done);
                    }
                    let name = format!("churn-{i}");
                    let sandbox = sandbox_config(&name, &cgroup_parent, namespaces());
                    let app = app_config("app", &[busybox::BINARY, "sleep", "3600"], namespaces());
                    done.push((i, cycle(cri.clone(), sandbox, app).await?));
                }
            });
        }
        let mut cycles = Vec::new();
        while let Some(worker) = workers.join_next().await {
            match worker.expect("a churn worker panicked") {
                Ok(done) => cycles.extend(done),
                Err(status) => panic!("CRI call failed during the churn: {status}"),
            }
        }
        cycles
    });
    cycles.sort_by_key(|(i, _)| *i);
    cycles.into_iter().map(|(_, cycle)| cycle).collect()
}

async fn cycle(
    mut cri: RuntimeServiceClient<Channel>,
    sandbox: PodSandboxConfig,
    app: ContainerConfig,
) -> Result<Cycle, tonic::Status> {
    let start = Instant::now();
    let pod = cri
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(sandbox.clone()),
            runtime_handler: String::new(),
        })
        .await?
        .into_inner()
        .pod_sandbox_id;
    let run_pod_sandbox = start.elapsed();
    let app = cri
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(app),
            sandbox_config: Some(sandbox),
        })
        .await?
        .into_inner()
        .container_id;
    cri.start_container(StartContainerRequest {
        container_id: app.clone(),
    })
    .await?;
    // No grace period: the app (a sleep as its container's PID 1) ignores SIGTERM, and
    // waiting out a timeout would time the timeout.
    cri.stop_container(StopContainerRequest {
        container_id: app.clone(),
        timeout: 0,
    })
    .await?;
    cri.remove_container(RemoveContainerRequest {
        container_id: app.clone(),
    })
    .await?;
    cri.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: pod.clone(),
    })
    .await?;
    let stopped = cri
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod.clone(),
            verbose: false,
        })
        .await?
        .into_inner()
        .status
        .map(|s| s.state());
    cri.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod.clone(),
    })
    .await?;
    Ok(Cycle {
        pod,
        app,
        run_pod_sandbox,
        whole: start.elapsed(),
        stopped,
    })
}
