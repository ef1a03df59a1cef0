//! node_exporter's `--web.config.file`: the exporter-toolkit YAML web config (TLS, mTLS,
//! basic auth, extra response headers, HTTP/2 on/off) parsed, validated and turned into a
//! TLS acceptor and an auth check for the shared server loop.
//!
//! Compatibility notes (exporter-toolkit `web/tls_config.go`, `web/handler.go`):
//! - keys and defaults are upstream's; unknown keys are refused (upstream: strict YAML);
//!   an empty file means no TLS and no auth;
//! - relative paths are relative to the web config file's directory, as upstream;
//! - rustls speaks TLS 1.2 and 1.3 only: `min_version: TLS10`/`TLS11` is raised to TLS 1.2
//!   with a warning (the operator asked for "at least"), `max_version` below TLS 1.2 is
//!   refused;
//! - `cipher_suites` take Go's names; only the ECDHE AEAD suites exist in rustls, other Go
//!   names are refused; as in Go, TLS 1.3 suites are not configurable (their names are
//!   accepted and ignored);
//! - `curve_preferences`: `CurveP256`, `CurveP384`, `X25519` (`CurveP521` is refused);
//! - the certificate and key are re-read when their files change (checked at most once a
//!   second, on a handshake); a bad new pair is logged and the old one kept. Upstream
//!   re-reads the whole file on every handshake and request; here the users, headers
//!   and client CA are read once at start;
//! - `client_allowed_sans` matches DNS, IP and URI SANs of a verified client certificate
//!   (not e-mail SANs) and needs a verifying `client_auth_type`;
//! - `rate_limit` (newer exporter-toolkit) is not implemented and is refused as unknown.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{HeaderMap, Request, Response, StatusCode};
use subtle::ConstantTimeEq;
use tokio_rustls::rustls;
use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::server::{Body, Transport};

/// An invalid web config: the message names the key and quotes the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

fn invalid<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

/// A validated web config. The default serves plain HTTP without auth.
#[derive(Clone)]
pub struct WebConfig {
    tls: Option<Arc<rustls::ServerConfig>>,
    access: Access,
    http2: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            tls: None,
            access: Access::open(),
            http2: true,
        }
    }
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("basic_auth_users", &self.access.inner.users.len())
            .field("headers", &self.access.inner.headers)
            .field("http2", &self.http2)
            .finish()
    }
}

impl WebConfig {
    /// Reads and validates a web config file; paths in it are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, Invalid> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Invalid(format!("web config {}: {e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, dir).map_err(|e| Invalid(format!("web config {}: {e}", path.display())))
    }

    /// Parses and validates a web config's text; relative paths are resolved against `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Self, Invalid> {
        let docs = yaml_rust2::YamlLoader::load_from_str(text)
            .map_err(|e| Invalid(format!("not valid YAML: {e}")))?;
        let root = match docs.first() {
            None | Some(Yaml::Null) => return Ok(Self::default()),
            Some(Yaml::Hash(h)) => h,
            Some(_) => return invalid("the web config must be a YAML mapping"),
        };
        check_keys(
            root,
            "",
            &[
                "tls_server_config",
                "http_server_config",
                "basic_auth_users",
            ],
        )?;
        let http = mapping(root, "", "http_server_config")?;
        let (mut http2, mut headers) = (true, Vec::new());
        if let Some(h) = http {
            check_keys(h, "http_server_config.", &["http2", "headers"])?;
            if let Some(b) = boolean(h, "http_server_config.", "http2")? {
                http2 = b;
            }
            if let Some(hs) = mapping(h, "http_server_config.", "headers")? {
                headers = parse_headers(hs)?;
            }
        }
        let users = match mapping(root, "", "basic_auth_users")? {
            None => Vec::new(),
            Some(u) => parse_users(u)?,
        };
        let tls = match mapping(root, "", "tls_server_config")? {
            None => None,
            Some(t) => tls_config(t, dir, http2)?,
        };
        let access = Access::new(users, headers);
        Ok(Self { tls, access, http2 })
    }

    /// Whether connections are TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    /// The transport for [`crate::server::serve_with`]: TLS or plain, HTTP/2 or not.
    pub fn transport(&self) -> Transport {
        Transport {
            tls: self
                .tls
                .as_ref()
                .map(|c| tokio_rustls::TlsAcceptor::from(c.clone())),
            http1_only: !self.http2,
        }
    }

    /// The basic-auth check and response headers.
    pub fn access(&self) -> Access {
        self.access.clone()
    }
}

