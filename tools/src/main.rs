//! Std-side tools for pause, kept in their own workspace member so the binary's build never
//! sees a std crate: `image` writes the multi-arch OCI image with its SBOM and provenance,
//! `verify` rebuilds a published image's commit and compares, `bench` measures pause against
//! its peers, `keygen` makes the release signing key and `release` publishes a signed image.

mod artifact;
#[cfg(feature = "bench")]
mod bench;
mod built;
mod command;
mod deps;
mod image;
mod keygen;
mod layout;
mod mutants;
mod platform;
mod provenance;
mod published;
mod release;
mod sbom;
mod signature;
mod verify;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("image") => image::main(&args[1..]),
        #[cfg(feature = "bench")]
        Some("bench") => bench::main(&args[1..]),
        #[cfg(not(feature = "bench"))]
        Some("bench") => Err(anyhow::anyhow!(
            "built without the bench: `just bench` runs it (feature `bench`)"
        )),
        Some("verify") => verify::main(&args[1..]),
        Some("keygen") => keygen::main(&args[1..]),
        Some("release") => release::main(&args[1..]),
        Some("deps") => deps::main(&args[1..]),
        Some("mutants") => mutants::main(&args[1..]),
        _ => {
            eprintln!(
                "usage: pause-tools image|bench|verify|keygen|release|deps|mutants [options] (pause itself: `./run` runs it)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pause-tools: {e:#}");
            ExitCode::FAILURE
        }
    }
}
