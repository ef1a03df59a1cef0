//! The [`Client`] and its [`ClientBuilder`]: one place that sends requests, reads answers
//! and maps every failure to an [`Error`].

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kitestacks_core::Secret;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::activity::Activity;
use crate::commit::RepoCommit;
use crate::error::{self, BODY_PREFIX_CHARS, Error};
use crate::page::{self, Page};
use crate::recent::RecentCache;
use crate::repository::{Repository, SearchResults, User};
use crate::version::{ServerVersion, VersionBody};

/// The timeout of a [`ClientBuilder`] unless [`ClientBuilder::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `User-Agent` of a [`ClientBuilder`] unless [`ClientBuilder::user_agent`] says otherwise.
pub const DEFAULT_USER_AGENT: &str = concat!("kitestacks-forgejo/", env!("CARGO_PKG_VERSION"));

/// How many commit lists [`Client::recent_commits`] fetches at once unless
/// [`ClientBuilder::concurrency`] says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// The largest page Forgejo serves by default (`[api] MAX_RESPONSE_ITEMS`).
pub const MAX_PAGE_SIZE: u32 = 50;

/// Answer bodies larger than this are refused with [`Error::BodyTooLarge`]: a page of 50
/// repositories or activities is a few hundred KB.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// How many redirects within the base URL's origin a request follows; a redirect to
/// another origin is never followed ([`Error::Redirected`]).
pub const MAX_REDIRECTS: usize = 5;

/// Settings for a [`Client`]; from [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    token: Option<Secret>,
    timeout: Duration,
    user_agent: String,
    concurrency: usize,
}

impl ClientBuilder {
    /// The access token, sent as `Authorization: token …` (never in the query string).
    /// Without one, the client sees what an anonymous visitor sees.
    pub fn token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// The longest a request may take, answer body included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `kitestacks-forgejo/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How many commit lists [`Client::recent_commits`] fetches at once (default 4, at
    /// least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base_url(&self.base_url)?;
        let auth = match &self.token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("token {}", token.expose()))
                    .map_err(|_| Error::Build {
                        reason: "the token has characters not allowed in an http header".into(),
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|_| Error::Build {
            reason: format!("invalid user agent {:?}", self.user_agent),
        })?;
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(user_agent)
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| Error::Build {
                reason: error_chain(&e),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                token: self.token,
                auth,
                timeout: self.timeout,
                user_agent: self.user_agent,
                concurrency: self.concurrency,
                cache: Mutex::new(RecentCache::default()),
            }),
        })
    }
}

/// Follows a redirect only within the origin (scheme, host, port) of the first request,
/// at most [`MAX_REDIRECTS`] times: the token is for the configured server alone, and
/// another origin is not the server that was configured.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let to = attempt.url().origin();
        if attempt.previous().first().map(Url::origin) != Some(to.clone()) {
            attempt.error(OtherOrigin(to.ascii_serialization()))
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

/// The redirect policy's refusal: the origin a redirect pointed to.
#[derive(Debug)]
struct OtherOrigin(String);

impl fmt::Display for OtherOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redirect to another origin ({})", self.0)
    }
}

impl std::error::Error for OtherOrigin {}

fn parse_base_url(given: &str) -> Result<Url, Error> {
    let invalid = |reason: &str| Error::InvalidBaseUrl {
        url: if given.contains('@') {
            "[left out: it has credentials]".to_owned()
        } else {
            given.to_owned()
        },
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(given.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the url are not supported; use a token",
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// A Forgejo (or Gitea) API client. Cheap to clone: clones share the connection pool and
/// the cache of [`Client::recent_commits`], so keep one for the life of the process.
///
/// `Debug` shows the base URL and settings; the token is redacted.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    auth: Option<HeaderValue>,
    timeout: Duration,
    user_agent: String,
    pub(crate) concurrency: usize,
    cache: Mutex<RecentCache>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("token", &self.inner.token)
            .field("timeout", &self.inner.timeout)
            .field("user_agent", &self.inner.user_agent)
            .field("concurrency", &self.inner.concurrency)
            .finish_non_exhaustive()
    }
}

/// The JSON error body Forgejo sends with a failure status.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, deserialize_with = "crate::null::or_default")]
    message: String,
}

/// The query every commit list is asked with: without it, Forgejo computes a diff, the
/// changed files and the signature check of every commit, orders of magnitude slower.
const CHEAP_COMMITS: [(&str, &str); 3] = [
    ("stat", "false"),
    ("verification", "false"),
    ("files", "false"),
];

impl Client {
    /// Starts a builder for the Forgejo at `base_url` (`https://git.example.com`, or with a
    /// path prefix such as `https://example.com/forgejo/`).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            token: None,
            timeout: DEFAULT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// The base URL the client talks to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The server's version (`GET /api/v1/version`), telling Forgejo from Gitea.
    pub async fn version(&self) -> Result<ServerVersion, Error> {
        let (body, _): (VersionBody, _) = self.get(&["version"], &[]).await?;
        Ok(ServerVersion::parse(&body.version))
    }

