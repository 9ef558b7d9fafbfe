//! The signals pause handles on one architecture, read from the sources that define them:
//! SIGINT and SIGTERM from src/sys.rs, SIGCHLD and the sigset size from the table in
//! arch/mod.rs that the arch's file re-exports (`generic` or `mips`), or from that file
//! itself. The harness's expectations (the SigCgt mask a real kernel shows) then have no
//! second copy of a number that differs by arch.

use std::fs;

use crate::arch::Arch;
use crate::workspace::workspace;

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
        let seam = source("arch/mod.rs");
        // The table the file re-exports, or the file itself.
        let table = own.lines().find_map(|line| {
            let name = line.trim().strip_prefix("pub use super::")?;
            let name = name.strip_suffix("::{SIGCHLD, SIGSET_SIZE};")?;
            let block = seam.split(&format!("\npub mod {name} {{\n")).nth(1);
            let block = block.unwrap_or_else(|| panic!("arch/mod.rs: no `pub mod {name}`"));
            Some(block.split("\n}").next().unwrap().to_string())
        });
        let defined = table.as_deref().unwrap_or(&own);
        let arch_fact = |name: &str, kind: &str| {
            constant(defined, name, kind)
                .unwrap_or_else(|| panic!("{file}: neither defines nor re-exports {name}"))
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
