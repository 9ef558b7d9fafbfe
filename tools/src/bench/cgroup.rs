//! The per-pod charge: each peer that runs alone as the process of a real OCI container
//! under runc, in a memory cgroup of its own, and what that cgroup is charged once it idles.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use oci_spec::runtime::{Spec, UserBuilder};
use tempfile::TempDir;

use super::figures::{ExactFigures, PodFigures, Stats};
use super::memcg::{Hierarchy, Reading, Version};
use super::peers::{Peer, which};
use super::plan::POD_ROUNDS;
use super::process::{Running, wait_blocked};

/// The kernel folds its per-CPU memcg statistics into memory.stat every 2 s whatever is
/// pending (mm/memcontrol.c, FLUSH_TIME); a read between two such flushes can miss up to 64
/// pages' worth of updates per CPU, more than a pause's whole user memory. So every reading
/// waits this long after the last change it must see.
const STATS_FLUSH: Duration = Duration::from_secs(3);

/// Where the cgroup hierarchies are mounted (runc assumes it too).
const CGROUPFS: &str = "/sys/fs/cgroup";

/// The uid and gid a pod sandbox runs as (the image's `User 65535:65535`).
const SANDBOX_ID: u32 = 65535;

/// Whether a peer can be a container's only process with only its own file in the rootfs:
/// it is static and runs no other program.
pub(super) fn runs_alone(peer: &Peer, exact: &ExactFigures) -> bool {
    !exact.dynamic && !peer.supervises
}

/// runc on a private state dir.
struct Runc {
    exe: PathBuf,
    state: TempDir,
}

impl Runc {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--root").arg(self.state.path());
        cmd
    }

    /// Runs `runc ARGS` to its end within the deadline. Its output goes to a file: a
    /// detached container keeps runc's stdio, and a pipe would stay open with it.
    fn run(&self, args: &[&str]) -> Result<()> {
        let log = tempfile::NamedTempFile::new()?;
        let child = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.reopen()?)
            .stderr(log.reopen()?)
            .spawn()
            .context("spawning runc")?;
        let status = Running::adopt(Pid::from_raw(child.id() as i32))?.wait("runc")?;
        ensure!(
            matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)),
            "runc {args:?}: {status:?}: {}",
            fs::read_to_string(log.path())?
        );
        Ok(())
    }
}

/// One peer's pod: a detached runc container whose process is the peer, in its own cgroup.
/// Dropping it kills and reaps the process, deletes the container and removes its cgroups.
struct Pod<'a> {
    runc: &'a Runc,
    id: String,
    /// Its memory cgroup's directory.
    cgroup: PathBuf,
    process: Option<Running>,
    _bundle: TempDir,
}

impl<'a> Pod<'a> {
    /// An OCI bundle as a CRI runtime makes a sandbox's: `rootfs` (holding only the peer as
    /// /pause) read-only, uid and gid 65535, runc's default namespaces (pid, network, ipc,
    /// uts, mount, cgroup); then `runc run --detach`. The bench is a subreaper, so once runc
    /// has exited the container's process is the bench's child.
    fn start(
        runc: &'a Runc,
        hierarchy: &Hierarchy,
        peer: &Peer,
        rootfs: &Path,
        n: usize,
    ) -> Result<Pod<'a>> {
        // Unique on this host: runc names the cgroup after it, at the hierarchy's root.
        let id = format!("pause-bench-{}-{n}", std::process::id());
        let mut pod = Pod {
            runc,
            cgroup: hierarchy.dir.join(&id),
            id,
            process: None,
            _bundle: tempfile::tempdir()?,
        };
        let mut spec = Spec::default();
        let process = spec.process_mut().as_mut().context("no process")?;
        let mut args = vec!["/pause".to_string()];
        args.extend(
            peer.idle[1..]
                .iter()
                .map(|a| a.to_string_lossy().into_owned()),
        );
        process.set_args(Some(args));
        process.set_user(
            UserBuilder::default()
                .uid(SANDBOX_ID)
                .gid(SANDBOX_ID)
                .build()?,
        );
        let root = spec.root_mut().as_mut().context("no root")?;
        root.set_path(rootfs.to_path_buf());
        root.set_readonly(Some(true));
        let linux = spec.linux_mut().as_mut().context("no linux")?;
        linux.set_cgroups_path(Some(PathBuf::from(format!("/{}", pod.id))));
        let bundle = pod._bundle.path();
        spec.save(bundle.join("config.json"))?;

