//! The signals pause handles on one architecture, read from the sources that define them:
//! SIGINT and SIGTERM from src/sys.rs, SIGCHLD from the arch's file in arch/ or, where that
//! file re-exports it, from arch/mod.rs's `generic`. The harness's expectations (the SigCgt
//! mask a real kernel shows) then have no second copy of a number that differs by arch.

use std::fs;

use crate::arch::{Arch, workspace};

/// The numbers of the three signals pause installs a handler for, in its order.
#[derive(Debug, PartialEq)]
pub struct Handled {
    pub int: u32,
    pub term: u32,
    pub chld: u32,
    /// The kernel's sigset_t in bytes (`SIGSET_SIZE`, from the same place as SIGCHLD).
    pub sigset_bytes: u32,
}

impl Handled {
    pub fn of(arch: &Arch) -> Handled {
        let sys = source("src/sys.rs");
        let file = format!("arch/{}", arch.arch_file);
        let own = source(&file);
        // The arch's own, or the generic ones it re-exports.
        let generic = source("arch/mod.rs");
        let generic = generic.split("pub mod generic {").nth(1);
        let generic = generic.expect("arch/mod.rs: no `pub mod generic`");
        let reexports = own.contains("pub use super::generic::{SIGCHLD, SIGSET_SIZE};");
        let arch_fact = |name: &str, kind: &str| {
            let found = match reexports {
                true => constant(generic, name, kind),
                false => constant(&own, name, kind),
            };
            found.unwrap_or_else(|| panic!("{file}: neither defines nor re-exports {name}"))
        };
        let int = constant(&sys, "SIGINT", "i32").expect("src/sys.rs: no SIGINT");
        let term = constant(&sys, "SIGTERM", "i32").expect("src/sys.rs: no SIGTERM");
        Handled {
            int,
            term,
            chld: arch_fact("SIGCHLD", "i32"),
            sigset_bytes: arch_fact("SIGSET_SIZE", "usize"),
        }
    }

    /// `SigCgt` of /proc/PID/status for a process that catches exactly these three: one bit
    /// per signal, bit N-1 for signal N, two hex digits per byte of the sigset (16 or 32).
    pub fn sigcgt(&self) -> String {
        let mask = [self.int, self.term, self.chld]
            .iter()
            .fold(0u128, |mask, n| mask | 1 << (n - 1));
        let digits = 2 * self.sigset_bytes as usize;
        format!("{mask:0digits$x}")
    }
}

fn source(path: &str) -> String {
    fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// N of the first `pub const NAME: KIND = N;` in `text`.
fn constant(text: &str, name: &str, kind: &str) -> Option<u32> {
    let prefix = format!("pub const {name}: {kind} = ");
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(&prefix)?.strip_suffix(';')?;
        Some(
            value
                .parse()
                .unwrap_or_else(|e| panic!("{name} = {value}: {e}")),
        )
    })
}
