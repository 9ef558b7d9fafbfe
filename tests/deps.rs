//! The std side depends in one direction: the tests and the tools use the harness, never each
//! other, and no crate's modules import each other in a circle (`just deps` prints the graph).

use std::process::Command;

use pause_harness::imports::std_graphs;
use pause_harness::workspace;

#[test]
fn no_import_circles() {
    let graphs = std_graphs();
    let names: Vec<&str> = graphs.iter().map(|g| g.name.as_str()).collect();
    for target in ["pause-harness/", "pause-tests/deps", "pause-tools/"] {
        assert!(
            names.iter().any(|n| n.starts_with(target)),
            "no graph of {target} among {names:?}"
        );
    }
    let circles: Vec<String> = graphs
        .iter()
        .filter_map(|g| {
            g.circle()
                .map(|c| format!("{}: {}", g.name, c.join(" -> ")))
        })
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

/// The tools do not reach into the tests, nor the harness into either.
#[test]
fn crates_depend_one_way() {
    for (package, forbidden) in [
        ("pause-tools", &["pause-tests"][..]),
        ("pause-harness", &["pause-tests", "pause-tools"][..]),
    ] {
        let out = Command::new("cargo")
            .args([
                "tree",
                "--offline",
                "--all-features",
                "-e",
                "normal,build",
                "-p",
                package,
            ])
            .current_dir(workspace())
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo tree -p {package}: {out:?}");
        let tree = String::from_utf8(out.stdout).unwrap();
        for crate_name in forbidden {
            assert!(
                !tree.contains(&format!(" {crate_name} v")),
                "{package} depends on {crate_name}:\n{tree}"
            );
        }
    }
}
