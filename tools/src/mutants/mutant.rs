//! A mutant: its patch in `tests/mutants/`, read from the header lines the module doc of
//! `mutants` describes, and what running it came to. The ground the runner and the scratch
//! tree share.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use pause_harness::{ALL, Arch};

/// One `tests/mutants/<name>.patch`.
pub(super) struct Mutant {
    pub(super) name: String,
    pub(super) arch: &'static Arch,
    pub(super) tests: Vec<TestRef>,
    /// The paths the diff changes (its `+++ b/` lines).
    pub(super) files: Vec<String>,
    pub(super) patch: std::path::PathBuf,
}

/// `BINARY::FILTER`: `cargo test -p pause-tests --test BINARY -- FILTER`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TestRef {
    pub(super) binary: String,
    pub(super) filter: String,
}

impl std::fmt::Display for TestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}::{}", self.binary, self.filter)
    }
}

pub(super) enum Outcome {
    /// By this test (`binary::name`).
    Killed(String),
    Survived,
    Error(String),
}

/// The named mutants, or all of them, in name order.
pub(super) fn load(dir: &Path, names: &[String]) -> Result<Vec<Mutant>> {
    let mut all = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(name) = name.strip_suffix(".patch") else {
            bail!("{}: not a .patch", path.display())
        };
        if names.is_empty() || names.iter().any(|n| n == name) {
            let text = fs::read_to_string(&path)?;
            all.push(parse(name, &text, &path).with_context(|| format!("{}", path.display()))?);
        }
    }
    for name in names {
        ensure!(
            all.iter().any(|m| &m.name == name),
            "no mutant {name} in {}",
            dir.display()
        );
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

fn parse(name: &str, text: &str, path: &Path) -> Result<Mutant> {
    let (mut bug, mut arch, mut tests) = (None, None, None);
    for line in text.lines().take_while(|l| !l.starts_with("--- ")) {
        if let Some(v) = line.strip_prefix("Bug: ") {
            bug = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("Arch: ") {
            let found = ALL.iter().copied().find(|a| a.name == v.trim());
            arch =
                Some(found.with_context(|| format!("Arch: {v} is not in pause-harness's list"))?);
        } else if let Some(v) = line.strip_prefix("Tests: ") {
            let parse = |t: &str| {
                let (binary, filter) = t.split_once("::")?;
                Some(TestRef {
                    binary: binary.into(),
                    filter: filter.into(),
                })
            };
            let parsed: Option<Vec<TestRef>> = v.split_whitespace().map(parse).collect();
            tests = Some(parsed.context("Tests: each is BINARY::FILTER")?);
        } else {
            ensure!(line.trim().is_empty(), "not a header line: {line}");
        }
    }
    ensure!(bug.is_some_and(|b| !b.is_empty()), "no `Bug:` line");
    let files: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(|p| p.split('\t').next().unwrap_or(p).to_string())
        .collect();
    ensure!(!files.is_empty(), "no diff (no `+++ b/` line)");
    let tests = tests.context("no `Tests:` line")?;
    ensure!(!tests.is_empty(), "`Tests:` names no test");
    Ok(Mutant {
        name: name.to_string(),
        arch: arch.context("no `Arch:` line")?,
        tests,
        files,
        patch: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// A change to the code a mutant patches must bring the patch along: `just mutants`
    /// would fail on it, but it is not run on every change, and this is a second's check.
    #[test]
    fn every_mutant_reads_and_applies_to_the_checkout() {
        let root = pause_harness::workspace();
        let mutants = super::load(&root.join("tests/mutants"), &[]).unwrap();
        assert!(mutants.len() >= 20, "{} mutants", mutants.len());
        for m in &mutants {
            let out = Command::new("git")
                .current_dir(&root)
                .args(["apply", "--check"])
                .arg(&m.patch)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                m.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
