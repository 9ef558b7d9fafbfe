//! The architectures pause ships for: one list, from which `ALL`, the `per_arch!` test macro
//! and every per-arch fact come; checked against the Justfile's `arches`, which the recipes
//! build from.

use std::fs;
use std::path::{Path, PathBuf};

use crate::kernel::{self as kernels, Kernel};
use crate::skip::{have, which};
use crate::workspace::workspace;

/// One architecture pause ships for.
pub struct Arch {
    /// Go/OCI name: `dist/pause-linux-<name>`.
    pub name: &'static str,
    /// `(architecture, variant)` of its OCI platform in the image, what a pull's platform
    /// request names; the image tool packages each platform under it.
    pub oci_platform: (&'static str, Option<&'static str>),
    /// The Rust target `just dist` builds it for.
    pub target: &'static str,
    /// `target_arch` of that target: the host runs it natively when it is the harness's own.
    pub target_arch: &'static str,
    /// The qemu-user program that runs it on any other host.
    pub qemu: &'static str,
    /// The CPU qemu-user emulates for it (`-cpu`), where its default CPU is not the one the
    /// build is for.
    pub qemu_cpu: Option<&'static str>,
    /// `e_machine` in the ELF header.
    pub machine: u16,
    /// `e_flags` in the ELF header: the ABI, which the kernel reads (ARM's EABI, ppc64's
    /// ELFv2 entry point, MIPS's o32 and its ISA with no PT_MIPS_ABIFLAGS to say more).
    pub e_flags: u32,
    /// The file in arch/ that implements it.
    pub arch_file: &'static str,
    /// The syscall it blocks in.
    pub block: &'static str,
    /// Size ceiling of the shipped file, in bytes: a regression guard just above today's size
    /// (see the README for where the bytes go).
    pub budget: u64,
    /// The syscall number for a name on this architecture, from the `syscalls` crate.
    pub sysno: fn(&str) -> Option<i64>,
    /// The real kernel the real-kernel suite boots it on.
    pub kernel: &'static Kernel,
}

/// The number of syscall `$name` on one architecture, from the `syscalls` crate.
macro_rules! sysno_of {
    ($arch:ident) => {
        |name| {
            name.parse::<syscalls::$arch::Sysno>()
                .ok()
                .map(|s| s.id().into())
        }
    };
}

/// The one list: `module CONST { facts }` per architecture, in the Justfile's order. It
/// defines each `Arch` const, `ALL`, and `per_arch!`, so that an architecture added here
/// gets every per-arch test. (`$d` is a `$` handed in, for the inner macro's own variables.)
macro_rules! arches {
    ($d:tt $($module:ident $konst:ident { $($fact:ident: $value:expr),* $(,)? })*) => {
        $(pub const $konst: Arch = Arch { $($fact: $value),* };)*

        pub const ALL: &[&Arch] = &[$(&$konst),*];

        /// Expands to one `#[test]` per architecture for each named `fn(&Arch)` in the
        /// calling file, in modules named after the architecture: `cargo test arm64::` runs
        /// one arch.
        #[macro_export]
        macro_rules! per_arch {
            ($d($d test:ident),* $d(,)?) => {
                $(
                    mod $module {
                        $d(
                            #[test]
                            fn $d test() {
                                super::$d test(&$d crate::$konst)
                            }
                        )*
                    }
                )*
            };
        }
    };
}

