//! The crate's error type: everything that can go wrong talking to a Forgejo server.

use std::sync::Arc;

use serde::Serialize;

/// Why a call to Forgejo failed.
///
/// Every variant that concerns a request names its `endpoint`: the API path without the
/// query string (`/api/v1/repos/search`). No variant ever holds the token, and text that
/// comes from the server is scrubbed of it before it is stored. [`Error::kind`] gives a
/// small stable name for each case, for the portal's JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL given to [`ClientBuilder`](crate::ClientBuilder) is not usable.
    #[error("invalid forgejo base url {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given (left out when it carries credentials).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be set up (TLS backend, invalid user agent...).
    #[error("cannot build the http client: {reason}")]
    Build {
        /// What went wrong.
        reason: String,
    },
    /// 401: the token is missing, unknown, expired or revoked.
    #[error(
        "unauthorized for {endpoint}: token missing, invalid or revoked (server said {message:?})"
    )]
    Unauthorized {
        /// The API path that was called.
        endpoint: String,
        /// The server's `message`, if any.
        message: String,
    },
    /// 403: the token is valid but may not do this, e.g. it lacks a scope.
    #[error("forbidden for {endpoint}: {}", forbidden_reason(scope.as_deref(), message))]
    Forbidden {
        /// The API path that was called.
        endpoint: String,
        /// The scope the token lacks, when the server names it (`read:repository`).
        scope: Option<String>,
        /// The server's `message`, if any.
        message: String,
    },
    /// 404: no such user, organisation or repository, or one the token may not see.
    #[error("not found: {endpoint}")]
    NotFound {
        /// The API path that was called.
        endpoint: String,
    },
    /// Any other client error status (400, 409, 422, 429...), or an unexpected status.
    #[error("request to {endpoint} rejected with status {status} (server said {message:?})")]
    Rejected {
        /// The API path that was called.
        endpoint: String,
        /// The HTTP status code.
        status: u16,
        /// The server's `message`, if any.
        message: String,
    },
    /// 5xx: the server (or a proxy in front of it) failed.
    #[error("upstream error at {endpoint}: status {status} (server said {message:?})")]
    Upstream {
        /// The API path that was called.
        endpoint: String,
        /// The HTTP status code.
        status: u16,
        /// The server's `message`, if any (Forgejo blanks it for non-admins).
        message: String,
    },
    /// No complete answer within the client's timeout.
    #[error("timeout waiting for {endpoint}")]
    Timeout {
        /// The API path that was called.
        endpoint: String,
    },
    /// The connection could not be made, or broke before the answer was complete.
    #[error("connection to forgejo failed for {endpoint}: {detail}")]
    Connection {
        /// The API path that was called.
        endpoint: String,
        /// The underlying I/O, DNS or TLS error.
        detail: String,
        /// That error itself, whose `source()` chain tells a DNS failure from a refused
        /// connection or a TLS failure.
        #[source]
        cause: Transport,
    },
    /// A success status, but a body that is not the expected JSON (an HTML login page of a
    /// proxy, a truncated document, another API...).
    #[error("undecodable answer from {endpoint}: {reason}; body starts {body_prefix:?}")]
    Decode {
        /// The API path that was called.
        endpoint: String,
        /// Why it could not be decoded (content type, JSON error with line and column).
        reason: String,
        /// The first [`BODY_PREFIX_CHARS`] characters of the body.
        body_prefix: String,
    },
    /// The body is larger than the client accepts ([`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES));
    /// it was not read further.
    #[error("answer from {endpoint} is larger than {limit} bytes; not read further")]
    BodyTooLarge {
        /// The API path that was called.
        endpoint: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The server redirected to another origin (scheme, host or port), which the client
    /// never follows: the token is for the configured server only. Set the base URL to
    /// where the server really is.
    #[error("{endpoint} redirected to another origin ({to}); not followed")]
    Redirected {
        /// The API path that was called.
        endpoint: String,
        /// The origin the redirect pointed to (`https://git.example.com:443`, no path).
        to: String,
    },
}

/// The transport error behind an [`Error::Connection`] (without the request URL), kept
/// whole so that a caller can walk its `source()` chain: the portal names a DNS failure
/// `dns` from it, as it does for its own probes. Displays and compares as its text.
#[derive(Debug, Clone)]
pub struct Transport(Arc<reqwest::Error>);

