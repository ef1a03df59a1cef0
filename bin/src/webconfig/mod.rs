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
//!   (not e-mail SANs) and needs a verifying `client_auth_type`; with it set, a client
//!   certificate is required even under `VerifyClientCertIfGiven` (a client without one
//!   would otherwise skip the SAN check);
//! - `basic_auth_users` hashes must have a bcrypt cost between 4 and
//!   [`MAX_BCRYPT_COST`] (14); a costlier hash is refused;
//! - `rate_limit` (newer exporter-toolkit) is not implemented and is refused as unknown.
//!
//! [`auth`] holds basic auth and the response headers, `tls` the TLS side; this module
//! parses and validates the YAML.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use hyper::header::{HeaderName, HeaderValue};
use tokio_rustls::rustls;
use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

use crate::server::Transport;

pub mod auth;
mod tls;

pub use auth::{
    Access, GuardFuture, MAX_BCRYPT_COST, MIN_BCRYPT_COST, Verdict, cache_key, unauthorized_text,
};

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
        let not_yaml = |e: yaml_rust2::ScanError| Invalid(format!("not valid YAML: {e}"));
        let (nodes, depth) = shape(text).map_err(not_yaml)?;
        if nodes > MAX_YAML_NODES {
            return invalid(format!(
                "the web config has more than {MAX_YAML_NODES} YAML nodes (an alias \
                 counts as the nodes it repeats)"
            ));
        }
        if depth > MAX_YAML_DEPTH {
            return invalid(format!(
                "the web config nests YAML collections more than {MAX_YAML_DEPTH} deep"
            ));
        }
        let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(not_yaml)?;
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
            Some(t) => tls::tls_config(t, dir, http2)?,
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

/// The most YAML nodes a web config may expand to. yaml-rust2 copies an anchored node
/// for every alias of it, so a few lines of aliases of aliases ("billion laughs") would
/// otherwise build billions of nodes. A real web config has a few dozen.
const MAX_YAML_NODES: u64 = 100_000;

/// How deep a web config may nest collections. Its deepest key is four levels down, and
/// yaml-rust2's loader recurses once per level: a few thousand nested block sequences
/// (`- - - … a`) would overflow the stack.
const MAX_YAML_DEPTH: usize = 64;

/// How many nodes loading `text` builds, aliases expanded, and how deep its collections
/// nest: counted from the parser's events without building anything, and no further
/// than just past [`MAX_YAML_NODES`] or [`MAX_YAML_DEPTH`].
fn shape(text: &str) -> Result<(u64, usize), yaml_rust2::ScanError> {
    use yaml_rust2::Event;
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    let (mut total, mut depth): (u64, usize) = (0, 0);
    // Nodes per anchor id, and the collections still open: (anchor id, total before).
    let mut sizes = std::collections::HashMap::new();
    let mut open = Vec::new();
    while total <= MAX_YAML_NODES && depth <= MAX_YAML_DEPTH {
        match parser.next_token()?.0 {
            Event::StreamEnd => break,
            Event::Scalar(_, _, anchor, _) => {
                total += 1;
                if anchor > 0 {
                    sizes.insert(anchor, 1);
                }
            }
            Event::Alias(id) => total = total.saturating_add(*sizes.get(&id).unwrap_or(&1)),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((anchor, total));
                total += 1;
                depth = depth.max(open.len());
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, before)) = open.pop()
                    && anchor > 0
                {
                    sizes.insert(anchor, total - before);
                }
            }
            _ => {}
        }
    }
    Ok((total, depth))
}

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
        let cost = auth::cost(&hash);
        if !(auth::MIN_BCRYPT_COST..=auth::MAX_BCRYPT_COST).contains(&cost) {
            return invalid(format!(
                "basic_auth_users.{user}: bcrypt cost {cost} is not between {} and {} (a \
                 verification at cost {} takes about a second, and they run one at a time)",
                auth::MIN_BCRYPT_COST,
                auth::MAX_BCRYPT_COST,
                auth::MAX_BCRYPT_COST
            ));
        }
        users.push((user, hash));
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_open() {
        for text in ["", "# nothing\n", "---\n"] {
            let c = WebConfig::parse(text, Path::new(".")).unwrap();
            assert!(!c.tls_enabled());
            assert!(!c.access().requires_auth());
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_the_loader_overflows_its_stack() {
        // Found by the property tests' nesting check (tests/it/props.rs): a thousand
        // nested block sequences overflowed a test thread's stack in yaml-rust2's loader.
        let text = format!("{}a", "- ".repeat(1_000));
        let e = WebConfig::parse(&text, Path::new(".")).unwrap_err();
        assert!(
            e.0.contains("nests YAML collections more than 64 deep"),
            "{e}"
        );
        let ok = format!("{}a", "- ".repeat(64));
        let e = WebConfig::parse(&ok, Path::new(".")).unwrap_err();
        assert_eq!(e.0, "the web config must be a YAML mapping");
    }

    #[test]
    fn aliases_of_aliases_cannot_expand_without_bound() {
        // Six lines that yaml-rust2 would expand to a million nodes ("billion laughs").
        let mut text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n".to_owned();
        for (k, prev) in ["b", "c", "d", "e", "f"]
            .iter()
            .zip(["a", "b", "c", "d", "e"])
        {
            text.push_str(&format!(
                "{k}: &{k} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        let e = WebConfig::parse(&text, Path::new(".")).unwrap_err();
        assert!(e.0.contains("more than 100000 YAML nodes"), "{e}");
        // An ordinary alias is still fine.
        let c = WebConfig::parse("http_server_config: &h {http2: false}\n", Path::new("."));
        assert!(c.is_ok(), "{c:?}");
        assert_eq!(shape("a: &x [1, 2]\nb: *x\n").unwrap(), (9, 2));
    }
}
