//! Every error code of the workspace is declared once and documented (docs/errors.md).
//!
//! An error enum declares each variant's code in one place, its `code()` method; its message
//! (`#[error("{code} …", code = self.code())]`) takes the code from there. This test reads the
//! sources of every crate:
//! - a code returned by two `code()` arms (two refusals under one code) fails;
//! - codes written outside a `code()` (a page's `code: "WEB404"` in `crates/web`, a CLI refusal
//!   or a log line headed `"AUD100 …"`) are listed too; one that reuses an error's code names the
//!   same refusal, worded there;
//! - the web layer writes no code of its own outside its `WebError::code()`: every refusal a page
//!   shows comes typed from the crate that owns it;
//! - `docs/errors.md` must list every code, and only those. `AC_BLESS_ERRORS=1 cargo test -p
//!   aidants-connect --test error_codes` writes it from the sources.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // a test fails loudly by design

use regex::Regex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Where a code is declared, and its French message.
#[derive(Debug, Clone)]
struct Declared {
    place: String,
    message: String,
}

/// The sources' files under `crates/*/src`, as (path relative to the workspace, text).
fn sources(root: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let src = krate.expect("a crate").path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a readable source");
            let relative = path
                .strip_prefix(root)
                .expect("inside the workspace")
                .display()
                .to_string();
            (relative, text)
        })
        .collect()
}