impl From<reqwest::Error> for Transport {
    fn from(e: reqwest::Error) -> Self {
        Self(Arc::new(e.without_url()))
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Transport {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Transport {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Transport {}

/// How many characters of an undecodable body [`Error::Decode`] keeps.
pub const BODY_PREFIX_CHARS: usize = 200;

fn forbidden_reason(scope: Option<&str>, message: &str) -> String {
    match scope {
        Some(scope) => format!("the token lacks the scope {scope}"),
        None => format!("server said {message:?}"),
    }
}

/// The kind of an [`Error`]: a small stable name the portal can put in its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client is misconfigured (base URL, TLS setup).
    Config,
    /// 401: the token is missing, invalid or revoked.
    Unauthorized,
    /// 403: the token lacks a permission or scope.
    Forbidden,
    /// 404: no such thing, or not visible to the token.
    NotFound,
    /// Another 4xx status.
    Rejected,
    /// 5xx from the server or its proxy.
    UpstreamError,
    /// No answer within the timeout.
    Timeout,
    /// The connection failed.
    Connection,
    /// The answer was not the expected JSON, or was too large.
    BadResponse,
    /// The server redirected to another origin, which is not followed.
    Redirected,
}

impl ErrorKind {
    /// The stable snake_case name: `unauthorized`, `timeout`, `bad_response`,
    /// `redirected`...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Rejected => "rejected",
            Self::UpstreamError => "upstream_error",
            Self::Timeout => "timeout",
            Self::Connection => "connection",
            Self::BadResponse => "bad_response",
            Self::Redirected => "redirected",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The error's kind, for reporting.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidBaseUrl { .. } | Self::Build { .. } => ErrorKind::Config,
            Self::Unauthorized { .. } => ErrorKind::Unauthorized,
            Self::Forbidden { .. } => ErrorKind::Forbidden,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Rejected { .. } => ErrorKind::Rejected,
            Self::Upstream { .. } => ErrorKind::UpstreamError,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Connection { .. } => ErrorKind::Connection,
            Self::Decode { .. } | Self::BodyTooLarge { .. } => ErrorKind::BadResponse,
            Self::Redirected { .. } => ErrorKind::Redirected,
        }
    }

    /// The API path the failed request was for; `None` for configuration errors.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Self::InvalidBaseUrl { .. } | Self::Build { .. } => None,
            Self::Unauthorized { endpoint, .. }
            | Self::Forbidden { endpoint, .. }
            | Self::NotFound { endpoint }
            | Self::Rejected { endpoint, .. }
            | Self::Upstream { endpoint, .. }
            | Self::Timeout { endpoint }
            | Self::Connection { endpoint, .. }
            | Self::Decode { endpoint, .. }
            | Self::BodyTooLarge { endpoint, .. }
            | Self::Redirected { endpoint, .. } => Some(endpoint),
        }
    }

    /// The HTTP status of the answer, when there was one that was not a success.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Rejected { status, .. } | Self::Upstream { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Maps a non-success status and the (already scrubbed) server message to an [`Error`].
pub(crate) fn from_status(endpoint: &str, status: u16, message: String) -> Error {
    let endpoint = endpoint.to_owned();
    match status {
        401 => Error::Unauthorized { endpoint, message },
        403 => Error::Forbidden {
            endpoint,
            scope: missing_scope(&message),
            message,
        },
        404 => Error::NotFound { endpoint },
        500..=599 => Error::Upstream {
            endpoint,
            status,
            message,
        },
        _ => Error::Rejected {
            endpoint,
            status,
            message,
        },
    }
}

/// The scope named in Forgejo's 403 message
/// `token does not have at least one of required scope(s): [read:repository]`.
fn missing_scope(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("required scope")?;
    let (_, rest) = rest.split_once('[')?;
    let (scope, _) = rest.split_once(']')?;
    let scope = scope.trim();
    (!scope.is_empty()).then(|| scope.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_taken_from_the_forgejo_message() {
        let m = "token does not have at least one of required scope(s): [read:repository]";
        assert_eq!(missing_scope(m).as_deref(), Some("read:repository"));
        assert_eq!(
            missing_scope("Only signed in user is allowed to call APIs."),
            None
        );
        assert_eq!(missing_scope("required scope(s): []"), None);
        assert_eq!(missing_scope("required scope(s): [read:user"), None);
    }

    #[test]
    fn statuses_map_to_kinds() {
        let kind = |s| from_status("/api/v1/x", s, String::new()).kind();
        assert_eq!(kind(401), ErrorKind::Unauthorized);
        assert_eq!(kind(403), ErrorKind::Forbidden);
        assert_eq!(kind(404), ErrorKind::NotFound);
        assert_eq!(kind(409), ErrorKind::Rejected);
        assert_eq!(kind(422), ErrorKind::Rejected);
        assert_eq!(kind(302), ErrorKind::Rejected);
        assert_eq!(kind(502), ErrorKind::UpstreamError);
        assert_eq!(from_status("/e", 503, String::new()).status(), Some(503));
    }

    #[test]
    fn messages_are_lowercase_and_name_the_endpoint() {
        let e = from_status(
            "/api/v1/repos/search",
            403,
            "token does not have at least one of required scope(s): [read:repository]".into(),
        );
        assert_eq!(
            e.to_string(),
            "forbidden for /api/v1/repos/search: the token lacks the scope read:repository"
        );
        assert_eq!(e.endpoint(), Some("/api/v1/repos/search"));
        let t = Error::Timeout {
            endpoint: "/api/v1/version".into(),
        };
        assert_eq!(t.to_string(), "timeout waiting for /api/v1/version");
        assert_eq!(t.kind().as_str(), "timeout");
        assert_eq!(
            serde_json::to_string(&ErrorKind::BadResponse).unwrap(),
            "\"bad_response\""
        );
    }
}
