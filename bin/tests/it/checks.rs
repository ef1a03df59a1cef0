//! Check kinds and failure reasons against loopback targets: `tcp` (refused, banner,
//! TLS), `http` bodies, TLS facts and failures with certificates made by rcgen in the test
//! (trusted, expired, wrong name, self-signed), `dns` against a fake UDP server and the
//! system resolver, `icmp` (up or `icmp_not_permitted`, never a false down), retries,
//! the kinds' config errors, and the blackbox families checked by `promtool`.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use kitestacks::portal::Portal;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::fake::{Fake, Reply};
use crate::http::{call, portal};
use crate::schema::check_response;
use crate::status::service;

/// A registry of one host and the services given as `(id, probe table contents)`.
fn registry(services: &[(&str, String)]) -> String {
    let mut text = String::from("[[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n");
    for (id, probe) in services {
        text += &format!(
            "[[services]]\nid = \"{id}\"\nname = \"{id}\"\ncategory = \"apps\"\nhosts = [\"monk\"]\n\
             auth = \"none\"\nvisibility = \"internal\"\nprobe = {{ {probe} }}\n\n"
        );
    }
    text
}

/// One round; the status as JSON, checked against the published schema.
async fn round(p: &Portal) -> Value {
    p.probe_now().await;
    let v = call(p, "GET", "/api/status", &[]).await.json();
    let doc = call(p, "GET", "/api/openapi.json", &[]).await.json();
    let errors = check_response(&doc, "/api/status", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
    v
}

/// A port that was just free: nothing listens on it.
pub(crate) fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A TCP server that sends `banner` to every connection, then holds it open a while.
async fn banner_server(banner: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(banner.as_bytes()).await;
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn tcp_checks_connect_read_banners_and_name_refusals() {
    let ssh = banner_server("SSH-2.0-OpenSSH_9.6\r\n").await;
    let closed = closed_port();
    let p = portal(Some(&registry(&[
        (
            "plain",
            format!(
                "kind = \"tcp\", host = \"127.0.0.1\", port = {}, failures = 1",
                ssh.port()
            ),
        ),
        (
            "ssh",
            format!(
                "kind = \"tcp\", host = \"127.0.0.1\", port = {}, expect = \"SSH-2.0\", failures = 1",
                ssh.port()
            ),
        ),
        (
            "smtp",
            format!(
                "kind = \"tcp\", host = \"127.0.0.1\", port = {}, expect = \"220 \", failures = 1",
                ssh.port()
            ),
        ),
        (
            "closed",
            format!("kind = \"tcp\", host = \"127.0.0.1\", port = {closed}, failures = 1"),
        ),
    ])));
    let v = round(&p).await;
    let plain = service(&v, "plain");
    assert_eq!(plain["kind"], "tcp");
    assert_eq!(plain["state"], "up", "{plain}");
    assert!(plain["phases_ms"]["connect"].as_f64().is_some(), "{plain}");
    assert!(
        plain["phases_ms"]["first_byte"].is_null(),
        "no banner read: {plain}"
    );
    assert!(plain["http_status"].is_null());
    let ssh = service(&v, "ssh");
    assert_eq!(ssh["state"], "up", "{ssh}");
    assert!(ssh["phases_ms"]["first_byte"].as_f64().is_some(), "{ssh}");
    let smtp = service(&v, "smtp");
    assert_eq!(smtp["state"], "down", "{smtp}");
    assert_eq!(smtp["failure_reason"], "body_mismatch");
    let closed = service(&v, "closed");
    assert_eq!(closed["state"], "down");
    assert_eq!(closed["failure_reason"], "connect_refused");
    assert_eq!(closed["error"], "refused");
}

#[tokio::test]
async fn http_bodies_must_hold_the_expected_text() {
    let fake = Fake::start(vec![(
        "/health",
        Reply::Body(
            200,
            "application/json",
            Bytes::from_static(b"{\"status\":\"degraded\"}"),
        ),
    )])
    .await;
    let url = format!("http://{}/health", fake.addr);
    let p = portal(Some(&registry(&[
        (
            "good",
            format!("url = \"{url}\", expect = \"status\", failures = 1"),
        ),
        (
            "bad",
            format!("url = \"{url}\", expect = \"\\\"ok\\\"\", failures = 1"),
        ),
    ])));
    let v = round(&p).await;
    assert_eq!(service(&v, "good")["state"], "up");
    let bad = service(&v, "bad");
    assert_eq!(bad["state"], "down", "{bad}");
    assert_eq!(bad["failure_reason"], "body_mismatch");
    assert_eq!(bad["http_status"], 200, "the status was fine: {bad}");
    let text = call(&p, "GET", "/metrics", &[]).await.body;
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains("probe_failed_due_to_regex{service=\"bad\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("probe_failed_due_to_regex{service=\"good\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "kitestacks_portal_probe_failure_info{reason=\"body_mismatch\",service=\"bad\"} 1\n"
        ),
        "{text}"
    );
}

/// A test CA, and TLS servers on loopback with certificates it signs (or not).
struct Tls {
    ca: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
}

impl Tls {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Self { ca, dir }
    }

    fn ca_file(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }

    /// Serves `HTTP/1.1 200 ok` over TLS with a leaf for `names`, valid until
    /// `not_after` (a year), signed by the CA or by itself.
    async fn serve(&self, names: &[&str], not_after_year: i32, self_signed: bool) -> SocketAddr {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
        let cert = if self_signed {
            params.self_signed(&key).unwrap()
        } else {
            params.signed_by(&key, &self.ca).unwrap()
        };
        let chain = vec![CertificateDer::from(cert.der().to_vec())];
        let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut s) = acceptor.accept(s).await else {
                        return;
                    };
                    let mut buf = [0u8; 2048];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = s.shutdown().await;
                });
            }
        });
        addr
    }
}

