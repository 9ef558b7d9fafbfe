//! Link flags for the probe: a static, non-PIE executable (linker/cargo.toml selects rust-lld
//! and the static relocation model). Given to the binary only, as pause's build.rs does.

fn main() {
    for arg in [
        "-static",
        "--no-pie",
        // lld's default entry is `_start` everywhere but MIPS, where it is `__start`.
        "--entry=_start",
        "--build-id=none",
        "-z",
        "noexecstack",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
