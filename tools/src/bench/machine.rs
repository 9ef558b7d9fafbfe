//! The machine the bench ran on, and when, and at which commit.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use anyhow::Result;
use procfs::Current as _;

/// Where and when the bench ran.
pub(super) struct Machine {
    pub(super) cpu: String,
    pub(super) cores: usize,
    pub(super) kernel: String,
    pub(super) date: String,
    pub(super) commit: String,
}

impl Machine {
    pub(super) fn here(root: &Path) -> Result<Machine> {
        let cpuinfo = procfs::CpuInfo::current()?;
        let git = |args: &[&str]| -> Option<String> {
            let out = Command::new("git")
                .args(args)
                .current_dir(root)
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let mut commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or("unknown".into());
        if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) {
            commit += " with uncommitted changes";
        }
        Ok(Machine {
            cpu: cpuinfo.model_name(0).unwrap_or("unknown CPU").to_string(),
            cores: std::thread::available_parallelism()?.get(),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")?
                .trim()
                .to_string(),
            date: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            commit,
        })
    }
}
