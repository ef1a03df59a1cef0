//! kitestacks-forgejo: a small typed async client for the Forgejo (and Gitea) API, for
//! "recent commits across all repositories".
//!
//! Principal types:
//! - [`Client`], built with [`Client::builder`] ([`ClientBuilder`]): base URL, token
//!   ([`kitestacks_core::Secret`], sent only as `Authorization: token …`, redacted in `Debug`
//!   and errors), timeout, user agent. Bodies are capped ([`MAX_BODY_BYTES`]) and a
//!   redirect to another origin is never followed. Typed calls: [`Client::version`],
//!   [`Client::search_repos`], [`Client::commits`], [`Client::user_feed`],
//!   [`Client::org_feed`], [`Client::user`].
//! - [`Client::recent_commits`] / [`Client::recent_commits_of`]: the newest commits across the
//!   repositories the token can see, as [`Commit`]s (`Serialize` + `utoipa::ToSchema`, for
//!   the portal's JSON), fetched cheaply and cached per repository inside the client;
//!   [`Client::recent_commits_in`] with a [`Scope`] leaves out the repositories the public
//!   cannot see ([`Repository::is_public`]).
//! - Models: [`ServerVersion`] ([`Flavor`]: Forgejo or Gitea), [`Repository`], [`User`],
//!   [`RepoCommit`], [`Activity`] ([`ActivityKind`], [`Push`]), [`Page`]. Unknown fields and
//!   unknown activity kinds are tolerated.
//! - [`Error`]: one enum for every failure, each naming its endpoint; [`Error::kind`] gives a
//!   stable [`ErrorKind`] name (`unauthorized`, `timeout`, `bad_response`...).
//!
//! This crate knows nothing of HTTP servers: `bin/` wires it into the portal.
//!
//! ```
//! use std::time::Duration;
//! use kitestacks_core::Secret;
//! use kitestacks_forgejo::Client;
//!
//! let client = Client::builder("https://git.example.com")
//!     .token(Secret::new("0123456789abcdef"))
//!     .timeout(Duration::from_secs(5))
//!     .build()?;
//! let debug = format!("{client:?}");
//! assert!(debug.contains("git.example.com"));
//! assert!(!debug.contains("0123456789abcdef"), "the token is redacted");
//!
//! # async fn show(client: kitestacks_forgejo::Client) -> Result<(), kitestacks_forgejo::Error> {
//! // In an async context (network, so not run here):
//! for c in client.recent_commits(10).await? {
//!     println!("{} {} {} ({})", c.date, c.repo, c.title, c.author);
//! }
//! # Ok(())
//! # }
//! # Ok::<(), kitestacks_forgejo::Error>(())
//! ```

mod activity;
mod client;
mod commit;
mod error;
mod null;
mod page;
mod recent;
mod repository;
mod rfc3339;
mod version;

pub use activity::{Activity, ActivityKind, Push, PushCommit};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT,
    MAX_BODY_BYTES, MAX_PAGE_SIZE, MAX_REDIRECTS,
};
pub use commit::{Commit, CommitDetail, ParentCommit, RepoCommit, SHORT_SHA_LEN, Signature};
pub use error::{BODY_PREFIX_CHARS, Error, ErrorKind, Transport};
pub use page::Page;
pub use recent::{MAX_REPOS_PER_CALL, Scope};
pub use repository::{Repository, User};
pub use version::{Flavor, ServerVersion};

/// The README's example, run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
