//! The release test's clone of HEAD: `target/release-test/src`, fetched and reset to HEAD on
//! each run (only what changed is rewritten, so cargo, building into
//! `target/release-test/target`, rebuilds only that), where `just` runs with key pairs of
//! its own from its `just keygen`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pause_harness::registry::can_run_registry;
use pause_harness::{
    Layout, available, finish, have, just_evaluate, output_within, privileged, trixie, workspace,
};

/// How long one `just release` or `just verify` may take: a clean build of every arch, of the
/// image tool, and (verify) of the commit again.
pub const BUILD: Duration = Duration::from_secs(1800);

/// The clone, one test at a time (one changes it and puts it back).
static CLONE: Mutex<()> = Mutex::new(());

/// A clone of HEAD in which `just` runs, with a key pair made by its `just keygen`.
pub struct HeadClone {
    pub dir: PathBuf,
    pub keys: tempfile::TempDir,
    pub passphrase_env: String,
    /// The Justfile's name of the variable that says where the key is.
    key_env: String,
    _turn: MutexGuard<'static, ()>,
}

/// The key pairs' passphrases: the release's, and another key's.
pub const PASSPHRASE: &str = "release passphrase";
pub const OTHER_PASSPHRASE: &str = "another passphrase";

impl HeadClone {
    /// `None` (a skip outside CI) without what a release needs.
    pub fn of_head() -> Option<HeadClone> {
        let turn = CLONE.lock().unwrap_or_else(|e| e.into_inner());
        if !can_run_registry("to release to")
            || !have("git", "to clone HEAD")
            || !privileged("to chroot podman into Debian 13's root")
        {
            return None;
        }
        let missing = trixie::missing()?;
        let root = trixie::root();
        let why = format_args!(
            "Debian 13's {missing:?} are not in {}: `just setup`",
            root.display()
        );
        if !available(missing.is_empty(), why) {
            return None;
        }
        let passphrase_env = just_evaluate("passphrase_env")?.trim().to_string();
        let key_env = just_evaluate("signing_key_env")?.trim().to_string();
        let base = workspace().join("target/release-test");
        let dir = base.join("src");
        let git = |args: &[&str], cwd: &Path| {
            let status = finish(Command::new("git").args(args).current_dir(cwd), "git");
            assert!(status.success(), "git {args:?}");
        };
        if dir.join(".git").is_dir() {
            // Only what changed is rewritten, so cargo rebuilds only that.
            let head = workspace().to_string_lossy().into_owned();
            git(&["fetch", "-q", &head, "HEAD"], &dir);
            git(&["reset", "-q", "--hard", "FETCH_HEAD"], &dir);
            git(&["clean", "-q", "-f", "-d"], &dir);
        } else {
            fs::create_dir_all(&base).unwrap();
            let head = workspace().to_string_lossy().into_owned();
            git(&["clone", "-q", &head, dir.to_str().unwrap()], &base);
        }
        let clone = HeadClone {
            dir,
            keys: tempfile::tempdir().unwrap(),
            passphrase_env,
            key_env,
            _turn: turn,
        };
        for (name, passphrase) in [("release", PASSPHRASE), ("other", OTHER_PASSPHRASE)] {
            let key = clone.key(name);
            let out = clone.just(&["keygen"], &key, Some(passphrase));
            assert!(out.status.success(), "just keygen: {out:?}");
        }
        Some(clone)
    }

    /// The private key `name` (its public key: the same with `.pub`).
    pub fn key(&self, name: &str) -> PathBuf {
        self.keys.path().join(format!("{name}.key"))
    }

    pub fn public_key(&self, name: &str) -> PathBuf {
        self.keys.path().join(format!("{name}.pub"))
    }

    /// `just ARGS` in the clone with the key `key` and the passphrase (unset if `None`).
    pub fn just(&self, args: &[&str], key: &Path, passphrase: Option<&str>) -> Output {
        let mut cmd = Command::new("just");
        cmd.args(args)
            .current_dir(&self.dir)
            .env(&self.key_env, key)
            .env(
                "CARGO_TARGET_DIR",
                workspace().join("target/release-test/target"),
            )
            .env_remove(&self.passphrase_env);
        if let Some(passphrase) = passphrase {
            cmd.env(&self.passphrase_env, passphrase);
        }
        output_within(BUILD, &mut cmd)
    }

    pub fn release(&self, reference: &str, key: &Path, passphrase: Option<&str>) -> Output {
        self.just(&["release", reference], key, passphrase)
    }

    pub fn git(&self, args: &[&str]) {
        let status = finish(Command::new("git").args(args).current_dir(&self.dir), "git");
        assert!(status.success(), "git {args:?}");
    }

    /// The clone's `dist/oci`, as its release built it.
    pub fn layout(&self) -> Layout {
        Layout::at(self.dir.join("dist/oci"))
    }
}
