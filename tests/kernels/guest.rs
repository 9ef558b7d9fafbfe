//! One guest: an initramfs holding busybox, pause, the probe, the checks and what they
//! expect, booted on a Debian kernel under qemu-system, its console read until a line
//! appears or the deadline passes; the qemu process is killed when the guest is dropped.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pause_harness::{Arch, Kernel, KillOnDrop, poll_for, which};
use tempfile::TempDir;

/// A booted guest machine.
pub struct Vm {
    _qemu: KillOnDrop,
    console: PathBuf,
    _dir: TempDir,
}

/// Files for the initramfs: (path inside, contents, mode).
pub type Files = Vec<(String, Vec<u8>, u32)>;

impl Vm {
    /// Boots `kernel` (the file `image`, and the device tree `dtb` if it needs one) with an
    /// initramfs of `files` plus busybox as /bin/busybox and /dev/console, and `init` as the
    /// kernel's init. The kernel's own messages of a level below `loglevel` reach the
    /// console (7 shows "Run /init as init process", which is at 6).
    pub fn boot(
        kernel: &Kernel,
        image: &Path,
        dtb: Option<&Path>,
        busybox: &Path,
        files: Files,
        init: &str,
        loglevel: u8,
    ) -> Vm {
        let dir = tempfile::tempdir().unwrap();
        let initramfs = dir.path().join("initramfs.cpio.gz");
        pack(dir.path(), busybox, files, &initramfs);
        let console = dir.path().join("console.log");
        let log = fs::File::create(&console).unwrap();
        let append = format!(
            "console={} panic=-1 loglevel={loglevel} rdinit={init} {}",
            kernel.console, kernel.append
        );
        let append = append.trim_end();
        let qemu = KillOnDrop::spawn(
            Command::new(which(kernel.qemu_system))
                .args(kernel.machine)
                .args([
                    "-m",
                    "512",
                    "-smp",
                    "1",
                    "-nographic",
                    "-no-reboot",
                    "-nic",
                    "none",
                ])
                .arg("-kernel")
                .arg(image)
                .args(
                    dtb.map(|dtb| [Path::new("-dtb"), dtb])
                        .into_iter()
                        .flatten(),
                )
                .arg("-initrd")
                .arg(&initramfs)
                .args(["-append", append])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        Vm {
            _qemu: qemu,
            console,
            _dir: dir,
        }
    }

    /// The console so far (the kernel's lines end in CR LF).
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.console).unwrap()).replace('\r', "")
    }

    /// Waits up to `limit` for a console line that `done` accepts; fails with the console's
    /// tail if none comes.
    pub fn wait_for(&self, arch: &Arch, what: &str, limit: Duration, done: impl Fn(&str) -> bool) {
        let seen = poll_for(limit, || self.console().lines().any(&done).then_some(()));
        if seen.is_none() {
            panic!("{}: no {what} within {limit:?}\n{}", arch.name, self.tail());
        }
    }

    /// The console's last 40 lines, for a failure message.
    pub fn tail(&self) -> String {
        let console = self.console();
        let lines: Vec<&str> = console.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// Writes a gzip'd newc cpio of the initramfs to `out`, packed by busybox's cpio in a
/// staging directory (as root: /dev/console is a device node).
fn pack(dir: &Path, busybox: &Path, files: Files, out: &Path) {
    let stage = dir.join("root");
    for (path, bytes, mode) in files {
        let path = stage.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    fs::create_dir_all(stage.join("bin")).unwrap();
    fs::copy(busybox, stage.join("bin/busybox")).unwrap();
    fs::create_dir_all(stage.join("dev")).unwrap();
    let console = nix::sys::stat::makedev(5, 1);
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o600);
    nix::sys::stat::mknod(
        &stage.join("dev/console"),
        nix::sys::stat::SFlag::S_IFCHR,
        mode,
        console,
    )
    .unwrap();
    let status = Command::new("sh")
        .args([
            "-c",
            "find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >\"$0\"",
        ])
        .arg(out)
        .current_dir(&stage)
        .status()
        .unwrap();
    assert!(status.success(), "packing the initramfs: {status}");
}
