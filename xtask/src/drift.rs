//! `cargo xtask drift`: the cheap kinds of drift between the docs and the tree.
//!
//! - every relative link in a Markdown file (README.md, docs/) names a file or folder that
//!   exists, and so does every repository path README.md shows in backticks;
//! - every `cargo run|test|bench` command line in the docs, the README and the Rust doc
//!   comments names a real package (`-p`), example (`--example`), binary (`--bin`), bench
//!   (`--bench`) and test (`--test`), and the repository paths it passes exist;
//! - every `cargo xtask COMMAND` names a command xtask has.
//!
//! A Rust file is read up to its `#[cfg(test)]` module (unit tests hold made-up references
//! on purpose). [`scan`] is pure (text in, findings out); [`run`] reads the tree and
//! `cargo metadata`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the workspace has, from `cargo metadata`.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Package names.
    pub packages: BTreeSet<String>,
    /// `(package, kind, name)` of every target (`example`, `bin`, `bench`, `test`).
    pub targets: BTreeSet<(String, String, String)>,
    /// `cargo xtask` commands.
    pub xtask_commands: BTreeSet<String>,
}

impl Catalog {
    fn has_target(&self, package: Option<&str>, kind: &str, name: &str) -> bool {
        self.targets
            .iter()
            .any(|(p, k, n)| k == kind && n == name && package.is_none_or(|want| want == p))
    }
}

/// One stale reference: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to the workspace root.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.problem)
    }
}

/// A value that stands for something the reader fills in (`NAME`, `<crate>`, `...`).
fn is_placeholder(value: &str) -> bool {
    value.is_empty()
        || value.contains(['<', '>', '{', '}', '$', '*'])
        || value.contains("...")
        || value.chars().all(|c| !c.is_ascii_lowercase())
}

/// Whether `token` looks like a path inside the repository that should exist.
fn is_repo_path(token: &str) -> bool {
    const ROOTS: &[&str] = &["docs/", "crates/", "examples/", "xtask/", ".ci/"];
    ROOTS.iter().any(|r| token.starts_with(r))
        && !token.contains(char::is_whitespace)
        && !is_placeholder_path(token)
}

fn is_placeholder_path(token: &str) -> bool {
    token.contains(['<', '>', '{', '}', '$', '*', '…']) || token.contains("...")
}

/// The findings in one file's `text`; `file` is its path relative to the root, `exists`
/// tells whether a path relative to the root exists.
pub fn scan(
    file: &str,
    text: &str,
    catalog: &Catalog,
    exists: &dyn Fn(&Path) -> bool,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let markdown = file.ends_with(".md");
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut in_fence = false;
    // Inside README's list item on `examples/`, whose bare names are examples.
    let mut in_examples_item = false;
    for (i, line) in text.lines().enumerate() {
        if !markdown && line.trim() == "#[cfg(test)]" {
            // Unit tests hold made-up references on purpose.
            break;
        }
        let mut found = |problem: String| {
            findings.push(Finding {
                file: file.to_owned(),
                line: i + 1,
                problem,
            })
        };
        if markdown {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
            }
            if !in_fence {
                for target in link_targets(line) {
                    let path = normalize(&dir.join(target));
                    if !exists(&path) {
                        found(format!(
                            "link to {target} ({}): no such file",
                            path.display()
                        ));
                    }
                }
                if file == "README.md" {
                    if line.starts_with("- ") || line.trim().is_empty() {
                        in_examples_item = line.starts_with("- `examples/`");
                    }
                    for span in code_spans(line) {
                        if is_repo_path(span) && !exists(Path::new(span)) {
                            found(format!("`{span}`: no such file or folder"));
                        }
                        let bare_name = !span.is_empty()
                            && span
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                        if in_examples_item
                            && bare_name
                            && !catalog.has_target(None, "example", span)
                        {
                            found(format!("example `{span}`: no such example"));
                        }
                    }
                }
            }
        }
        for problem in check_commands(line, catalog, exists) {
            found(problem);
        }
    }
    findings
}