    /// An account by login (`GET /api/v1/users/{name}`); organisations answer too.
    pub async fn user(&self, name: &str) -> Result<User, Error> {
        Ok(self.get(&["users", name], &[]).await?.0)
    }

    /// One page of the repositories the token can see, most recently updated first
    /// (`GET /api/v1/repos/search?sort=updated&order=desc`). `page` is 1-based; `limit`
    /// is capped by the server (50 by default).
    pub async fn search_repos(&self, page: u32, limit: u32) -> Result<Page<Repository>, Error> {
        self.search(page, limit, None).await
    }

    /// Like [`Client::search_repos`], only repositories owned by the account `owner_id`.
    pub(crate) async fn search(
        &self,
        page: u32,
        limit: u32,
        owner_id: Option<i64>,
    ) -> Result<Page<Repository>, Error> {
        let mut query = vec![
            ("sort", "updated".to_owned()),
            ("order", "desc".to_owned()),
            ("page", page.to_string()),
            ("limit", limit.to_string()),
        ];
        if let Some(id) = owner_id {
            query.push(("uid", id.to_string()));
            query.push(("exclusive", "true".to_owned()));
        }
        let (body, total): (SearchResults, _) = self.get(&["repos", "search"], &query).await?;
        Ok(Page {
            items: body.data,
            page,
            limit,
            total,
        })
    }

    /// One page of a repository's commits, newest first
    /// (`GET /api/v1/repos/{owner}/{repo}/commits`), always asked without diff statistics,
    /// file lists and signature checks. An empty repository (Forgejo answers 409) gives an
    /// empty page, not an error.
    pub async fn commits(
        &self,
        owner: &str,
        repo: &str,
        page: u32,
        limit: u32,
    ) -> Result<Page<RepoCommit>, Error> {
        let mut query: Vec<(&str, String)> = CHEAP_COMMITS
            .iter()
            .map(|&(k, v)| (k, v.to_owned()))
            .collect();
        query.push(("page", page.to_string()));
        query.push(("limit", limit.to_string()));
        match self.get(&["repos", owner, repo, "commits"], &query).await {
            Ok((items, total)) => Ok(Page {
                items,
                page,
                limit,
                total,
            }),
            Err(Error::Rejected { status: 409, .. }) => Ok(Page {
                items: Vec::new(),
                page,
                limit,
                total: Some(0),
            }),
            Err(e) => Err(e),
        }
    }

    /// One page of a user's activity feed (`GET /api/v1/users/{user}/activities/feeds`),
    /// newest first.
    pub async fn user_feed(
        &self,
        user: &str,
        page: u32,
        limit: u32,
    ) -> Result<Page<Activity>, Error> {
        self.feed(&["users", user, "activities", "feeds"], page, limit)
            .await
    }

    /// One page of an organisation's activity feed
    /// (`GET /api/v1/orgs/{org}/activities/feeds`), newest first.
    pub async fn org_feed(
        &self,
        org: &str,
        page: u32,
        limit: u32,
    ) -> Result<Page<Activity>, Error> {
        self.feed(&["orgs", org, "activities", "feeds"], page, limit)
            .await
    }

    async fn feed(&self, path: &[&str], page: u32, limit: u32) -> Result<Page<Activity>, Error> {
        let query = [("page", page.to_string()), ("limit", limit.to_string())];
        let (items, total) = self.get(path, &query).await?;
        Ok(Page {
            items,
            page,
            limit,
            total,
        })
    }

