//! The HTTP GET both providers share: client settings, timeout, body limit, redirects
//! within the origin only, transport errors.

use std::time::Duration;

use url::Url;

use crate::error::{Error, body_prefix};
use crate::json::FieldError;
use crate::weather::Provider;

/// The `User-Agent` sent unless another is configured.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "kitestacks-weather/",
    env!("CARGO_PKG_VERSION"),
    " (+https://kitestacks.com/gitforge/kitestacks/kitestacks)"
);

/// The time allowed for a whole request (connect, headers, body) unless configured. wttr.in
/// can take several seconds on a cache miss; its own upstream timeout is 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(12);

/// Bodies larger than this are refused (a wttr.in j1 document is about 40 KB).
const MAX_BODY_BYTES: usize = 1 << 20;

/// How many redirects within the origin of the request are followed; a redirect to
/// another origin never is ([`Error::Redirected`]).
pub const MAX_REDIRECTS: usize = 5;

/// A configured HTTP client for one provider.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    provider: Provider,
    timeout: Duration,
}

/// An HTTP answer, whatever its status.
#[derive(Debug)]
pub(crate) struct Reply {
    pub provider: Provider,
    pub url: String,
    pub status: u16,
    pub body: String,
}

impl Http {
    pub fn new(provider: Provider, timeout: Duration, user_agent: &str) -> Result<Http, Error> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let to = attempt.url().origin();
                match attempt.previous().first() {
                    Some(first) if first.origin() != to => {
                        attempt.error(OtherOrigin(to.ascii_serialization()))
                    }
                    _ if attempt.previous().len() > MAX_REDIRECTS => {
                        attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
                    }
                    _ => attempt.follow(),
                }
            }))
            .build()
            .map_err(|e| Error::Client {
                provider,
                reason: chain(&e),
            })?;
        Ok(Http {
            client,
            provider,
            timeout,
        })
    }

    /// GET `url` and read the whole body (as UTF-8, invalid bytes replaced).
    pub async fn get(&self, url: Url) -> Result<Reply, Error> {
        let url_text = url.to_string();
        let transport = |e: reqwest::Error| self.transport_error(&url_text, e);
        let mut response = self.client.get(url).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                body.extend_from_slice(&chunk);
                return Err(Error::Undecodable {
                    provider: self.provider,
                    url: url_text,
                    field: None,
                    reason: format!("body larger than {MAX_BODY_BYTES} bytes"),
                    body_prefix: body_prefix(&String::from_utf8_lossy(&body)),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            provider: self.provider,
            url: url_text,
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    fn transport_error(&self, url: &str, e: reqwest::Error) -> Error {
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            if let Some(OtherOrigin(to)) = cause.downcast_ref::<OtherOrigin>() {
                return Error::Redirected {
                    provider: self.provider,
                    url: url.to_owned(),
                    to: to.clone(),
                };
            }
            source = cause.source();
        }
        if e.is_timeout() {
            Error::Timeout {
                provider: self.provider,
                url: url.to_owned(),
                timeout: self.timeout,
            }
        } else {
            let e = e.without_url();
            Error::Connection {
                provider: self.provider,
                url: url.to_owned(),
                reason: chain(&e),
                cause: e.into(),
            }
        }
    }
}

impl Reply {
    /// The body does not decode; `field` says where, if a field is to blame.
    pub fn undecodable(&self, field: Option<String>, reason: impl Into<String>) -> Error {
        Error::Undecodable {
            provider: self.provider,
            url: self.url.clone(),
            field,
            reason: reason.into(),
            body_prefix: body_prefix(&self.body),
        }
    }

    /// A field of the body is missing or wrong.
    pub fn bad_field(&self, e: FieldError) -> Error {
        self.undecodable(Some(e.field), e.reason)
    }
}

/// Why a redirect was not followed: it pointed to this other origin.
#[derive(Debug)]
struct OtherOrigin(String);

impl std::fmt::Display for OtherOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to another origin ({})", self.0)
    }
}

impl std::error::Error for OtherOrigin {}

/// A base URL from the configuration: absolute `http` or `https`.
pub(crate) fn base_url(provider: Provider, url: &str) -> Result<Url, Error> {
    let invalid = |reason: String| Error::InvalidBaseUrl {
        provider,
        url: url.to_owned(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            parsed.scheme()
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("a base url has no query or fragment".into()));
    }
    Ok(parsed)
}

/// `base` with `segments` appended to its path, each percent-encoded as one segment.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .expect("base_url() admits only http(s) URLs, which can be a base")
        .pop_if_empty()
        .extend(segments);
    url
}

/// An error and its causes, joined by `: `.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_encodes_each_segment() {
        let base = base_url(Provider::Wttr, "https://wttr.in").unwrap();
        assert_eq!(
            join(&base, &["São Paulo"]).as_str(),
            "https://wttr.in/S%C3%A3o%20Paulo"
        );
        assert_eq!(
            join(&base, &["Frankfurt/Main?x#y%"]).as_str(),
            "https://wttr.in/Frankfurt%2FMain%3Fx%23y%25"
        );
        let prefixed = base_url(Provider::OpenMeteo, "http://127.0.0.1:8080/proxy/").unwrap();
        assert_eq!(
            join(&prefixed, &["v1", "forecast"]).as_str(),
            "http://127.0.0.1:8080/proxy/v1/forecast"
        );
    }

    #[test]
    fn base_url_must_be_http() {
        let check = |url: &str, reason: &str| {
            let err = base_url(Provider::Wttr, url).unwrap_err();
            assert!(err.to_string().contains(reason), "{url}: {err}");
        };
        check("wttr.in", "relative URL without a base");
        check("ftp://wttr.in", "scheme \"ftp\" is not http or https");
        check("mailto:me@example.com", "is not http or https");
        check("https://wttr.in/?lang=de", "no query or fragment");
    }

    #[test]
    fn user_agent_names_the_crate() {
        assert!(DEFAULT_USER_AGENT.starts_with("kitestacks-weather/0."));
    }
}