/// `path` with `.` and `..` resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Relative link targets of Markdown links and images on `line`, without `#anchor`.
fn link_targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or_default();
        let target = target.split('#').next().unwrap_or_default();
        let external = target.contains("://") || target.starts_with("mailto:");
        if !target.is_empty() && !external && !is_placeholder_path(target) {
            out.push(target);
        }
        rest = &after[end..];
    }
    out
}

/// The contents of the `code` spans on `line`.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// The problems with every `cargo run|test|bench|xtask ...` command on `line`.
fn check_commands(line: &str, catalog: &Catalog, exists: &dyn Fn(&Path) -> bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("cargo ") {
        let command = &rest[at + "cargo ".len()..];
        let end = command
            .find(['`', '"', '|', ';', ')', '#', '\\'])
            .unwrap_or(command.len());
        let words: Vec<&str> = command[..end].split_whitespace().collect();
        rest = &command[end..];
        let Some((&sub, args)) = words.split_first() else {
            continue;
        };
        match sub {
            "run" | "test" | "bench" | "build" | "nextest" => {
                check_cargo_args(args, catalog, exists, &mut problems);
            }
            "xtask" => {
                if let Some(&name) = args.first()
                    && !is_placeholder(name)
                    && !catalog.xtask_commands.contains(name)
                {
                    problems.push(format!("`cargo xtask {name}`: no such xtask command"));
                }
            }
            _ => {}
        }
    }
    problems
}

fn check_cargo_args(
    args: &[&str],
    catalog: &Catalog,
    exists: &dyn Fn(&Path) -> bool,
    problems: &mut Vec<String>,
) {
    let value_after = |flags: &[&str]| {
        args.windows(2)
            .find(|w| flags.contains(&w[0]))
            .map(|w| w[1])
            .filter(|v| !is_placeholder(v))
    };
    let package = value_after(&["-p", "--package"]);
    if let Some(p) = package
        && !catalog.packages.contains(p)
    {
        problems.push(format!("`-p {p}`: no such package in the workspace"));
    }
    let package = package.filter(|p| catalog.packages.contains(*p));
    for (flag, kind) in [
        ("--example", "example"),
        ("--bin", "bin"),
        ("--bench", "bench"),
        ("--test", "test"),
    ] {
        if let Some(name) = value_after(&[flag])
            && !catalog.has_target(package, kind, name)
        {
            let owner = package.map_or(String::from("any package"), |p| format!("package {p}"));
            problems.push(format!("`{flag} {name}`: no such {kind} in {owner}"));
        }
    }
    for arg in args {
        if is_repo_path(arg) && !exists(Path::new(arg)) {
            problems.push(format!("`{arg}`: no such file or folder"));
        }
    }
}

/// The workspace's packages and targets, from `cargo metadata`.
fn catalog(root: &Path, xtask_commands: &[&str]) -> Result<Catalog, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata gave no JSON: {e}"))?;
    let mut catalog = Catalog {
        xtask_commands: xtask_commands.iter().map(|c| (*c).to_owned()).collect(),
        ..Catalog::default()
    };
    for package in json["packages"].as_array().into_iter().flatten() {
        let Some(name) = package["name"].as_str() else {
            continue;
        };
        catalog.packages.insert(name.to_owned());
        for target in package["targets"].as_array().into_iter().flatten() {
            let Some(target_name) = target["name"].as_str() else {
                continue;
            };
            for kind in target["kind"].as_array().into_iter().flatten() {
                if let Some(kind) = kind.as_str() {
                    catalog.targets.insert((
                        name.to_owned(),
                        kind.to_owned(),
                        target_name.to_owned(),
                    ));
                }
            }
        }
    }
    Ok(catalog)
}

/// The files to scan: README.md, every Markdown file under docs/, every `.rs` file under
/// crates/, examples/ and xtask/ (their doc comments carry commands too).
fn files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target"
                    && name != "node_modules"
                    && !name.to_string_lossy().starts_with('.')
                {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "md" || e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = vec![root.join("README.md")];
    for dir in ["docs", "crates", "examples", "xtask"] {
        walk(&root.join(dir), &mut out);
    }
    out.sort();
    out
}