#[tokio::test]
async fn tls_facts_and_every_certificate_failure_have_their_reason() {
    let tls = Tls::new();
    let good = tls.serve(&["localhost"], 2090, false).await;
    let expired = tls.serve(&["localhost"], 2021, false).await;
    let wrong_name = tls.serve(&["other.test"], 2090, false).await;
    let self_signed = tls.serve(&["localhost"], 2090, true).await;
    let ca = tls.ca_file();
    let https = |addr: SocketAddr| {
        format!(
            "url = \"https://localhost:{}/\", tls_ca_file = \"{ca}\", failures = 1",
            addr.port()
        )
    };
    let p = portal(Some(&registry(&[
        ("good", https(good)),
        ("expired", https(expired)),
        ("wrong-name", https(wrong_name)),
        ("self-signed", https(self_signed)),
        (
            "unverified",
            format!("{}, tls_verify = false", https(expired)),
        ),
        (
            "raw-tls",
            format!(
                "kind = \"tcp\", host = \"localhost\", port = {}, tls = true, tls_ca_file = \"{ca}\", failures = 1",
                good.port()
            ),
        ),
    ])));
    let v = round(&p).await;

    let good = service(&v, "good");
    assert_eq!(good["state"], "up", "{good}");
    assert_eq!(good["http_status"], 200);
    assert_eq!(good["tls"]["chain_valid"], true, "{good}");
    assert_eq!(good["tls"]["hostname_matched"], true);
    assert!(
        good["tls"]["days_left"].as_f64().unwrap() > 365.0 * 50.0,
        "{good}"
    );
    for phase in ["connect", "tls", "first_byte", "total"] {
        assert!(
            good["phases_ms"][phase].as_f64().is_some(),
            "{phase}: {good}"
        );
    }
    for (id, reason) in [
        ("expired", "tls_expired"),
        ("wrong-name", "tls_hostname"),
        ("self-signed", "tls_untrusted"),
    ] {
        let s = service(&v, id);
        assert_eq!(s["state"], "down", "{s}");
        assert_eq!(s["failure_reason"], reason, "{s}");
        assert_eq!(s["error"], "tls", "{s}");
        assert!(
            s["phases_ms"]["first_byte"].is_null(),
            "no request after a failed handshake: {s}"
        );
    }
    let expired = service(&v, "expired");
    assert!(
        expired["tls"]["days_left"].as_f64().unwrap() < 0.0,
        "{expired}"
    );
    assert_eq!(expired["tls"]["chain_valid"], false);
    assert_eq!(service(&v, "wrong-name")["tls"]["hostname_matched"], false);
    assert_eq!(service(&v, "wrong-name")["tls"]["chain_valid"], true);
    let unverified = service(&v, "unverified");
    assert_eq!(
        unverified["state"], "up",
        "tls_verify = false: {unverified}"
    );
    assert!(
        unverified["tls"]["days_left"].as_f64().unwrap() < 0.0,
        "facts still reported"
    );
    let raw = service(&v, "raw-tls");
    assert_eq!(raw["state"], "up", "{raw}");
    assert_eq!(raw["tls"]["chain_valid"], true);

    let text = call(&p, "GET", "/metrics", &[]).await.body;
    let text = String::from_utf8(text.to_vec()).unwrap();
    // 2090-01-01T00:00:00Z
    assert!(
        text.contains("probe_ssl_earliest_cert_expiry{service=\"good\"} 3.786912e+09\n"),
        "{text}"
    );
    assert!(
        text.contains("probe_http_duration_seconds{phase=\"tls\",service=\"good\"} "),
        "{text}"
    );
    assert!(
        !text.contains("probe_http_duration_seconds{phase=\"processing\",service=\"expired\"}"),
        "a phase that never ran has no series:\n{text}"
    );
    assert!(text.contains(
        "kitestacks_portal_probe_failure_info{reason=\"tls_expired\",service=\"expired\"} 1\n"
    ));
    crate::checks::promtool(&text);
}

