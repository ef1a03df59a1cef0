//! Basic auth of the web config: constant-time user lookup, bcrypt one at a time, a
//! cache of verified credentials (exporter-toolkit's), and the configured response
//! headers added to every response.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{HeaderMap, Request, Response, StatusCode};
use subtle::ConstantTimeEq;

use crate::server::Body;

/// exporter-toolkit's cache size for verified credentials.
const CACHE_SIZE: usize = 100;

/// The basic-auth check and the configured response headers; cheap to clone.
#[derive(Clone)]
pub struct Access {
    pub(super) inner: Arc<AccessInner>,
}

pub(super) struct AccessInner {
    pub(super) users: Vec<(String, String)>,
    /// A hash of a password nobody knows, with the users' highest cost: an unknown user
    /// costs one bcrypt verification, like a known one.
    dummy_hash: String,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    /// Verified credentials: SHA-256 of the length-prefixed user, hash and password
    /// (node_exporter's CVE-2022-46146 concatenated user and password; "a"+"bc" and
    /// "ab"+"c" collided there, not here).
    cache: Mutex<HashMap<[u8; 32], bool>>,
    /// One bcrypt at a time, as upstream: a flood of bad passwords costs one core.
    bcrypt_lock: tokio::sync::Mutex<()>,
}

/// The result of [`Access::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No users configured, or good credentials.
    Allowed,
    /// Missing or wrong credentials: answer 401 with `WWW-Authenticate: Basic`.
    Unauthorized,
}

impl Access {
    /// No auth, no extra headers.
    pub fn open() -> Self {
        Self::new(Vec::new(), Vec::new())
    }

    /// Basic auth for `users` (name, bcrypt hash) and `headers` added to every response.
    pub fn new(users: Vec<(String, String)>, headers: Vec<(HeaderName, HeaderValue)>) -> Self {
        let cost = users
            .iter()
            .filter_map(|(_, h)| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .max();
        let dummy_hash = match cost {
            // exporter-toolkit's dummy (bcrypt of "fakepassword", cost 10) when the cost
            // cannot be matched.
            Some(c) => bcrypt::hash("kitestacks-unknown-user", c).unwrap_or_else(|_| {
                "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DSmV5TTeXhIqY7A.yRj2y".to_owned()
            }),
            None => String::new(),
        };
        Self {
            inner: Arc::new(AccessInner {
                users,
                dummy_hash,
                headers,
                cache: Mutex::new(HashMap::new()),
                bcrypt_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Whether basic auth is configured.
    pub fn requires_auth(&self) -> bool {
        !self.inner.users.is_empty()
    }

    /// Checks a request's `Authorization` header against the users.
    pub async fn check(&self, headers: &HeaderMap) -> Verdict {
        let i = &self.inner;
        if i.users.is_empty() {
            return Verdict::Allowed;
        }
        let Some((user, pass)) = basic_credentials(headers) else {
            return Verdict::Unauthorized;
        };
        // Look at every user, compare in constant time: which user matched (or that
        // none did) does not show in the time taken.
        let mut found: Option<&str> = None;
        for (name, hash) in &i.users {
            if bool::from(name.as_bytes().ct_eq(&user)) {
                found = Some(hash);
            }
        }
        let valid_user = found.is_some();
        let hash = found.unwrap_or(&i.dummy_hash).to_owned();
        let key = cache_key(&user, &hash, &pass);
        let cached = i
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .copied();
        let ok = match cached {
            Some(ok) => ok,
            None => {
                let _one_at_a_time = i.bcrypt_lock.lock().await;
                let verified = tokio::task::spawn_blocking(move || {
                    bcrypt::verify(&pass, &hash).unwrap_or(false)
                })
                .await
                .unwrap_or(false);
                let ok = valid_user && verified;
                let mut cache = i.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= CACHE_SIZE
                    && let Some(old) = cache.keys().next().copied()
                {
                    cache.remove(&old);
                }
                cache.insert(key, ok);
                ok
            }
        };
        if ok && valid_user {
            Verdict::Allowed
        } else {
            Verdict::Unauthorized
        }
    }

    /// Adds the configured `http_server_config.headers` to a response.
    pub fn add_headers(&self, resp: &mut Response<Body>) {
        for (name, value) in &self.inner.headers {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
    }

    /// Wraps a handler: requests for which `protected(method, path)` is true need good
    /// credentials (else `deny()` answers, with `WWW-Authenticate: Basic` added); every
    /// response gets the configured headers.
    pub fn guard<H, F>(
        &self,
        handler: H,
        protected: fn(&hyper::Method, &str) -> bool,
        deny: fn() -> Response<Body>,
    ) -> impl Fn(Request<hyper::body::Incoming>) -> GuardFuture + Clone + Send + Sync + 'static
    where
        H: Fn(Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Response<Body>> + Send + 'static,
    {
        let access = self.clone();
        move |req: Request<hyper::body::Incoming>| {
            let access = access.clone();
            let handler = handler.clone();
            Box::pin(async move {
                let mut resp = if protected(req.method(), req.uri().path())
                    && access.check(req.headers()).await == Verdict::Unauthorized
                {
                    let mut r = deny();
                    r.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                    r
                } else {
                    handler(req).await
                };
                access.add_headers(&mut resp);
                resp
            }) as GuardFuture
        }
    }
}

/// The future a guarded handler returns.
pub type GuardFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// Go's `http.Error(w, "Unauthorized", 401)`, which exporter-toolkit answers.
pub fn unauthorized_text() -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"Unauthorized\n")));
    *r.status_mut() = StatusCode::UNAUTHORIZED;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// User and password of a `Basic` `Authorization` header (Go's `Request.BasicAuth`).
fn basic_credentials(headers: &HeaderMap) -> Option<(Vec<u8>, Vec<u8>)> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    if v.len() < 6 || !v[..6].eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&v[6..])
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// The cache key of a credential check: no two different (user, hash, password) share it.
pub fn cache_key(user: &[u8], hash: &str, pass: &[u8]) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [user, hash.as_bytes(), pass] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_do_not_collide() {
        assert_ne!(cache_key(b"a", "h", b"bc"), cache_key(b"ab", "h", b"c"));
        assert_ne!(cache_key(b"a", "hb", b"c"), cache_key(b"a", "h", b"bc"));
        assert_eq!(cache_key(b"a", "h", b"bc"), cache_key(b"a", "h", b"bc"));
    }

    #[test]
    fn basic_credentials_like_go() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, v.parse().unwrap());
            basic_credentials(&m)
        };
        // "user:pa:ss"
        assert_eq!(
            h("Basic dXNlcjpwYTpzcw=="),
            Some((b"user".to_vec(), b"pa:ss".to_vec()))
        );
        assert_eq!(
            h("basic dXNlcjpwYTpzcw=="),
            Some((b"user".to_vec(), b"pa:ss".to_vec()))
        );
        assert_eq!(h("Bearer x"), None);
        assert_eq!(h("Basic !!"), None);
    }
}
