//! `pause-tools verify REF...`: checks published images against their source. Each REF is
//! an OCI layout (`oci:DIR[:TAG]`, TAG `latest` by default) or a registry reference
//! (`docker://HOST/NAME:TAG`). Each is fetched with `skopeo copy --all`, with its referrers
//! (the SBOM and the provenance; published.rs). The index's
//! `org.opencontainers.image.revision` names the commit; that commit is rebuilt once for all
//! REFs that name it (rebuild.rs). Then every digest is compared (table.rs). One table per
//! REF; any mismatch makes the exit status non-zero and is named.

mod rebuild;
mod table;

use std::collections::BTreeMap;

use anyhow::{Result, ensure};

use crate::published::{Image, Reference};
use rebuild::Rebuild;
use table::compare;

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
