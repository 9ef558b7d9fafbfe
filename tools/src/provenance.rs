//! The image's build provenance: an in-toto Statement v1 whose predicate is SLSA provenance
//! v1. Its subjects are the platform manifests; it names the builder, the source revision,
//! the materials (the toolchain's `rustc -vV` and `Cargo.lock`'s sha256) and the exact build
//! commands.
//!
//! The commands are not written here: they are the Justfile's, as `just --dry-run` expands
//! them for each platform (the cargo build of `cargo-freestanding`, the objcopy of
//! `build-one`) and for `image`, so they are what `just image` ran at this revision.
//! `$CARGO_TARGET_DIR` and `$LLVM_BIN` stay unexpanded: they name places on the build
//! machine that do not change the bytes. No time of the run is recorded, so a rebuild of the
//! same commit gives the same statement.

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::built::{Built, Meta, json, platform_name};
use crate::command;

/// The kind of build: `just image` from a git checkout, as the Justfile defines it.
const BUILD_TYPE: &str = "urn:pause:build:just-image:v1";
/// Whoever runs `just image`: a local build on their machine, nothing hosted that attests it.
const BUILDER: &str = "urn:pause:builder:local-just";

/// The Rust toolchain that builds the binaries.
pub struct Toolchain {
    /// `rustc -vV`, whole.
    pub version: String,
    /// Its `release:` line (`1.95.0`).
    pub release: String,
    /// Its `commit-hash:` line.
    pub commit: String,
}

impl Toolchain {
    /// The toolchain `rustc` resolves to here, as it does for the Justfile's cargo.
    pub fn of_this_build() -> Result<Toolchain> {
        // Verbatim, its last newline too: the provenance records what rustc printed.
        let version = command::output(Command::new("rustc").arg("-vV"), "rustc -vV")?.stdout;
        let version = String::from_utf8(version)?;
        let field = |name: &str| {
            version
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::to_string)
                .with_context(|| format!("no {name:?} in rustc -vV"))
        };
        Ok(Toolchain {
            release: field("release: ")?,
            commit: field("commit-hash: ")?,
            version: version.clone(),
        })
    }
}

/// The in-toto JSON bytes of the provenance of the platforms `built`.
pub fn statement(built: &[Built], meta: &Meta) -> Result<Vec<u8>> {
    let toolchain = Toolchain::of_this_build()?;
    let lock = std::fs::read("Cargo.lock").context("reading Cargo.lock")?;
    let mut dependencies = vec![];
    if let Some(revision) = &meta.revision {
        dependencies.push(json!({ "name": "source", "digest": { "gitCommit": revision } }));
    }
    dependencies.extend([
        json!({
            "name": "rustc",
            "uri": format!("pkg:generic/rustc@{}", toolchain.release),
            "digest": { "gitCommit": toolchain.commit },
            "annotations": { "rustc -vV": toolchain.version },
        }),
        json!({
            "name": "Cargo.lock",
            "digest": { "sha256": hex::encode(Sha256::digest(&lock)) },
        }),
    ]);
    let subjects: Vec<Value> = built
        .iter()
        .map(|b| {
            json!({
                "name": platform_name(&b.platform),
                "digest": { "sha256": b.manifest.digest() },
            })
        })
        .collect();
    json(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "recipe": "just image",
                    "commands": commands(built)?,
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": { "builder": { "id": BUILDER } },
        },
    }))
}

/// What `just image` runs, in order: for each platform the Justfile's build of it, then the
/// image step, each `{ "recipe", "script" }` with the script as `just --dry-run` prints it.
fn commands(built: &[Built]) -> Result<Vec<Value>> {
    let arches = just(&["--evaluate", "arches"])?;
    let mut commands = vec![];
    for b in built {
        let Some(target) = arches
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(&format!("{}:", b.arch)))
        else {
            bail!("{} is not in the Justfile's arches", b.arch);
        };
        let out = format!("dist/pause-linux-{}", b.arch);
        for recipe in [
            vec!["cargo-freestanding", "pause", "build", target],
            vec!["build-one", target, &out],
        ] {
            commands.push(json!({
                "recipe": recipe.join(" "),
                "script": just(&[&["--dry-run"][..], &recipe].concat())?,
            }));
        }
    }
    commands.push(json!({
        "recipe": "image",
        "script": just(&["--dry-run", "--no-deps", "image"])?,
    }));
    Ok(commands)
}

/// `just ARGS` in the workspace: stdout, or for `--dry-run` what it prints instead (stderr).
fn just(args: &[&str]) -> Result<String> {
    let out = command::output(Command::new("just").args(args), &format!("just {args:?}"))?;
    let text = if args.contains(&"--dry-run") {
        out.stderr
    } else {
        out.stdout
    };
    Ok(String::from_utf8(text)?.trim_end().to_string())
}
