//! `just release` for real: a clone of HEAD (the release refuses a dirty tree, so it is
//! what is released, with its own `just keygen` key pair in a temp dir), pushed to the suite's
//! registry on loopback. Bad input stops it with one line and an empty registry; the release
//! it makes pulls under the shipped policy with podman (Debian 13's, chrooted, with its own
//! `/etc/containers`: podman.rs) and four forgeries (forge.rs) are refused with podman's own
//! reasons; cosign, the sigstore project's verifier, agrees on every one; `just verify --key`
//! names a signature by another key.
//!
//! The clone (clone.rs) is kept between runs with its own target dir, so a rerun rebuilds
//! only what changed: the release's own `just image` builds every binary, the image and the
//! tool in it, from that clean tree.

mod clone;
mod forge;
mod podman;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use pause_harness::registry::Registry;
use pause_harness::{ALL, AMD64, Arch, DEADLINE, output_within, policy, trixie, workspace};

use clone::{BUILD, HeadClone, OTHER_PASSPHRASE, PASSPHRASE};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The release refused, with one line on stderr that says `reason`.
fn assert_refused(out: &Output, reason: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!out.status.success(), "{what}: released anyway:\n{stderr}");
    assert_eq!(lines.len(), 1, "{what}: not one line:\n{stderr}");
    assert!(lines[0].contains(reason), "{what}: {:?}", lines[0]);
    eprintln!("{what}: {}", lines[0]);
}

/// A dirty tree, a tag that is not the version, no CHANGELOG entry, no key, a wrong
/// passphrase and none: each stops `just release` with one line, and the registry holds no
/// repository after them.
#[test]
fn bad_input_stops_the_release_with_one_line_and_pushes_nothing() {
    let Some(clone) = HeadClone::of_head() else {
        return;
    };
    let registry = Registry::start();
    let reference = format!("{}/pause:{VERSION}", registry.address());
    let key = clone.key("release");

    fs::write(clone.dir.join("stray.txt"), "not committed\n").unwrap();
    let out = clone.release(&reference, &key, Some(PASSPHRASE));
    fs::remove_file(clone.dir.join("stray.txt")).unwrap();
    assert_refused(
        &out,
        "the tree is not clean (`git status`): commit or remove stray.txt",
        "a dirty tree",
    );

    let wrong = format!("{}/pause:9.9.9", registry.address());
    let out = clone.release(&wrong, &key, Some(PASSPHRASE));
    assert_refused(
        &out,
        &format!("the tag 9.9.9 is not Cargo.toml's version {VERSION}"),
        "a wrong tag",
    );

    let changelog = clone.dir.join("CHANGELOG.md");
    let text = fs::read_to_string(&changelog).unwrap();
    let heading = format!("## [{VERSION}]");
    assert!(text.contains(&heading), "CHANGELOG.md has no {heading}");
    fs::write(&changelog, text.replace(&heading, "## [0.0.0]")).unwrap();
    clone.git(&[
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@pause.invalid",
        "commit",
        "-q",
        "-am",
        "no entry",
    ]);
    let out = clone.release(&reference, &key, Some(PASSPHRASE));
    clone.git(&["reset", "-q", "--hard", "HEAD~1"]);
    assert_refused(
        &out,
        &format!("CHANGELOG.md has no `{heading}` entry"),
        "no changelog entry",
    );

    let missing = clone.keys.path().join("missing.key");
    let out = clone.release(&reference, &missing, Some(PASSPHRASE));
    assert_refused(
        &out,
        &format!("no signing key at {}", missing.display()),
        "no key",
    );

    let out = clone.release(&reference, &key, Some("not the passphrase"));
    let env = &clone.passphrase_env;
    assert_refused(
        &out,
        &format!("the passphrase in {env} does not decrypt {}", key.display()),
        "a wrong passphrase",
    );

    let out = clone.release(&reference, &key, None);
    assert_refused(&out, &format!("{env} is not set"), "no passphrase");

    assert_eq!(
        registry.catalog(),
        Vec::<String>::new(),
        "a refused release pushed something"
    );
}

