//! Facts about the shipped files, read with goblin: static non-PIE executables, their ABI in
//! e_flags, with no interpreter, no dynamic section, no writable and executable memory, a
//! non-executable stack, no section headers, and within their size budgets; and the memory
//! map the kernel gives the running file.

use std::fs;

use goblin::elf::{Elf, header, program_header as ph};
use nix::sys::signal::Signal;
use pause_harness::*;

fn elf_facts(arch: &'static Arch) {
    let path = arch.binary();
    let bytes = std::fs::read(&path).unwrap();
    let elf = Elf::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = arch.name;

    assert_eq!(
        elf.header.e_type,
        header::ET_EXEC,
        "{name}: not a static non-PIE executable"
    );
    assert_eq!(elf.header.e_machine, arch.machine, "{name}: wrong machine");
    assert_eq!(
        elf.header.e_flags, arch.e_flags,
        "{name}: e_flags {:#x}, the kernel reads the ABI from them",
        elf.header.e_flags
    );
    assert_eq!(
        elf.header.e_shnum, 0,
        "{name}: section headers should be stripped"
    );
    for kind in [ph::PT_INTERP, ph::PT_DYNAMIC, ph::PT_TLS] {
        assert!(
            !elf.program_headers.iter().any(|p| p.p_type == kind),
            "{name}: has {kind}"
        );
    }
    for p in &elf.program_headers {
        assert!(
            !(p.is_write() && p.is_executable()),
            "{name}: W+X segment {p:?}"
        );
    }
    let stack = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == ph::PT_GNU_STACK);
    let stack = stack.unwrap_or_else(|| panic!("{name}: no PT_GNU_STACK"));
    assert!(!stack.is_executable(), "{name}: executable stack");

    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == ph::PT_LOAD)
        .collect();
    assert!(
        loads
            .iter()
            .any(|p| p.is_executable() && p.vm_range().contains(&(elf.entry as usize))),
        "{name}: entry point outside the code"
    );
    // Every loaded byte is in the file, and nothing is writable.
    for p in &loads {
        assert!(!p.is_write(), "{name}: writable segment {p:?}");
        assert!(
            p.p_offset + p.p_filesz <= bytes.len() as u64,
            "{name}: segment past EOF"
        );
    }

    let size = bytes.len() as u64;
    assert!(
        size <= arch.budget,
        "{name}: {size} bytes, budget {}",
        arch.budget
    );
}

/// binutils' readelf accepts the header-only layout too.
fn readelf_accepts(arch: &'static Arch) {
    if !have("readelf", "to check that binutils reads the file") {
        return;
    }
    let out = std::process::Command::new("readelf")
        .arg("-lW")
        .arg(arch.binary())
        .output();
    let out = out.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    assert!(
        stdout.contains("GNU_STACK") && stdout.contains("LOAD"),
        "{stdout}"
    );
}

per_arch!(elf_facts, readelf_accepts);

/// The README's size table is what `just readme` makes from the current dist/.
#[test]
fn readme_sizes_are_current() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let block = readme.split("<!-- sizes:begin -->").nth(1).unwrap();
    let block = block.split("<!-- sizes:end -->").next().unwrap();
    for arch in ALL {
        let size = std::fs::metadata(arch.binary()).unwrap().len();
        let row = format!("| {} | {size} |", arch.name);
        assert!(
            block.contains(&row),
            "README lacks `{row}`: run `just readme`"
        );
    }
}

/// The harness tests exactly the architectures the Justfile builds, for the same targets,
/// in its order.
#[test]
fn harness_covers_the_justfile_arches() {
    let Some(built) = justfile_arches() else {
        return;
    };
    let tested: Vec<(String, String)> = ALL
        .iter()
        .map(|arch| (arch.name.to_string(), arch.target.to_string()))
        .collect();
    assert_eq!(built, tested);
}

/// The running process's memory: the file's one read+execute segment, the stack, and the
/// kernel's vDSO (and vsyscall) pages. Nothing is writable but the stack, nothing both
/// writable and executable. Native only: under qemu, /proc shows qemu's memory.
#[test]
fn only_the_stack_is_writable() {
    let pause = Pause::start(&AMD64, &[]);
    pause.wait_blocked();
    let maps = fs::read_to_string(format!("/proc/{}/maps", pause.pid)).unwrap();
    let binary = AMD64.binary().display().to_string();
    let mut image = 0;
    for line in maps.lines() {
        // start-end perms offset dev inode [name]
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (perms, name) = (fields[1], fields.get(5).copied().unwrap_or(""));
        let (w, x) = (perms.contains('w'), perms.contains('x'));
        assert!(!(w && x), "writable and executable: {line}\n{maps}");
        if w {
            assert_eq!(name, "[stack]", "writable: {line}\n{maps}");
        }
        if name.starts_with(&binary) {
            assert_eq!(perms, "r-xp", "{line}\n{maps}");
            image += 1;
        } else {
            let kernel = ["[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]"];
            assert!(kernel.contains(&name), "unexpected mapping: {line}\n{maps}");
        }
    }
    assert_eq!(image, 1, "the file should be mapped once:\n{maps}");
    pause.signal(Signal::SIGTERM);
    assert_eq!(pause.wait().status.code(), Some(0));
}
