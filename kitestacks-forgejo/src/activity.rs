//! Activity feeds (`/users/{user}/activities/feeds`, `/orgs/{org}/activities/feeds`): what
//! happened, by whom, in which repository. Unknown kinds of activity are kept, not refused.

use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};

use crate::null::or_default;
use crate::repository::{Repository, User};

/// One entry of an activity feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Activity {
    /// Numeric id of the entry.
    #[serde(default)]
    pub id: i64,
    /// The kind of activity as the server names it (`commit_repo`, `push_tag`...); see
    /// [`Activity::kind`].
    #[serde(default, deserialize_with = "or_default")]
    pub op_type: String,
    /// Who did it.
    #[serde(default)]
    pub act_user: Option<User>,
    /// The repository concerned; `None` when it no longer exists.
    #[serde(default)]
    pub repo: Option<Repository>,
    /// The git reference concerned, e.g. `refs/heads/main`; empty when none.
    #[serde(default, deserialize_with = "or_default")]
    pub ref_name: String,
    /// True when the entry concerns a private repository.
    #[serde(default, deserialize_with = "or_default")]
    pub is_private: bool,
    /// Kind-specific payload, a string: JSON of the push for push kinds (see
    /// [`Activity::push`]), `<index>|<title>` for pull requests, often empty.
    #[serde(default, deserialize_with = "or_default")]
    pub content: String,
    /// When it happened, RFC 3339 in UTC.
    #[serde(default, deserialize_with = "or_default")]
    pub created: String,
}

/// The kind of an [`Activity`], from its `op_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // the variants are Forgejo's op_type names
pub enum ActivityKind {
    CreateRepo,
    RenameRepo,
    StarRepo,
    WatchRepo,
    CommitRepo,
    CreateIssue,
    CreatePullRequest,
    TransferRepo,
    PushTag,
    CommentIssue,
    MergePullRequest,
    CloseIssue,
    ReopenIssue,
    ClosePullRequest,
    ReopenPullRequest,
    DeleteTag,
    DeleteBranch,
    MirrorSyncPush,
    MirrorSyncCreate,
    MirrorSyncDelete,
    ApprovePullRequest,
    RejectPullRequest,
    CommentPull,
    PublishRelease,
    PullReviewDismissed,
    PullRequestReadyForReview,
    AutoMergePullRequest,
    /// A kind this crate does not know (a newer server); the raw name stays in
    /// [`Activity::op_type`].
    #[serde(other)]
    Unknown,
}

impl ActivityKind {
    /// The kind named by an `op_type`; [`ActivityKind::Unknown`] for names not known here.
    pub fn from_op_type(op_type: &str) -> Self {
        let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            op_type.into_deserializer();
        Self::deserialize(de).unwrap_or(Self::Unknown)
    }

    /// True for the kinds whose `content` is a push record (see [`Activity::push`]).
    pub fn carries_push(self) -> bool {
        matches!(
            self,
            Self::CommitRepo
                | Self::PushTag
                | Self::DeleteTag
                | Self::DeleteBranch
                | Self::MirrorSyncPush
        )
    }
}

impl Activity {
    /// The kind of activity; unknown `op_type`s give [`ActivityKind::Unknown`].
    pub fn kind(&self) -> ActivityKind {
        ActivityKind::from_op_type(&self.op_type)
    }

    /// The push record in `content`, for push kinds whose content is not empty (creating
    /// a branch without new commits gives an empty one). `None` otherwise, or when the
    /// content is not a push record.
    pub fn push(&self) -> Option<Push> {
        if !self.kind().carries_push() || self.content.is_empty() {
            return None;
        }
        serde_json::from_str(&self.content).ok()
    }

    /// `(index, title)` of the pull request of a pull-request entry, from its
    /// `<index>|<title>` content; `None` when the content has another form.
    pub fn pull_request(&self) -> Option<(u64, &str)> {
        let (index, title) = self.content.split_once('|')?;
        Some((index.parse().ok()?, title))
    }

    /// The branch or tag name: `ref_name` without `refs/heads/` or `refs/tags/`.
    pub fn short_ref(&self) -> &str {
        let r = self.ref_name.as_str();
        r.strip_prefix("refs/heads/")
            .or_else(|| r.strip_prefix("refs/tags/"))
            .unwrap_or(r)
    }
}

/// What a push activity carries: the newest commits pushed (cut to the server's
/// `FEED_MAX_COMMIT_NUM`) and how many there were.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Push {
    /// The pushed commits, newest first, at most the server's feed maximum (5 by default);
    /// empty for a tag push.
    #[serde(
        rename(deserialize = "Commits"),
        default,
        deserialize_with = "or_default"
    )]
    pub commits: Vec<PushCommit>,
    /// The new head (for a tag push: the tagged commit).
    #[serde(rename(deserialize = "HeadCommit"), default)]
    pub head_commit: Option<PushCommit>,
    /// Relative compare link, `owner/repo/compare/old...new`; may be empty.
    #[serde(
        rename(deserialize = "CompareURL"),
        default,
        deserialize_with = "or_default"
    )]
    pub compare_url: String,
    /// How many commits were pushed in all.
    #[serde(rename(deserialize = "Len"), default, deserialize_with = "or_default")]
    pub len: u64,
}

/// One commit of a [`Push`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PushCommit {
    /// The full SHA.
    #[serde(rename(deserialize = "Sha1"), default, deserialize_with = "or_default")]
    pub sha: String,
    /// The full message, with git's trailing newline.
    #[serde(
        rename(deserialize = "Message"),
        default,
        deserialize_with = "or_default"
    )]
    pub message: String,
    /// The author's name.
    #[serde(
        rename(deserialize = "AuthorName"),
        default,
        deserialize_with = "or_default"
    )]
    pub author_name: String,
    /// The author's e-mail.
    #[serde(
        rename(deserialize = "AuthorEmail"),
        default,
        deserialize_with = "or_default"
    )]
    pub author_email: String,
    /// The author date, RFC 3339 in the author's offset.
    #[serde(
        rename(deserialize = "Timestamp"),
        default,
        deserialize_with = "or_default"
    )]
    pub timestamp: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_known_and_unknown() {
        assert_eq!(
            ActivityKind::from_op_type("commit_repo"),
            ActivityKind::CommitRepo
        );
        assert_eq!(
            ActivityKind::from_op_type("pull_request_ready_for_review"),
            ActivityKind::PullRequestReadyForReview
        );
        assert_eq!(
            ActivityKind::from_op_type("teleport_repo"),
            ActivityKind::Unknown
        );
        assert_eq!(ActivityKind::from_op_type(""), ActivityKind::Unknown);
    }

    #[test]
    fn push_content_and_pull_request_content() {
        let a = Activity {
            op_type: "commit_repo".into(),
            ref_name: "refs/heads/main".into(),
            content:
                r#"{"Commits":[{"Sha1":"abc","Message":"m\n","AuthorName":"A","Timestamp":"t"}],
                "HeadCommit":null,"CompareURL":"","Len":7}"#
                    .into(),
            ..Activity::default()
        };
        let p = a.push().unwrap();
        assert_eq!((p.commits[0].sha.as_str(), p.len), ("abc", 7));
        assert_eq!(a.short_ref(), "main");
        let bad = Activity {
            content: "{not json".into(),
            ..a.clone()
        };
        assert_eq!(bad.push(), None);
        let merge = Activity {
            op_type: "merge_pull_request".into(),
            content: "14|Add a|b".into(),
            ..Activity::default()
        };
        assert_eq!(merge.pull_request(), Some((14, "Add a|b")));
        assert_eq!(merge.push(), None);
    }
}
