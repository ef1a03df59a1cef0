//! The crate's error type: everything that can be wrong with a configuration.

use std::path::PathBuf;

/// Where in the configuration text a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The text of that line, as the user wrote it.
    pub source_line: String,
}

/// One thing wrong with a configuration: the key it concerns, what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `services[2] (id "ai").url` or `server.listen`; for an
    /// unknown key, the table it is in.
    pub key: String,
    /// What is wrong, quoting the bad value.
    pub message: String,
    /// The line the key (or its table) is on, when the text has it.
    pub at: Option<Position>,
}

impl Problem {
    /// A problem of `key`, not yet placed in the text.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            at: None,
        }
    }
}

/// `12:3: server.listen: "nope" is not a socket address` (without the quoted line).
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "{}:{}: ", at.line, at.column)?;
        }
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
    /// The text is not TOML at all (nothing after this point can be read).
    #[error("{origin}:{line}:{column}: {message}\n  | {source_line}")]
    Syntax {
        /// The file name, or `<embedded default>` / `<string>`.
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message.
        message: String,
        /// The text of the offending line.
        source_line: String,
    },
    /// The text is TOML, but keys, types or values are wrong: every problem found, each
    /// on its own line (`origin:line:column: key: message`, then the line quoted).
    #[error("{origin}: {}:\n{}", count(problems.len()), list(origin, problems))]
    Invalid {
        /// The file name, or `<embedded default>` / `<string>`.
        origin: String,
        /// Every problem found, in file order (those without a position last).
        problems: Vec<Problem>,
    },
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 problem".to_owned()
    } else {
        format!("{n} problems")
    }
}

fn list(origin: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| match &p.at {
            Some(at) => format!("  - {origin}:{p}\n      | {}", at.source_line),
            None => format!("  - {p}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_one_problem_per_block_with_its_line_quoted() {
        let mut placed = Problem::new("server.listen", "\"nope\" is not a socket address");
        placed.at = Some(Position {
            line: 2,
            column: 10,
            source_line: "listen = \"nope\"".into(),
        });
        let err = ConfigError::Invalid {
            origin: "k.toml".into(),
            problems: vec![placed, Problem::new("homelab.base_domain", "missing")],
        };
        assert_eq!(
            err.to_string(),
            "k.toml: 2 problems:\n  - k.toml:2:10: server.listen: \"nope\" is not a socket address\n      | listen = \"nope\"\n  - homelab.base_domain: missing"
        );
    }
}