arches! {$
    amd64 AMD64 {
        name: "amd64",
        oci_platform: ("amd64", None),
        target: "x86_64-unknown-linux-gnu",
        target_arch: "x86_64",
        qemu: "qemu-x86_64-static",
        qemu_cpu: None,
        machine: em::X86_64,
        e_flags: 0,
        arch_file: "x86_64.rs",
        block: "pause",
        budget: 656,
        sysno: sysno_of!(x86_64),
        kernel: &kernels::AMD64,
    }
    arm64 ARM64 {
        name: "arm64",
        oci_platform: ("arm64", Some("v8")),
        target: "aarch64-unknown-linux-gnu",
        target_arch: "aarch64",
        qemu: "qemu-aarch64-static",
        qemu_cpu: None,
        machine: em::AARCH64,
        e_flags: 0,
        arch_file: "aarch64.rs",
        block: "ppoll",
        budget: 720,
        sysno: sysno_of!(aarch64),
        kernel: &kernels::ARM64,
    }
    arm ARM {
        name: "arm",
        oci_platform: ("arm", Some("v7")),
        target: "thumbv7neon-unknown-linux-gnueabihf",
        target_arch: "arm",
        qemu: "qemu-arm-static",
        qemu_cpu: None,
        machine: em::ARM,
        e_flags: 0x0500_0400,
        arch_file: "arm.rs",
        block: "pause",
        budget: 560,
        sysno: sysno_of!(arm),
        kernel: &kernels::ARMMP,
    }
    i386 I386 {
        name: "386",
        oci_platform: ("386", None),
        target: "i686-unknown-linux-gnu",
        target_arch: "x86",
        qemu: "qemu-i386-static",
        qemu_cpu: None,
        machine: em::I386,
        e_flags: 0,
        arch_file: "x86.rs",
        block: "pause",
        budget: 592,
        sysno: sysno_of!(x86),
        kernel: &kernels::I386,
    }
    riscv64 RISCV64 {
        name: "riscv64",
        oci_platform: ("riscv64", None),
        target: "riscv64gc-unknown-linux-gnu",
        target_arch: "riscv64",
        qemu: "qemu-riscv64-static",
        qemu_cpu: None,
        machine: em::RISCV,
        e_flags: 0x5,
        arch_file: "riscv64.rs",
        block: "ppoll",
        budget: 656,
        sysno: sysno_of!(riscv64),
        kernel: &kernels::RISCV64,
    }
    s390x S390X {
        name: "s390x",
        oci_platform: ("s390x", None),
        target: "s390x-unknown-linux-gnu",
        target_arch: "s390x",
        qemu: "qemu-s390x-static",
        qemu_cpu: None,
        machine: em::S390,
        e_flags: 0,
        arch_file: "s390x.rs",
        block: "pause",
        budget: 672,
        sysno: sysno_of!(s390x),
        kernel: &kernels::S390X,
    }
    ppc64le PPC64LE {
        name: "ppc64le",
        oci_platform: ("ppc64le", None),
        target: "powerpc64le-unknown-linux-gnu",
        target_arch: "powerpc64",
        qemu: "qemu-ppc64le-static",
        qemu_cpu: None,
        machine: em::PPC64,
        e_flags: 0x2,
        arch_file: "powerpc64.rs",
        block: "pause",
        // Its ELFv2 code is wordy: 4-byte instructions, two for a constant, a TOC-setup
        // entry and trailing padding per function, and a 16-byte error fix-up per syscall.
        budget: 896,
        sysno: sysno_of!(powerpc64),
        kernel: &kernels::PPC64EL,
    }
    arm_v6 ARM_V6 {
        name: "arm-v6",
        oci_platform: ("arm", Some("v6")),
        target: "thumbv5te-none-eabi",
        target_arch: "arm",
        qemu: "qemu-arm-static",
        // The ARM1176 of a Raspberry Pi Zero or 1: no Thumb-2, so not the `arm` build.
        qemu_cpu: Some("arm1176"),
        machine: em::ARM,
        e_flags: 0x0500_0200,
        arch_file: "arm.rs",
        block: "pause",
        budget: 544,
        sysno: sysno_of!(arm),
        kernel: &kernels::RPI,
    }
    arm_v5 ARM_V5 {
        name: "arm-v5",
        oci_platform: ("arm", Some("v5")),
        target: "thumbv5te-none-eabi",
        target_arch: "arm",
        qemu: "qemu-arm-static",
        qemu_cpu: Some("arm926"),
        machine: em::ARM,
        e_flags: 0x0500_0200,
        arch_file: "arm.rs",
        block: "pause",
        budget: 544,
        sysno: sysno_of!(arm),
        kernel: &kernels::ARMMP,
    }
    loong64 LOONG64 {
        name: "loong64",
        oci_platform: ("loong64", None),
        target: "loongarch64-unknown-linux-gnu",
        target_arch: "loongarch64",
        qemu: "qemu-loongarch64-static",
        qemu_cpu: None,
        machine: em::LOONGARCH,
        e_flags: 0x43,
        arch_file: "loongarch64.rs",
        block: "ppoll",
        budget: 768,
        sysno: sysno_of!(loongarch64),
        kernel: &kernels::LOONG64,
    }
    mipsle MIPSLE {
        name: "mipsle",
        oci_platform: ("mipsle", None),
        target: "mipsel-unknown-linux-gnu",
        target_arch: "mips",
        qemu: "qemu-mipsel-static",
        // A MIPS32r2 core of the routers (qemu's default, from the ELF header, is a 24Kf).
        qemu_cpu: Some("24Kc"),
        machine: em::MIPS,
        e_flags: 0x7000_1005,
        arch_file: "mips.rs",
        block: "pause",
        budget: 784,
        sysno: sysno_of!(mips),
        kernel: &kernels::MIPSEL,
    }
    mips64le MIPS64LE {
        name: "mips64le",
        oci_platform: ("mips64le", None),
        target: "mips64el-unknown-linux-gnuabi64",
        target_arch: "mips64",
        qemu: "qemu-mips64el-static",
        qemu_cpu: Some("MIPS64R2-generic"),
        machine: em::MIPS,
        e_flags: 0x8000_0005,
        arch_file: "mips64.rs",
        block: "pause",
        budget: 960,
        sysno: sysno_of!(mips64),
        kernel: &kernels::MIPS64EL,
    }
}

