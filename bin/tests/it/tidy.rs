//! House rules checked on the whole workspace's files: every Rust file opens with a `//!`
//! line saying what it is, every example is in the examples index, and every library
//! crate has a README whose example runs as a doctest.

use std::path::{Path, PathBuf};

const LIBRARY_CRATES: [&str; 4] = [
    "kitestacks-core",
    "kitestacks-metrics",
    "kitestacks-forgejo",
    "kitestacks-weather",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bin/ has a parent")
        .to_owned()
}

/// Every `.rs` file under `dir`, leaving out build output, VCS data, installed
/// packages and hidden directories.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The files that break the rule "the first line is a `//!` summary".
fn without_summary(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.lines().next().is_some_and(|l| l.starts_with("//!"))
        })
        .map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string())
        .collect()
}

#[test]
fn every_rust_file_opens_with_a_summary_line() {
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 100, "found only {} .rs files", files.len());
    let bad = without_summary(&root);
    assert!(
        bad.is_empty(),
        "these files do not open with a `//!` line saying what they are:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_summary_rule_catches_a_file_without_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::create_dir_all(dir.path().join("target")).unwrap();
    std::fs::write(dir.path().join("src/good.rs"), "//! Good.\nfn f() {}\n").unwrap();
    std::fs::write(dir.path().join("src/bad.rs"), "// not a doc\n//! late\n").unwrap();
    std::fs::write(dir.path().join("src/empty.rs"), "").unwrap();
    std::fs::write(dir.path().join("target/built.rs"), "fn generated() {}\n").unwrap();
    assert_eq!(without_summary(dir.path()), ["src/bad.rs", "src/empty.rs"]);
}

#[test]
fn every_example_is_in_the_examples_index() {
    let root = workspace();
    let manifest = std::fs::read_to_string(root.join("examples/Cargo.toml")).unwrap();
    let index = std::fs::read_to_string(root.join("examples/README.md")).unwrap();
    let names: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "kitestacks-examples")
        .collect();
    assert!(names.len() >= 5, "examples/Cargo.toml lists {names:?}");
    for name in names {
        assert!(
            index.contains(&format!("--example {name}")),
            "examples/README.md does not say how to run the example {name}"
        );
    }
}

#[test]
fn every_library_crate_has_a_readme_whose_example_is_a_doctest() {
    let root = workspace();
    for krate in LIBRARY_CRATES {
        let readme = std::fs::read_to_string(root.join(krate).join("README.md"))
            .unwrap_or_else(|e| panic!("{krate}/README.md: {e}"));
        assert!(
            readme.contains("```rust"),
            "{krate}/README.md has no example"
        );
        let lib = std::fs::read_to_string(root.join(krate).join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("#[doc = include_str!(\"../README.md\")]"),
            "{krate}/src/lib.rs does not run its README's example as a doctest"
        );
    }
}
