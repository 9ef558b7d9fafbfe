//! `pause-tools verify REF...`: checks published images against their source. Each REF is
//! an OCI layout (`oci:DIR[:TAG]`, TAG `latest` by default) or a registry reference
//! (`docker://HOST/NAME:TAG`). Each is fetched with `skopeo copy --all`, with its referrers
//! (the SBOM and the provenance) from the distribution spec's tag fallback,
//! `sha256-<hex of the index digest>`, which is how `just image` lays them out and how they
//! are pushed. The index's `org.opencontainers.image.revision` names the commit; that commit
//! is rebuilt once for all REFs that name it, in a clean git worktree under
//! `target/verify/` with its own `CARGO_TARGET_DIR` there, by that commit's own `just
//! image`, with `SOURCE_DATE_EPOCH` the index's `created` time. Then every digest is
//! compared: the index, each platform's manifest, config and layers, and each artifact's
//! manifest and document. One table per REF; any mismatch makes the exit status non-zero and
//! is named.
//!
//! The fallback index itself is not compared: it is the registry's listing, not the
//! image's, and skopeo 1.9 rewrites it on copy (its image-spec types drop `artifactType`).
//! Blob contents need no check of their own: skopeo refuses a blob whose bytes do not match
//! its digest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result, bail, ensure};
use oci_spec::image::{
    ANNOTATION_CREATED, ANNOTATION_REF_NAME, ANNOTATION_REVISION, Descriptor, Digest, ImageIndex,
    ImageManifest,
};

use crate::built::{PROVENANCE_TYPE, SBOM_TYPE, fallback_tag, platform_name};

pub fn main(args: &[String]) -> Result<()> {
    ensure!(
        !args.is_empty() && !args.iter().any(|a| a.starts_with('-')),
        "usage: pause-tools verify REF... (oci:DIR[:TAG] or docker://HOST/NAME:TAG)"
    );
    let work = tempfile::tempdir()?;
    let mut fetched = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let reference = Reference::parse(arg)?;
        let dir = work.path().join(i.to_string());
        fetched.push((arg, Image::fetch(&reference, &dir)?));
    }
    let mut rebuilt: BTreeMap<String, Rebuild> = BTreeMap::new();
    let mut failed = Vec::new();
    for (arg, image) in &fetched {
        let revision = image.revision()?;
        if !rebuilt.contains_key(&revision) {
            rebuilt.insert(revision.clone(), Rebuild::new(&revision, image.created())?);
        }
        let built = rebuilt[&revision].image()?;
        println!("{arg}: revision {revision}");
        let mismatches = compare(image, &built)?;
        if mismatches.is_empty() {
            println!("{arg}: every digest matches the rebuild\n");
        } else {
            println!("{arg}: MISMATCH: {}\n", mismatches.join(", "));
            failed.push(format!("{arg} ({})", mismatches.join(", ")));
        }
    }
    ensure!(
        failed.is_empty(),
        "not what its source builds: {}",
        failed.join("; ")
    );
    Ok(())
}

/// Where an image is, as skopeo names it.
struct Reference {
    /// The transport and place, up to the tag: `oci:DIR` or `docker://HOST/NAME`.
    base: String,
    tag: String,
    /// A registry on loopback, spoken to over plain HTTP.
    insecure: bool,
}

