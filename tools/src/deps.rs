//! `pause-tools deps` (`just deps`): the std side's import graph, one block per crate target,
//! and any circle in it (tests/deps.rs asserts there is none). The graph is the harness's.

use anyhow::{Result, ensure};
use pause_harness::imports::std_graphs;

pub fn main(args: &[String]) -> Result<()> {
    ensure!(args.is_empty(), "usage: pause-tools deps");
    let mut circles = Vec::new();
    for graph in std_graphs() {
        print!("{}", graph.render());
        if let Some(circle) = graph.circle() {
            circles.push(format!("{}: {}", graph.name, circle.join(" -> ")));
        }
    }
    ensure!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
    println!("no import circles");
    Ok(())
}
