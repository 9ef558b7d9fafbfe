//! Link flags for the pause binary (ld.lld syntax: linker/cargo.toml selects rust-lld).
//! Given to the binary only, so a host `cargo check`/`clippy` of this crate never links.

fn main() {
    let script = format!("{}/linker/pause.ld", env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed={script}");
    for arg in [
        "-static",
        "--no-pie",
        // Sections need no page alignment in the file: one segment, no padding.
        "--nmagic",
        "--build-id=none",
        "--no-eh-frame-hdr",
        "--gc-sections",
        "-z",
        "noexecstack",
        &format!("-T{script}"),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
