//! The import graph of the std side: for every crate target of the harness, the tests and
//! the tools, which of its modules (one per file) use which, read from the source with syn.
//! `just deps` prints it and tests/deps.rs asserts it has no circle.
//!
//! An edge A -> B means a path in A's file (a `use`, or a path in code) names B or an item
//! of B: `crate::b::..`, `super::..`, `self::..`, or a child module of A by its name. An
//! inline module (`mod tests { use super::*; }`) is part of its file's node. A parent that
//! only declares `mod child;` does not use it; a child naming `super::X` does use its parent,
//! so a parent's constants that its children read are a circle, as they are for a reader.
//! Paths inside macro bodies are not read (they are tokens until expanded).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use syn::visit::{self, Visit};

/// One crate target's modules, by path from its root (`""` is the root itself,
/// `bench::measure` a module), each with the modules it uses.
pub struct Graph {
    /// `package/target`, e.g. `pause-tools/pause-tools`, `pause-tests/k8s`.
    pub name: String,
    pub uses: BTreeMap<String, BTreeSet<String>>,
}

/// Every std-side crate target, from `cargo metadata`: the harness's library, each test
/// binary, the tools' binary.
pub fn std_graphs() -> Vec<Graph> {
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(crate::workspace::workspace())
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "cargo metadata: {out:?}");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut graphs = Vec::new();
    for package in meta["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        if !["pause-harness", "pause-tests", "pause-tools"].contains(&name) {
            continue;
        }
        for target in package["targets"].as_array().unwrap() {
            let root = PathBuf::from(target["src_path"].as_str().unwrap());
            let target = target["name"].as_str().unwrap();
            graphs.push(Graph::of(&format!("{name}/{target}"), &root));
        }
    }
    graphs.sort_by(|a, b| a.name.cmp(&b.name));
    graphs
}

impl Graph {
    /// The graph of the crate whose root file is `root`.
    pub fn of(name: &str, root: &Path) -> Graph {
        let mut files = BTreeMap::new();
        collect(
            root,
            String::new(),
            root.parent().unwrap().to_path_buf(),
            &mut files,
        );
        let modules: BTreeSet<String> = files.keys().cloned().collect();
        let mut uses = BTreeMap::new();
        for (module, file) in &files {
            let mut reader = Reader {
                modules: &modules,
                at: split(module),
                found: BTreeSet::new(),
            };
            reader.visit_file(file);
            reader.found.remove(module);
            uses.insert(module.clone(), reader.found);
        }
        Graph {
            name: name.to_string(),
            uses,
        }
    }

    /// A circle of modules, each using the next and the last the first, if there is one.
    pub fn circle(&self) -> Option<Vec<String>> {
        fn walk(
            graph: &Graph,
            module: &str,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|m| m == module) {
                return Some(path[at..].to_vec());
            }
            if done.contains(module) {
                return None;
            }
            path.push(module.to_string());
            for next in &graph.uses[module] {
                if let Some(circle) = walk(graph, next, path, done) {
                    return Some(circle);
                }
            }
            path.pop();
            done.insert(module.to_string());
            None
        }
        let mut done = BTreeSet::new();
        self.uses
            .keys()
            .find_map(|m| walk(self, m, &mut Vec::new(), &mut done))
    }

    /// The graph as text: `module -> used, used` a line, the root named `(root)`.
    pub fn render(&self) -> String {
        let show = |m: &str| {
            if m.is_empty() {
                "(root)".to_string()
            } else {
                m.to_string()
            }
        };
        let mut text = format!("{}\n", self.name);
        for (module, used) in &self.uses {
            let used: Vec<String> = used.iter().map(|u| show(u)).collect();
            text += &format!("  {} -> {}\n", show(module), used.join(", "));
        }
        text
    }
}