/// The codes of the error enums: each `code()` arm (`Enum::Variant … => "ABC123"`), with the
/// message of that variant's `#[error]` attribute.
fn enum_codes(files: &[(String, String)]) -> BTreeMap<String, Vec<Declared>> {
    let arm =
        Regex::new(r#"(?m)^\s*((?:\w+::\w+[^=]*?\|\s*)*\w+::\w+[^=]*?)=>\s*"([A-Z]{2,5}\d{3})""#)
            .expect("the arm pattern");
    let variant = Regex::new(r"(\w+)::(\w+)").expect("the variant pattern");
    let enum_name = Regex::new(r"pub(?:\(\w+\))? enum (\w+)").expect("the enum pattern");
    let attribute = Regex::new(
        r#"#\[error\(\s*"\{(?:code|own)\} ((?:[^"\\]|\\.)*)"[^\]]*\)\]\s*(?:///[^\n]*\n\s*|#\[[^\]]*\]\s*)*(\w+)"#,
    )
    .expect("the attribute pattern");
    let single = Regex::new(r#"fn code\(&?self\) -> &'static str \{\s*"([A-Z]{2,5}\d{3})""#)
        .expect("the single-code pattern");
    let written = Regex::new(r#""\{\} ((?:[^"\\]|\\.)*)""#).expect("the display pattern");
    let mut codes: BTreeMap<String, Vec<Declared>> = BTreeMap::new();
    for (path, text) in files {
        let Some(start) = text.find("fn code(") else {
            continue;
        };
        // Each attribute's message, by the enum it sits in and its variant: two enums of one
        // file may share a variant's name.
        let enums: Vec<(usize, &str)> = enum_name
            .captures_iter(text)
            .filter_map(|c| Some((c.get(0)?.start(), c.get(1)?.as_str())))
            .collect();
        let enum_at = |at: usize| {
            enums
                .iter()
                .take_while(|(start, _)| *start < at)
                .last()
                .map_or("", |(_, name)| *name)
        };
        let messages: BTreeMap<(&str, &str), &str> = attribute
            .captures_iter(text)
            .filter_map(|c| {
                let whole = c.get(0)?;
                Some((
                    (enum_at(whole.start()), c.get(2)?.as_str()),
                    c.get(1)?.as_str(),
                ))
            })
            .collect();
        // A struct error with one code (`UnknownLegalText`): its one attribute.
        for c in single.captures_iter(text) {
            // Its `#[error]`, or a hand-written `Display` that starts with the code.
            let message = messages
                .values()
                .next()
                .copied()
                .or_else(|| {
                    written
                        .captures(text)
                        .and_then(|w| w.get(1))
                        .map(|m| m.as_str())
                })
                .unwrap_or_default();
            // (one struct per file has a single code: its one attribute)
            codes.entry(c[1].to_owned()).or_default().push(Declared {
                place: path.clone(),
                message: message.to_owned(),
            });
        }
        for (offset, _) in text.match_indices("fn code(").filter(|(o, _)| *o >= start) {
            let body_end = text[offset..]
                .find("\n    }\n")
                .map_or(text.len(), |e| offset + e);
            for c in arm.captures_iter(&text[offset..body_end]) {
                let variants: Vec<(&str, &str)> = variant
                    .captures_iter(&c[1])
                    .filter_map(|v| Some((v.get(1)?.as_str(), v.get(2)?.as_str())))
                    .collect();
                let message = variants
                    .iter()
                    .find_map(|(e, v)| {
                        // `Self::Variant` in an arm names the enum of the `impl`.
                        messages.get(&(*e, *v)).or_else(|| {
                            messages
                                .iter()
                                .find(|((_, variant), _)| variant == v)
                                .map(|(_, m)| m)
                                .filter(|_| *e == "Self")
                        })
                    })
                    .copied()
                    .unwrap_or_default();
                let names: Vec<String> =
                    variants.iter().map(|(e, v)| format!("{e}::{v}")).collect();
                codes.entry(c[2].to_owned()).or_default().push(Declared {
                    place: format!("{path}: {}", names.join(" | ")),
                    message: message.to_owned(),
                });
            }
        }
    }
    codes
}

/// The codes written outside an error's `code()`: on a page by the web layer (`code: "WEB404"`,
/// with its message), or at the head of a message (`"AUD100 clé …"`, the CLI's refusals and a
/// few logs), each with the message beside when it is a literal. Test modules are left out.
fn written_codes(files: &[(String, String)]) -> BTreeMap<String, Vec<Declared>> {
    let literal = Regex::new(
        r#"code: "([A-Z]{2,5}\d{3})",\s*message:\s*(?:"((?:[^"\\]|\\.)*)"|format!\(\s*"((?:[^"\\]|\\.)*)")?"#,
    )
    .expect("the page-code pattern");
    let headed =
        Regex::new(r#""([A-Z]{2,5}\d{3}) ((?:[^"\\]|\\.)*)""#).expect("the headed pattern");
    let mut codes: BTreeMap<String, Vec<Declared>> = BTreeMap::new();
    for (path, text) in files {
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for c in headed.captures_iter(text).filter(|c| !is_algorithm(&c[1])) {
            codes.entry(c[1].to_owned()).or_default().push(Declared {
                place: path.clone(),
                message: c[2]
                    .replace("\\\n", "")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
        if !path.starts_with("crates/web/") {
            continue;
        }
        for c in literal.captures_iter(text) {
            let message = c
                .get(2)
                .or_else(|| c.get(3))
                .map_or("(composé à l'exécution)", |m| m.as_str());
            codes.entry(c[1].to_owned()).or_default().push(Declared {
                place: path.clone(),
                message: message
                    .replace("\\\n", "")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
    }
    codes
}

/// JWS algorithm names (RFC 7518 §3.1: `HS256`, `RS256`, `ES256`, `PS256`…) have a code's shape
/// and are not codes.
fn is_algorithm(code: &str) -> bool {
    ["HS", "RS", "ES", "PS"].iter().any(|family| {
        code.strip_prefix(family)
            .is_some_and(|bits| bits.len() == 3 && bits.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Code literals in `crates/web/src` outside a `code()` body (the declarations) and unit tests.
fn minted_by_the_web(files: &[(String, String)]) -> Vec<String> {
    let literal = Regex::new(r#""([A-Z]{2,5}\d{3})\b"#).expect("the literal pattern");
    let mut found = Vec::new();
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.starts_with("crates/web/src/"))
    {
        let mut text = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .to_owned();
        while let Some(start) = text.find("fn code(") {
            let end = text[start..]
                .find("\n    }\n")
                .map_or(text.len(), |e| start + e);
            text.replace_range(start..end, "");
        }
        found.extend(
            literal
                .captures_iter(&text)
                .filter(|c| !is_algorithm(&c[1]))
                .map(|c| format!("{path}: {}", &c[1])),
        );
    }
    found
}

fn document(
    enums: &BTreeMap<String, Vec<Declared>>,
    web: &BTreeMap<String, Vec<Declared>>,
) -> String {
    let mut all: BTreeMap<&str, (Option<&Declared>, Vec<&Declared>)> = BTreeMap::new();
    for (code, declared) in enums {
        all.entry(code).or_default().0 = declared.first();
    }
    for (code, declared) in web {
        all.entry(code).or_default().1.extend(declared);
    }
    let mut out = String::from(
        "# Error codes\n\n\
         Every code a person, a client or a log may see, with its French message. Written by \
         `AC_BLESS_ERRORS=1 cargo test -p aidants-connect --test error_codes` from the sources \
         (`crates/cli/tests/error_codes.rs` fails when this page and the code disagree). A code is \
         declared once, in its error's `code()`. The last column lists where a code is written \
         outside one: on a page by the web layer, or at the head of a CLI refusal or a log line; \
         such a code is either its own or names the same refusal as the error's, worded there. \
         `{0}`, `{…}`: a value filled in at run time.\n\n\
         | code | declared in | message | also written by |\n|---|---|---|---|\n",
    );
    for (code, (declared, pages)) in all {
        let (place, message) = match declared {
            Some(d) => (d.place.as_str(), d.message.as_str()),
            None => (
                "—",
                pages
                    .iter()
                    .map(|d| d.message.as_str())
                    .find(|m| !m.is_empty())
                    .unwrap_or_default(),
            ),
        };
        let mut writers: Vec<&str> = pages.iter().map(|d| d.place.as_str()).collect();
        writers.dedup();
        let cell = |text: &str| text.replace('|', "\\|");
        out.push_str(&format!(
            "| `{code}` | `{}` | {} | {} |\n",
            cell(place),
            cell(message),
            if writers.is_empty() {
                "—".to_owned()
            } else {
                writers
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    out
}

#[test]
fn every_error_code_is_declared_once_and_documented() {
    let root = workspace();
    let files = sources(&root);
    let enums = enum_codes(&files);
    assert!(enums.len() > 100, "the reader found {} codes", enums.len());
    let twice: Vec<_> = enums.iter().filter(|(_, d)| d.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "codes declared by more than one error: {twice:#?}"
    );
    let missing_message: Vec<_> = enums
        .iter()
        .filter(|(_, d)| d.iter().any(|d| d.message.is_empty()))
        .map(|(c, _)| c)
        .collect();
    assert!(
        missing_message.is_empty(),
        "codes whose message the reader did not find: {missing_message:?}"
    );
    let minted = minted_by_the_web(&files);
    assert!(
        minted.is_empty(),
        "codes written by the web layer (take the refusal from the crate that owns it, or add \
         the HTTP case to WebError::code()): {minted:#?}"
    );
    let web = written_codes(&files);
    let expected = document(&enums, &web);
    let page = root.join("docs/errors.md");
    if std::env::var_os("AC_BLESS_ERRORS").is_some() {
        std::fs::write(&page, &expected).expect("docs/errors.md written");
    }
    let written = std::fs::read_to_string(&page).unwrap_or_default();
    assert!(
        written == expected,
        "docs/errors.md differs from the codes of the sources: run \
         AC_BLESS_ERRORS=1 cargo test -p aidants-connect --test error_codes and review the diff"
    );
}
