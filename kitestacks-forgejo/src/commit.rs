//! Commits: the upstream shape of `/repos/{owner}/{repo}/commits` ([`RepoCommit`]) and the
//! portal's summary of one ([`Commit`]).

use serde::{Deserialize, Serialize};

use crate::null::or_default;
use crate::repository::User;

/// How many hex digits [`Commit::short_sha`] keeps (what Forgejo's web UI shows).
pub const SHORT_SHA_LEN: usize = 10;

/// A commit of one repository, as the portal shows it: what
/// [`Client::recent_commits`](crate::Client::recent_commits) returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Commit {
    /// Full name of the repository, `owner/name`.
    #[schema(example = "homelab/portal")]
    pub repo: String,
    /// The full commit SHA.
    pub sha: String,
    /// The first ten characters of the SHA.
    #[schema(example = "9f2c4e1a7b")]
    pub short_sha: String,
    /// The first line of the commit message.
    pub title: String,
    /// The author's name, as recorded in git.
    pub author: String,
    /// The author date, RFC 3339 with the author's offset as recorded in git.
    #[schema(example = "2026-11-22T08:38:52+01:00")]
    pub date: String,
    /// The commit's web page.
    pub html_url: String,
}

impl Commit {
    /// Summarises an upstream commit of the repository `repo` (`owner/name`).
    pub fn from_upstream(repo: &str, c: &RepoCommit) -> Self {
        let author = match &c.commit.author {
            Some(a) if !a.name.is_empty() => a.name.clone(),
            _ => c
                .author
                .as_ref()
                .map(|u| u.login.clone())
                .unwrap_or_default(),
        };
        let date = match &c.commit.author {
            Some(a) if !a.date.is_empty() => a.date.clone(),
            _ => c.created.clone(),
        };
        Self {
            repo: repo.to_owned(),
            sha: c.sha.clone(),
            short_sha: c.sha.get(..SHORT_SHA_LEN).unwrap_or(&c.sha).to_owned(),
            title: c
                .commit
                .message
                .lines()
                .next()
                .unwrap_or("")
                .trim_end()
                .to_owned(),
            author,
            date,
            html_url: c.html_url.clone(),
        }
    }
}

/// A commit as `/repos/{owner}/{repo}/commits` returns it (the fields used here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct RepoCommit {
    /// The full commit SHA.
    #[serde(default, deserialize_with = "or_default")]
    pub sha: String,
    /// The commit's web page.
    #[serde(default, deserialize_with = "or_default")]
    pub html_url: String,
    /// The committer date, RFC 3339.
    #[serde(default, deserialize_with = "or_default")]
    pub created: String,
    /// The git data: message, author and committer signatures.
    #[serde(default, deserialize_with = "or_default")]
    pub commit: CommitDetail,
    /// The author's account; `None` when the e-mail belongs to no account.
    #[serde(default)]
    pub author: Option<User>,
    /// The committer's account; `None` when the e-mail belongs to no account.
    #[serde(default)]
    pub committer: Option<User>,
    /// The parent commits (two or more for a merge).
    #[serde(default, deserialize_with = "or_default")]
    pub parents: Vec<ParentCommit>,
}

/// The git part of a [`RepoCommit`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CommitDetail {
    /// The full message, with git's trailing newline.
    #[serde(default, deserialize_with = "or_default")]
    pub message: String,
    /// Who wrote the change.
    #[serde(default)]
    pub author: Option<Signature>,
    /// Who committed it.
    #[serde(default)]
    pub committer: Option<Signature>,
}

/// A git signature: name, e-mail and date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Signature {
    /// The name.
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// The e-mail address.
    #[serde(default, deserialize_with = "or_default")]
    pub email: String,
    /// The date, RFC 3339 with the recorded offset.
    #[serde(default, deserialize_with = "or_default")]
    pub date: String,
}

/// A parent of a [`RepoCommit`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ParentCommit {
    /// The parent's SHA.
    #[serde(default, deserialize_with = "or_default")]
    pub sha: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_takes_the_first_line_and_falls_back_on_missing_parts() {
        let c: RepoCommit = serde_json::from_str(
            r#"{"sha":"0123456789abcdef","html_url":"https://f/c","created":"2026-01-02T03:04:05Z",
                "commit":{"message":"fix: a thing\r\n\nbody\n","author":null},
                "author":{"login":"mara"},"files":null,"stats":null}"#,
        )
        .unwrap();
        let s = Commit::from_upstream("mara/x", &c);
        assert_eq!(s.short_sha, "0123456789");
        assert_eq!(s.title, "fix: a thing");
        assert_eq!(s.author, "mara");
        assert_eq!(s.date, "2026-01-02T03:04:05Z");
        let tiny = RepoCommit {
            sha: "abc".into(),
            ..RepoCommit::default()
        };
        let s = Commit::from_upstream("a/b", &tiny);
        assert_eq!((s.short_sha.as_str(), s.title.as_str()), ("abc", ""));
    }

    #[test]
    fn the_schema_documents_every_field() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(Commit::schema()).unwrap();
        let properties = schema["properties"].as_object().unwrap();
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        let expected = [
            "author",
            "date",
            "html_url",
            "repo",
            "sha",
            "short_sha",
            "title",
        ];
        assert_eq!(names, expected);
        for (name, p) in properties {
            assert!(
                p["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{name}"
            );
        }
        assert_eq!(schema["required"].as_array().unwrap().len(), 7);
    }
}