/// ELF machine numbers (`e_machine`).
mod em {
    pub const I386: u16 = 3;
    pub const MIPS: u16 = 8;
    pub const PPC64: u16 = 21;
    pub const S390: u16 = 22;
    pub const ARM: u16 = 40;
    pub const X86_64: u16 = 62;
    pub const AARCH64: u16 = 183;
    pub const RISCV: u16 = 243;
    pub const LOONGARCH: u16 = 258;
}

impl Arch {
    pub fn binary(&self) -> PathBuf {
        let path = workspace()
            .join("dist")
            .join(format!("pause-linux-{}", self.name));
        assert!(
            path.is_file(),
            "{} is missing: run `just dist` first",
            path.display()
        );
        path
    }

    /// The build this host runs natively (the first in the list, where several share the
    /// host's instruction set).
    pub fn host() -> &'static Arch {
        ALL.iter()
            .copied()
            .find(|a| a.native())
            .expect("no build for this host")
    }

    /// `(architecture, variant)` of its OCI platform.
    pub fn platform(&self) -> (&'static str, Option<&'static str>) {
        self.oci_platform
    }

    /// The platform as `--platform` takes it: `linux/arm/v6`.
    pub fn os_arch_variant(&self) -> String {
        match self.platform() {
            (arch, Some(variant)) => format!("linux/{arch}/{variant}"),
            (arch, None) => format!("linux/{arch}"),
        }
    }

    /// Whether this host's kernel runs it directly, without qemu-user.
    pub fn native(&self) -> bool {
        self.target_arch == std::env::consts::ARCH
    }

    /// The qemu-user program that runs it here; `None` when the host runs it natively.
    pub fn emulator(&self) -> Option<&'static str> {
        (!self.native()).then_some(self.qemu)
    }

    /// Whether this arch can run here: natively, or with its qemu-user installed.
    pub fn runnable(&self) -> bool {
        self.emulator()
            .is_none_or(|q| have(q, "to run foreign architectures"))
    }

    /// The argv that runs pause with `args`; under qemu, `log` receives qemu's -strace.
    pub fn argv(&self, log: &Path, args: &[&str]) -> Vec<String> {
        let mut argv = Vec::new();
        if let Some(qemu) = self.emulator() {
            argv.extend([
                qemu.into(),
                "-D".into(),
                log.display().to_string(),
                "-strace".into(),
            ]);
            if let Some(cpu) = self.qemu_cpu {
                argv.extend(["-cpu".into(), cpu.into()]);
            }
        }
        argv.push(self.binary().display().to_string());
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }

    /// The file a process running pause executes: pause itself, or its qemu-user program,
    /// with symlinks resolved as /proc/PID/exe shows them (qemu 10's `qemu-*-static` are
    /// links to `qemu-*`).
    pub fn executable(&self) -> PathBuf {
        let program = match self.emulator() {
            Some(qemu) => which(qemu),
            None => self.binary(),
        };
        fs::canonicalize(&program).unwrap_or_else(|e| panic!("{}: {e}", program.display()))
    }
}

/// The `pub mod nr` of this arch's file in arch/, as (lower-case name, number) pairs: the
/// system calls pause makes there. Every line in it must read `pub const NAME: usize = N;`,
/// so that no entry can be overlooked.
pub fn nr_table(arch: &Arch) -> Vec<(String, i64)> {
    let file = arch.arch_file;
    let source = fs::read_to_string(workspace().join("arch").join(file)).unwrap();
    let block = source.split("pub mod nr {").nth(1);
    let block = block.unwrap_or_else(|| panic!("{file}: no `pub mod nr`"));
    let block = block.split('}').next().unwrap();
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let decl = line
                .strip_prefix("pub const ")
                .and_then(|d| d.strip_suffix(';'))
                .and_then(|d| d.split_once(": usize = "));
            let (name, value) =
                decl.unwrap_or_else(|| panic!("{file}: not `pub const NAME: usize = N;`: {line}"));
            let value = value
                .parse()
                .unwrap_or_else(|e| panic!("{file}: {line}: {e}"));
            (name.to_lowercase(), value)
        })
        .collect()
}
