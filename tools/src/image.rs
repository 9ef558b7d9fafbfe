//! `pause-tools image [--dist DIR] [--out DIR] [GOARCH...]`: the multi-arch OCI image of
//! `DIR/pause-linux-<goarch>` (default `dist/`; `just image` names the Justfile's
//! architectures, the one list of them), written without Docker as the layout `OUT/oci`, the
//! archive `OUT/pause-oci.tar`, and one docker-archive per platform,
//! `OUT/pause-docker-<goarch>.tar` (default OUT: the dist directory).
//!
//! Each platform's image is one gzip layer holding only `/pause` (0755, 0:0), a config
//! (`Entrypoint ["/pause"]`, `User 65535:65535`, one `history` row naming this build) and a
//! manifest; one image index lists them.
//! The layout's `index.json` names the index `latest` and the version, and each manifest by
//! its Go architecture name, so `oci:dist/oci:latest` and `oci:dist/oci:amd64` both resolve.
//! containerd (`ctr images import`) and podman (`podman load`) read the name from
//! `io.containerd.image.name` before `org.opencontainers.image.ref.name`: that annotation
//! carries the fully qualified `localhost/pause:<ref>` those two want. The archive holds the
//! same blobs, but its `index.json` lists only `latest`: podman 4.3 refuses an oci-archive
//! that lists more than one image.
//!
//! Docker 20.10 (Debian 12's docker.io) loads neither: `docker load` takes only the
//! docker-save format, one image per archive here: `manifest.json` naming the config, tags and
//! layer, `repositories` (the legacy tag list), the config (the same blob as in the layout, so
//! Docker's image ID is the OCI config digest) and the layer uncompressed.
//!
//! The index's SBOM and build provenance are attached to it as OCI 1.1 referrers, in the
//! layout and not in the archive's `index.json` (artifact.rs).
//!
//! Byte-reproducible: every input is the binaries, the crate version, the git revision and
//! one fixed time, `SOURCE_DATE_EPOCH` if set, else the HEAD commit's time, else 0 (the
//! reproducible-builds.org convention). It is the layer's file mtime, the archive's mtimes,
//! and the `created` of config and annotations. JSON is written compact with keys sorted,
//! so the `HashMap`s inside the oci-spec types cannot reorder it between runs.
//!
//! Dependencies: `oci-spec` (the OCI image-spec types, so no JSON is written by hand),
//! `serde_json` (their serialisation), `tar` and `flate2` (the layer and the archive; gzip
//! headers carry no name and mtime 0), `sha2` and `hex` (digests), `humantime` (RFC 3339
//! from a Unix time). `ocidir` was not used: it writes through cap-std and openssl for what
//! is here a handful of files built in memory.

use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};

use crate::artifact;
use crate::built::{Built, Meta, VERSION, sha256};
use crate::layout::{blobs, index, layout, named, oci_archive};
use crate::platform::{Image, platform};

pub fn main(args: &[String]) -> Result<()> {
    let mut dist = PathBuf::from("dist");
    let mut out = None;
    let mut arches = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dist" => dist = args.next().context("--dist needs a directory")?.into(),
            "--out" => {
                out = Some(PathBuf::from(
                    args.next().context("--out needs a directory")?,
                ))
            }
            flag if flag.starts_with('-') => bail!("unknown option {flag}"),
            arch => arches.push(arch.to_string()),
        }
    }
    ensure!(
        !arches.is_empty(),
        "name the architectures to package (`just image` passes the Justfile's list)"
    );
    let out = out.unwrap_or_else(|| dist.clone());

    let meta = Meta::from_env()?;
    let mut images = Vec::new();
    let mut built = Vec::new();
    for (i, arch) in arches.iter().enumerate() {
        // A wrong name says so, rather than that its binary is missing.
        platform(arch)?;
        ensure!(!arches[..i].contains(arch), "{arch} is named twice");
        let path = dist.join(format!("pause-linux-{arch}"));
        let binary = std::fs::read(&path)
            .with_context(|| format!("{}: build it first (`just dist`)", path.display()))?;
        let image = Image::new(&binary, arch, &meta)?;
        built.push(Built {
            arch: arch.clone(),
            platform: image.platform.clone(),
            binary: sha256(&binary)?,
            manifest: image.manifest.descriptor.digest().clone(),
        });
        images.push(image);
    }
    let index = index(&images, &meta)?;
    // The SBOM and the provenance, attached to the index as its referrers.
    let attached = artifact::attach(&built, &index, &meta)?;
    let blobs = blobs(&images, &index, &attached.blobs);
    // The same index under two names is two entries with one digest: OCI allows it, and
    // skopeo and umoci resolve either name.
    let mut refs = vec![
        named(index.descriptor.clone(), "latest"),
        named(index.descriptor.clone(), VERSION),
    ];
    refs.extend(images.iter().map(|i| named(i.entry(), &i.arch)));
    refs.extend(attached.refs);
    let files = layout(refs, &blobs)?;
    let archived = layout(vec![named(index.descriptor.clone(), "latest")], &blobs)?;

    let layout = out.join("oci");
    if layout.exists() {
        // Blobs of earlier builds must not linger in the new layout.
        std::fs::remove_dir_all(&layout)
            .with_context(|| format!("removing the old {}", layout.display()))?;
    }
    for (name, bytes) in &files {
        let path = layout.join(name);
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let archive = out.join("pause-oci.tar");
    std::fs::write(&archive, oci_archive(&archived, meta.epoch)?)
        .with_context(|| format!("writing {}", archive.display()))?;
    for image in &images {
        let path = out.join(format!("pause-docker-{}.tar", image.arch));
        std::fs::write(&path, image.docker_archive(meta.epoch)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }

    println!("| arch | config | manifest | layer | total |");
    println!("|---|---:|---:|---:|---:|");
    for image in &images {
        let [config, manifest, layer] =
            [&image.config, &image.manifest, &image.layer].map(|b| b.descriptor.size());
        println!(
            "| {} | {config} | {manifest} | {layer} | {} |",
            image.arch,
            image.bytes()
        );
    }
    println!(
        "| index | | {} | | {} |",
        index.bytes.len(),
        index.bytes.len()
    );
    println!(
        "wrote {}, {} and {}",
        layout.display(),
        archive.display(),
        out.join("pause-docker-<arch>.tar").display()
    );
    Ok(())
}
