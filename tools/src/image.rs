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

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use flate2::{Compression, GzBuilder};
use oci_spec::image::{
    ANNOTATION_CREATED, ANNOTATION_DESCRIPTION, ANNOTATION_LICENSES, ANNOTATION_REF_NAME,
    ANNOTATION_REVISION, ANNOTATION_SOURCE, ANNOTATION_TITLE, ANNOTATION_VERSION, Arch,
    ConfigBuilder, Descriptor, Digest, HistoryBuilder, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, OciLayoutBuilder, Os, Platform,
    PlatformBuilder, RootFsBuilder,
};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::artifact;

/// The repository name containerd and podman give the image.
const REPOSITORY: &str = "localhost/pause";
/// containerd's name annotation, which podman also reads first.
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const TITLE: &str = "pause";
const DESCRIPTION: &str = "The process that holds a Kubernetes pod's namespaces";
const LICENSES: &str = "Apache-2.0";
/// The nobody user: pause needs no privilege, and an image that says so runs as non-root
/// wherever the runtime honours it.
const USER: &str = "65535:65535";
/// What made the image, as `docker history` shows it.
const CREATED_BY: &str = "just image (pause-tools image)";

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
        built.push(artifact::Built {
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

/// The bytes of every blob of a single-platform image of `binary` made as `main` makes
/// them: config, manifest and layer.
pub fn blob_bytes(binary: &Path, arch: &str) -> Result<u64> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    Ok(Image::new(&bytes, arch, &Meta::from_env()?)?.bytes())
}

/// A single-platform image of `binary`, made as `main` makes each platform's, as an
/// oci-archive that containerd imports as `localhost/pause:<tag>`: how the bench packages a
/// peer in the role of the pod sandbox.
pub fn single_archive(binary: &Path, arch: &str, tag: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let meta = Meta::from_env()?;
    let images = [Image::new(&bytes, arch, &meta)?];
    let index = index(&images, &meta)?;
    let files = layout(
        vec![named(index.descriptor.clone(), tag)],
        &blobs(&images, &index, &[]),
    )?;
    oci_archive(&files, meta.epoch)
}

/// The name containerd gives the image `single_archive` makes with `tag`.
pub fn reference(tag: &str) -> String {
    format!("{REPOSITORY}:{tag}")
}

/// What the image says about where it came from.
pub(crate) struct Meta {
    /// Seconds since the epoch: the one time every timestamp uses.
    pub(crate) epoch: u64,
    /// `epoch` in RFC 3339.
    pub(crate) created: String,
    /// The git commit built from, when run in a checkout.
    pub(crate) revision: Option<String>,
}

impl Meta {
    fn from_env() -> Result<Meta> {
        let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(s) => s
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a Unix time"))?,
            Err(_) => git(&["log", "-1", "--format=%ct"])
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
        };
        let time = UNIX_EPOCH + Duration::from_secs(epoch);
        Ok(Meta {
            epoch,
            created: humantime::format_rfc3339_seconds(time).to_string(),
            revision: git(&["rev-parse", "HEAD"]),
        })
    }

    /// The `org.opencontainers.image.*` annotations of the index and of every manifest.
    fn annotations(&self) -> HashMap<String, String> {
        let mut map: HashMap<String, String> = [
            (ANNOTATION_CREATED, self.created.as_str()),
            (ANNOTATION_VERSION, VERSION),
            (ANNOTATION_TITLE, TITLE),
            (ANNOTATION_DESCRIPTION, DESCRIPTION),
            (ANNOTATION_LICENSES, LICENSES),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(revision) = &self.revision {
            map.insert(ANNOTATION_REVISION.into(), revision.clone());
        }
        // Only a URL the project declares (`repository` in Cargo.toml), never a guess.
        if let Some(source) = option_env!("CARGO_PKG_REPOSITORY").filter(|s| !s.is_empty()) {
            map.insert(ANNOTATION_SOURCE.into(), source.into());
        }
        map
    }
}

/// The trimmed stdout of a successful `git ARGS` in the current directory.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// Content and the descriptor that addresses it.
pub(crate) struct Blob {
    pub(crate) descriptor: Descriptor,
    pub(crate) bytes: Vec<u8>,
}

impl Blob {
    pub(crate) fn new(media_type: MediaType, bytes: Vec<u8>) -> Result<Blob> {
        let descriptor = Descriptor::new(media_type, bytes.len() as u64, sha256(&bytes)?);
        Ok(Blob { descriptor, bytes })
    }

    pub(crate) fn json(media_type: MediaType, value: &impl Serialize) -> Result<Blob> {
        Blob::new(media_type, json(value)?)
    }

    /// Its path in a layout: `blobs/<algorithm>/<hex>`.
    fn path(&self) -> String {
        let digest = self.descriptor.digest();
        format!("blobs/{}/{}", digest.algorithm(), digest.digest())
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Result<Digest> {
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(bytes))).parse()?)
}

