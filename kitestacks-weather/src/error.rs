//! The crate's error type: every way getting the weather can fail, and its stable kind.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::weather::Provider;

/// Why the weather could not be had.
///
/// Messages are for logs: they quote the upstream URL and the start of its answer. A
/// server should pick its status and public message from [`Error::kind`] instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A location string (from the configuration) is neither a place name nor `lat,lon`.
    #[error("invalid location {input:?}: {reason}")]
    InvalidLocation {
        /// The string as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The provider needs coordinates but was given a place name.
    #[error(
        "{provider} needs coordinates as \"latitude,longitude\" (e.g. \"52.52,13.41\"), \
         not the place name {name:?}"
    )]
    NeedsCoordinates {
        /// The provider being built.
        provider: Provider,
        /// The place name it was given.
        name: String,
    },
    /// The configured base URL cannot serve as a base (e.g. `mailto:` or `data:` URLs).
    #[error("invalid base url {url:?} for {provider}: {reason}")]
    InvalidBaseUrl {
        /// The provider being built.
        provider: Provider,
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (TLS backend or system configuration).
    #[error("cannot build the http client for {provider}: {reason}")]
    Client {
        /// The provider being built.
        provider: Provider,
        /// The client library's explanation.
        reason: String,
    },
    /// The provider does not know the location (or, on the old wttr.in server, had no data
    /// for it).
    #[error("{provider} does not know the location {location:?}: {message}")]
    UnknownLocation {
        /// The provider asked.
        provider: Provider,
        /// The location as requested.
        location: String,
        /// The provider's answer, trimmed and shortened.
        message: String,
    },
    /// The provider answered but cannot give weather now (its data source failed, the
    /// same request is still being computed, an error status). Try again later.
    #[error("{provider} is unavailable (status {status} from {url}): {message}")]
    Unavailable {
        /// The provider asked.
        provider: Provider,
        /// The request URL.
        url: String,
        /// The HTTP status it answered with (wttr.in sometimes says 200).
        status: u16,
        /// The provider's answer, trimmed and shortened.
        message: String,
    },
    /// The provider has run out of queries or refuses more from us for now (429, wttr.in's
    /// "running out of queries"). Ask less often.
    #[error("{provider} is over capacity (status {status} from {url}): {message}")]
    OverCapacity {
        /// The provider asked.
        provider: Provider,
        /// The request URL.
        url: String,
        /// The HTTP status it answered with.
        status: u16,
        /// The provider's answer, trimmed and shortened.
        message: String,
    },
    /// The provider refused the request itself as invalid (Open-Meteo 400, wttr.in
    /// "unknown option"): a bug here or a bad configuration, not worth retrying.
    #[error("{provider} rejected the request (status {status} from {url}): {message}")]
    Rejected {
        /// The provider asked.
        provider: Provider,
        /// The request URL.
        url: String,
        /// The HTTP status it answered with.
        status: u16,
        /// The provider's answer, trimmed and shortened.
        message: String,
    },
    /// No complete answer within the configured timeout (connect, headers and body).
    #[error("{provider} did not answer within {timeout:?} ({url})")]
    Timeout {
        /// The provider asked.
        provider: Provider,
        /// The request URL.
        url: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The connection failed: refused, reset, DNS, TLS, or closed without an answer.
    #[error("connection to {provider} failed ({url}): {reason}")]
    Connection {
        /// The provider asked.
        provider: Provider,
        /// The request URL.
        url: String,
        /// The transport's explanation, causes joined by `: `.
        reason: String,
        /// The transport error itself, whose `source()` chain tells a DNS failure from a
        /// refused connection or a TLS failure.
        #[source]
        cause: Transport,
    },
    /// The provider redirected to another origin (scheme, host or port), which is never
    /// followed: set the base URL to where the provider really is.
    #[error("{provider} redirected {url} to another origin ({to}); not followed")]
    Redirected {
        /// The provider asked.
        provider: Provider,
        /// The request URL.
        url: String,
        /// The origin the redirect pointed to (`https://wttr.in:443`, no path).
        to: String,
    },
    /// The provider answered with an empty body (wttr.in does this when its back end fails).
    #[error("{provider} sent an empty answer (status {status} from {url})")]
    Empty {
        /// The provider asked.
        provider: Provider,
        /// The request URL.
        url: String,
        /// The HTTP status it answered with.
        status: u16,
    },
    /// The body is not what the provider documents: not JSON, a missing field, a string
    /// where a number must be, too large.
    #[error(
        "undecodable answer from {provider} ({url}): {}{reason}; body starts {body_prefix:?}",
        field.as_deref().map(|f| format!("field {f}: ")).unwrap_or_default()
    )]
    Undecodable {
        /// The provider asked.
        provider: Provider,
        /// The request URL.
        url: String,
        /// The JSON path of the offending field (`current_condition[0].temp_C`), if one is to
        /// blame.
        field: Option<String>,
        /// What is wrong.
        reason: String,
        /// The first ~200 characters of the body.
        body_prefix: String,
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

/// The kind of an [`Error`]: a small stable set a server can map to a status and report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Our own configuration is wrong (location string, base URL, HTTP client). A 500.
    Config,
    /// The provider does not know the configured location. A 404 or 502.
    UnknownLocation,
    /// The provider cannot answer now; retry later. A 503.
    Unavailable,
    /// The provider's quota is exhausted; ask less often. A 503 (or 429).
    OverCapacity,
    /// The provider did not answer in time. A 504.
    Timeout,
    /// The connection failed. A 502.
    Connection,
    /// The provider answered something that is not weather. A 502.
    BadUpstream,
    /// The provider refused our request as invalid. A 502 (and a bug report).
    Rejected,
    /// The provider redirected to another origin, which is not followed. A 502.
    Redirected,
}

