//! The house rules of ARCHITECTURE.md, checked on the source: each module of `src/` imports
//! only modules below it in the layer order, so there are no cycles between modules, and
//! the files of one module never import each other in a circle.

use crate::common::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of the library, lowest first (ARCHITECTURE.md's layer table, row by row):
/// data, stages, show logic, Bevy plugins, orchestration, apps.
const ORDER: &[&str] = &[
    "media",
    "config", // data
    "av",
    "loudness",
    "watch",
    "gltf_doc",
    "usage",
    "net",
    "mocap",
    "encode",
    "output",
    "voice",
    "llm",
    "vmc",
    "scene", // stages
    "speech",
    "mix",
    "show", // show logic
    "stage",
    "capture",
    "presenter",
    "graphics",
    "camera",
    "twin",
    "vr", // Bevy plugins
    "api",
    "runtime", // orchestration
    "preview",
    "editor",
    "clips",
    "bench", // apps
];

/// The code of a file: without comments (doc links name other modules freely) and
/// without its inline `#[cfg(test)] mod tests { … }` (tests may reach anywhere).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(file, module it lives in)` for every non-test source file of the library.
fn library_files() -> Vec<(std::path::PathBuf, String)> {
    let src = repo().join("src");
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .to_string();
            let name = path.file_name().unwrap().to_string_lossy();
            if !rel.ends_with(".rs")
                || name == "tests.rs"
                || ["main.rs", "lib.rs", "logsink.rs"].contains(&rel.as_str())
            {
                continue;
            }
            let module = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string();
            files.push((path, module));
        }
    }
    files
}

/// The crate's modules that `text` names as `crate::name`.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + 7..];
        if rest.starts_with('{') {
            // `use crate::{a::X, b};`
            let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for item in group.split(',') {
                let name = item.trim().split("::").next().unwrap_or("");
                refs.insert(name.to_string());
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            refs.insert(name);
        }
    }
    refs
}

#[test]
fn modules_import_only_from_layers_below() {
    let rank = |m: &str| ORDER.iter().position(|o| *o == m);
    let mut upward = Vec::new();
    for (path, module) in library_files() {
        let own =
            rank(&module).unwrap_or_else(|| panic!("module `{module}` is missing from ORDER"));
        for target in crate_refs(&code(&path)) {
            if target == module || target.is_empty() {
                continue;
            }
            let Some(theirs) = rank(&target) else {
                continue;
            };
            if theirs > own {
                upward.push(format!("{} → {target}", path.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a higher layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_files_of_a_module_never_import_each_other_in_a_circle() {
    // Edges between sibling files (not the module's own mod.rs, which declares them).
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, module) in library_files() {
        let dir = path.parent().unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if stem == "mod" || dir == repo().join("src") {
            continue;
        }
        let text = code(&path);
        let key = format!("{module}/{stem}");
        for entry in std::fs::read_dir(dir).unwrap() {
            let sibling = entry
                .unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string();
            if sibling == stem || sibling == "mod" || sibling == "tests" {
                continue;
            }
            let named = [
                format!("super::{sibling}::"),
                format!("super::{sibling};"),
                format!("crate::{module}::{sibling}::"),
            ];
            if named.iter().any(|n| text.contains(n.as_str())) {
                edges
                    .entry(key.clone())
                    .or_default()
                    .insert(format!("{module}/{sibling}"));
            }
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        panic!(
            "files importing each other in a circle: {}",
            cycle.join(" → ")
        );
    }
}

/// A cycle in a directed graph, if it has one (depth-first search with a path stack).
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
}

#[test]
fn cycles_are_found() {
    let edges: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .iter()
        .map(|(f, t)| (f.to_string(), BTreeSet::from([t.to_string()])))
        .collect();
    assert_eq!(find_cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
}
