//! The server version (`/api/v1/version`) and whether the server is Forgejo or Gitea.

use serde::{Deserialize, Serialize};

/// Which software answers: Forgejo or its upstream Gitea. Their APIs are nearly the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// Forgejo: its version carries a `+gitea-<compatible Gitea version>` suffix.
    Forgejo,
    /// Gitea: a plain version.
    Gitea,
}

/// The server's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ServerVersion {
    /// The version as the server reports it, e.g. `7.0.0+gitea-1.22.0` or `1.24.6`.
    pub version: String,
    /// Forgejo or Gitea, told apart by the `+gitea` suffix Forgejo adds.
    pub flavor: Flavor,
}

impl ServerVersion {
    /// Classifies a version string: Forgejo versions contain `+gitea`
    /// (`7.0.0+gitea-1.22.0`, `17.0.0-dev-609-a14eb80977+gitea-1.22.0`), Gitea's do not.
    pub fn parse(version: &str) -> Self {
        let version = version.trim().to_owned();
        let flavor = if version.contains("+gitea") {
            Flavor::Forgejo
        } else {
            Flavor::Gitea
        };
        Self { version, flavor }
    }

    /// The version without Forgejo's `+gitea-...` suffix: `7.0.0`, or Gitea's `1.24.6`.
    pub fn number(&self) -> &str {
        self.version
            .split_once("+gitea")
            .map_or(self.version.as_str(), |(v, _)| v)
    }

    /// The Gitea version the server is API-compatible with: Forgejo's suffix
    /// (`1.22.0` of `7.0.0+gitea-1.22.0`) or Gitea's own version.
    pub fn gitea_compatible(&self) -> &str {
        match self.version.split_once("+gitea") {
            Some((_, compat)) => compat.trim_start_matches('-'),
            None => &self.version,
        }
    }
}

/// The body of `/api/v1/version`.
#[derive(Debug, Deserialize)]
pub(crate) struct VersionBody {
    #[serde(default, deserialize_with = "crate::null::or_default")]
    pub(crate) version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, flavor: Flavor, number: &str, compat: &str) {
        let v = ServerVersion::parse(input);
        assert_eq!(v.flavor, flavor, "{input}");
        assert_eq!(v.number(), number, "{input}");
        assert_eq!(v.gitea_compatible(), compat, "{input}");
    }

    #[test]
    fn forgejo_and_gitea_are_told_apart() {
        check("7.0.0+gitea-1.22.0", Flavor::Forgejo, "7.0.0", "1.22.0");
        check(
            "17.0.0-dev-609-a14eb80977+gitea-1.22.0",
            Flavor::Forgejo,
            "17.0.0-dev-609-a14eb80977",
            "1.22.0",
        );
        check("1.24.6", Flavor::Gitea, "1.24.6", "1.24.6");
        check("", Flavor::Gitea, "", "");
    }
}
