//! The scratch tree the mutants are applied to: `target/mutants/tree`, a git repository of
//! its own holding HEAD's tree (fetched from this one, so the project's worktrees are left
//! alone), with its own `target/` kept across runs, so that the test crates compile once and
//! each arch rebuilds incrementally. Its `dist/` and the real-kernel suite's probes are this
//! tree's own, which `just mutants` has just built; since the mutants apply to HEAD, the
//! binary's sources must have no uncommitted changes (the run refuses otherwise). After each
//! mutant the tree is reset and the arch's binary and probe are put back.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail, ensure};
use pause_harness::{ALL, Arch};

use super::mutant::{Mutant, Outcome};
use crate::command::git;

/// What the pause binary and the probe are built from: a mutant touching any of these
/// rebuilds its arch (and, for the real-kernel suite, its probe).
const BINARY_INPUTS: &[&str] = &[
    "src",
    "arch",
    "linker",
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
    "tests/probe",
];

pub struct Scratch {
    /// This repository's root, whose dist/ and probes are the unmutated builds.
    root: PathBuf,
    tree: PathBuf,
}

impl Scratch {
    pub fn prepare(root: &Path) -> Result<Scratch> {
        let dirty = git(
            root,
            &[&["status", "--porcelain", "--"], BINARY_INPUTS].concat(),
        )?;
        ensure!(
            dirty.is_empty(),
            "the mutants apply to HEAD, whose binaries dist/ must hold: commit or stash\n{dirty}"
        );
        let tree = root.join("target/mutants/tree");
        if !tree.join(".git").is_dir() {
            fs::create_dir_all(&tree)?;
            git(&tree, &["init", "-q"])?;
        }
        let head = git(root, &["rev-parse", "HEAD"])?;
        git(
            &tree,
            &[
                "fetch",
                "-q",
                "--depth",
                "1",
                &root.to_string_lossy(),
                &head,
            ],
        )?;
        let scratch = Scratch {
            root: root.to_path_buf(),
            tree,
        };
        scratch.reset("FETCH_HEAD")?;
        fs::create_dir_all(scratch.tree.join("dist"))?;
        for arch in ALL {
            scratch.restore(arch)?;
        }
        eprintln!("scratch tree {} at {head}", scratch.tree.display());
        Ok(scratch)
    }