// ---------------------------------------------------------------------------------------
// YAML helpers

fn key_str(k: &Yaml) -> Option<&str> {
    match k {
        Yaml::String(s) => Some(s),
        _ => None,
    }
}

fn get<'a>(h: &'a Hash, key: &str) -> Option<&'a Yaml> {
    h.iter()
        .find(|(k, _)| key_str(k) == Some(key))
        .map(|(_, v)| v)
        .filter(|v| !matches!(v, Yaml::Null))
}

fn check_keys(h: &Hash, prefix: &str, known: &[&str]) -> Result<(), Invalid> {
    for k in h.keys() {
        match key_str(k) {
            Some(s) if known.contains(&s) => {}
            Some(s) => {
                return invalid(format!(
                    "unknown key {prefix}{s} (known keys here: {})",
                    known.join(", ")
                ));
            }
            None => return invalid(format!("{prefix}: keys must be strings, got {k:?}")),
        }
    }
    Ok(())
}

fn mapping<'a>(h: &'a Hash, prefix: &str, key: &str) -> Result<Option<&'a Hash>, Invalid> {
    match get(h, key) {
        None => Ok(None),
        Some(Yaml::Hash(m)) => Ok(Some(m)),
        Some(v) => invalid(format!("{prefix}{key}: must be a mapping, got {v:?}")),
    }
}

