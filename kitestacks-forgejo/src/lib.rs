//! kitestacks-forgejo: a small typed async client for the Forgejo (and Gitea) API, for
//! "recent commits across all repositories".
//!
//! Nothing is implemented yet: the client, its models and its error type arrive with the
//! git-activity work (see ARCHITECTURE.md). The crate exists now so that the workspace
//! has its final shape and other crates can be laid out around it.