impl ErrorKind {
    /// The wire name: `config`, `unknown_location`, `unavailable`, `over_capacity`,
    /// `timeout`, `connection`, `bad_upstream`, `rejected` or `redirected`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::UnknownLocation => "unknown_location",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::OverCapacity => "over_capacity",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection",
            ErrorKind::BadUpstream => "bad_upstream",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Redirected => "redirected",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The kind of this error, stable across releases.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidLocation { .. }
            | Error::NeedsCoordinates { .. }
            | Error::InvalidBaseUrl { .. }
            | Error::Client { .. } => ErrorKind::Config,
            Error::UnknownLocation { .. } => ErrorKind::UnknownLocation,
            Error::Unavailable { .. } | Error::Empty { .. } => ErrorKind::Unavailable,
            Error::OverCapacity { .. } => ErrorKind::OverCapacity,
            Error::Rejected { .. } => ErrorKind::Rejected,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Connection { .. } => ErrorKind::Connection,
            Error::Undecodable { .. } => ErrorKind::BadUpstream,
            Error::Redirected { .. } => ErrorKind::Redirected,
        }
    }

    /// Whether asking again later may succeed (the upstream's state, not our request, is
    /// to blame).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Unavailable
                | ErrorKind::OverCapacity
                | ErrorKind::Timeout
                | ErrorKind::Connection
        )
    }
}

/// How many characters of an upstream body errors quote.
pub(crate) const BODY_PREFIX_CHARS: usize = 200;

/// The first [`BODY_PREFIX_CHARS`] characters of `body`, with `…` when cut.
pub(crate) fn body_prefix(body: &str) -> String {
    match body.char_indices().nth(BODY_PREFIX_CHARS) {
        Some((i, _)) => format!("{}…", &body[..i]),
        None => body.to_owned(),
    }
}

/// An upstream's plain-text message for an error: on one line (runs of whitespace made
/// one space), shortened.
pub(crate) fn message(body: &str) -> String {
    body_prefix(&body.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_prefix_cuts_on_a_char_boundary() {
        let body = "é".repeat(300);
        let prefix = body_prefix(&body);
        assert_eq!(prefix.chars().count(), BODY_PREFIX_CHARS + 1);
        assert!(prefix.ends_with('…'));
        assert_eq!(body_prefix("short"), "short");
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(
            message("\nSorry,  we are\nrunning out.\n"),
            "Sorry, we are running out."
        );
    }

    #[test]
    fn undecodable_names_the_field() {
        let e = Error::Undecodable {
            provider: Provider::Wttr,
            url: "http://127.0.0.1/x?format=j1".into(),
            field: Some("current_condition[0].temp_C".into()),
            reason: "expected a number, got \"warm\"".into(),
            body_prefix: "{".into(),
        };
        assert_eq!(
            e.to_string(),
            "undecodable answer from wttr.in (http://127.0.0.1/x?format=j1): field \
             current_condition[0].temp_C: expected a number, got \"warm\"; body starts \"{\""
        );
        assert_eq!(e.kind(), ErrorKind::BadUpstream);
        assert_eq!(e.kind().as_str(), "bad_upstream");
        assert!(!e.is_transient());
    }

    #[test]
    fn kinds_are_stable_strings() {
        let e = Error::Timeout {
            provider: Provider::OpenMeteo,
            url: "u".into(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(e.kind().to_string(), "timeout");
        assert!(e.is_transient());
        assert_eq!(
            serde_json::to_string(&ErrorKind::UnknownLocation).unwrap(),
            "\"unknown_location\""
        );
    }
}
