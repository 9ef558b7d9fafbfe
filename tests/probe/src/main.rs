//! pause-probe: `pause-probe NR ARG0 PROGRAM ARGS...` installs a seccomp filter under which
//! system call NR fails with EPERM (only when its first argument is ARG0, unless ARG0 is
//! `-`), then executes PROGRAM with ARGS. The real-kernel suite uses it to refuse pause's
//! blocking call, or one of its rt_sigaction calls, on a guest where busybox is all there
//! is. It runs as root there, so the filter needs no no_new_privs.
//!
//! It stands on pause's own `arch/` seam (entry, raw syscall instruction) and adds only the
//! two calls it makes, whose numbers the harness checks against the `syscalls` crate.
#![no_std]
#![no_main]
// As in pause's src/main.rs: arch/'s `asm!` where it is unstable.
#![cfg_attr(pause_asm_experimental_arch, feature(asm_experimental_arch))]

#[path = "../../../arch/mod.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "pause's seam; the probe needs its entry and two of its calls"
)]
mod arch;

/// The numbers of the calls the probe makes beyond pause's own: prctl and execve, both
/// below 256 on s390x, which encodes the number in its `svc` instruction.
mod nr {
    #[cfg(target_arch = "x86_64")]
    pub const PRCTL_EXECVE: (usize, usize) = (157, 59);
    #[cfg(target_arch = "x86")]
    pub const PRCTL_EXECVE: (usize, usize) = (172, 11);
    #[cfg(target_arch = "arm")]
    pub const PRCTL_EXECVE: (usize, usize) = (172, 11);
    #[cfg(any(
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "loongarch64"
    ))]
    pub const PRCTL_EXECVE: (usize, usize) = (167, 221);
    #[cfg(target_arch = "s390x")]
    pub const PRCTL_EXECVE: (usize, usize) = (172, 11);
    #[cfg(target_arch = "powerpc64")]
    pub const PRCTL_EXECVE: (usize, usize) = (171, 11);
    #[cfg(target_arch = "mips")]
    pub const PRCTL_EXECVE: (usize, usize) = (4192, 4011);
    #[cfg(target_arch = "mips64")]
    pub const PRCTL_EXECVE: (usize, usize) = (5153, 5057);
    pub const PRCTL: usize = PRCTL_EXECVE.0;
    pub const EXECVE: usize = PRCTL_EXECVE.1;
    pub const EXIT_GROUP: usize = crate::arch::nr::EXIT_GROUP;
}

const PR_SET_SECCOMP: usize = 22;
const SECCOMP_MODE_FILTER: usize = 2;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO_EPERM: u32 = 0x0005_0000 | 1;
/// `struct seccomp_data`: the number at 0, args[0] (a u64) at 16; its low half is the word
/// a 32-bit comparison wants, at 16 on little-endian machines and 20 on big-endian ones.
const NR_OFFSET: u32 = 0;
const ARG0_LOW_OFFSET: u32 = if cfg!(target_endian = "big") { 20 } else { 16 };

/// A classic BPF instruction (`struct sock_filter`).
#[repr(C)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

const LD_ABS_W: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// `struct sock_fprog`.
#[repr(C)]
struct Program {
    len: u16,
    filter: *const Insn,
}

fn exit(code: i32) -> ! {
    // SAFETY: exit_group ends the process.
    unsafe { arch::syscall1_noreturn::<{ nr::EXIT_GROUP }>(code) }
}

/// The decimal number in a NUL-terminated argument; exits 2 on anything else.
fn number(arg: *const u8) -> u32 {
    let (mut n, mut i) = (0u32, 0);
    loop {
        // SAFETY: `arg` is a NUL-terminated argv string; the loop stops at the NUL.
        let b = unsafe { *arg.add(i) };
        match b {
            0 if i > 0 => return n,
            b'0'..=b'9' => n = n * 10 + u32::from(b - b'0'),
            _ => exit(2),
        }
        i += 1;
    }
}

/// Entered from `arch::_start` with the initial stack pointer: argc, argv..., NULL, envp.
///
/// # Safety
/// `sp` must be the stack pointer as the kernel left it at process entry.
unsafe extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: per the ELF process-entry ABI, argc is at `sp`, argv follows with a NULL after
    // it, then envp; all live for the life of the process.
    let (argc, argv) = unsafe { (*sp, sp.add(1).cast::<*const u8>()) };
    if argc < 4 {
        exit(2);
    }
    // SAFETY: argc >= 4, so argv[1..4] are strings; envp starts after argv's NULL.
    let (call, arg0, program, envp) =
        unsafe { (*argv.add(1), *argv.add(2), argv.add(3), argv.add(argc + 1)) };
    let call = number(call);
    // SAFETY: `arg0` is a NUL-terminated argv string of at least one byte.
    let any_arg0 = unsafe { *arg0 == b'-' && *arg0.add(1) == 0 };
    // With any first argument, the number alone decides: a match jumps straight to EPERM.
    let (on_match, arg0) = match any_arg0 {
        true => (2, 0),
        false => (0, number(arg0)),
    };
    let filter = [
        insn(LD_ABS_W, 0, 0, NR_OFFSET),
        insn(JEQ_K, on_match, 3, call),
        insn(LD_ABS_W, 0, 0, ARG0_LOW_OFFSET),
        insn(JEQ_K, 0, 1, arg0),
        insn(RET_K, 0, 0, SECCOMP_RET_ERRNO_EPERM),
        insn(RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ];
    let fprog = Program {
        len: filter.len() as u16,
        filter: filter.as_ptr(),
    };
    let fprog = core::ptr::from_ref(&fprog) as usize;
    // SAFETY: the kernel copies the filter `fprog` describes, which lives on this stack.
    // Unchecked: prctl's 0 is success, and an error is nonzero however the arch reports it.
    let installed = unsafe {
        arch::syscall3_unchecked::<{ nr::PRCTL }>(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog)
    };
    if installed != 0 {
        exit(3);
    }
    // SAFETY: `program` points at argv[3..], NULL-terminated, and `envp` at the environment.
    unsafe {
        arch::syscall3_unchecked::<{ nr::EXECVE }>(
            *program as usize,
            program as usize,
            envp as usize,
        )
    };
    exit(127)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(101)
}
