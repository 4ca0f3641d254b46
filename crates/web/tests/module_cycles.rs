//! No import cycle between the modules of `crates/web/src`, and no feature module using another
//! (docs/architecture.md, "Inside `ac-web`: floors"): a module may use the floors below it and be
//! used by the route table above it, never both ways round, or no module could be read, tested
//! or moved on its own.
//!
//! The graph is built from the source text: each top-level module of the crate is a node (a
//! folder module with everything in it), and module A leans on module B when a file of A names
//! `crate::B…`, `super::…::B…` reaching the crate root, or a name the crate root re-exports from B.
//! The crate root (`lib.rs`) wires everything and is left out. Unit tests (`#[cfg(test)]` to the
//! end of a file) are left out too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // a test fails loudly

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `src`: `console/referent/team.rs` → `console::referent::team`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The text without line comments and without the unit tests at the end.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first segment of each path a `use` group names: `{a, b::c, d::{e, f}}` → a, b, d.
fn group_heads(group: &str) -> Vec<String> {
    let (mut depth, mut item, mut heads) = (0, String::new(), Vec::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(identifier(item.trim()).to_owned());
                item.clear();
                continue;
            }
            _ => {}
        }
        if depth == 0 || c != '{' {
            item.push(c);
        }
    }
    heads.push(identifier(item.trim()).to_owned());
    heads.into_iter().filter(|h| !h.is_empty()).collect()
}

/// The names a file takes from the crate root: `crate::X`, `use crate::{X, …}`, and `super::`
/// chains that climb to the root from where the file stands.
fn root_names(code: &str, depth: usize) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = closing_brace(group);
            names.extend(group_heads(&group[..end]));
        } else {
            names.insert(identifier(after).to_owned());
        }
        rest = after;
    }
    // `super::` from a top-level module (depth 1) is the root; from deeper, one more each.
    let climb = "super::".repeat(depth);
    for (at, _) in code.match_indices(&climb) {
        let before = code[..at].chars().last();
        let after = &code[at + climb.len()..];
        let beyond = after.starts_with("super::");
        if beyond || before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            let end = closing_brace(group);
            names.extend(group_heads(&group[..end]));
        } else {
            names.insert(identifier(after).to_owned());
        }
    }
    names.remove("");
    names
}

fn closing_brace(group: &str) -> usize {
    let mut depth = 0;
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return at,
            '}' => depth -= 1,
            _ => {}
        }
    }
    group.len()
}

/// What the crate root re-exports, by the name it gives: `pub use error::WebError;` → WebError → error.
fn reexports(root: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in code(root).lines() {
        let line = line.trim();
        let Some(path) = line
            .strip_prefix("pub use ")
            .or_else(|| line.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let (path, alias) = match path.split_once(" as ") {
            Some((path, alias)) => (path, Some(alias)),
            None => (path, None),
        };
        let module = identifier(path).to_owned();
        let name = alias
            .map(str::to_owned)
            .unwrap_or_else(|| path.rsplit("::").next().unwrap_or_default().to_owned());
        map.insert(name, module);
    }
    map
}

/// Module → the modules it leans on, with the files that make each arrow.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    source_files(src, &mut files);
    let root = fs::read_to_string(src.join("lib.rs")).unwrap();
    let reexported = reexports(&root);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(src, f).first().cloned())
        .filter(|m| m != "lib")
        .collect();
    let mut graph = Graph::new();
    for file in &files {
        let path = module_path(src, file);
        let Some(module) = path.first().filter(|m| *m != "lib") else {
            continue;
        };
        let code = code(&fs::read_to_string(file).unwrap());
        for name in root_names(&code, path.len()) {
            let target = if modules.contains(&name) {
                Some(name)
            } else {
                reexported.get(&name).cloned()
            };
            if let Some(target) = target.filter(|t| t != module && modules.contains(t)) {
                let shown = file.strip_prefix(src).unwrap().display().to_string();
                graph
                    .entry(module.clone())
                    .or_default()
                    .entry(target)
                    .or_default()
                    .insert(shown);
            }
        }
        graph.entry(module.clone()).or_default();
    }
    graph
}

/// One cycle of the graph, if there is one, as the modules in order.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|n| n.keys()) {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn the_modules_of_the_web_crate_form_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.len() > 10, "the graph was not read: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        let arrows: Vec<String> = cycle
            .windows(2)
            .map(|pair| {
                let files = &graph[&pair[0]][&pair[1]];
                format!(
                    "  {} -> {} ({})",
                    pair[0],
                    pair[1],
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "import cycle in crates/web/src: {}\n{}\nMove what both need into a module below them (the kit), or let the route table pass it down.",
            cycle.join(" -> "),
            arrows.join("\n")
        );
    }
}

/// The feature modules (docs/architecture.md, "Inside `ac-web`: floors"): each stands on the
/// floors below and is reached only from the route table.
const FEATURES: &[&str] = &[
    "aide_space",
    "console",
    "identification",
    "information",
    "provider",
    "public",
    "receipts",
    "remote_consent",
    "usagers",
];

#[test]
fn no_feature_module_leans_on_another() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    let crossings: Vec<String> = FEATURES
        .iter()
        .filter_map(|feature| graph.get(*feature).map(|targets| (feature, targets)))
        .flat_map(|(feature, targets)| {
            targets
                .iter()
                .filter(|(target, _)| FEATURES.contains(&target.as_str()))
                .map(move |(target, files)| {
                    let files: Vec<_> = files.iter().cloned().collect();
                    format!("  {feature} -> {target} ({})", files.join(", "))
                })
        })
        .collect();
    assert!(
        crossings.is_empty(),
        "feature modules using one another (move what they share into the kit below them):\n{}",
        crossings.join("\n")
    );
}

/// One route table (docs/architecture.md, "Inside `ac-web`: floors"): a path registered in a
/// feature module could not be found by reading `routes.rs`, nor its order against the others.
#[test]
fn only_the_route_table_registers_routes() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let registering: Vec<String> = files
        .iter()
        .filter(|file| !file.ends_with("routes.rs"))
        .filter(|file| {
            let text = code(&fs::read_to_string(file).unwrap());
            ["web::resource(", "web::scope(", "ServiceConfig"]
                .iter()
                .any(|needle| text.contains(needle))
        })
        .map(|file| file.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    // The demonstration's sites are crates of their own; `demo.rs` hands them the table.
    assert_eq!(
        registering,
        ["demo.rs"],
        "routes registered outside crates/web/src/routes.rs"
    );
}

#[test]
fn the_reader_sees_every_kind_of_import() {
    assert_eq!(
        group_heads("AppState, WebError, auth::{CurrentAidant, x}, respond::page"),
        ["AppState", "WebError", "auth", "respond"]
    );
    let names = root_names(
        "use crate::{a, b::c};\nlet x = crate::d::f();\nuse super::e::g;\nuse super::super::h;",
        1,
    );
    assert_eq!(names, ["a", "b", "d", "e"].map(String::from).into());
    let deeper = root_names("use super::super::h;\nuse super::k;", 2);
    assert_eq!(deeper, ["h"].map(String::from).into());
    let map = reexports("pub use error::WebError;\npub use dsfr::base as dsfr_base;\nmod x;");
    assert_eq!(map["WebError"], "error");
    assert_eq!(map["dsfr_base"], "dsfr");
}
