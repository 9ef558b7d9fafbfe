//! `pause-tools mutants [NAME...]` (`just mutants`): the bugs a pause can plausibly have, each
//! a patch in `tests/mutants/`, and proof that the suite catches every one. A patch opens
//! with three header lines, then the unified diff (`git apply` and `patch -p1` skip text
//! before the first `---`):
//!
//! ```text
//! Bug: what bug it is, in one line
//! Arch: the build to rebuild with it (a name from pause-harness's list: amd64, arm-v6...)
//! Tests: BINARY::FILTER... (pause-tests' test binaries, and libtest filters within them)
//! ```
//!
//! Each mutant is applied to a scratch copy of HEAD's tree (see `scratch`), only its arch
//! is rebuilt, and its tests are run in order until one fails: that test killed it. A
//! mutant that no test kills survived, which means a test is missing. A patch that does not
//! apply, does not build, or leaves the binary byte for byte as it was is an error: it
//! proves nothing. The table, one row per mutant, goes to stdout; any survivor or error
//! makes the exit status non-zero.

mod scratch;

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use pause_harness::{ALL, Arch, workspace};

use scratch::Scratch;

/// One `tests/mutants/<name>.patch`.
pub struct Mutant {
    name: String,
    arch: &'static Arch,
    tests: Vec<TestRef>,
    /// The paths the diff changes (its `+++ b/` lines).
    files: Vec<String>,
    patch: std::path::PathBuf,
}

/// `BINARY::FILTER`: `cargo test -p pause-tests --test BINARY -- FILTER`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestRef {
    binary: String,
    filter: String,
}

impl std::fmt::Display for TestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}::{}", self.binary, self.filter)
    }
}

enum Outcome {
    /// By this test (`binary::name`).
    Killed(String),
    Survived,
    Error(String),
}

pub fn main(args: &[String]) -> Result<()> {
    ensure!(
        !args.iter().any(|a| a.starts_with('-')),
        "usage: pause-tools mutants [NAME...] (the patches in tests/mutants/)"
    );
    let root = workspace();
    let mutants = load(&root.join("tests/mutants"), args)?;
    let scratch = Scratch::prepare(&root)?;
    scratch.check_tests(&mutants)?;

    let mut rows = Vec::new();
    let started = Instant::now();
    for mutant in &mutants {
        eprintln!("mutant {} ({})", mutant.name, mutant.arch.name);
        let clock = Instant::now();
        let outcome = scratch.run(mutant);
        let seconds = clock.elapsed().as_secs();
        let said = match &outcome {
            Outcome::Killed(test) => format!("killed by {test}"),
            Outcome::Survived => "SURVIVED".to_string(),
            Outcome::Error(why) => format!("ERROR: {why}"),
        };
        eprintln!("mutant {}: {said}, {seconds} s", mutant.name);
        rows.push((mutant, outcome, seconds));
    }
    print_table(&rows, started.elapsed().as_secs())
}

/// The table, and the status: an error unless every mutant was killed.
fn print_table(rows: &[(&Mutant, Outcome, u64)], total: u64) -> Result<()> {
    println!("| mutant | arch | killed by | seconds |");
    println!("|---|---|---|---:|");
    let (mut survived, mut errors) = (0, 0);
    for (mutant, outcome, seconds) in rows {
        let cell = match outcome {
            Outcome::Killed(test) => format!("`{test}`"),
            Outcome::Survived => {
                survived += 1;
                "**SURVIVED**".to_string()
            }
            Outcome::Error(why) => {
                errors += 1;
                format!("**ERROR**: {}", why.replace('|', "\\|").replace('\n', " "))
            }
        };
        println!(
            "| {} | {} | {cell} | {seconds} |",
            mutant.name, mutant.arch.name
        );
    }
    let killed = rows.len() - survived - errors;
    println!(
        "\n{} mutants: {killed} killed, {survived} survived, {errors} errors, in {total} s",
        rows.len()
    );
    if survived + errors > 0 {
        bail!("{survived} mutants survived and {errors} could not be tested");
    }
    Ok(())
}

/// The named mutants, or all of them, in name order.
fn load(dir: &Path, names: &[String]) -> Result<Vec<Mutant>> {
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
