//! A secret string (an API token) that is redacted wherever it could be printed.

use std::path::Path;

use crate::error::Problem;

/// A secret value such as the Forgejo token. `Debug` and `Display` print `[redacted]`;
/// the only way to the value is [`Secret::expose`], which callers use at the one place
/// the secret is sent (an HTTP header).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value. Surrounding whitespace (a trailing newline in a file) is removed.
    pub fn new(value: impl Into<String>) -> Self {
        let value: String = value.into();
        Self(value.trim().to_owned())
    }

    /// The secret itself. Never log or return the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Resolves a secret from its two allowed sources: the environment variable `env_var`
    /// (looked up with `env`) wins; otherwise the file named by the `*_file` key `key`.
    /// Neither set gives `Ok(None)`. An empty value is a problem, not a secret.
    pub fn resolve(
        key: &str,
        env_var: &str,
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, Problem> {
        if let Some(value) = env(env_var) {
            let secret = Self::new(value);
            if secret.0.is_empty() {
                return Err(Problem::new(
                    env_var,
                    "environment variable is set but empty",
                ));
            }
            return Ok(Some(secret));
        }
        let Some(path) = file else { return Ok(None) };
        let text = std::fs::read_to_string(path).map_err(|e| {
            Problem::new(
                key,
                format!("cannot read {:?}: {e}", path.display().to_string()),
            )
        })?;
        let secret = Self::new(text);
        if secret.0.is_empty() {
            return Err(Problem::new(
                key,
                format!("{:?} is empty", path.display().to_string()),
            ));
        }
        Ok(Some(secret))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(s.to_string(), "[redacted]");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn env_wins_over_file_and_file_is_trimmed() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "from-file").unwrap();
        let none = |_: &str| None;
        let got = Secret::resolve("forgejo.token_file", "TOKEN", Some(f.path()), &none).unwrap();
        assert_eq!(got.unwrap().expose(), "from-file");
        let env = |k: &str| (k == "TOKEN").then(|| "from-env".to_owned());
        let got = Secret::resolve("forgejo.token_file", "TOKEN", Some(f.path()), &env).unwrap();
        assert_eq!(got.unwrap().expose(), "from-env");
        assert_eq!(Secret::resolve("k", "TOKEN", None, &none).unwrap(), None);
    }

    #[test]
    fn missing_or_empty_sources_are_problems_naming_the_key() {
        let none = |_: &str| None;
        let err = Secret::resolve(
            "forgejo.token_file",
            "T",
            Some(Path::new("/nonexistent/t")),
            &none,
        )
        .unwrap_err();
        assert_eq!(err.key, "forgejo.token_file");
        assert!(err.message.contains("/nonexistent/t"), "{}", err.message);
        let empty = |_: &str| Some("  \n".to_owned());
        let err = Secret::resolve("forgejo.token_file", "T", None, &empty).unwrap_err();
        assert_eq!(err.key, "T");
    }
}
