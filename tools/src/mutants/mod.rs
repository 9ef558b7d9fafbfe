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
//! makes the exit status non-zero. A whole run that kills every mutant also leaves its
//! summary line in `target/mutants/summary.md`, for the README (`just readme`).

mod mutant;
mod scratch;

use std::fs;
use std::thread::available_parallelism;
use std::time::Instant;

use anyhow::{Result, bail, ensure};
use pause_harness::workspace;

use mutant::{Mutant, Outcome, load};
use scratch::Scratch;

pub fn main(args: &[String]) -> Result<()> {
    ensure!(
        !args.iter().any(|a| a.starts_with('-')),
        "usage: pause-tools mutants [NAME...] (the patches in tests/mutants/)"
    );
    let whole_run = Instant::now();
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
    let tests = started.elapsed().as_secs();
    print_table(&rows, tests)?;
    if args.is_empty() {
        let cores = available_parallelism().map_or(1, |n| n.get());
        let line = summary(rows.len(), whole_run.elapsed().as_secs(), tests, cores);
        fs::write(root.join("target/mutants/summary.md"), line + "\n")?;
    }
    Ok(())
}

/// The README's line on a whole run, every mutant killed.
fn summary(mutants: usize, total: u64, tests: u64, cores: usize) -> String {
    format!(
        "Its last whole run killed {mutants} of {mutants} mutants in {total} s on {cores} cores, \
         {tests} s of it in the mutants' own tests; the rest checks each named test unmutated \
         and builds the test crates in the scratch tree."
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_every_figure() {
        assert_eq!(
            summary(36, 781, 556, 2),
            "Its last whole run killed 36 of 36 mutants in 781 s on 2 cores, 556 s of it in \
             the mutants' own tests; the rest checks each named test unmutated and builds the \
             test crates in the scratch tree."
        );
    }
}
