//! `pause-tools release REF --key PATH --passphrase-env NAME`: publishes this commit as REF
//! (`HOST/NAME:TAG`, `docker://` optional), signed.
//!
//! First every check, so that bad input stops it with one line and nothing pushed: TAG is
//! Cargo.toml's version (what `pause -v` prints), the git tree is clean (`git status
//! --porcelain` empty: the release is a commit, as its provenance says), `CHANGELOG.md` has a
//! `## [TAG]` entry, the key exists and the passphrase in `$NAME` decrypts it (keygen.rs).
//! Then `just image` builds dist/ from that tree (reproducibly: `just verify` rebuilds the
//! same digests), and skopeo pushes:
//!
//! 1. the index and every platform (`copy --all --preserve-digests`), signing the index and
//!    each platform manifest (skopeo signs every instance it copies), so that a pull of one
//!    platform, which is what podman and CRI-O do and which checks that platform's manifest,
//!    not the index, verifies too;
//! 2. the SBOM and provenance, under the referrers fallback tag (published.rs).
//!
//! Signatures are skopeo's `--sign-by-sigstore-private-key`: sigstore's simple-signing
//! payload naming REF and the manifest digest, attached as the `sha256-<hex>.sig` tag cosign
//! uses (the shipped `registries.d` file turns attachments on), made offline with the key (no
//! Fulcio, no Rekor). The skopeo is Debian 13's (`pause_harness::trixie`): Debian 12's is
//! built with sigstore turned off. The passphrase reaches it as a 0600 file in a temp dir,
//! removed after. Then it checks what it pushed as consumers will (signature.rs) and prints
//! the digest to pin and the settings of `deploy/containerd.toml` and `deploy/crio.conf` that
//! name it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use pause_harness::{Arch, VERSION_LINE, policy, trixie};

use crate::built::{VERSION, fallback_tag};
use crate::command;
use crate::keygen::{KeyOptions, public_key_path};
use crate::published::{Image, Reference};
use crate::signature;

const CHANGELOG: &str = "CHANGELOG.md";
const LAYOUT: &str = "dist/oci";
/// The shipped runtime configs, whose image setting the release fills in with its pin.
const CONFIGS: [(&str, &str); 2] = [
    (
        "deploy/containerd.toml",
        include_str!("../../deploy/containerd.toml"),
    ),
    ("deploy/crio.conf", include_str!("../../deploy/crio.conf")),
];
/// The image those configs name until they are given a pinned one.
const SHIPPED_IMAGE: &str = "\"localhost/pause:latest\"";