/// Compact JSON with every object's keys sorted, whatever map type held them.
pub(crate) fn json(value: &impl Serialize) -> Result<Vec<u8>> {
    let mut value = serde_json::to_value(value)?;
    value.sort_all_objects();
    Ok(serde_json::to_vec(&value)?)
}

/// One platform's image.
struct Image {
    arch: String,
    /// The layer uncompressed, as a docker-archive holds it.
    tar: Vec<u8>,
    layer: Blob,
    config: Blob,
    manifest: Blob,
    platform: Platform,
}

impl Image {
    fn new(binary: &[u8], arch: &str, meta: &Meta) -> Result<Image> {
        let platform = platform(arch)?;
        let tar = layer_tar(binary, meta.epoch)?;
        // The config names the layer by the digest of its uncompressed tar (its diff_id).
        let diff_id = sha256(&tar)?;
        let layer = Blob::new(MediaType::ImageLayerGzip, gzip(&tar)?)?;

        let mut config = ImageConfigurationBuilder::default()
            .created(meta.created.clone())
            .architecture(platform.architecture().clone())
            .os(platform.os().clone())
            .config(
                ConfigBuilder::default()
                    .user(USER)
                    .entrypoint(vec!["/pause".to_string()])
                    .build()?,
            )
            .history(vec![
                HistoryBuilder::default()
                    .created(meta.created.clone())
                    .created_by(CREATED_BY)
                    .build()?,
            ])
            .rootfs(
                RootFsBuilder::default()
                    .typ("layers")
                    .diff_ids(vec![diff_id.to_string()])
                    .build()?,
            )
            .build()?;
        config.set_variant(platform.variant().clone());
        let config = Blob::json(MediaType::ImageConfig, &config)?;

        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(config.descriptor.clone())
            .layers(vec![layer.descriptor.clone()])
            .annotations(meta.annotations())
            .build()?;
        let manifest = Blob::json(MediaType::ImageManifest, &manifest)?;
        Ok(Image {
            arch: arch.to_string(),
            tar,
            layer,
            config,
            manifest,
            platform,
        })
    }

    fn bytes(&self) -> u64 {
        [&self.config, &self.manifest, &self.layer]
            .iter()
            .map(|b| b.descriptor.size())
            .sum()
    }

    /// This platform as a docker-save archive (see the module's doc), tagged `latest` and the
    /// version like the layout.
    fn docker_archive(&self, mtime: u64) -> Result<Vec<u8>> {
        let config = format!("{}.json", self.config.descriptor.digest().digest());
        let diff_id = sha256(&self.tar)?;
        let layer = format!("{}/layer.tar", diff_id.digest());
        let tags = ["latest", VERSION].map(|t| format!("{REPOSITORY}:{t}"));
        let manifest = serde_json::json!([{
            "Config": config,
            "RepoTags": tags,
            "Layers": [layer],
        }]);
        let tag_ids = ["latest", VERSION].map(|t| (t, diff_id.digest()));
        let repositories = HashMap::from([(REPOSITORY, HashMap::from(tag_ids))]);
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = file_header(0, 0o755, mtime);
        header.set_entry_type(tar::EntryType::Directory);
        tar.append_data(
            &mut header,
            format!("{}/", diff_id.digest()),
            std::io::empty(),
        )?;
        for (name, bytes) in [
            ("manifest.json", &json(&manifest)?),
            ("repositories", &json(&repositories)?),
            (&config, &self.config.bytes),
            (&layer, &self.tar),
        ] {
            let mut header = file_header(bytes.len(), 0o644, mtime);
            tar.append_data(&mut header, name, &bytes[..])?;
        }
        Ok(tar.into_inner()?)
    }

