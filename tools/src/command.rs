//! The programs the tools run to an end (git, skopeo, just, rustc): what they print when they
//! succeed, and when they fail one error line naming the command and quoting its stderr.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, ensure};

/// Runs `cmd` to its end, stdin closed: its output if it exits 0, else the error
/// "WHAT: its stderr".
pub fn output(cmd: &mut Command, what: &str) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program} (`just setup` installs what the tools run)"))?;
    ensure!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(out)
}

/// The stdout of `cmd`, which must succeed (as `output`), without its trailing whitespace
/// only: `git status --porcelain` lines begin with a space when only the index is clean.
pub fn stdout(cmd: &mut Command, what: &str) -> Result<String> {
    Ok(String::from_utf8(output(cmd, what)?.stdout)?
        .trim_end()
        .to_string())
}

/// The stdout of `git ARGS` in `dir`, which must succeed.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let what = format!("git {}", args.join(" "));
    stdout(Command::new("git").current_dir(dir).args(args), &what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_the_command_and_its_stderr() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo 'no such thing' >&2; exit 3"]);
        let error = output(&mut cmd, "sh -c").unwrap_err();
        assert_eq!(format!("{error:#}"), "sh -c: no such thing");
    }

    #[test]
    fn a_program_that_cannot_start_is_named() {
        let error = output(&mut Command::new("/nonexistent/skopeo"), "skopeo").unwrap_err();
        let line = format!("{error:#}");
        assert!(line.starts_with("running /nonexistent/skopeo ("), "{line}");
    }

    #[test]
    fn stdout_keeps_leading_spaces() {
        let mut cmd = Command::new("printf");
        cmd.arg(" M file\n\n");
        assert_eq!(stdout(&mut cmd, "printf").unwrap(), " M file");
    }
}