/// Scans the tree at `root`; the findings, or why it could not.
pub fn run(root: &Path, xtask_commands: &[&str]) -> Result<Vec<Finding>, String> {
    let catalog = catalog(root, xtask_commands)?;
    let exists = |p: &Path| root.join(p).exists();
    let mut findings = Vec::new();
    for path in files(root) {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("could not read {}: {e}", path.display()))?;
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let relative = relative.to_string_lossy().replace('\\', "/");
        findings.extend(scan(&relative, &text, &catalog, &exists));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        for p in ["bidi-sim", "bidi-examples", "bidi-audio"] {
            c.packages.insert(p.to_owned());
        }
        for (p, k, n) in [
            ("bidi-examples", "example", "quickstart"),
            ("bidi-sim", "bin", "bidi-sim"),
            ("bidi-audio", "bench", "audio"),
            ("bidi-sim", "test", "hearing"),
        ] {
            c.targets.insert((p.to_owned(), k.to_owned(), n.to_owned()));
        }
        c.xtask_commands.insert("ci".to_owned());
        c
    }

    fn exists(p: &Path) -> bool {
        [
            "docs/audio.md",
            "examples",
            "crates/bidi-sim/tests/scenarios/weather.json",
        ]
        .iter()
        .any(|e| Path::new(e) == p)
    }

    fn problems(file: &str, text: &str) -> Vec<String> {
        scan(file, text, &catalog(), &exists)
            .into_iter()
            .map(|f| f.to_string())
            .collect()
    }

    #[test]
    fn real_references_pass() {
        let text = "\
See [audio](docs/audio.md#devices), [the web](https://example.org/x.md), `examples/`.
`cargo run --example quickstart -- --text`, `cargo run --example NAME`
`cargo run -p bidi-sim -- --scenario crates/bidi-sim/tests/scenarios/weather.json`
`cargo bench -p bidi-audio --bench audio` and `cargo test -p bidi-sim --test hearing`
`cargo xtask ci`, `cargo xtask <command>`, cargo run --bin bidi-sim
- `examples/` (`cargo run --example NAME`): `quickstart` (`#[tool]` with
  `FileSessionManager`, `quickstart` again)

- `ws_server` outside the examples item is not an example name.
```sh
cargo run --example quickstart
```
";
        assert_eq!(problems("README.md", text), Vec::<String>::new());
    }

    #[test]
    fn stale_references_are_found() {
        let text = "\
See [gone](docs/gone.md) and `docs/missing.md`.
`cargo run --example quickstrat`
`cargo run -p bidi-sims`
`cargo bench -p bidi-sim --bench audio`
`cargo run -p bidi-sim -- --scenario crates/bidi-sim/tests/scenarios/none.json`
`cargo xtask lint`
- `examples/`: `quickstart`; `text_chaat`
";
        let found = problems("README.md", text);
        assert_eq!(found.len(), 8, "{found:#?}");
        assert!(found[0].starts_with("README.md:1: link to docs/gone.md"));
        assert!(found[1].contains("`docs/missing.md`"));
        assert!(found[2].contains("`--example quickstrat`: no such example in any package"));
        assert!(found[3].contains("`-p bidi-sims`: no such package"));
        assert!(found[4].contains("`--bench audio`: no such bench in package bidi-sim"));
        assert!(found[5].contains("none.json"));
        assert!(found[6].contains("`cargo xtask lint`"));
        assert!(found[7].contains("example `text_chaat`: no such example"));
    }

    #[test]
    fn links_in_docs_resolve_from_their_folder_and_commands_in_rust_files_count() {
        let found = problems(
            "docs/testing.md",
            "[a](audio.md) [b](../docs/audio.md) [c](nope.md)",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("nope.md"));
        let found = problems(
            "examples/x.rs",
            "//! cargo run --example nope\n//! [x](gone.md)",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("examples/x.rs:1:"));
    }
}
