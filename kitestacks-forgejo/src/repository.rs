//! Repositories and accounts, as `/repos/search` and the feeds return them (the fields the
//! portal uses; every other field is ignored, every field may be missing or `null`).

use serde::{Deserialize, Serialize};

use crate::null::or_default;

/// A user or organisation account (Forgejo renders both as a user object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Numeric account id.
    #[serde(default)]
    pub id: i64,
    /// Login name, e.g. `mara`.
    #[serde(default, deserialize_with = "or_default")]
    pub login: String,
    /// Display name; may be empty.
    #[serde(default, deserialize_with = "or_default")]
    pub full_name: String,
    /// Profile page.
    #[serde(default, deserialize_with = "or_default")]
    pub html_url: String,
    /// Avatar image.
    #[serde(default, deserialize_with = "or_default")]
    pub avatar_url: String,
    /// Who may see the account: `public`, `limited` (signed-in users) or `private`
    /// (members); empty when the server does not say (older Gitea).
    #[serde(default, deserialize_with = "or_default")]
    pub visibility: String,
}

/// A repository, as listed by the repository search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Repository {
    /// Numeric repository id.
    #[serde(default)]
    pub id: i64,
    /// The owning user or organisation.
    #[serde(default, deserialize_with = "or_default")]
    pub owner: User,
    /// Repository name, e.g. `portal`.
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// `owner/name`, e.g. `homelab/portal`.
    #[serde(default, deserialize_with = "or_default")]
    pub full_name: String,
    /// Description; may be empty.
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
    /// True when the repository has no commits yet (its commit list answers 409).
    #[serde(default, deserialize_with = "or_default")]
    pub empty: bool,
    /// True for a private repository.
    #[serde(default, deserialize_with = "or_default")]
    pub private: bool,
    /// True for an internal repository (seen by every signed-in user, not by the public).
    #[serde(default, deserialize_with = "or_default")]
    pub internal: bool,
    /// True for a fork.
    #[serde(default, deserialize_with = "or_default")]
    pub fork: bool,
    /// True for a pull mirror.
    #[serde(default, deserialize_with = "or_default")]
    pub mirror: bool,
    /// True for an archived repository.
    #[serde(default, deserialize_with = "or_default")]
    pub archived: bool,
    /// Web page of the repository.
    #[serde(default, deserialize_with = "or_default")]
    pub html_url: String,
    /// Default branch, e.g. `main`.
    #[serde(default, deserialize_with = "or_default")]
    pub default_branch: String,
    /// Last update (a push, a settings change), RFC 3339 in UTC.
    #[serde(default, deserialize_with = "or_default")]
    pub updated_at: String,
    /// Topics; empty when none are set (Forgejo sends `null` then).
    #[serde(default, deserialize_with = "or_default")]
    pub topics: Vec<String>,
}

impl Repository {
    /// Whether an anonymous visitor can see the repository: it is neither private nor
    /// internal, and its owner's visibility is `public` (or not given). A public
    /// repository of a `limited` or `private` organisation is not public.
    pub fn is_public(&self) -> bool {
        !self.private && !self.internal && matches!(self.owner.visibility.as_str(), "" | "public")
    }
}

/// The envelope of `/repos/search`: `{"ok": true, "data": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchResults {
    #[serde(default, deserialize_with = "or_default")]
    pub(crate) data: Vec<Repository>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_nulls_are_tolerated() {
        let json = r#"{"ok":true,"data":[{"id":9,"owner":null,"name":"x","full_name":"a/x",
            "description":null,"empty":true,"topics":null,"projects_mode":"all","licenses":[]}]}"#;
        let r: SearchResults = serde_json::from_str(json).unwrap();
        let repo = &r.data[0];
        assert_eq!(repo.full_name, "a/x");
        assert!(repo.empty);
        assert!(repo.topics.is_empty());
        assert_eq!(repo.owner, User::default());
        let r: SearchResults = serde_json::from_str(r#"{"ok":true,"data":null}"#).unwrap();
        assert!(r.data.is_empty());
    }

    #[test]
    fn public_means_public_repository_of_a_public_owner() {
        let repo = |private, internal, visibility: &str| Repository {
            private,
            internal,
            owner: User {
                visibility: visibility.into(),
                ..User::default()
            },
            ..Repository::default()
        };
        assert!(repo(false, false, "public").is_public());
        assert!(repo(false, false, "").is_public());
        assert!(!repo(true, false, "public").is_public());
        assert!(!repo(false, true, "public").is_public());
        assert!(!repo(false, false, "limited").is_public());
        assert!(!repo(false, false, "private").is_public());
    }
}