impl Reference {
    fn parse(arg: &str) -> Result<Reference> {
        if let Some(rest) = arg.strip_prefix("oci:") {
            let (dir, tag) = rest.split_once(':').unwrap_or((rest, "latest"));
            return Ok(Reference {
                base: format!("oci:{dir}"),
                tag: tag.to_string(),
                insecure: false,
            });
        }
        let Some(rest) = arg.strip_prefix("docker://") else {
            bail!(
                "{arg}: name an OCI layout (oci:DIR[:TAG]) or a registry (docker://HOST/NAME:TAG)"
            );
        };
        let name_start = rest.rfind('/').context("docker://HOST/NAME:TAG")? + 1;
        let (base, tag) = match rest[name_start..].split_once(':') {
            Some((name, tag)) => (format!("{}{name}", &rest[..name_start]), tag),
            None => (rest.to_string(), "latest"),
        };
        let host = rest.split('/').next().unwrap_or_default();
        // A registry on loopback speaks plain HTTP, as Docker assumes of localhost. Trust
        // never rests on the transport here: every digest is compared with the rebuild's.
        let insecure = host.starts_with("localhost") || host.starts_with("127.");
        Ok(Reference {
            base: format!("docker://{base}"),
            tag: tag.to_string(),
            insecure,
        })
    }

    fn with_tag(&self, tag: &str) -> String {
        format!("{}:{tag}", self.base)
    }
}

/// `skopeo copy --all FROM TO`, its output shown only when it fails.
fn skopeo_copy(from: &str, to: &str, insecure: bool) -> Result<()> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--quiet", "--all"]);
    if insecure {
        cmd.arg("--src-tls-verify=false");
    }
    let out = cmd
        .args([from, to])
        .output()
        .context("running skopeo (`just setup` installs it)")?;
    ensure!(
        out.status.success(),
        "skopeo copy {from}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// An image in an OCI layout: its index, and the artifacts that refer to it.
struct Image {
    layout: PathBuf,
    index_descriptor: Descriptor,
    index: ImageIndex,
    /// The referrers' manifests, by artifact type; `None` when none could be found.
    referrers: Option<Vec<(Descriptor, ImageManifest)>>,
}

impl Image {
    /// Copies the image `reference` names, and its referrers, into a new layout `dir`.
    fn fetch(reference: &Reference, dir: &Path) -> Result<Image> {
        let to = |tag: &str| format!("oci:{}:{tag}", dir.display());
        skopeo_copy(
            &reference.with_tag(&reference.tag),
            &to("image"),
            reference.insecure,
        )?;
        let mut image = Image::read(dir, "image", None)?;
        let tag = fallback_tag(image.index_descriptor.digest());
        // No referrers tag is a finding for the table, not an error.
        if skopeo_copy(&reference.with_tag(&tag), &to(&tag), reference.insecure).is_ok() {
            image = Image::read(dir, "image", Some(&tag))?;
        }
        Ok(image)
    }

    /// The image `tag` names in the layout `dir`, with the referrers `referrers` names.
    fn read(dir: &Path, tag: &str, referrers: Option<&str>) -> Result<Image> {
        let top = ImageIndex::from_file(dir.join("index.json"))
            .with_context(|| format!("reading {}/index.json", dir.display()))?;
        let tagged = |tag: &str| {
            top.manifests()
                .iter()
                .find(|d| {
                    d.annotations()
                        .as_ref()
                        .and_then(|a| a.get(ANNOTATION_REF_NAME))
                        .is_some_and(|n| n == tag)
                })
                .cloned()
                .with_context(|| format!("{}: no image tagged {tag}", dir.display()))
        };
        let mut image = Image {
            layout: dir.to_path_buf(),
            index_descriptor: tagged(tag)?,
            index: ImageIndex::default(),
            referrers: None,
        };
        image.index = serde_json::from_slice(&image.blob(image.index_descriptor.digest())?)?;
        if let Some(referrers) = referrers {
            let listing: ImageIndex =
                serde_json::from_slice(&image.blob(tagged(referrers)?.digest())?)?;
            let mut found = Vec::new();
            for entry in listing.manifests() {
                let manifest: ImageManifest = serde_json::from_slice(&image.blob(entry.digest())?)?;
                // A referrer is so by its subject, whatever lists it.
                if manifest.subject().as_ref().map(Descriptor::digest)
                    == Some(image.index_descriptor.digest())
                {
                    found.push((entry.clone(), manifest));
                }
            }
            image.referrers = Some(found);
        }
        Ok(image)
    }

    fn blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self
            .layout
            .join(format!("blobs/{}/{}", digest.algorithm(), digest.digest()));
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    }

    fn manifest(&self, digest: &Digest) -> Result<ImageManifest> {
        Ok(serde_json::from_slice(&self.blob(digest)?)?)
    }

    fn annotation(&self, key: &str) -> Option<&String> {
        self.index.annotations().as_ref()?.get(key)
    }

    fn revision(&self) -> Result<String> {
        self.annotation(ANNOTATION_REVISION)
            .cloned()
            .with_context(|| {
                format!("the index has no {ANNOTATION_REVISION} annotation: nothing to rebuild")
            })
    }

    /// The index's `created` as Unix seconds: the build's one time.
    fn created(&self) -> Option<u64> {
        let created = humantime::parse_rfc3339(self.annotation(ANNOTATION_CREATED)?).ok()?;
        Some(created.duration_since(UNIX_EPOCH).ok()?.as_secs())
    }
}

