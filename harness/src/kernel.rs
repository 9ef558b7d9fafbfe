//! The real kernels the real-kernel suite boots each architecture on (tests/kernels/), and
//! how qemu-system boots each.
//!
//! The kernels, as measured to boot here (see shared notes): bookworm's 6.1, trixie's for
//! riscv64, which bookworm does not release, and forky's for loong64, which Debian's main
//! archive carries from Debian 14 on (before, it was a ports architecture).

/// A Debian kernel and how qemu-system boots it (tests/kernels/ does).
pub struct Kernel {
    /// Debian's name for the architecture, and the release whose kernel and busybox-static
    /// the guest gets.
    pub debian_arch: &'static str,
    pub suite: &'static str,
    /// The kernel's metapackage: its Depends names the package of the current ABI.
    pub package: &'static str,
    pub qemu_system: &'static str,
    /// qemu-system's machine (and CPU) arguments.
    pub machine: &'static [&'static str],
    pub console: &'static str,
    /// Kernel arguments this guest needs besides the console and init.
    pub append: &'static str,
    /// The device tree qemu hands the kernel, by its name among the package's own
    /// (`/usr/lib/linux-image-ABI/`), for a board qemu describes by none of its own.
    pub dtb: Option<&'static str>,
}

pub const AMD64: Kernel = Kernel {
    debian_arch: "amd64",
    suite: "bookworm",
    package: "linux-image-amd64",
    qemu_system: "qemu-system-x86_64",
    machine: &["-M", "pc"],
    console: "ttyS0",
    append: "",
    dtb: None,
};
pub const ARM64: Kernel = Kernel {
    debian_arch: "arm64",
    suite: "bookworm",
    package: "linux-image-arm64",
    qemu_system: "qemu-system-aarch64",
    machine: &["-M", "virt", "-cpu", "cortex-a57"],
    console: "ttyAMA0",
    append: "",
    dtb: None,
};
/// armhf's multiplatform kernel, on an ARMv7 CPU. It also runs the Thumb-1 build for v5:
/// Debian's only ARMv5 kernel (armel's marvell) is for Kirkwood boards, which qemu-system
/// does not model, so the ARM926 itself is emulated by qemu-user only.
pub const ARMMP: Kernel = Kernel {
    debian_arch: "armhf",
    suite: "bookworm",
    package: "linux-image-armmp",
    qemu_system: "qemu-system-arm",
    machine: &["-M", "virt", "-cpu", "cortex-a15"],
    console: "ttyAMA0",
    append: "",
    dtb: None,
};
/// armel's Raspberry Pi kernel on qemu's Raspberry Pi A+, whose ARM1176 is the Pi Zero
/// and 1's core: the v6 build on its own CPU and kernel. qemu models no power-management
/// block of the BCM2835, whose driver faults probing it: that driver is not started.
///
/// The BCM2835's only clock-event device is its system timer, which interrupts when its
/// counter *equals* a compare register. The kernel sets that register 15 µs or more ahead;
/// without `-icount` the emulated counter follows the host's clock, so a host that
/// preempts qemu for longer between the kernel's read and write puts the compare behind
/// the counter, the interrupt comes only when the 32-bit counter wraps (71 minutes), and
/// the guest idles in WFI forever (measured: 4 of 24 boots, 3 at once on 2 cores; CI hit
/// it once). With `-icount` guest time counts instructions, so no host delay falls
/// between the two (0 of 90 such boots).
pub const RPI: Kernel = Kernel {
    debian_arch: "armel",
    suite: "bookworm",
    package: "linux-image-rpi",
    qemu_system: "qemu-system-arm",
    machine: &["-M", "raspi1ap", "-icount", "shift=auto"],
    console: "ttyAMA0",
    append: "initcall_blacklist=bcm2835_pm_driver_init",
    dtb: Some("bcm2835-rpi-a-plus.dtb"),
};
pub const I386: Kernel = Kernel {
    debian_arch: "i386",
    suite: "bookworm",
    package: "linux-image-686-pae",
    qemu_system: "qemu-system-i386",
    machine: &["-M", "pc"],
    console: "ttyS0",
    append: "",
    dtb: None,
};
pub const RISCV64: Kernel = Kernel {
    debian_arch: "riscv64",
    suite: "trixie",
    package: "linux-image-riscv64",
    qemu_system: "qemu-system-riscv64",
    machine: &["-M", "virt"],
    console: "ttyS0",
    append: "",
    dtb: None,
};
pub const S390X: Kernel = Kernel {
    debian_arch: "s390x",
    suite: "bookworm",
    package: "linux-image-s390x",
    qemu_system: "qemu-system-s390x",
    machine: &["-M", "s390-ccw-virtio"],
    console: "ttysclp0",
    append: "",
    dtb: None,
};
pub const PPC64EL: Kernel = Kernel {
    debian_arch: "ppc64el",
    suite: "bookworm",
    package: "linux-image-powerpc64le",
    qemu_system: "qemu-system-ppc64",
    machine: &["-M", "pseries", "-cpu", "power9"],
    console: "hvc0",
    append: "",
    dtb: None,
};
/// qemu's virt machine has no i8042 keyboard controller, yet the kernel (7.2) probes its
/// legacy ports and faults there, killing the boot: that driver is not started.
pub const LOONG64: Kernel = Kernel {
    debian_arch: "loong64",
    suite: "forky",
    package: "linux-image-loong64",
    qemu_system: "qemu-system-loongarch64",
    machine: &["-M", "virt"],
    console: "ttyS0",
    append: "initcall_blacklist=i8042_init",
    dtb: None,
};
/// Malta, the MIPS evaluation board qemu models, with a 24Kc (MIPS32r2) CPU.
pub const MIPSEL: Kernel = Kernel {
    debian_arch: "mipsel",
    suite: "bookworm",
    package: "linux-image-4kc-malta",
    qemu_system: "qemu-system-mipsel",
    machine: &["-M", "malta", "-cpu", "24Kc"],
    console: "ttyS0",
    append: "",
    dtb: None,
};
/// Malta with a MIPS64r2 CPU.
pub const MIPS64EL: Kernel = Kernel {
    debian_arch: "mips64el",
    suite: "bookworm",
    package: "linux-image-5kc-malta",
    qemu_system: "qemu-system-mips64el",
    machine: &["-M", "malta", "-cpu", "MIPS64R2-generic"],
    console: "ttyS0",
    append: "",
    dtb: None,
};
