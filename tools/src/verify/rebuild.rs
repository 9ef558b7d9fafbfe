//! The rebuild `just verify` compares with: a commit built in a clean git worktree under
//! `target/verify/`, with its own `CARGO_TARGET_DIR` there, by that commit's own `just
//! image`, with `SOURCE_DATE_EPOCH` the published index's `created` time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};

use crate::built::fallback_tag;
use crate::published::Image;

/// A commit rebuilt in a git worktree of its own, removed when dropped.
pub struct Rebuild {
    root: PathBuf,
    worktree: PathBuf,
}

impl Rebuild {
    pub fn new(revision: &str, epoch: Option<u64>) -> Result<Rebuild> {
        let git = |dir: &Path, args: &[&str]| -> Result<String> {
            let out = Command::new("git").current_dir(dir).args(args).output()?;
            ensure!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            Ok(String::from_utf8(out.stdout)?.trim().to_string())
        };
        let root = PathBuf::from(git(Path::new("."), &["rev-parse", "--show-toplevel"])?);
        git(
            &root,
            &["cat-file", "-e", &format!("{revision}^{{commit}}")],
        )
        .with_context(|| format!("commit {revision} is not in this repository"))?;
        let base = root.join("target/verify");
        let worktree = base.join(format!("src-{revision}"));
        if worktree.exists() {
            // A rebuild that was interrupted: start clean.
            git(
                &root,
                &["worktree", "remove", "--force", &worktree.to_string_lossy()],
            )?;
        }
        git(&root, &["worktree", "prune"])?;
        git(
            &root,
            &[
                "worktree",
                "add",
                "--detach",
                &worktree.to_string_lossy(),
                revision,
            ],
        )?;
        let rebuild = Rebuild { root, worktree };
        eprintln!("rebuilding {revision} in {}", rebuild.worktree.display());
        let mut cmd = Command::new("just");
        cmd.arg("image")
            .current_dir(&rebuild.worktree)
            .env("CARGO_TARGET_DIR", base.join("target"))
            // Our stdout is the tables; the build's report goes with its progress.
            .stdout(std::io::stderr());
        match epoch {
            Some(epoch) => cmd.env("SOURCE_DATE_EPOCH", epoch.to_string()),
            None => cmd.env_remove("SOURCE_DATE_EPOCH"),
        };
        let status = cmd
            .stdin(Stdio::null())
            .status()
            .context("running just image")?;
        ensure!(
            status.success(),
            "the rebuild of {revision} failed: {status}"
        );
        Ok(rebuild)
    }

    pub fn image(&self) -> Result<Image> {
        let layout = self.worktree.join("dist/oci");
        let index = Image::read(&layout, "latest", None)?;
        Image::read(
            &layout,
            "latest",
            Some(&fallback_tag(index.index_descriptor.digest())),
        )
    }
}

impl Drop for Rebuild {
    fn drop(&mut self) {
        let _ = Command::new("git")
            .current_dir(&self.root)
            .args(["worktree", "remove", "--force"])
            .arg(&self.worktree)
            .status();
    }
}
