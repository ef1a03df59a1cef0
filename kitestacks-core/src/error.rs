//! The crate's error type: everything that can be wrong with a configuration.

use std::path::PathBuf;

/// One thing wrong with a configuration: the key it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `services[2] (id "ai").url` or `server.listen`.
    pub key: String,
    /// What is wrong, quoting the bad value.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file named by the user.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not valid TOML, or does not have the expected keys and types.
    #[error("{origin}:{line}:{column}: {message}\n  | {source_line}")]
    Syntax {
        /// The file name, or `<embedded default>` / `<string>`.
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message (unknown key, wrong type, bad value...).
        message: String,
        /// The text of the offending line.
        source_line: String,
    },
    /// The file parsed, but its values are not consistent.
    #[error("{origin}: {} problem(s):\n{}", problems.len(), list(problems))]
    Invalid {
        /// The file name, or `<embedded default>` / `<string>`.
        origin: String,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}
