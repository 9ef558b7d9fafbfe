//! `pause-tools verify REF...`: checks published images against their source. Each REF is
//! an OCI layout (`oci:DIR[:TAG]`, TAG `latest` by default) or a registry reference
//! (`docker://HOST/NAME:TAG`). Each is fetched with `skopeo copy --all`, with its referrers
//! (the SBOM and the provenance; published.rs). The index's
//! `org.opencontainers.image.revision` names the commit; that commit is rebuilt once for all
//! REFs that name it (rebuild.rs). Then every digest is compared (table.rs). One table per
//! REF; any mismatch makes the exit status non-zero and is named.
//!
//! With `--key PUB`, each REF (a registry's, where signatures are attached) must also be
//! signed by that key: its index and each platform manifest (signature.rs); a signature that
//! does not verify is named with the verifier's reason.

mod rebuild;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};

use crate::published::{Image, Reference};
use crate::signature;
use rebuild::Rebuild;
use table::compare;

pub fn main(args: &[String]) -> Result<()> {
    let (key, args) = key_option(args)?;
    ensure!(
        !args.is_empty() && !args.iter().any(|a| a.starts_with('-')),
        "usage: pause-tools verify REF... [--key PUB] (oci:DIR[:TAG] or docker://HOST/NAME:TAG)"
    );
    let work = tempfile::tempdir()?;
    let mut fetched = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let reference = Reference::parse(arg)?;
        ensure!(
            key.is_none() || reference.repository().is_some(),
            "{arg}: --key checks signatures, which only a registry holds: name docker://HOST/NAME:TAG"
        );
        let dir = work.path().join(i.to_string());
        let image = Image::fetch(&reference, &dir)?;
        fetched.push((arg, reference, image));
    }
    let mut rebuilt: BTreeMap<String, Rebuild> = BTreeMap::new();
    let mut failed = Vec::new();
    for (arg, reference, image) in &fetched {
        let revision = image.revision()?;
        if !rebuilt.contains_key(&revision) {
            rebuilt.insert(revision.clone(), Rebuild::new(&revision, image.created())?);
        }
        let built = rebuilt[&revision].image()?;
        println!("{arg}: revision {revision}");
        let mut mismatches = compare(image, &built)?;
        if let Some(key) = &key {
            mismatches.extend(signatures(arg, reference, image, key)?);
        }
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

/// `--key PUB` out of `args`, and the rest.
fn key_option(args: &[String]) -> Result<(Option<PathBuf>, Vec<String>)> {
    let mut key = None;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--key" {
            ensure!(key.is_none(), "--key is given twice");
            key = Some(PathBuf::from(
                args.next().context("--key needs a public key")?,
            ));
        } else {
            rest.push(arg.clone());
        }
    }
    Ok((key, rest))
}

/// The signatures of `image` at `reference` checked against `key`, printed as a line for
/// `arg`; each one that does not verify, named for the summary.
fn signatures(arg: &str, reference: &Reference, image: &Image, key: &Path) -> Result<Vec<String>> {
    let found = signature::problems(reference, image, key)?;
    if found.is_empty() {
        println!(
            "{arg}: signed by {}: the index and {} platform manifests verify",
            key.display(),
            image.index.manifests().len()
        );
    }
    for problem in &found {
        println!("{arg}: BAD SIGNATURE: {problem}");
    }
    Ok(found.iter().map(|p| format!("signature of {p}")).collect())
}
