//! Every file in `tests/invalid_configs/` must be refused with the messages its
//! `# expect:` lines give (each must appear in the error, as a line or line prefix).

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
    assert!(files.len() >= 15, "fixtures missing from {}", dir.display());
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
        for want in &expected {
            assert!(
                shown.contains(want),
                "{}:\n  expected: {want}\n  got: {shown}",
                file.display()
            );
        }
        // Syntax errors carry a position, validation errors a list of problems.
        match err {
            ConfigError::Syntax { line, column, .. } => assert!(line > 1 && column >= 1),
            ConfigError::Invalid { problems, .. } => {
                assert_eq!(problems.len(), expected.len(), "{shown}")
            }
            other => panic!("unexpected error kind: {other}"),
        }
    }
}
