//! Every file in `tests/invalid_configs/` must be refused with exactly the problems its
//! `# expect:` lines give, whole and in order (for a syntax error, its one line), and
//! every problem placed in the file quotes the line it names.

use std::path::Path;

use kitestacks_core::{Config, ConfigError};

#[test]
fn each_invalid_config_gives_its_expected_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_configs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 25, "fixtures missing from {}", dir.display());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect:"))
            .map(str::trim)
            .collect();
        assert!(
            !expected.is_empty(),
            "{} has no # expect: line",
            file.display()
        );
        let err = match Config::from_toml(&text, "<test>", None) {
            Ok(_) => panic!("{} was accepted", file.display()),
            Err(e) => e,
        };
        let shown = err.to_string();
        let got: Vec<&str> = match &err {
            ConfigError::Syntax { line, .. } => {
                assert!(*line > 1, "{shown}");
                shown.lines().take(1).collect()
            }
            ConfigError::Invalid { problems, .. } => {
                let header = match problems.len() {
                    1 => "<test>: 1 problem:".to_owned(),
                    n => format!("<test>: {n} problems:"),
                };
                assert_eq!(shown.lines().next(), Some(header.as_str()));
                for p in problems {
                    if let Some(at) = &p.at {
                        let line = text.lines().nth(at.line - 1).unwrap().trim_end();
                        assert_eq!(at.source_line, line, "{}: {shown}", file.display());
                        assert!(at.column >= 1 && at.column <= line.chars().count().max(1));
                    }
                }
                shown
                    .lines()
                    .filter_map(|l| l.strip_prefix("  - "))
                    .collect()
            }
            other => panic!("unexpected error kind: {other}"),
        };
        assert_eq!(got, expected, "{}:\n{shown}", file.display());
    }
}