pub fn main(args: &[String]) -> Result<()> {
    let (key, rest) = KeyOptions::parse(args)?;
    let [arg] = &rest[..] else {
        bail!("usage: pause-tools release HOST/NAME:TAG --key PATH --passphrase-env NAME");
    };
    let target = Reference::registry(arg)?;
    let repository = target.repository().context("a registry")?.to_string();
    ensure!(
        target.tag == VERSION,
        "{arg}: the tag {} is not Cargo.toml's version {VERSION}",
        target.tag
    );
    let changes = git(&["status", "--porcelain"])?;
    ensure!(
        changes.is_empty(),
        "the tree is not clean (`git status`): commit or remove {}",
        changes
            .lines()
            .map(|l| l[3..].to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let changelog = std::fs::read_to_string(CHANGELOG).context("reading CHANGELOG.md")?;
    let heading = format!("## [{VERSION}]");
    ensure!(
        changelog.lines().any(|l| l.starts_with(&heading)),
        "{CHANGELOG} has no `{heading}` entry: say what {VERSION} changes first"
    );
    let passphrase = key.unlock()?;
    let revision = git(&["rev-parse", "HEAD"])?;

    eprintln!("release {arg}: building {revision} (just image)");
    let status = Command::new("just")
        .arg("image")
        .stdout(std::io::stderr())
        .stdin(Stdio::null())
        .status()
        .context("running just image")?;
    ensure!(status.success(), "just image failed: {status}");
    let image = Image::read(Path::new(LAYOUT), "latest", None)?;
    ensure!(
        image.revision()? == revision && git(&["status", "--porcelain"])?.is_empty(),
        "{LAYOUT} is not the build of {revision} in a clean tree"
    );
    check_version_line()?;
    let index = image.index_descriptor.digest().to_string();

    let secret = tempfile::tempdir()?;
    let passphrase_file = secret.path().join("passphrase");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&passphrase_file)?
        .write_all(passphrase.as_bytes())?;
    let registries_d = policy::write_registries_d(secret.path(), &repository)?;
    let digestfile = secret.path().join("digest");
    let mut push = skopeo_copy(&target, "latest", &target.with_tag(&target.tag));
    push.arg("--registries.d")
        .arg(&registries_d)
        .arg("--sign-by-sigstore-private-key")
        .arg(&key.key)
        .arg("--sign-passphrase-file")
        .arg(&passphrase_file)
        .arg("--digestfile")
        .arg(&digestfile);
    command::output(&mut push, "pushing the index and every platform, signed")?;
    let pushed = std::fs::read_to_string(&digestfile)?.trim().to_string();
    ensure!(
        pushed == index,
        "the registry has {pushed} for the index, {LAYOUT} {index}"
    );
    let referrers = fallback_tag(image.index_descriptor.digest());
    let mut attachments = skopeo_copy(&target, &referrers, &target.with_tag(&referrers));
    command::output(&mut attachments, "pushing the SBOM and provenance")?;
    drop(secret);

    let public = public_key_path(&key.key);
    let problems = signature::problems(&target, &image, &public)?;
    ensure!(
        problems.is_empty(),
        "pushed, but its signatures do not verify with {}: {}",
        public.display(),
        problems.join("; ")
    );

    let pinned = format!("{repository}@{index}");
    println!("released {repository}:{} ({revision})", target.tag);
    println!(
        "signed with {}: the index and {} platform manifests (tags sha256-<hex>.sig), \
         verified with {}",
        key.key.display(),
        image.index.manifests().len(),
        public.display()
    );
    println!("SBOM and provenance: {repository}:{referrers}");
    println!("pin: {pinned}");
    for (file, text) in CONFIGS {
        println!("\n# {file}, pinned");
        for line in settings(text, &pinned)? {
            println!("{line}");
        }
    }
    Ok(())
}

/// The settings of a shipped config (its lines but comments and blanks), with the image it
/// names replaced by `pinned`.
fn settings(text: &str, pinned: &str) -> Result<Vec<String>> {
    ensure!(
        text.contains(SHIPPED_IMAGE),
        "a shipped config no longer names {SHIPPED_IMAGE}"
    );
    let lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    Ok(lines
        .map(|l| l.replace(SHIPPED_IMAGE, &format!("\"{pinned}\"")))
        .collect())
}

/// `skopeo copy --all` (Debian 13's) of dist/oci's `tag` to the registry's `to`, digests
/// kept as they are.
fn skopeo_copy(target: &Reference, tag: &str, to: &str) -> Command {
    let mut cmd = trixie::skopeo();
    cmd.args(["copy", "--quiet", "--all", "--preserve-digests"]);
    if target.insecure {
        cmd.arg("--dest-tls-verify=false");
    }
    cmd.arg(format!("oci:{LAYOUT}:{tag}")).arg(to);
    cmd
}

/// The built binary for this machine says the version the release is tagged with.
fn check_version_line() -> Result<()> {
    let binary = Arch::host().binary();
    let out = Command::new(&binary).arg("-v").output()?;
    ensure!(
        out.stdout == VERSION_LINE.as_bytes(),
        "{} -v says {:?}, not {VERSION_LINE:?}",
        binary.display(),
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}

/// The stdout of `git ARGS` in the checkout, which must succeed.
fn git(args: &[&str]) -> Result<String> {
    command::git(Path::new("."), args)
}