fn scalar_string(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string(h: &Hash, prefix: &str, key: &str) -> Result<Option<String>, Invalid> {
    match get(h, key) {
        None => Ok(None),
        Some(v) => match scalar_string(v) {
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => Ok(Some(s)),
            None => invalid(format!("{prefix}{key}: must be a string, got {v:?}")),
        },
    }
}

fn boolean(h: &Hash, prefix: &str, key: &str) -> Result<Option<bool>, Invalid> {
    match get(h, key) {
        None => Ok(None),
        Some(Yaml::Boolean(b)) => Ok(Some(*b)),
        Some(v) => invalid(format!("{prefix}{key}: must be true or false, got {v:?}")),
    }
}

fn strings(h: &Hash, prefix: &str, key: &str) -> Result<Vec<String>, Invalid> {
    match get(h, key) {
        None => Ok(Vec::new()),
        Some(Yaml::Array(a)) => a
            .iter()
            .map(|v| {
                scalar_string(v).ok_or_else(|| {
                    Invalid(format!("{prefix}{key}: items must be strings, got {v:?}"))
                })
            })
            .collect(),
        Some(v) => invalid(format!("{prefix}{key}: must be a list, got {v:?}")),
    }
}

// ---------------------------------------------------------------------------------------
// http_server_config.headers and basic_auth_users

/// Headers exporter-toolkit lets an operator set, with their allowed values (empty: any).
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

fn parse_headers(h: &Hash) -> Result<Vec<(HeaderName, HeaderValue)>, Invalid> {
    let mut out = Vec::new();
    for (k, v) in h {
        let name = key_str(k).unwrap_or_default();
        let Some((canonical, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            return invalid(format!(
                "http_server_config.headers: HTTP header {name:?} can not be configured (allowed: {})",
                ALLOWED_HEADERS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        let value = scalar_string(v).unwrap_or_default();
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return invalid(format!(
                "http_server_config.headers.{canonical}: {value:?} is not one of {allowed:?}"
            ));
        }
        let value = HeaderValue::from_str(&value).map_err(|_| {
            Invalid(format!(
                "http_server_config.headers.{canonical}: {value:?} is not a valid header value"
            ))
        })?;
        out.push((HeaderName::from_static(lower(canonical)), value));
    }
    Ok(out)
}

fn lower(name: &'static str) -> &'static str {
    match name {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}

fn parse_users(h: &Hash) -> Result<Vec<(String, String)>, Invalid> {
    let mut users = Vec::new();
    for (k, v) in h {
        let Some(user) = scalar_string(k) else {
            return invalid(format!(
                "basic_auth_users: user names must be strings, got {k:?}"
            ));
        };
        let hash = scalar_string(v).unwrap_or_default();
        // The hash is a secret: never quote it.
        if hash.parse::<bcrypt::HashParts>().is_err() {
            return invalid(format!(
                "basic_auth_users.{user}: the password is not a bcrypt hash (make one with \
                 `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
            ));
        }
        users.push((user, hash));
    }
    Ok(users)
}

// ---------------------------------------------------------------------------------------
// Access: basic auth and extra headers

/// exporter-toolkit's cache size for verified credentials.
const CACHE_SIZE: usize = 100;

/// The basic-auth check and the configured response headers; cheap to clone.
#[derive(Clone)]
pub struct Access {
    inner: Arc<AccessInner>,
}

struct AccessInner {
    users: Vec<(String, String)>,
    /// A hash of a password nobody knows, with the users' highest cost: an unknown user
    /// costs one bcrypt verification, like a known one.
    dummy_hash: String,
    headers: Vec<(HeaderName, HeaderValue)>,
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

// ---------------------------------------------------------------------------------------
// tls_server_config

const TLS_KEYS: &[&str] = &[
    "cert_file",
    "key_file",
    "cert",
    "key",
    "client_ca_file",
    "client_ca",
    "client_auth_type",
    "cipher_suites",
    "curve_preferences",
    "min_version",
    "max_version",
    "prefer_server_cipher_suites",
    "client_allowed_sans",
];

const P: &str = "tls_server_config.";

/// Where PEM comes from: a file (re-read when it changes) or the config itself.
#[derive(Debug, Clone)]
enum Pem {
    File(PathBuf),
    Inline(String),
}

impl Pem {
    fn from_keys(
        h: &Hash,
        dir: &Path,
        file_key: &str,
        inline_key: &str,
    ) -> Result<Option<Pem>, Invalid> {
        match (string(h, P, file_key)?, string(h, P, inline_key)?) {
            (Some(_), Some(_)) => invalid(format!(
                "{P}{file_key} and {P}{inline_key} are mutually exclusive"
            )),
            (Some(f), None) => Ok(Some(Pem::File(dir.join(f)))),
            (None, Some(t)) => Ok(Some(Pem::Inline(t))),
            (None, None) => Ok(None),
        }
    }

    fn read(&self, key: &str) -> Result<Vec<u8>, String> {
        match self {
            Pem::File(p) => std::fs::read(p).map_err(|e| format!("{P}{key}: {}: {e}", p.display())),
            Pem::Inline(t) => Ok(t.clone().into_bytes()),
        }
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        match self {
            Pem::File(p) => std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len()))),
            Pem::Inline(_) => None,
        }
    }
}

fn tls_config(
    h: &Hash,
    dir: &Path,
    http2: bool,
) -> Result<Option<Arc<rustls::ServerConfig>>, Invalid> {
    check_keys(h, P, TLS_KEYS)?;
    let cert = Pem::from_keys(h, dir, "cert_file", "cert")?;
    let key = Pem::from_keys(h, dir, "key_file", "key")?;
    let ca = Pem::from_keys(h, dir, "client_ca_file", "client_ca")?;
    let auth_type = string(h, P, "client_auth_type")?;
    let sans = strings(h, P, "client_allowed_sans")?;
    if cert.is_none() && key.is_none() && ca.is_none() && auth_type.is_none() && sans.is_empty() {
        return Ok(None); // upstream: no TLS config, plain HTTP
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        return invalid(format!(
            "{P}: missing one of cert or cert_file, or of key or key_file (both are needed for TLS)"
        ));
    };

    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    let suites = strings(h, P, "cipher_suites")?;
    if !suites.is_empty() {
        let mut chosen: Vec<rustls::SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        for name in &suites {
            chosen.extend(cipher_suite(name)?);
        }
        provider.cipher_suites = chosen;
    }
    let curves = strings(h, P, "curve_preferences")?;
    if !curves.is_empty() {
        provider.kx_groups = curves.iter().map(|c| curve(c)).collect::<Result<_, _>>()?;
    }
    let min = match string(h, P, "min_version")? {
        None => 12,
        Some(v) => match version(&v, "min_version")? {
            10 | 11 => {
                tracing::warn!(
                    "{P}min_version: {v} raised to TLS12: rustls speaks TLS 1.2 and 1.3 only"
                );
                12
            }
            n => n,
        },
    };
    let max = match string(h, P, "max_version")? {
        None => 13,
        Some(v) => match version(&v, "max_version")? {
            10 | 11 => {
                return invalid(format!(
                    "{P}max_version: {v:?} is not supported: rustls speaks TLS 1.2 and 1.3 only"
                ));
            }
            n => n,
        },
    };
    if min > max {
        return invalid(format!(
            "{P}min_version (TLS{min}) is above max_version (TLS{max})"
        ));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(n, _)| (min..=max).contains(n))
            .map(|(_, v)| v)
            .collect();
    let prefer_server = boolean(h, P, "prefer_server_cipher_suites")?.unwrap_or(true);
    let provider = Arc::new(provider);

    let verifier = client_verifier(auth_type.as_deref(), ca.as_ref(), &sans, &provider)?;
    let resolver = ReloadingCert::new(cert, key, provider.clone())?;

    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| Invalid(format!("{P}: {e}")))?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    config.ignore_client_order = prefer_server;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Some(Arc::new(config)))
}

fn version(v: &str, key: &str) -> Result<u8, Invalid> {
    match v {
        "TLS10" => Ok(10),
        "TLS11" => Ok(11),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        _ => invalid(format!(
            "{P}{key}: unknown TLS version {v:?} (one of TLS10, TLS11, TLS12, TLS13)"
        )),
    }
}

/// A TLS 1.2 suite by its Go name; `None` for a TLS 1.3 suite (not configurable).
fn cipher_suite(name: &str) -> Result<Option<rustls::SupportedCipherSuite>, Invalid> {
    use rustls::crypto::aws_lc_rs::cipher_suite as cs;
    Ok(Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        // TLS 1.3 suites are not configurable (Go ignores them in cipher_suites too).
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            return Ok(None);
        }
        n if n.starts_with("TLS_")
            && (n.contains("_CBC_") || n.contains("RC4") || n.starts_with("TLS_RSA_")) =>
        {
            return invalid(format!(
                "{P}cipher_suites: {n:?} is not supported (only ECDHE with AES-GCM or \
                 ChaCha20-Poly1305 is: TLS_ECDHE_{{ECDSA,RSA}}_WITH_{{AES_128_GCM_SHA256,\
                 AES_256_GCM_SHA384,CHACHA20_POLY1305_SHA256}})"
            ));
        }
        n => return invalid(format!("{P}cipher_suites: unknown cipher suite {n:?}")),
    }))
}

