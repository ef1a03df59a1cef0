//! Basic auth of the web config: constant-time user lookup, bcrypt one at a time, a
//! cache of verified credentials (exporter-toolkit's), and the configured response
//! headers added to every response.
//!
//! "One at a time" holds while the bcrypt runs, not while the client waits: the permit
//! moves into the blocking task, so a client that hangs up mid-verification frees nothing
//! and a flood of wrong passwords costs one core. An unknown user costs one verification
//! at the highest configured cost, like the costliest known user.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{HeaderMap, Request, Response, StatusCode};
use subtle::ConstantTimeEq;

use crate::server::Body;

/// exporter-toolkit's cache size for verified credentials.
const CACHE_SIZE: usize = 100;

/// The highest bcrypt cost a `basic_auth_users` hash may have; a web config with a
/// costlier hash is refused at start. One verification at cost 14 takes about a second
/// on a current core, and they run one at a time: at a higher cost a few wrong passwords
/// would keep every scrape waiting for many seconds.
pub const MAX_BCRYPT_COST: u32 = 14;

/// The lowest bcrypt cost there is (below it no hash verifies).
pub const MIN_BCRYPT_COST: u32 = 4;

/// Checks a password against a bcrypt hash (replaced in tests to observe concurrency).
type Verifier = Arc<dyn Fn(&[u8], &str) -> bool + Send + Sync>;

/// The basic-auth check and the configured response headers; cheap to clone.
#[derive(Clone)]
pub struct Access {
    pub(super) inner: Arc<AccessInner>,
}

pub(super) struct AccessInner {
    pub(super) users: Vec<(String, String)>,
    /// What an unknown user's password is checked against: the hash of the costliest
    /// configured user, so an unknown user costs exactly what that user costs (the
    /// result is thrown away: an unknown user is never allowed).
    dummy_hash: String,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    /// Verified credentials: SHA-256 of the length-prefixed user, hash and password
    /// (node_exporter's CVE-2022-46146 concatenated user and password; "a"+"bc" and
    /// "ab"+"c" collided there, not here).
    cache: Mutex<HashMap<[u8; 32], bool>>,
    /// One bcrypt at a time, as upstream: a flood of bad passwords costs one core. The
    /// permit is held by the blocking task that runs bcrypt, not by the request.
    bcrypt_permit: Arc<tokio::sync::Semaphore>,
    verify: Verifier,
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
        Self::with_verifier(
            users,
            headers,
            Arc::new(|pass: &[u8], hash: &str| bcrypt::verify(pass, hash).unwrap_or(false)),
        )
    }

    fn with_verifier(
        users: Vec<(String, String)>,
        headers: Vec<(HeaderName, HeaderValue)>,
        verify: Verifier,
    ) -> Self {
        let dummy_hash = users
            .iter()
            .max_by_key(|(_, h)| cost(h))
            .map(|(_, h)| h.clone())
            .unwrap_or_default();
        Self {
            inner: Arc::new(AccessInner {
                users,
                dummy_hash,
                headers,
                cache: Mutex::new(HashMap::new()),
                bcrypt_permit: Arc::new(tokio::sync::Semaphore::new(1)),
                verify,
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
                // The permit moves into the blocking task: if this request is dropped
                // (the client hung up), bcrypt still runs to its end holding it, and the
                // next verification waits for that.
                let Ok(one_at_a_time) = i.bcrypt_permit.clone().acquire_owned().await else {
                    return Verdict::Unauthorized; // never closed
                };
                let verify = i.verify.clone();
                let verified = tokio::task::spawn_blocking(move || {
                    let _held = one_at_a_time;
                    verify(&pass, &hash)
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
    let mut r = Response::new(Body::new(Bytes::from_static(b"Unauthorized\n")));
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

/// The bcrypt cost of a hash; 0 when it is not a bcrypt hash.
pub(super) fn cost(hash: &str) -> u32 {
    hash.parse::<bcrypt::HashParts>()
        .map_or(0, |p| p.get_cost())
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn basic(user: &str, pass: &str) -> HeaderMap {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {token}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn an_unknown_user_costs_what_the_costliest_user_costs() {
        let users = vec![
            ("a".to_owned(), bcrypt::hash("x", 5).unwrap()),
            ("b".to_owned(), bcrypt::hash("y", 6).unwrap()),
            ("c".to_owned(), bcrypt::hash("z", 4).unwrap()),
        ];
        let access = Access::new(users, Vec::new());
        assert_eq!(cost(&access.inner.dummy_hash), 6);
        assert_eq!(cost(&Access::open().inner.dummy_hash), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_users_are_verified_against_the_dummy() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let access = Access::with_verifier(
            vec![("a".to_owned(), bcrypt::hash("x", 4).unwrap())],
            Vec::new(),
            Arc::new(move |_: &[u8], hash: &str| {
                record.lock().unwrap().push(hash.to_owned());
                true
            }),
        );
        assert_eq!(
            access.check(&basic("nobody", "x")).await,
            Verdict::Unauthorized
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "an unknown user costs one verification");
        assert_eq!(seen[0], access.inner.dummy_hash);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_bcrypt_at_a_time_even_when_clients_hang_up() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (r, p, s) = (running.clone(), peak.clone(), started.clone());
        let access = Access::with_verifier(
            vec![("a".to_owned(), bcrypt::hash("x", 4).unwrap())],
            Vec::new(),
            Arc::new(move |_: &[u8], _: &str| {
                s.fetch_add(1, Ordering::SeqCst);
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(200));
                r.fetch_sub(1, Ordering::SeqCst);
                false
            }),
        );
        // Rounds of clients with wrong passwords that hang up as soon as one of them is
        // being verified; the next round comes while that verification still runs.
        for round in 0..5 {
            let before = started.load(Ordering::SeqCst);
            let clients: Vec<_> = (0..4)
                .map(|c| {
                    let access = access.clone();
                    tokio::spawn(async move {
                        access
                            .check(&basic("a", &format!("wrong-{round}-{c}")))
                            .await
                    })
                })
                .collect();
            for _ in 0..500 {
                if started.load(Ordering::SeqCst) > before {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(
                started.load(Ordering::SeqCst) > before,
                "round {round} never verified"
            );
            for c in clients {
                c.abort();
            }
        }
        // Every verification still running ends holding its permit; then it is free.
        let permit = access.inner.bcrypt_permit.acquire().await.unwrap();
        drop(permit);
        assert_eq!(peak.load(Ordering::SeqCst), 1, "bcrypt ran concurrently");
        assert_eq!(running.load(Ordering::SeqCst), 0);
    }

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