    /// Its manifest's descriptor as an index lists it: with the platform.
    fn entry(&self) -> Descriptor {
        let mut descriptor = self.manifest.descriptor.clone();
        descriptor.set_platform(Some(self.platform.clone()));
        descriptor
    }
}

/// The OCI platform of a name in the Justfile's list: a Go architecture name, and its
/// variant after a dash where the list gives one (`arm-v6`). Plain 32-bit ARM is v7 (what
/// the armv7 target builds); arm64 says v8 as Docker's and containerd's normalised form does.
fn platform(name: &str) -> Result<Platform> {
    let (arch, variant) = match name.split_once('-') {
        Some((arch, variant)) => (arch, Some(variant)),
        None if name == "arm" => (name, Some("v7")),
        None if name == "arm64" => (name, Some("v8")),
        None => (name, None),
    };
    let known = [
        "amd64", "arm64", "arm", "386", "riscv64", "s390x", "ppc64le", "loong64",
    ];
    ensure!(known.contains(&arch), "unknown architecture {arch:?}");
    let mut platform = PlatformBuilder::default()
        .architecture(Arch::from(arch))
        .os(Os::Linux)
        .build()?;
    platform.set_variant(variant.map(String::from));
    Ok(platform)
}

/// The uncompressed layer: one regular file, `pause`, and nothing else.
fn layer_tar(binary: &[u8], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_data(
        &mut file_header(binary.len(), 0o755, mtime),
        "pause",
        binary,
    )?;
    Ok(tar.into_inner()?)
}

/// A ustar header owned by 0:0 with no user or group names, so nothing of the build
/// machine leaks into the bytes.
fn file_header(size: usize, mode: u32, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size as u64);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header
}

/// gzip with no file name and mtime 0 in its header: the same bytes in, the same out.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

/// The image index over every platform's manifest.
fn index(images: &[Image], meta: &Meta) -> Result<Blob> {
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(images.iter().map(Image::entry).collect::<Vec<_>>())
        .annotations(meta.annotations())
        .build()?;
    Blob::json(MediaType::ImageIndex, &index)
}

/// Every blob of the image and of what is attached to it, each once, in digest order.
fn blobs<'a>(images: &'a [Image], index: &'a Blob, attached: &'a [Blob]) -> Vec<&'a Blob> {
    let mut blobs = vec![index];
    for image in images {
        blobs.extend([&image.layer, &image.config, &image.manifest]);
    }
    blobs.extend(attached);
    blobs.sort_by_key(|b| b.path());
    blobs.dedup_by_key(|b| b.path());
    blobs
}

/// Every file of a layout whose `index.json` lists `refs`, by path inside it.
fn layout(refs: Vec<Descriptor>, blobs: &[&Blob]) -> Result<Vec<(String, Vec<u8>)>> {
    let top = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(refs)
        .build()?;
    let version = OciLayoutBuilder::default()
        .image_layout_version("1.0.0")
        .build()?;
    let mut files = vec![
        ("oci-layout".to_string(), json(&version)?),
        ("index.json".to_string(), json(&top)?),
    ];
    files.extend(blobs.iter().map(|b| (b.path(), b.bytes.clone())));
    Ok(files)
}

/// `descriptor` named `reference` in a layout, for OCI tools and for containerd/podman.
fn named(mut descriptor: Descriptor, reference: &str) -> Descriptor {
    descriptor.set_annotations(Some(HashMap::from([
        (ANNOTATION_REF_NAME.to_string(), reference.to_string()),
        (
            ANNOTATION_IMAGE_NAME.to_string(),
            self::reference(reference),
        ),
    ])));
    descriptor
}

/// A layout's files as an oci-archive: a tar of them after the directories of the blobs
/// (every digest made here is sha256).
fn oci_archive(files: &[(String, Vec<u8>)], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut header = file_header(0, 0o755, mtime);
        header.set_entry_type(tar::EntryType::Directory);
        tar.append_data(&mut header, dir, std::io::empty())?;
    }
    for (name, bytes) in files {
        let mut header = file_header(bytes.len(), 0o644, mtime);
        tar.append_data(&mut header, name, &bytes[..])?;
    }
    Ok(tar.into_inner()?)
}