fn curve(name: &str) -> Result<&'static dyn rustls::crypto::SupportedKxGroup, Invalid> {
    use rustls::crypto::aws_lc_rs::kx_group;
    match name {
        "CurveP256" => Ok(kx_group::SECP256R1),
        "CurveP384" => Ok(kx_group::SECP384R1),
        "X25519" => Ok(kx_group::X25519),
        "CurveP521" => invalid(format!(
            "{P}curve_preferences: \"CurveP521\" is not supported (CurveP256, CurveP384, X25519 are)"
        )),
        n => invalid(format!(
            "{P}curve_preferences: unknown curve {n:?} (CurveP256, CurveP384, X25519)"
        )),
    }
}

fn client_verifier(
    auth_type: Option<&str>,
    ca: Option<&Pem>,
    sans: &[String],
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, Invalid> {
    let auth = auth_type.unwrap_or("NoClientCert");
    let verifying = matches!(
        auth,
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert"
    );
    let known = [
        "NoClientCert",
        "RequestClientCert",
        "RequireAnyClientCert",
        "RequireClientCert",
        "VerifyClientCertIfGiven",
        "RequireAndVerifyClientCert",
    ];
    if !known.contains(&auth) {
        return invalid(format!(
            "{P}client_auth_type: {auth:?} is not one of {}",
            known.join(", ")
        ));
    }
    if ca.is_some() && auth == "NoClientCert" {
        return invalid(format!(
            "{P}client_ca_file: client CAs have been configured without a client auth \
             policy: set client_auth_type (e.g. RequireAndVerifyClientCert)"
        ));
    }
    if verifying && ca.is_none() {
        return invalid(format!(
            "{P}client_auth_type: {auth:?} needs client_ca_file (the CAs to verify client certificates with)"
        ));
    }
    if !sans.is_empty() && !verifying {
        return invalid(format!(
            "{P}client_allowed_sans: needs client_auth_type VerifyClientCertIfGiven or \
             RequireAndVerifyClientCert (got {auth:?})"
        ));
    }
    let algs = provider.signature_verification_algorithms;
    let inner: Arc<dyn ClientCertVerifier> = match auth {
        "NoClientCert" => return Ok(None),
        "RequestClientCert" => Arc::new(AnyClientCert {
            mandatory: false,
            algs,
        }),
        "RequireAnyClientCert" | "RequireClientCert" => Arc::new(AnyClientCert {
            mandatory: true,
            algs,
        }),
        _ => {
            let Some(ca) = ca else {
                return invalid(format!("{P}client_ca_file: missing"));
            };
            let pem = ca.read("client_ca_file").map_err(Invalid)?;
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| Invalid(format!("{P}client_ca_file: bad PEM: {e}")))?;
                roots
                    .add(c)
                    .map_err(|e| Invalid(format!("{P}client_ca_file: bad certificate: {e}")))?;
            }
            if roots.is_empty() {
                return invalid(format!("{P}client_ca_file: no certificate found"));
            }
            let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let b = if auth == "VerifyClientCertIfGiven" {
                b.allow_unauthenticated()
            } else {
                b
            };
            b.build()
                .map_err(|e| Invalid(format!("{P}client_ca_file: {e}")))?
        }
    };
    if sans.is_empty() {
        Ok(Some(inner))
    } else {
        Ok(Some(Arc::new(AllowedSans {
            inner,
            allowed: sans.to_vec(),
        })))
    }
}