    pub(crate) fn cache(&self) -> MutexGuard<'_, RecentCache> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// `GET /api/v1/<path>?<query>`: the decoded body and the `X-Total-Count`.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<(T, Option<u64>), Error> {
        let endpoint = format!("/api/v1/{}", path.join("/"));
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::InvalidBaseUrl {
                url: self.inner.base.to_string(),
                reason: "it cannot have a path".into(),
            })?
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(path);
        let mut request = self
            .inner
            .http
            .get(url)
            .query(query)
            .header(ACCEPT, "application/json");
        if let Some(auth) = &self.inner.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(&endpoint, e))?;
        let status = response.status();
        let headers = response.headers();
        let total = page::total_count(headers.get("x-total-count").and_then(|v| v.to_str().ok()));
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = self.read_body(&endpoint, response).await?;
        tracing::debug!(
            endpoint,
            status = status.as_u16(),
            bytes = body.len(),
            "forgejo answered"
        );

        if !status.is_success() {
            let message = match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(b) => b.message,
                Err(_) => self.body_prefix(&body),
            };
            let message = self.scrub(&message);
            return Err(error::from_status(&endpoint, status.as_u16(), message));
        }
        if let Some(ct) = content_type.as_deref()
            && !ct.to_ascii_lowercase().contains("json")
        {
            return Err(self.decode_error(
                &endpoint,
                format!("content type {ct:?} is not json"),
                &body,
            ));
        }
        match serde_json::from_slice(&body) {
            Ok(value) => Ok((value, total)),
            Err(e) => Err(self.decode_error(&endpoint, format!("invalid json: {e}"), &body)),
        }
    }

    /// The whole body, refused past [`MAX_BODY_BYTES`] (as soon as the length is
    /// announced or the bytes read exceed it, without reading the rest).
    async fn read_body(
        &self,
        endpoint: &str,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, Error> {
        let too_large = || {
            tracing::debug!(endpoint, limit = MAX_BODY_BYTES, "forgejo answer too large");
            Error::BodyTooLarge {
                endpoint: endpoint.to_owned(),
                limit: MAX_BODY_BYTES,
            }
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(endpoint, e))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    // The caller (the portal's upstream cache) logs the returned error once, with its
    // kind: these are debug lines, so that one failure is one warning.
    fn decode_error(&self, endpoint: &str, reason: String, body: &[u8]) -> Error {
        tracing::debug!(endpoint, %reason, "undecodable answer from forgejo");
        Error::Decode {
            endpoint: endpoint.to_owned(),
            reason,
            body_prefix: self.body_prefix(body),
        }
    }

    fn transport_error(&self, endpoint: &str, e: reqwest::Error) -> Error {
        let endpoint = endpoint.to_owned();
        if e.is_timeout() {
            tracing::debug!(endpoint, "forgejo request timed out");
            Error::Timeout { endpoint }
        } else if let Some(OtherOrigin(to)) = source_of::<OtherOrigin>(&e) {
            tracing::debug!(endpoint, to = %to, "forgejo redirected to another origin");
            Error::Redirected {
                endpoint,
                to: to.clone(),
            }
        } else {
            let detail = self.scrub(&error_chain(&e));
            tracing::debug!(endpoint, %detail, "forgejo request failed");
            Error::Connection {
                endpoint,
                detail,
                cause: e.into(),
            }
        }
    }

    /// The first [`BODY_PREFIX_CHARS`] characters of a body, the token removed.
    fn body_prefix(&self, body: &[u8]) -> String {
        let token_len = self.inner.token.as_ref().map_or(0, |t| t.expose().len());
        let head = &body[..body.len().min(BODY_PREFIX_CHARS * 4 + token_len)];
        let text = self.scrub(&String::from_utf8_lossy(head));
        text.chars().take(BODY_PREFIX_CHARS).collect()
    }

    /// Removes the token from text that came from elsewhere (server messages, I/O errors).
    fn scrub(&self, text: &str) -> String {
        match &self.inner.token {
            Some(t) if !t.expose().is_empty() && text.contains(t.expose()) => {
                text.replace(t.expose(), "[redacted]")
            }
            _ => text.to_owned(),
        }
    }
}

/// The first error of type `E` in the source chain of `e`.
fn source_of<E: std::error::Error + 'static>(e: &reqwest::Error) -> Option<&E> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        source = err.source();
    }
    None
}

/// An error and its sources, `: `-separated, without the request URL.
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = match e.url() {
        Some(url) => e
            .to_string()
            .replace(&format!(" for url ({url})"), "")
            .replace(&format!(" ({url})"), ""),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        let text = err.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = err.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        let ok = parse_base_url("https://git.example.com/forgejo/?x=1#top").unwrap();
        assert_eq!(ok.as_str(), "https://git.example.com/forgejo/");
        for bad in [
            "git.example.com",
            "ftp://git.example.com",
            "mailto:a@b",
            "http://",
        ] {
            let e = parse_base_url(bad).unwrap_err();
            assert_eq!(e.kind().as_str(), "config", "{bad}");
        }
        let e = parse_base_url("https://mara:hunter2@git.example.com").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn debug_redacts_the_token_and_scrub_removes_it() {
        let client = Client::builder("https://git.example.com")
            .token(Secret::new("s3cr3t-t0ken"))
            .build()
            .unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("git.example.com"), "{debug}");
        assert_eq!(
            client.scrub("bad token s3cr3t-t0ken!"),
            "bad token [redacted]!"
        );
        let long = format!("{}s3cr3t-t0ken", "x".repeat(195));
        assert!(!client.body_prefix(long.as_bytes()).contains("s3cr3t"));
        assert_eq!(
            client
                .body_prefix("é".repeat(300).as_bytes())
                .chars()
                .count(),
            200
        );
    }

    #[test]
    fn futures_are_send_so_a_multi_threaded_server_can_hold_them() {
        fn assert_send<T: Send>(_: T) {}
        let client = Client::builder("https://git.example.com").build().unwrap();
        assert_send(client.recent_commits(5));
        assert_send(client.recent_commits_of("mara", 5));
        assert_send(client.search_repos(1, 10));
        assert_send(client.user_feed("mara", 1, 10));
        assert_send(client.version());
    }

    #[test]
    fn a_token_unfit_for_a_header_is_a_build_error_without_the_token() {
        let e = Client::builder("https://git.example.com")
            .token(Secret::new("bad\ntoken"))
            .build()
            .unwrap_err();
        assert_eq!(e.kind().as_str(), "config");
        assert!(!e.to_string().contains("token\n"));
    }
}