/// `promtool check metrics` finds nothing to say about `text`.
pub(crate) fn promtool(text: &str) {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed (the README's test setup)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
}

/// A DNS server on loopback: `known.test` has 10.1.2.3, `slow.test` is never answered,
/// anything else is NXDOMAIN. Answers echo the question, with a compressed name.
async fn dns_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let q = &buf[..n];
            let mut name = Vec::new();
            let mut at = 12;
            while at < n && q[at] != 0 {
                let len = usize::from(q[at]);
                name.push(String::from_utf8_lossy(&q[at + 1..at + 1 + len]).into_owned());
                at += 1 + len;
            }
            let end = at + 5; // the root label, type and class
            let name = name.join(".");
            if name == "slow.test" {
                continue;
            }
            let mut a = q[..end].to_vec();
            a[2] = 0x81;
            if name == "known.test" {
                a[3] = 0x80;
                a[7] = 1;
                a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
            } else {
                a[3] = 0x83;
            }
            let _ = socket.send_to(&a, peer).await;
        }
    });
    addr
}

#[tokio::test]
async fn dns_checks_ask_a_given_server_or_the_system_resolver() {
    let server = dns_server().await;
    let dns = |name: &str, extra: &str| {
        format!("kind = \"dns\", name = \"{name}\", server = \"{server}\", failures = 1{extra}")
    };
    let unknown_label = "x".repeat(64);
    let p = portal(Some(&registry(&[
        ("known", dns("known.test", ", expect = \"10.1.2.3\"")),
        ("moved", dns("known.test", ", expect = \"10.9.9.9\"")),
        ("gone", dns("gone.test", "")),
        ("slow", dns("slow.test", ", timeout = \"300ms\"")),
        ("bad-name", dns(&format!("{unknown_label}.test"), "")),
        (
            "system-localhost",
            "kind = \"dns\", name = \"localhost\", failures = 1".to_owned(),
        ),
        (
            "system-unknown",
            format!("kind = \"dns\", name = \"{unknown_label}.test\", failures = 1"),
        ),
    ])));
    let v = round(&p).await;
    let known = service(&v, "known");
    assert_eq!(known["kind"], "dns");
    assert_eq!(known["state"], "up", "{known}");
    assert!(known["phases_ms"]["dns"].as_f64().is_some(), "{known}");
    assert!(known["phases_ms"]["connect"].is_null(), "{known}");
    for (id, reason) in [
        ("moved", "dns_mismatch"),
        ("gone", "dns_not_found"),
        ("slow", "dns_timeout"),
        ("bad-name", "dns_not_found"),
        ("system-unknown", "dns_not_found"),
    ] {
        let s = service(&v, id);
        assert_eq!(s["state"], "down", "{s}");
        assert_eq!(s["failure_reason"], reason, "{s}");
        assert_eq!(s["error"], "dns", "{s}");
    }
    assert_eq!(service(&v, "system-localhost")["state"], "up");
    let text = call(&p, "GET", "/metrics", &[]).await.body;
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains("probe_dns_lookup_time_seconds{service=\"known\"} "),
        "{text}"
    );
    assert!(
        text.contains("probe_failed_due_to_regex{service=\"moved\"} 1\n"),
        "{text}"
    );
    promtool(&text);
}