/// A commit rebuilt in a git worktree of its own, removed when dropped.
struct Rebuild {
    root: PathBuf,
    worktree: PathBuf,
}

impl Rebuild {
    fn new(revision: &str, epoch: Option<u64>) -> Result<Rebuild> {
        let git = |dir: &Path, args: &[&str]| -> Result<String> {
            let out = Command::new("git").current_dir(dir).args(args).output()?;
            ensure!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            Ok(String::from_utf8(out.stdout)?.trim().to_string())
        };
        let root = PathBuf::from(git(Path::new("."), &["rev-parse", "--show-toplevel"])?);
        git(
            &root,
            &["cat-file", "-e", &format!("{revision}^{{commit}}")],
        )
        .with_context(|| format!("commit {revision} is not in this repository"))?;
        let base = root.join("target/verify");
        let worktree = base.join(format!("src-{revision}"));
        if worktree.exists() {
            // A rebuild that was interrupted: start clean.
            git(
                &root,
                &["worktree", "remove", "--force", &worktree.to_string_lossy()],
            )?;
        }
        git(&root, &["worktree", "prune"])?;
        git(
            &root,
            &[
                "worktree",
                "add",
                "--detach",
                &worktree.to_string_lossy(),
                revision,
            ],
        )?;
        let rebuild = Rebuild { root, worktree };
        eprintln!("rebuilding {revision} in {}", rebuild.worktree.display());
        let mut cmd = Command::new("just");
        cmd.arg("image")
            .current_dir(&rebuild.worktree)
            .env("CARGO_TARGET_DIR", base.join("target"))
            // Our stdout is the tables; the build's report goes with its progress.
            .stdout(std::io::stderr());
        match epoch {
            Some(epoch) => cmd.env("SOURCE_DATE_EPOCH", epoch.to_string()),
            None => cmd.env_remove("SOURCE_DATE_EPOCH"),
        };
        let status = cmd
            .stdin(Stdio::null())
            .status()
            .context("running just image")?;
        ensure!(
            status.success(),
            "the rebuild of {revision} failed: {status}"
        );
        Ok(rebuild)
    }

    fn image(&self) -> Result<Image> {
        let layout = self.worktree.join("dist/oci");
        let index = Image::read(&layout, "latest", None)?;
        Image::read(
            &layout,
            "latest",
            Some(&fallback_tag(index.index_descriptor.digest())),
        )
    }
}

impl Drop for Rebuild {
    fn drop(&mut self) {
        let _ = Command::new("git")
            .current_dir(&self.root)
            .args(["worktree", "remove", "--force"])
            .arg(&self.worktree)
            .status();
    }
}

/// One row of the table: what it is, its parts' names, and their digests in the fetched
/// image and in the rebuild (`None`: that side has no such thing).
struct Row {
    what: String,
    parts: &'static [&'static str],
    got: Option<Vec<String>>,
    want: Option<Vec<String>>,
}

