//! The build is reproducible: two clean builds of every architecture, each with the
//! Justfile's own build recipe, give the same bytes, and those are the bytes in dist/.

use std::fs;
use std::process::Command;

use pause_harness::*;

/// Two builds from scratch, each in its own empty target directory, with `just build-one`
/// (the recipe `just dist` runs), give the same bytes, and those are the bytes in dist/:
/// nothing in the output depends on the build directory, the time or the machine's state.
#[test]
fn two_clean_builds_are_bit_identical() {
    let Some(arches) = justfile_arches() else {
        return;
    };
    let builds = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for (arch, target) in &arches {
        let bytes: Vec<Vec<u8>> = builds
            .iter()
            .map(|dir| {
                let out = dir.path().join(format!("pause-linux-{arch}"));
                let status = finish_within(
                    BUILD_LIMIT,
                    Command::new("just")
                        .arg("build-one")
                        .arg(target)
                        .arg(&out)
                        .env("CARGO_TARGET_DIR", dir.path())
                        .current_dir(workspace()),
                    &format!("the {target} build"),
                );
                assert!(status.success(), "{target}: {status}");
                fs::read(out).unwrap()
            })
            .collect();
        assert!(bytes[0] == bytes[1], "{arch}: two clean builds differ");
        let shipped = fs::read(workspace().join(format!("dist/pause-linux-{arch}"))).unwrap();
        assert!(
            bytes[0] == shipped,
            "{arch}: dist/ differs from a clean build of this source (stale? `just dist`)"
        );
    }
}