fn split(module: &str) -> Vec<String> {
    module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Parses the file of `module` and, through its `mod name;` items, every file below it.
/// `dir` is where its child modules' files are.
fn collect(file: &Path, module: String, dir: PathBuf, files: &mut BTreeMap<String, syn::File>) {
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    for item in &ast.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.content.is_some() {
            continue;
        }
        let name = m.ident.to_string();
        let child = if module.is_empty() {
            name.clone()
        } else {
            format!("{module}::{name}")
        };
        let flat = dir.join(format!("{name}.rs"));
        let (path, child_dir) = if flat.is_file() {
            (flat, dir.join(&name))
        } else {
            (dir.join(&name).join("mod.rs"), dir.join(&name))
        };
        collect(&path, child, child_dir, files);
    }
    files.insert(module, ast);
}

/// Walks one file, noting the modules its paths name.
struct Reader<'a> {
    modules: &'a BTreeSet<String>,
    /// The module being read: the file's, then inline modules inside it.
    at: Vec<String>,
    found: BTreeSet<String>,
}

impl Reader<'_> {
    /// Resolves a path's leading segments against the module being read, and notes the
    /// longest known module they name.
    fn note(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let mut absolute: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.at.clone(),
            "super" => self.at.clone(),
            _ => {
                let mut child = self.at.clone();
                child.push(first.clone());
                if !self.modules.contains(&child.join("::")) {
                    return;
                }
                self.at.clone()
            }
        };
        let mut rest = match first.as_str() {
            "crate" | "self" => &segments[1..],
            _ => segments,
        };
        while rest.first().is_some_and(|s| s == "super") {
            absolute.pop();
            rest = &rest[1..];
        }
        absolute.extend(rest.iter().cloned());
        // The file that holds the longest prefix that is a module: that module's node, or
        // the nearest file around an inline module.
        for len in (0..=absolute.len()).rev() {
            let prefix = absolute[..len].join("::");
            if self.modules.contains(&prefix) {
                self.found.insert(prefix);
                return;
            }
        }
    }

    fn note_use(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.note_use(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.note(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.note(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.note(prefix),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.note_use(tree, prefix);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.note_use(&item.tree, &mut Vec::new());
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.note(&segments);
        }
        visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_some() {
            self.at.push(item.ident.to_string());
            visit::visit_item_mod(self, item);
            self.at.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The circle finder finds one: two modules that use each other.
    #[test]
    fn a_circle_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("lib.rs", "mod a;\nmod b;\nmod c;\n");
        write("a.rs", "use crate::b::B;\npub struct A;\n");
        write(
            "b.rs",
            "pub struct B;\nfn f() -> super::a::A { crate::c::C; super::a::A }\n",
        );
        write("c.rs", "pub struct C;\n");
        let graph = Graph::of("scratch", &dir.path().join("lib.rs"));
        assert_eq!(graph.circle(), Some(vec!["a".to_string(), "b".to_string()]));
        assert!(graph.uses["b"].contains("c"));
    }

    /// Each way a path names a module is read: `crate::`, `self::`, `super::`, a child by
    /// its bare name, a path in an inline module, a module in `dir/mod.rs`; the render
    /// names the root `(root)`.
    #[test]
    fn every_kind_of_path_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        write("lib.rs", "mod a;\nmod c;\nmod d;\nfn f() { a::A; }\n");
        write(
            "a.rs",
            "pub struct A;\nmod inner {\n    fn g() { crate::c::C; }\n}\n",
        );
        write(
            "c.rs",
            "pub struct C;\nfn h() { self::C; super::d::e::E; }\n",
        );
        write("d/mod.rs", "pub mod e;\n");
        write("d/e.rs", "pub struct E;\n");
        let graph = Graph::of("scratch", &dir.path().join("lib.rs"));
        let expected = "scratch\n  (root) -> a\n  a -> c\n  c -> d::e\n  d -> \n  d::e -> \n";
        assert_eq!(graph.render(), expected);
        assert_eq!(graph.circle(), None);
    }
}