/// Prints the table of `image` against `built`; the names of what differs.
fn compare(image: &Image, built: &Image) -> Result<Vec<String>> {
    let mut rows = Vec::new();
    // Each platform, in the rebuild's order, then any the image has and the rebuild lacks.
    let mut platforms: Vec<String> = Vec::new();
    for entry in built
        .index
        .manifests()
        .iter()
        .chain(image.index.manifests())
    {
        let name = platform_of(entry);
        if !platforms.contains(&name) {
            platforms.push(name);
        }
    }
    for name in platforms {
        rows.push(Row {
            got: platform_parts(image, &name)?,
            want: platform_parts(built, &name)?,
            what: name,
            parts: &["manifest", "config", "layer"],
        });
    }
    let index = |image: &Image| Some(vec![image.index_descriptor.digest().to_string()]);
    rows.push(Row {
        what: "index".into(),
        parts: &["index"],
        got: index(image),
        want: index(built),
    });
    for (name, artifact_type) in [("sbom", SBOM_TYPE), ("provenance", PROVENANCE_TYPE)] {
        rows.push(Row {
            what: format!("{name} ({artifact_type})"),
            parts: &["manifest", "config", "document"],
            got: artifact_parts(image, artifact_type),
            want: artifact_parts(built, artifact_type),
        });
    }

    let mut mismatches = Vec::new();
    println!("| what | manifest | config | layer or document |");
    println!("|---|---|---|---|");
    for row in &rows {
        let mut cells = Vec::new();
        match (&row.got, &row.want) {
            // Absent on one side: one finding for the row, not one a part.
            (None, _) | (_, None) => {
                let cell = if row.got.is_none() {
                    "MISSING"
                } else {
                    "EXTRA"
                };
                cells.resize(row.parts.len(), cell);
                mismatches.push(format!("{} {}", row.what, cell.to_lowercase()));
            }
            (Some(got), Some(want)) => {
                for (i, part) in row.parts.iter().enumerate() {
                    let cell = if got[i] == want[i] {
                        "match"
                    } else {
                        "MISMATCH"
                    };
                    if cell != "match" {
                        mismatches.push(match *part {
                            "index" => "index".to_string(),
                            part => format!("{} {part}", row.what),
                        });
                    }
                    cells.push(cell);
                }
            }
        }
        cells.resize(3, "-");
        println!("| {} | {} |", row.what, cells.join(" | "));
    }
    Ok(mismatches)
}

fn platform_of(entry: &Descriptor) -> String {
    entry
        .platform()
        .as_ref()
        .map_or_else(|| "(no platform)".to_string(), platform_name)
}

/// A manifest's config digest and its layers' digests (joined: one value for the list).
fn manifest_parts(digest: &Digest, manifest: &ImageManifest) -> Vec<String> {
    let layers: Vec<String> = manifest
        .layers()
        .iter()
        .map(|l| l.digest().to_string())
        .collect();
    vec![
        digest.to_string(),
        manifest.config().digest().to_string(),
        layers.join(","),
    ]
}

fn platform_parts(image: &Image, name: &str) -> Result<Option<Vec<String>>> {
    let Some(entry) = image
        .index
        .manifests()
        .iter()
        .find(|d| platform_of(d) == name)
    else {
        return Ok(None);
    };
    Ok(Some(manifest_parts(
        entry.digest(),
        &image.manifest(entry.digest())?,
    )))
}

fn artifact_parts(image: &Image, artifact_type: &str) -> Option<Vec<String>> {
    let (entry, manifest) = image.referrers.iter().flatten().find(|(_, m)| {
        m.artifact_type()
            .as_ref()
            .map(ToString::to_string)
            .as_deref()
            == Some(artifact_type)
    })?;
    Some(manifest_parts(entry.digest(), manifest))
}