    /// Every named test exists, and passes on the unmutated tree: a mutant is killed only by
    /// a test that fails because of it.
    pub fn check_tests(&self, mutants: &[Mutant]) -> Result<()> {
        let mut by_binary: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for t in mutants.iter().flat_map(|m| &m.tests) {
            let filters = by_binary.entry(&t.binary).or_default();
            if !filters.contains(&t.filter.as_str()) {
                filters.push(&t.filter);
            }
        }
        for (binary, filters) in &by_binary {
            eprintln!("unmutated: {binary} {}", filters.join(" "));
            let out = self.cargo_test(binary, &["--list"])?;
            ensure!(
                out.status.success(),
                "{binary}: cannot list its tests\n{}",
                tail(&out)
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            let names: Vec<&str> = stdout
                .lines()
                .filter_map(|l| l.strip_suffix(": test"))
                .collect();
            for filter in filters {
                ensure!(
                    names.iter().any(|n| n.contains(filter)),
                    "{binary}::{filter} names no test"
                );
            }
            match run_result(&self.cargo_test(binary, filters)?) {
                TestRun::Passed => {}
                TestRun::Failed(failed) => {
                    bail!("unmutated, these fail: {binary}::{}", failed.join(" "))
                }
                TestRun::NotRun(why) => bail!("{binary}: {why}"),
            }
        }
        Ok(())
    }

    /// Applies, builds and tests one mutant, then puts the tree back as it was.
    pub fn run(&self, mutant: &Mutant) -> Outcome {
        let outcome = self
            .try_run(mutant)
            .unwrap_or_else(|e| Outcome::Error(format!("{e:#}")));
        let restored = self.reset("HEAD").and_then(|()| self.restore(mutant.arch));
        match restored {
            Ok(()) => outcome,
            Err(e) => Outcome::Error(format!("restoring the scratch tree: {e:#}")),
        }
    }

    fn try_run(&self, mutant: &Mutant) -> Result<Outcome> {
        let arch = mutant.arch;
        let patch = mutant.patch.to_string_lossy();
        git(&self.tree, &["apply", &patch]).context("the patch does not apply")?;
        let dist = format!("dist/pause-linux-{}", arch.name);
        let built = self.just(&["build-one", arch.target, &dist])?;
        ensure!(built.status.success(), "does not build\n{}", tail(&built));
        ensure!(
            fs::read(self.tree.join(&dist))? != fs::read(self.root.join(&dist))?,
            "{dist} is unchanged: the patch does not reach this arch's binary"
        );
        let touches_probe = mutant.files.iter().any(|f| {
            BINARY_INPUTS
                .iter()
                .any(|i| *i != "src" && f.starts_with(i))
        });
        if touches_probe && mutant.tests.iter().any(|t| t.binary == "kernels") {
            let probe = ["cargo-freestanding", "pause-probe", "build", arch.target];
            let built = self.just(&probe)?;
            ensure!(
                built.status.success(),
                "the probe does not build\n{}",
                tail(&built)
            );
        }
        for test in &mutant.tests {
            eprintln!("  {test}");
            match run_result(&self.cargo_test(&test.binary, &[&test.filter])?) {
                TestRun::Passed => {}
                TestRun::Failed(failed) => {
                    return Ok(Outcome::Killed(format!("{}::{}", test.binary, failed[0])));
                }
                TestRun::NotRun(why) => bail!("{test}: {why}"),
            }
        }
        Ok(Outcome::Survived)
    }

    /// The tree at `commit` and nothing else; ignored files (target/, dist/) stay.
    fn reset(&self, commit: &str) -> Result<()> {
        git(&self.tree, &["reset", "-q", "--hard", commit])?;
        git(&self.tree, &["clean", "-q", "-f", "-d"])?;
        Ok(())
    }

    /// `arch`'s unmutated binary and probe back in the scratch tree.
    fn restore(&self, arch: &Arch) -> Result<()> {
        let dist = format!("dist/pause-linux-{}", arch.name);
        let from = self.root.join(&dist);
        fs::copy(&from, self.tree.join(&dist))
            .with_context(|| format!("{}: run `just dist`", from.display()))?;
        let probe = format!("target/{}/release/pause-probe", arch.target);
        let from = self.root.join(&probe);
        if from.is_file() {
            let to = self.tree.join(&probe);
            fs::create_dir_all(to.parent().unwrap())?;
            fs::copy(&from, &to)?;
        }
        Ok(())
    }

    fn just(&self, args: &[&str]) -> Result<Output> {
        self.command("just", args)
    }

    /// One test binary of pause-tests, as CI runs it: a skip is a failure.
    fn cargo_test(&self, binary: &str, args: &[&str]) -> Result<Output> {
        let cargo = ["test", "-p", "pause-tests", "--test", binary, "--"];
        self.command("cargo", &[&cargo[..], args].concat())
    }

    fn command(&self, program: &str, args: &[&str]) -> Result<Output> {
        Command::new(program)
            .args(args)
            .current_dir(&self.tree)
            // The tree's own target/, where the real-kernel suite looks for the probes.
            .env_remove("CARGO_TARGET_DIR")
            .env("CI", "true")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {program} {}", args.join(" ")))
    }
}

enum TestRun {
    Passed,
    /// The failed tests' names, as libtest lists them.
    Failed(Vec<String>),
    NotRun(String),
}

/// What one `cargo test` run says: libtest's summary line and its list of failures.
fn run_result(out: &Output) -> TestRun {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(summary) = stdout.lines().rfind(|l| l.starts_with("test result: ")) else {
        return TestRun::NotRun(format!("no test ran\n{}", tail(out)));
    };
    if summary.contains(" 0 passed; 0 failed;") {
        return TestRun::NotRun(format!("the filter matches no test: {summary}"));
    }
    if out.status.success() {
        return TestRun::Passed;
    }
    // The list after the last `failures:` header, one indented name a line.
    let list = stdout.rsplit("\nfailures:\n").next().unwrap_or_default();
    let failed: Vec<String> = list
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .map(str::to_string)
        .collect();
    match failed.is_empty() {
        true => TestRun::NotRun(format!("failed, naming no test\n{}", tail(out))),
        false => TestRun::Failed(failed),
    }
}

/// The last lines of a command's output, for an error.
fn tail(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn output(code: i32, stdout: &str) -> Output {
        Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.into(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn reads_libtest() {
        let failed = "running 1 test\ntest amd64::x ... FAILED\n\nfailures:\n\n---- amd64::x \
                      stdout ----\npanicked\n\nfailures:\n    amd64::x\n\ntest result: FAILED. \
                      0 passed; 1 failed; 0 ignored; 0 measured; 9 filtered out\n";
        assert!(
            matches!(run_result(&output(101, failed)), TestRun::Failed(f) if f == ["amd64::x"])
        );
        let passed = "test result: ok. 1 passed; 0 failed; 0 ignored\n";
        assert!(matches!(run_result(&output(0, passed)), TestRun::Passed));
        let none = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored\n";
        assert!(matches!(run_result(&output(0, none)), TestRun::NotRun(_)));
        assert!(matches!(run_result(&output(101, "")), TestRun::NotRun(_)));
    }
}
