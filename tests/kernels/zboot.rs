//! EFI zboot kernels: a PE decompressor stub that UEFI runs, with the real image inside.
//! qemu-system boots such a file itself only when it is gzip-compressed (qemu 10.0 says
//! "unable to handle EFI zboot image with "zstd" compression"), and Debian 14's loong64
//! kernel is zstd: the payload is unpacked here and qemu is given the raw image.
//!
//! The header (the kernel's drivers/firmware/efi/libstub/zboot-header.S): "MZ\0\0", "zimg",
//! the payload's offset and size as little-endian u32s, 8 reserved bytes, then the
//! compression's name, NUL-terminated.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `image` itself when it is not zboot; else its payload, decompressed once into the file
/// beside it (`<image>.raw`, kept in the kernel cache).
pub fn unpacked(image: &Path) -> PathBuf {
    let bytes = fs::read(image).unwrap_or_else(|e| panic!("{}: {e}", image.display()));
    if bytes.len() < 32 || &bytes[..2] != b"MZ" || &bytes[4..8] != b"zimg" {
        return image.to_path_buf();
    }
    let beside = |suffix: &str| {
        let mut name = image.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let raw = beside(".raw");
    if raw.is_file() {
        return raw;
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let (offset, size) = (u32_at(8), u32_at(12));
    let name = &bytes[24..32];
    let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
    // The names zboot uses, each also the tool that undoes it.
    let tool = match name {
        b"gzip" => "gzip",
        b"zstd" => "zstd",
        _ => panic!(
            "{}: zboot compression {name:?} not handled",
            image.display()
        ),
    };
    let payload = bytes
        .get(offset..offset + size)
        .unwrap_or_else(|| panic!("{}: zboot payload out of the file", image.display()));
    let partial = beside(".raw.partial");
    let mut child = Command::new(pause_harness::which(tool))
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(fs::File::create(&partial).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    child.stdin.take().unwrap().write_all(payload).unwrap();
    assert!(
        child.wait().unwrap().success(),
        "{tool} -dc of {}",
        image.display()
    );
    fs::rename(&partial, &raw).unwrap();
    raw
}