        let pid_file = bundle.join("pid");
        let (bundle, pid_path) = (path_str(bundle)?, path_str(&pid_file)?);
        runc.run(&[
            "run",
            "--detach",
            "--pid-file",
            pid_path,
            "--bundle",
            bundle,
            &pod.id,
        ])?;
        let pid: i32 = fs::read_to_string(&pid_file)?.trim().parse()?;
        pod.process = Some(Running::adopt(Pid::from_raw(pid))?);
        Ok(pod)
    }

    fn pid(&self) -> Result<Pid> {
        Ok(self.process.as_ref().context("not running")?.pid)
    }

    /// Waits until the peer sits in its blocking call, and checks that it is its cgroup's
    /// only process.
    fn wait_idle(&self, peer: &Peer) -> Result<()> {
        let pid = self.pid()?;
        wait_blocked(pid, peer.block)?;
        let procs = fs::read_to_string(self.cgroup.join("cgroup.procs"))?;
        ensure!(
            procs.split_whitespace().eq([pid.to_string().as_str()]),
            "{}: cgroup {} holds {procs:?}, not only pid {pid}",
            peer.name,
            self.cgroup.display()
        );
        Ok(())
    }

    /// Kills the peer and reaps it: the container stays, stopped, with its cgroup.
    fn stop(&mut self) -> Result<()> {
        let mut process = self.process.take().context("not running")?;
        kill(process.pid, Signal::SIGKILL)?;
        process.wait("a pod's process")?;
        Ok(())
    }
}

impl Drop for Pod<'_> {
    fn drop(&mut self) {
        drop(self.process.take());
        let _ = self
            .runc
            .command()
            .args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // runc removes the container's cgroup from every hierarchy; this is for a container
        // that runc never got to make, or a delete that failed.
        let controllers = fs::read_dir(CGROUPFS).into_iter().flatten().flatten();
        for dir in controllers
            .map(|e| e.path())
            .chain([PathBuf::from(CGROUPFS)])
        {
            let _ = fs::remove_dir(dir.join(&self.id));
        }
    }
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

/// The pod figures of every peer that runs alone (None for the others), and the hierarchy
/// they were read in. Each round starts one pod per peer, all at once as on a node, reads
/// each cgroup once every peer idles, then again once every peer has been killed and reaped.
pub(super) fn measure(
    peers: &[Peer],
    exact: &[ExactFigures],
) -> Result<(Version, Vec<Option<PodFigures>>)> {
    let hierarchy = Hierarchy::here()?;
    let runc = Runc {
        exe: which("runc")?,
        state: tempfile::tempdir()?,
    };
    // One rootfs per peer, shared by its pods: as on a node, where every pod maps the one
    // /pause of the image's layer, the file's page cache is charged once, to whoever read it
    // first (here the bench, which writes it), not to each pod.
    let rootfs = tempfile::tempdir()?;
    let mut alone = Vec::new();
    for (i, (peer, exact)) in peers.iter().zip(exact).enumerate() {
        if runs_alone(peer, exact) {
            let dir = rootfs.path().join(i.to_string());
            fs::create_dir(&dir)?;
            fs::copy(&peer.exe, dir.join("pause"))?;
            alone.push((i, dir));
        }
    }

    let mut idle = vec![Vec::new(); peers.len()];
    let mut left = vec![Vec::new(); peers.len()];
    for round in 0..POD_ROUNDS {
        let mut pods = Vec::new();
        for (k, (i, dir)) in alone.iter().enumerate() {
            let n = round * alone.len() + k;
            pods.push((*i, Pod::start(&runc, &hierarchy, &peers[*i], dir, n)?));
        }
        for (i, pod) in &pods {
            pod.wait_idle(&peers[*i])?;
        }
        sleep(STATS_FLUSH);
        for (i, pod) in &pods {
            idle[*i].push(hierarchy.read(&pod.cgroup)?);
        }
        for (_, pod) in &mut pods {
            pod.stop()?;
        }
        sleep(STATS_FLUSH);
        for (i, pod) in &pods {
            left[*i].push(hierarchy.read(&pod.cgroup)?.charge());
        }
    }

    let figures = idle
        .into_iter()
        .zip(left)
        .map(|(idle, left)| {
            (!idle.is_empty()).then(|| PodFigures {
                charge: kb(idle.iter().map(Reading::charge)),
                user: kb(idle.iter().map(|r| r.user)),
                kernel: kb(idle.iter().map(|r| r.kernel)),
                as_read: kb(idle.iter().map(|r| r.as_read)),
                left: kb(left.into_iter()),
            })
        })
        .collect();
    Ok((hierarchy.version, figures))
}

fn kb(bytes: impl Iterator<Item = u64>) -> Stats<u64> {
    Stats::of(bytes.map(|b| b / 1024).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_whole_kib() {
        let s = kb([1023, 2048, 4096, 5000].into_iter());
        assert_eq!((s.min, s.max), (0, 4));
    }
}
