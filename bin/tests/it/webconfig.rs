//! `--web.config.file`: the exporter over real loopback TLS with certificates made by
//! rcgen in the test (no keys checked in): scrape, certificate rotation, mTLS, basic auth
//! (good, wrong, unknown user, missing, the CVE-2022-46146 collision) and every invalid
//! config refused with its message (and exit code 2 from the binary). The portal behind
//! `[server] web_config`: TLS, JSON 401s on `/metrics` and `/api/*`, health and page open.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use kitestacks::exporter::Exporter;
use kitestacks::exporter::cli::ExporterArgs;
use kitestacks::webconfig::{Access, Verdict, WebConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A test CA and the certificates it signs.
pub(crate) struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Self {
            ca: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A leaf certificate for `names` (DNS names or IPs): (cert PEM, key PEM).
    fn leaf(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::File::create(&tmp)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    std::fs::rename(tmp, dir.join(name)).unwrap();
}

fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// Starts the exporter (no collectors: the self-metrics are enough) behind `web`.
pub(crate) async fn start(web: WebConfig) -> SocketAddr {
    let args = ExporterArgs::parse_from(
        ["kitestacks-exporter", "--collector.disable-defaults"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    )
    .unwrap();
    let exporter = Exporter::new(&args).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(kitestacks::exporter::serve_listener(
        exporter,
        listener,
        web,
        std::future::pending(),
    ));
    addr
}

struct Answer {
    status: u16,
    head: String,
    body: String,
    server_cert: Vec<u8>,
}

/// GET /metrics over TLS, trusting `ca_pem`, optionally with a client certificate and
/// basic-auth credentials. `Err` when the handshake or the exchange fails.
async fn https_get(
    addr: SocketAddr,
    ca_pem: &str,
    client: Option<&(String, String)>,
    auth: Option<(&str, &str)>,
) -> Result<Answer, String> {
    https_request(addr, ca_pem, client, auth, "GET", "/metrics").await
}

/// `method path` over TLS, as [`https_get`].
async fn https_request(
    addr: SocketAddr,
    ca_pem: &str,
    client: Option<&(String, String)>,
    auth: Option<(&str, &str)>,
    method: &str,
    path: &str,
) -> Result<Answer, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        None => b.with_no_client_auth(),
        Some((cert, key)) => b
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let server_cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some((u, p)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    let read = tls.read_to_end(&mut buf).await;
    if buf.is_empty() {
        return Err(format!("no answer: {read:?}"));
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not HTTP: {head}"))?;
    Ok(Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
        server_cert,
    })
}

pub(crate) fn tls_yaml(extra: &str) -> String {
    format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}")
}

pub(crate) fn setup(pki: &Pki, yaml: &str) -> (tempfile::TempDir, WebConfig) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = pki.leaf(&["localhost", "127.0.0.1"]);
    write(dir.path(), "server.crt", &cert);
    write(dir.path(), "server.key", &key);
    write(dir.path(), "ca.crt", &pki.ca_pem());
    write(dir.path(), "web.yml", yaml);
    let web = WebConfig::load(&dir.path().join("web.yml")).unwrap();
    (dir, web)
}

#[tokio::test]
async fn tls_scrape_with_headers_and_http2_off() {
    let pki = Pki::new();
    let yaml = tls_yaml(
        "  min_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n\
         http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n",
    );
    let (_dir, web) = setup(&pki, &yaml);
    assert!(web.tls_enabled());
    let addr = start(web).await;
    let a = https_get(addr, &pki.ca_pem(), None, None).await.unwrap();
    assert_eq!(a.status, 200);
    assert!(a.body.contains("node_exporter_build_info"), "{}", a.body);
    assert!(a.head.contains("x-frame-options: deny"), "{}", a.head);
    // A client that does not trust the CA is refused.
    let other = Pki::new();
    assert!(https_get(addr, &other.ca_pem(), None, None).await.is_err());
}

#[tokio::test]
async fn a_renewed_certificate_is_picked_up_without_restart() {
    let pki = Pki::new();
    let (dir, web) = setup(&pki, &tls_yaml(""));
    let addr = start(web).await;
    let first = https_get(addr, &pki.ca_pem(), None, None).await.unwrap();
    assert_eq!(first.status, 200);

    let (cert, key) = pki.leaf(&["localhost", "127.0.0.1"]);
    let new_der = CertificateDer::from_pem_slice(cert.as_bytes())
        .unwrap()
        .to_vec();
    assert_ne!(first.server_cert, new_der);
    write(dir.path(), "server.key", &key);
    write(dir.path(), "server.crt", &cert);
    // The files are checked at most once a second: ask until the new one is served.
    let mut served = Vec::new();
    for _ in 0..100 {
        served = https_get(addr, &pki.ca_pem(), None, None)
            .await
            .unwrap()
            .server_cert;
        if served == new_der {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served, new_der);
}

#[tokio::test]
async fn mtls_refuses_without_a_client_certificate_and_accepts_with_one() {
    let pki = Pki::new();
    let (_dir, web) = setup(
        &pki,
        &tls_yaml("  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"),
    );
    let addr = start(web).await;
    assert!(https_get(addr, &pki.ca_pem(), None, None).await.is_err());
    let client = pki.leaf(&["prometheus.example"]);
    let a = https_get(addr, &pki.ca_pem(), Some(&client), None)
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    // A certificate from another CA is refused.
    let stranger = Pki::new().leaf(&["prometheus.example"]);
    assert!(
        https_get(addr, &pki.ca_pem(), Some(&stranger), None)
            .await
            .is_err()
    );
}

/// A certificate with the allowed SAN `prometheus.example` is served, another is refused.
async fn only_the_allowed_san_gets_in(pki: &Pki, addr: SocketAddr) {
    let allowed = pki.leaf(&["prometheus.example"]);
    let a = https_get(addr, &pki.ca_pem(), Some(&allowed), None)
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    let other = pki.leaf(&["grafana.example"]);
    assert!(
        https_get(addr, &pki.ca_pem(), Some(&other), None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn client_allowed_sans() {
    let pki = Pki::new();
    let (_dir, web) = setup(
        &pki,
        &tls_yaml(
            "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n  \
             client_allowed_sans: [prometheus.example]\n",
        ),
    );
    let addr = start(web).await;
    only_the_allowed_san_gets_in(&pki, addr).await;
}

#[tokio::test]
async fn client_allowed_sans_need_a_certificate_even_if_given_is_optional() {
    let pki = Pki::new();
    let given = "  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n";
    // Without allowed SANs, VerifyClientCertIfGiven lets a client without a certificate in.
    let (_dir, web) = setup(&pki, &tls_yaml(given));
    let addr = start(web).await;
    let a = https_get(addr, &pki.ca_pem(), None, None).await.unwrap();
    assert_eq!(a.status, 200);
    // With them, no certificate means no SAN to check: refused.
    let (_dir, web) = setup(
        &pki,
        &tls_yaml(&format!(
            "{given}  client_allowed_sans: [prometheus.example]\n"
        )),
    );
    let addr = start(web).await;
    assert!(https_get(addr, &pki.ca_pem(), None, None).await.is_err());
    only_the_allowed_san_gets_in(&pki, addr).await;
}

#[tokio::test]
async fn basic_auth_over_tls() {
    let pki = Pki::new();
    let yaml = format!(
        "{}basic_auth_users:\n  prometheus: '{}'\n",
        tls_yaml(""),
        hash("s3cret")
    );
    let (_dir, web) = setup(&pki, &yaml);
    let addr = start(web).await;
    let ca = pki.ca_pem();
    let good = https_get(addr, &ca, None, Some(("prometheus", "s3cret")))
        .await
        .unwrap();
    assert_eq!(good.status, 200);
    for auth in [
        Some(("prometheus", "wrong")),
        Some(("nobody", "s3cret")),
        None,
    ] {
        let a = https_get(addr, &ca, None, auth).await.unwrap();
        assert_eq!(a.status, 401, "{auth:?}");
        assert!(a.head.contains("www-authenticate: basic"), "{}", a.head);
        assert_eq!(a.body, "Unauthorized\n");
    }
}

#[tokio::test]
async fn cve_2022_46146_cached_credentials_do_not_collide() {
    // "a" + "bc" and "ab" + "c" concatenate alike; the cache must tell them apart.
    let access = Access::new(
        vec![
            ("a".to_owned(), hash("bc")),
            ("ab".to_owned(), hash("other")),
        ],
        Vec::new(),
    );
    let headers = |u: &str, p: &str| {
        let mut h = hyper::HeaderMap::new();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        h.insert(
            hyper::header::AUTHORIZATION,
            format!("Basic {token}").parse().unwrap(),
        );
        h
    };
    assert_eq!(access.check(&headers("a", "bc")).await, Verdict::Allowed);
    assert_eq!(access.check(&headers("a", "bc")).await, Verdict::Allowed); // cached
    assert_eq!(
        access.check(&headers("ab", "c")).await,
        Verdict::Unauthorized
    );
    assert_eq!(
        access.check(&headers("ab", "other")).await,
        Verdict::Allowed
    );
    // An unknown user is refused even with a password the dummy hash could match.
    assert_eq!(
        access.check(&headers("zz", "bc")).await,
        Verdict::Unauthorized
    );
}

#[test]
fn invalid_web_configs_are_refused_with_their_key() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = pki.leaf(&["localhost"]);
    write(dir.path(), "server.crt", &cert);
    write(dir.path(), "server.key", &key);
    write(dir.path(), "ca.crt", &pki.ca_pem());
    write(dir.path(), "garbage.pem", "not a certificate\n");
    let (_, other_key) = pki.leaf(&["localhost"]);
    write(dir.path(), "other.key", &other_key);
    let good_hash = hash("x");
    let cases: Vec<(String, &str)> = vec![
        (
            "tls_server_confg: {}\n".into(),
            "unknown key tls_server_confg",
        ),
        (
            tls_yaml("  cert_fiel: x\n"),
            "unknown key tls_server_config.cert_fiel",
        ),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n".into(),
            "tls_server_config.cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: garbage.pem\n  key_file: server.key\n".into(),
            "tls_server_config.cert_file: no certificate found",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n".into(),
            "tls_server_config.key_file: does not fit cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n".into(),
            "missing one of cert or cert_file, or of key or key_file",
        ),
        (
            "basic_auth_users:\n  prometheus: plaintext\n".into(),
            "basic_auth_users.prometheus: the password is not a bcrypt hash",
        ),
        (
            format!(
                "basic_auth_users:\n  prometheus: '{}'\n",
                good_hash.replacen("$04$", "$31$", 1)
            ),
            "basic_auth_users.prometheus: bcrypt cost 31 is not between 4 and 14",
        ),
        (
            format!(
                "basic_auth_users:\n  prometheus: '{}'\n",
                good_hash.replacen("$04$", "$15$", 1)
            ),
            "basic_auth_users.prometheus: bcrypt cost 15 is not between 4 and 14",
        ),
        (
            tls_yaml("  client_ca_file: ca.crt\n"),
            "client CAs have been configured without a client auth policy",
        ),
        (
            tls_yaml("  client_auth_type: RequireAndVerifyClientCert\n"),
            "needs client_ca_file",
        ),
        (
            tls_yaml("  client_auth_type: Sometimes\n"),
            "tls_server_config.client_auth_type: \"Sometimes\" is not one of",
        ),
        (
            tls_yaml("  client_allowed_sans: [a]\n"),
            "tls_server_config.client_allowed_sans: needs client_auth_type",
        ),
        (
            tls_yaml("  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n"),
            "tls_server_config.cipher_suites: \"TLS_RSA_WITH_AES_128_CBC_SHA\" is not supported",
        ),
        (
            tls_yaml("  cipher_suites: [NOPE]\n"),
            "tls_server_config.cipher_suites: unknown cipher suite \"NOPE\"",
        ),
        (
            tls_yaml("  max_version: TLS11\n"),
            "tls_server_config.max_version: \"TLS11\" is not supported",
        ),
        (
            tls_yaml("  min_version: TLS14\n"),
            "tls_server_config.min_version: unknown TLS version \"TLS14\"",
        ),
        (
            tls_yaml("  min_version: TLS13\n  max_version: TLS12\n"),
            "min_version (TLS13) is above max_version (TLS12)",
        ),
        (
            tls_yaml("  curve_preferences: [CurveP521]\n"),
            "tls_server_config.curve_preferences: \"CurveP521\" is not supported",
        ),
        (
            "http_server_config:\n  headers:\n    Server: me\n".into(),
            "HTTP header \"Server\" can not be configured",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n".into(),
            "http_server_config.headers.X-Frame-Options: \"allow\" is not one of",
        ),
        (
            "http_server_config:\n  http2: maybe\n".into(),
            "http_server_config.http2: must be true or false",
        ),
        ("- a list\n".into(), "must be a YAML mapping"),
        ("a: [\n".into(), "not valid YAML"),
    ];
    for (yaml, expect) in cases {
        let err = WebConfig::parse(&yaml, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(expect),
            "for\n{yaml}\nexpected {expect:?}, got {err:?}"
        );
        assert!(!err.contains(&good_hash));
    }
    // TLS10 as min_version is raised to TLS 1.2, not refused; an empty file is no TLS.
    assert!(
        WebConfig::parse(&tls_yaml("  min_version: TLS10\n"), dir.path())
            .unwrap()
            .tls_enabled()
    );
    assert!(!WebConfig::parse("", dir.path()).unwrap().tls_enabled());
}

#[test]
fn the_exporter_exits_2_on_an_invalid_web_config() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "web.yml",
        "basic_auth_users:\n  prometheus: hunter2\n",
    );
    for file in [dir.path().join("web.yml"), dir.path().join("missing.yml")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kitestacks-exporter"))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg(format!("--web.config.file={}", file.display()))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("web config"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

/// Starts the portal (embedded default configuration) behind `web`, as the binary does.
async fn start_portal(web: WebConfig) -> SocketAddr {
    let config = kitestacks_core::Config::default_embedded();
    let portal = kitestacks::portal::Portal::new(&config)
        .unwrap()
        .with_access(web.access());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        kitestacks::portal::serve_listener(
            portal,
            listener,
            (&config.server).into(),
            &web,
            std::future::pending(),
        )
        .await;
    });
    addr
}

#[tokio::test]
async fn the_portal_behind_tls_and_basic_auth() {
    let pki = Pki::new();
    let yaml = format!(
        "{}basic_auth_users:\n  alice: '{}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        tls_yaml(""),
        hash("s3cret")
    );
    let (_dir, web) = setup(&pki, &yaml);
    let addr = start_portal(web).await;
    let ca = pki.ca_pem();
    let get = |path: &'static str, auth: Option<(&'static str, &'static str)>| {
        let ca = ca.clone();
        async move {
            https_request(addr, &ca, None, auth, "GET", path)
                .await
                .unwrap()
        }
    };

    // The API and /metrics need credentials; the refusal is the API's JSON error shape.
    for path in [
        "/api/services",
        "/api/metrics",
        "/api/openapi.json",
        "/metrics",
    ] {
        for auth in [None, Some(("alice", "wrong")), Some(("mallory", "s3cret"))] {
            let a = get(path, auth).await;
            assert_eq!(a.status, 401, "{path} {auth:?}");
            assert!(a.head.contains("www-authenticate: basic"), "{}", a.head);
            assert!(
                a.head.contains("content-type: application/json"),
                "{}",
                a.head
            );
            assert!(a.body.contains(r#""code":"unauthorized""#), "{}", a.body);
            assert!(a.head.contains("x-frame-options: deny"), "{}", a.head);
        }
        let ok = get(path, Some(("alice", "s3cret"))).await;
        assert_eq!(ok.status, 200, "{path}: {}", ok.body);
        assert!(ok.head.contains("x-frame-options: deny"), "{}", ok.head);
    }
    let services = get("/api/services", Some(("alice", "s3cret"))).await;
    assert!(services.body.contains(r#""services""#), "{}", services.body);
    // Liveness checks and the page itself stay open (the page's fetches then ask).
    for path in ["/api/health", "/"] {
        let a = get(path, None).await;
        assert_eq!(a.status, 200, "{path}");
        assert!(a.head.contains("x-frame-options: deny"), "{}", a.head);
    }
    // A CORS preflight carries no credentials: it is not refused for want of them.
    let preflight = https_request(addr, &ca, None, None, "OPTIONS", "/api/services")
        .await
        .unwrap();
    assert_ne!(preflight.status, 401);
}

#[test]
fn the_portal_exits_2_on_an_invalid_web_config_and_check_config_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "web.yml",
        "basic_auth_users:\n  alice: hunter2\n",
    );
    write(
        dir.path(),
        "kitestacks.toml",
        "[server]\nweb_config = \"web.yml\"\n",
    );
    for extra in [&["--check-config"][..], &["--listen", "127.0.0.1:0"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kitestacks-portal"))
            .env_remove("KITESTACKS_CONFIG")
            .arg("--config")
            .arg(dir.path().join("kitestacks.toml"))
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("server.web_config"), "{stderr}");
        assert!(stderr.contains("basic_auth_users"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    // A valid one passes --check-config and is named in its summary.
    write(dir.path(), "web.yml", "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kitestacks-portal"))
        .env_remove("KITESTACKS_CONFIG")
        .arg("--config")
        .arg(dir.path().join("kitestacks.toml"))
        .arg("--check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("web_config /"));
}