/// Asks for a client certificate and accepts any (Go's RequestClientCert and
/// RequireAnyClientCert), still checking the handshake signature.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A verified client certificate must also carry one of the allowed SANs.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl AllowedSans {
    fn matches(&self, der: &CertificateDer<'_>) -> bool {
        let Ok(cert) = webpki::EndEntityCert::try_from(der) else {
            return false;
        };
        let dns: Vec<&str> = cert.valid_dns_names().collect();
        let uris: Vec<&str> = cert.valid_uri_names().collect();
        self.allowed.iter().any(|a| {
            if let Ok(ip) = a.parse::<std::net::IpAddr>() {
                return cert
                    .verify_is_valid_for_subject_name(&rustls::pki_types::ServerName::IpAddress(
                        ip.into(),
                    ))
                    .is_ok();
            }
            dns.iter().any(|d| d.eq_ignore_ascii_case(a)) || uris.contains(&a.as_str())
        })
    }
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }
    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let ok = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if self.matches(end_entity) {
            Ok(ok)
        } else {
            tracing::debug!("client certificate has none of the allowed SANs");
            Err(rustls::Error::General(
                "could not find allowed SANs in client cert".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The server certificate, re-read when its files change (checked at most once a second).
#[derive(Debug)]
struct ReloadingCert {
    cert: Pem,
    key: Pem,
    provider: Arc<CryptoProvider>,
    state: Mutex<CertState>,
}

#[derive(Debug)]
struct CertState {
    checked: Instant,
    stamp: [Option<(SystemTime, u64)>; 2],
    current: Arc<CertifiedKey>,
}

impl ReloadingCert {
    fn new(cert: Pem, key: Pem, provider: Arc<CryptoProvider>) -> Result<Self, Invalid> {
        let stamp = [cert.stamp(), key.stamp()];
        let current = load_pair(&cert, &key, &provider).map_err(Invalid)?;
        Ok(Self {
            cert,
            key,
            provider,
            state: Mutex::new(CertState {
                checked: Instant::now(),
                stamp,
                current: Arc::new(current),
            }),
        })
    }
}

fn load_pair(cert: &Pem, key: &Pem, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let cert_pem = cert.read("cert_file")?;
    let key_pem = key.read("key_file")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{P}cert_file: bad PEM: {e}"))?;
    if chain.is_empty() {
        return Err(format!("{P}cert_file: no certificate found"));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("{P}key_file: no private key found: {e}"))?;
    CertifiedKey::from_der(chain, key_der, provider)
        .map_err(|e| format!("{P}key_file: does not fit cert_file: {e}"))
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.checked.elapsed() >= Duration::from_secs(1) {
            s.checked = Instant::now();
            let stamp = [self.cert.stamp(), self.key.stamp()];
            if stamp != s.stamp {
                match load_pair(&self.cert, &self.key, &self.provider) {
                    Ok(ck) => {
                        tracing::info!("TLS certificate reloaded");
                        s.stamp = stamp;
                        s.current = Arc::new(ck);
                    }
                    // Half-written files during a renewal: keep the old pair, try again.
                    Err(e) => tracing::warn!("TLS certificate not reloaded: {e}"),
                }
            }
        }
        Some(s.current.clone())
    }
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

    #[test]
    fn empty_config_is_open() {
        for text in ["", "# nothing\n", "---\n"] {
            let c = WebConfig::parse(text, Path::new(".")).unwrap();
            assert!(!c.tls_enabled());
            assert!(!c.access().requires_auth());
        }
    }
}