#[tokio::test]
async fn icmp_to_loopback_is_up_or_not_permitted_never_down() {
    let p = portal(Some(&registry(&[(
        "ping",
        "kind = \"icmp\", host = \"127.0.0.1\", timeout = \"2s\", failures = 1".to_owned(),
    )])));
    let v = round(&p).await;
    let ping = service(&v, "ping");
    assert_eq!(ping["kind"], "icmp");
    match ping["state"].as_str().unwrap() {
        "up" => {
            assert!(ping["failure_reason"].is_null(), "{ping}");
            assert!(
                ping["phases_ms"]["first_byte"].as_f64().is_some(),
                "the round trip: {ping}"
            );
        }
        "unknown" => {
            assert_eq!(ping["failure_reason"], "icmp_not_permitted", "{ping}");
            assert!(ping["error"].is_null(), "not down: {ping}");
            let text = call(&p, "GET", "/metrics", &[]).await.body;
            let text = String::from_utf8(text.to_vec()).unwrap();
            assert!(
                !text.contains("probe_success{service=\"ping\"}"),
                "no false 0:\n{text}"
            );
        }
        other => panic!("icmp to loopback is {other}: {ping}"),
    }
}

#[tokio::test]
async fn a_service_is_down_after_its_failures_in_a_row_since_the_first() {
    let fake = Fake::start(vec![("/ok", Reply::Body(200, "text/plain", Bytes::new()))]).await;
    let url = format!("http://{}/ok", fake.addr);
    let p = portal(Some(&registry(&[
        ("default", format!("url = \"{url}\"")),
        ("three", format!("url = \"{url}\", failures = 3")),
    ])));
    let up = round(&p).await;
    let up_since = service(&up, "default")["since_seconds"].clone();
    fake.set("/ok", Reply::Body(503, "text/plain", Bytes::new()));
    let first = round(&p).await;
    let d = service(&first, "default");
    assert_eq!(d["state"], "up", "one failure is not an outage: {d}");
    assert_eq!(d["failure_reason"], "http_status");
    assert_eq!(d["consecutive_failures"], 1);
    assert_eq!(d["since_seconds"], up_since);
    assert!(d["error"].is_null(), "{d}");
    let first_failure = d["checked_at_seconds"].clone();
    let three_first_failure = service(&first, "three")["checked_at_seconds"].clone();
    let second = round(&p).await;
    let d = service(&second, "default");
    assert_eq!(d["state"], "down", "{d}");
    assert_eq!(
        d["since_seconds"], first_failure,
        "since the first failure: {d}"
    );
    assert_eq!(d["error"], "unexpected_status");
    assert_eq!(service(&second, "three")["state"], "up");
    let third = round(&p).await;
    assert_eq!(service(&third, "three")["state"], "down");
    assert_eq!(
        service(&third, "three")["since_seconds"],
        three_first_failure
    );
}

#[test]
fn each_kind_says_what_it_is_missing_and_what_does_not_apply() {
    let cases = [
        (
            "kind = \"tcp\", host = \"nas\"",
            "services[0] (id \"x\").probe.port",
            "a tcp check needs a port",
        ),
        (
            "kind = \"tcp\", host = \"nas\", port = 70000",
            "services[0] (id \"x\").probe.port",
            "70000 is not a port (1-65535)",
        ),
        (
            "kind = \"icmp\"",
            "services[0] (id \"x\").probe.host",
            "a icmp check needs a host (or a service url to take it from)",
        ),
        (
            "kind = \"dns\", name = \"nas.lan\", server = \"resolver\"",
            "services[0] (id \"x\").probe.server",
            "\"resolver\" is not an IP address, with or without a port (e.g. \"192.168.1.1\" or \"127.0.0.1:5353\")",
        ),
        (
            "kind = \"dns\", name = \"nas.lan\", port = 53",
            "services[0] (id \"x\").probe.port",
            "does not apply to kind = \"dns\"",
        ),
        (
            "url = \"http://nas.lan/\", host = \"nas\"",
            "services[0] (id \"x\").probe.host",
            "does not apply to kind = \"http\"",
        ),
        (
            "url = \"http://nas.lan/\", failures = 0",
            "services[0] (id \"x\").probe.failures",
            "0 is not a number of failures (1 to 10)",
        ),
    ];
    for (probe, key, message) in cases {
        let text = registry(&[("x", probe.to_owned())]);
        let err = kitestacks_core::Config::from_toml(&text, "<test>", None).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("{key}: {message}")),
            "{probe}: {shown}"
        );
    }
}