/// The release: pushed with a signature for the index and each platform; podman, under the
/// shipped policy, pulls it by tag and by platform digest and refuses the four forgeries
/// with its own reasons; cosign agrees on all of it; `just verify --key` passes the release
/// and names the same image signed by another key.
#[test]
fn a_release_pulls_under_the_policy_and_each_forgery_is_refused() {
    let Some(clone) = HeadClone::of_head() else {
        return;
    };
    let registry = Registry::start();
    let repository = format!("{}/pause", registry.address());
    let reference = format!("{repository}:{VERSION}");
    let started = std::time::Instant::now();
    let out = clone.release(&reference, &clone.key("release"), Some(PASSPHRASE));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "just release:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "just release {reference} ({:?}):\n{stdout}",
        started.elapsed()
    );

    let layout = clone.layout();
    let index = layout.tagged("latest").digest().to_string();
    assert!(
        stdout.contains(&format!("pin: {repository}@{index}\n")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("sandbox_image = \"{repository}@{index}\"")));
    assert!(stdout.contains(&format!("pause_image = \"{repository}@{index}\"")));
    let tags = registry.tags("pause");
    let platforms: Vec<String> = ALL
        .iter()
        .map(|a| layout.platform(a).digest().to_string())
        .collect();
    for digest in std::iter::once(&index).chain(&platforms) {
        let tag = policy::signature_tag(digest);
        assert!(tags.contains(&tag), "no {tag} among {tags:?}");
    }
    let referrers = format!("sha256-{}", index.trim_start_matches("sha256:"));
    assert!(
        tags.contains(&referrers),
        "no SBOM and provenance tag {referrers}"
    );
    let binary = clone
        .dir
        .join(format!("dist/pause-linux-{}", Arch::host().name));
    let out = output_within(DEADLINE, Command::new(&binary).arg("-v"));
    assert_eq!(
        out.stdout,
        format!("pause {VERSION}\n").as_bytes(),
        "-v is not the tag"
    );

    let podman = podman::Podman::new(&repository, &clone.public_key("release"));
    let amd64 = layout.platform(&AMD64).digest().to_string();
    for pull in [reference.clone(), format!("{repository}@{amd64}")] {
        let out = podman.pull(&pull);
        assert!(
            out.status.success(),
            "podman pull {pull}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "podman pull {pull}:\n{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let cosign = |image: &str, key: &Path| {
        let home = tempfile::tempdir().unwrap();
        output_within(
            DEADLINE,
            &mut trixie::cosign_verify(&home, key, image, true),
        )
    };
    for image in std::iter::once(reference.clone())
        .chain(platforms.iter().map(|d| format!("{repository}@{d}")))
    {
        let out = cosign(&image, &clone.public_key("release"));
        assert!(
            out.status.success(),
            "cosign verify {image}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let forgeries = forge::Forgeries {
        registry: &registry,
        repository: &repository,
        layout: &layout,
        other_key: &clone.key("other"),
        other_passphrase: OTHER_PASSPHRASE,
    };
    forgeries.each(|(what, image, podman_says, cosign_says)| {
        let out = podman.pull(&image);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: podman pulled {image}");
        eprintln!("{what}: podman pull {image}:\n{stderr}");
        assert!(
            stderr.contains(podman_says),
            "{what}: podman says:\n{stderr}"
        );
        let out = cosign(&image, &clone.public_key("release"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: cosign verified {image}");
        eprintln!("{what}: cosign verify {image}:\n{stderr}");
        assert!(
            stderr.contains(cosign_says),
            "{what}: cosign says:\n{stderr}"
        );
    });

    // The same image signed by another key, in a repository of its own, for `just verify`.
    let other = format!("{}/other:{VERSION}", registry.address());
    forgeries.push_signed_by_other_key(&layout.reference("latest"), &other, true);
    let out = output_within(
        BUILD,
        Command::new("just")
            .args([
                "verify",
                &format!("docker://{reference}"),
                &format!("docker://{other}"),
                "--key",
            ])
            .arg(clone.public_key("release"))
            .current_dir(workspace()),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("just verify --key:\n{stdout}");
    assert!(
        stdout.contains("every digest matches the rebuild"),
        "just verify did not get to compare:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "just verify passed another key's signature:\n{stdout}"
    );
    let line = |prefix: &str| stdout.lines().any(|l| l.starts_with(prefix));
    assert!(
        line(&format!(
            "docker://{reference}: signed by {}: the index and {} platform manifests verify",
            clone.public_key("release").display(),
            ALL.len()
        )),
        "{stdout}"
    );
    assert!(
        line(&format!("docker://{other}: BAD SIGNATURE: index {index}: ")),
        "{stdout}"
    );
    assert!(
        line(&format!(
            "docker://{other}: BAD SIGNATURE: linux/amd64 {amd64}: "
        )),
        "{stdout}"
    );
}

/// The README shows the shipped policy files exactly, as the tests above use them.
#[test]
fn readme_shows_the_shipped_policy_files() {
    let readme = fs::read_to_string(workspace().join("README.md")).unwrap();
    for (name, text) in [
        ("deploy/policy.json", policy::POLICY_JSON),
        ("deploy/registries.d/pause.yaml", policy::REGISTRIES_D),
    ] {
        assert!(
            readme.contains(text),
            "README.md does not show {name} as it is"
        );
    }
}
