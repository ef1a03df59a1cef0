//! Property tests of the TOML configuration: random and mutated configurations (seeded
//! from the embedded default, the deploy example and every invalid-config fixture) never
//! panic, a syntax error names a line and column of the input, and what is accepted or
//! reported stays bounded by the input.

use std::path::Path;

use kitestacks_core::{Config, ConfigError, DEFAULT_CONFIG_TOML};
use proptest::prelude::*;

use crate::mutate;

fn seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/invalid_configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(root.join("../examples/deploy/kitestacks.toml"));
    files.sort();
    std::iter::once(DEFAULT_CONFIG_TOML.to_owned())
        .chain(files.iter().map(|f| std::fs::read_to_string(f).unwrap()))
        .collect()
}

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn from_toml(text in mutate::input(seeds())) {
        // No environment: a mutated configuration must not find a token by chance.
        let lines = mutate::lines(&text);
        let e = match Config::from_toml_with_env(&text, "<props>", None, &|_| None) {
            Ok(config) => {
                let entries = config.registry.hosts.len() + config.registry.services.len();
                prop_assert!(entries <= lines, "{entries} hosts and services from {lines} lines");
                return Ok(());
            }
            Err(e) => e,
        };
        // Messages quote values of the input: proportionate to it.
        let shown = e.to_string();
        prop_assert!(shown.len() <= 16 * text.len() + 4096, "{} bytes of message", shown.len());
        match e {
            ConfigError::Syntax { line, column, source_line, .. } => {
                prop_assert!((1..=lines + 1).contains(&line), "line {line} of {lines}");
                prop_assert!(column >= 1);
                prop_assert!(source_line.len() <= text.len());
            }
            ConfigError::Invalid { problems, .. } => {
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.len() <= text.len(), "{} problems", problems.len());
            }
            other => prop_assert!(false, "not a syntax or validation error: {other}"),
        }
    }
}

/// Nesting that random edits seldom build: refused with a line, not a stack overflow.
#[test]
fn deep_nesting_is_a_syntax_error_not_a_stack_overflow() {
    for text in [
        format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("a = {}1{}", "{b = ".repeat(100_000), "}".repeat(100_000)),
    ] {
        match Config::from_toml_with_env(&text, "<props>", None, &|_| None) {
            Err(ConfigError::Syntax { line, message, .. }) => {
                assert_eq!(line, 1);
                assert!(message.contains("recursion"), "{message}");
            }
            other => panic!("not a syntax error: {other:?}"),
        }
    }
}
