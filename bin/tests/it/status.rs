//! Service status: one probe round driven by `Portal::probe_now` against fake services on
//! 127.0.0.1 (up, 401 accepted, 500, a server that never answers, a closed port, TLS to
//! a plain-HTTP listener), `/api/status` against the published schema, and `/metrics`.

use bytes::Bytes;
use kitestacks::portal::Portal;
use serde_json::Value;

use crate::fake::{Fake, Reply};
use crate::http::{call, portal};
use crate::schema::check_response;

/// A registry of services on the fake (`http://ADDR`) and on a closed port, each down
/// at its first failure (`failures = 1`).
fn config(fake: &str, closed: u16) -> String {
    let service = |id: &str, url: &str, probe: &str| {
        let probe = if probe.is_empty() {
            "failures = 1".to_owned()
        } else {
            format!("{probe}, failures = 1")
        };
        format!(
            "[[services]]\nid = \"{id}\"\nname = \"{id}\"\nurl = \"{url}\"\ncategory = \"apps\"\n\
             hosts = [\"monk\"]\nauth = \"none\"\nvisibility = \"internal\"\nprobe = {{ {probe} }}\n\n"
        )
    };
    let mut text = String::from(
        "[status]\ninterval = \"5s\"\nconcurrency = 2\n\n[[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n",
    );
    text += &service("ok", &format!("http://{fake}/"), "path = \"/ok\"");
    text += &service(
        "login",
        &format!("http://{fake}/"),
        "path = \"/login\", accept_status = [200, 401]",
    );
    text += &service("broken", &format!("http://{fake}/"), "path = \"/broken\"");
    text += &service(
        "hangs",
        &format!("http://{fake}/"),
        "path = \"/hang\", timeout = \"300ms\"",
    );
    text += &service(
        "closed",
        &format!("http://127.0.0.1:{closed}/"),
        "method = \"HEAD\"",
    );
    text += &service(
        "tls",
        &format!("https://{fake}/"),
        "path = \"/ok\", timeout = \"5s\"",
    );
    // Not probed: no `probe` key.
    text += &format!(
        "[[services]]\nid = \"unprobed\"\nname = \"x\"\nurl = \"http://{fake}/\"\ncategory = \"apps\"\n\
         hosts = [\"monk\"]\nauth = \"none\"\nvisibility = \"internal\"\n"
    );
    text
}

async fn setup() -> (Fake, Portal) {
    let text = Bytes::from_static(b"ok");
    let fake = Fake::start(vec![
        ("/ok", Reply::Body(200, "text/plain", text.clone())),
        ("/login", Reply::Body(401, "text/plain", text.clone())),
        ("/broken", Reply::Body(500, "text/plain", text)),
        ("/hang", Reply::Hang),
    ])
    .await;
    // A port that was just free: nothing listens on it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = portal(Some(&config(&fake.addr.to_string(), closed)));
    (fake, p)
}

pub(crate) fn service<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {v}"))
}

#[tokio::test]
async fn before_the_first_round_everything_is_unknown() {
    let (_fake, p) = setup().await;
    let r = call(&p, "GET", "/api/status", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["enabled"], true);
    assert_eq!(v["interval_seconds"], 5.0);
    assert!(v["checked_at_seconds"].is_null());
    let ids: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ok", "login", "broken", "hangs", "closed", "tls"]);
    for s in v["services"].as_array().unwrap() {
        assert_eq!(s["state"], "unknown", "{s}");
        assert!(s["since_seconds"].is_null() && s["error"].is_null(), "{s}");
    }
    let doc = call(&p, "GET", "/api/openapi.json", &[]).await.json();
    let errors = check_response(&doc, "/api/status", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn one_round_classifies_every_outcome() {
    let (_fake, p) = setup().await;
    p.probe_now().await;
    let v = call(&p, "GET", "/api/status", &[]).await.json();
    let doc = call(&p, "GET", "/api/openapi.json", &[]).await.json();
    let errors = check_response(&doc, "/api/status", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(v["checked_at_seconds"].as_f64().unwrap() > 0.0);

    let ok = service(&v, "ok");
    assert_eq!(ok["state"], "up");
    assert_eq!(ok["http_status"], 200);
    assert!(ok["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(ok["error"].is_null());
    assert_eq!(ok["since_seconds"], ok["checked_at_seconds"]);

    let login = service(&v, "login");
    assert_eq!(login["state"], "up", "401 is accepted: {login}");
    assert_eq!(login["http_status"], 401);

    let broken = service(&v, "broken");
    assert_eq!(broken["state"], "down");
    assert_eq!(broken["http_status"], 500);
    assert_eq!(broken["error"], "unexpected_status");
    assert_eq!(broken["failure_reason"], "http_status");

    let hangs = service(&v, "hangs");
    assert_eq!(hangs["state"], "down");
    assert_eq!(hangs["error"], "timeout");
    assert_eq!(
        hangs["failure_reason"], "timeout",
        "accepted, never answered: {hangs}"
    );
    // The phases that ran have durations; the one cut short and those after it are null.
    assert!(hangs["phases_ms"]["connect"].as_f64().is_some(), "{hangs}");
    assert!(
        hangs["phases_ms"]["dns"].is_null(),
        "an address needs no lookup: {hangs}"
    );
    assert!(hangs["phases_ms"]["tls"].is_null() && hangs["phases_ms"]["first_byte"].is_null());
    assert!(hangs["http_status"].is_null() && hangs["latency_ms"].is_null());

    let closed = service(&v, "closed");
    assert_eq!(closed["state"], "down");
    assert_eq!(closed["error"], "refused");
    assert_eq!(closed["failure_reason"], "connect_refused");
    assert!(closed["http_status"].is_null());
    assert!(closed["phases_ms"]["first_byte"].is_null(), "{closed}");

    let tls = service(&v, "tls");
    assert_eq!(tls["state"], "down");
    assert_eq!(tls["error"], "tls", "https to a plain-HTTP listener: {tls}");
    assert_eq!(tls["failure_reason"], "tls_handshake", "{tls}");
    assert!(
        ok["failure_reason"].is_null() && ok["tls"].is_null(),
        "{ok}"
    );
}

#[tokio::test]
async fn since_changes_only_when_the_state_does() {
    let (fake, p) = setup().await;
    p.probe_now().await;
    let first = service(&call(&p, "GET", "/api/status", &[]).await.json(), "ok").clone();
    p.probe_now().await;
    let second = service(&call(&p, "GET", "/api/status", &[]).await.json(), "ok").clone();
    assert_eq!(second["state"], "up");
    assert_eq!(second["since_seconds"], first["since_seconds"]);

    fake.set("/ok", Reply::Body(503, "text/plain", Bytes::new()));
    p.probe_now().await;
    let third = service(&call(&p, "GET", "/api/status", &[]).await.json(), "ok").clone();
    assert_eq!(third["state"], "down");
    assert_eq!(third["error"], "unexpected_status");
    assert_eq!(third["since_seconds"], third["checked_at_seconds"]);
    assert_ne!(third["since_seconds"], first["since_seconds"]);

    fake.set("/ok", Reply::Body(200, "text/plain", Bytes::new()));
    p.probe_now().await;
    let fourth = service(&call(&p, "GET", "/api/status", &[]).await.json(), "ok").clone();
    assert_eq!(fourth["state"], "up");
    assert!(fourth["error"].is_null());
    assert_eq!(fourth["since_seconds"], fourth["checked_at_seconds"]);
}

#[tokio::test]
async fn probes_send_the_portal_user_agent_and_only_to_the_registry() {
    let (fake, p) = setup().await;
    let before = fake.hits();
    // Requests to the portal never trigger a probe.
    call(&p, "GET", "/api/status", &[]).await;
    call(&p, "GET", "/metrics", &[]).await;
    assert_eq!(fake.hits(), before);
    p.probe_now().await;
    // ok, login, broken, hangs (the TLS probe fails before a request is parsed).
    assert!(fake.hits() >= before + 4);
    assert!(kitestacks::portal::probe::USER_AGENT.starts_with("kitestacks-portal/"));
}

#[tokio::test]
async fn credentials_in_urls_are_used_for_probing_and_never_published() {
    let fake = Fake::start(vec![(
        "/ok",
        Reply::Body(200, "text/plain", Bytes::from_static(b"ok")),
    )])
    .await;
    let url = format!("http://ks-user-7:pr0b3pw@{}/ok?token=t0k3n&x", fake.addr);
    let text = format!(
        "[[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n[[services]]\nid = \"ok\"\n\
         name = \"ok\"\nurl = \"{url}\"\ncategory = \"apps\"\nhosts = [\"monk\"]\n\
         auth = \"none\"\nvisibility = \"internal\"\nprobe = {{ }}\n"
    );
    let p = portal(Some(&text));
    p.probe_now().await;
    // The probe used the URL as configured: basic auth from the user info, the query as is.
    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path_and_query, "/ok?token=t0k3n&x");
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Basic a3MtdXNlci03OnByMGIzcHc="), // ks-user-7:pr0b3pw
    );
    let status = call(&p, "GET", "/api/status", &[]).await.json();
    assert_eq!(service(&status, "ok")["state"], "up");
    // Nothing public shows them.
    for path in [
        "/api/services",
        "/api/status",
        "/api/openapi.json",
        "/",
        "/app.js",
    ] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 200, "{path}");
        let body = String::from_utf8_lossy(&r.body);
        for secret in ["ks-user-7", "pr0b3pw", "t0k3n"] {
            assert!(!body.contains(secret), "{secret} in {path}");
        }
    }
    let services = call(&p, "GET", "/api/services", &[]).await.json();
    let published = format!("http://{}/ok?token=REDACTED&REDACTED", fake.addr);
    assert_eq!(services["services"][0]["url"], published.as_str());
    assert_eq!(services["services"][0]["probe"]["url"], published.as_str());
}

/// Every line of the text format: `# HELP`/`# TYPE` pairs, then `name{labels} value`.
fn check_format(text: &str) {
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "summary"].contains(&kind), "{line}");
            assert!(typed.insert(name.to_owned()), "family {name} twice");
        } else if line.starts_with("# HELP ") {
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap();
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("value of {line}"));
            let name = series.split('{').next().unwrap();
            let family = name
                .strip_suffix("_sum")
                .or_else(|| name.strip_suffix("_count"))
                .filter(|f| typed.contains(*f))
                .unwrap_or(name);
            assert!(typed.contains(family), "{line} before its # TYPE");
        }
    }
}

#[tokio::test]
async fn metrics_has_probes_and_requests() {
    let (_fake, p) = setup().await;
    p.probe_now().await;
    call(&p, "GET", "/api/health", &[]).await;
    call(&p, "GET", "/api/health", &[]).await;
    call(&p, "GET", "/api/metrics/nope", &[]).await;
    call(&p, "POST", "/api/status", &[]).await;
    let r = call(&p, "GET", "/metrics", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = std::str::from_utf8(&r.body).unwrap();
    check_format(text);
    for line in [
        "# TYPE probe_success gauge",
        "probe_success{service=\"ok\"} 1",
        "probe_success{service=\"login\"} 1",
        "probe_success{service=\"broken\"} 0",
        "probe_http_status_code{service=\"broken\"} 500",
        "probe_http_status_code{service=\"closed\"} 0",
        "probe_success{service=\"tls\"} 0",
        "# TYPE kitestacks_portal_requests_total counter",
        "kitestacks_portal_requests_total{code=\"200\",route=\"/api/health\"} 2",
        "kitestacks_portal_requests_total{code=\"404\",route=\"not_found\"} 1",
        "kitestacks_portal_requests_total{code=\"405\",route=\"/api/status\"} 1",
        "# TYPE kitestacks_portal_request_duration_seconds summary",
        "kitestacks_portal_request_duration_seconds_count{route=\"/api/health\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(text.contains("probe_duration_seconds{service=\"hangs\"} "));
    assert!(
        !text.contains("unprobed"),
        "a service without probe has no series"
    );
    assert!(
        !text.contains("/api/metrics/nope"),
        "raw paths are never labels"
    );

    // The scrape itself is counted by the next one.
    let text = call(&p, "GET", "/metrics", &[]).await.body;
    let text = std::str::from_utf8(&text).unwrap();
    assert!(text.contains("kitestacks_portal_requests_total{code=\"200\",route=\"/metrics\"} 1\n"));
}

#[tokio::test]
async fn status_disabled_still_answers_unknown() {
    let (fake, _) = setup().await;
    let text =
        config(&fake.addr.to_string(), 1).replace("[status]\n", "[status]\nenabled = false\n");
    let p = portal(Some(&text));
    let v = call(&p, "GET", "/api/status", &[]).await.json();
    assert_eq!(v["services"].as_array().unwrap().len(), 6);
    assert!(
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "unknown")
    );
    let r = call(&p, "HEAD", "/metrics", &[]).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn metrics_has_the_upstream_caches() {
    let forgejo = crate::fake::forgejo().await;
    let wttr = Fake::start(vec![("/", Reply::Body(500, "text/plain", Bytes::new()))]).await;
    let p = portal(Some(&format!(
        "[forgejo]\nurl = \"{}\"\ntimeout = \"2s\"\n\n[weather]\nlocation = \"Heideck\"\n\
         base_url = \"{}\"\ntimeout = \"2s\"\n",
        forgejo.url(),
        wttr.url()
    )));
    let text = call(&p, "GET", "/metrics", &[]).await.body;
    let text = std::str::from_utf8(&text).unwrap().to_owned();
    assert!(text.contains("kitestacks_portal_upstream_up{upstream=\"forgejo\"} 0\n"));
    assert!(text.contains("kitestacks_portal_upstream_failures_total{upstream=\"weather\"} 0\n"));
    assert!(!text.contains("last_success_timestamp_seconds{upstream=\"forgejo\"}"));

    assert_eq!(call(&p, "GET", "/api/activity", &[]).await.status, 200);
    assert_eq!(call(&p, "GET", "/api/weather", &[]).await.status, 502);
    let r = call(&p, "GET", "/metrics", &[]).await;
    let text = std::str::from_utf8(&r.body).unwrap();
    check_format(text);
    for line in [
        "kitestacks_portal_upstream_up{upstream=\"forgejo\"} 1",
        "kitestacks_portal_upstream_stale{upstream=\"forgejo\"} 0",
        "kitestacks_portal_upstream_failures_total{upstream=\"forgejo\"} 0",
        "kitestacks_portal_upstream_up{upstream=\"weather\"} 0",
        "kitestacks_portal_upstream_stale{upstream=\"weather\"} 0",
        "kitestacks_portal_upstream_failures_total{upstream=\"weather\"} 1",
        "# TYPE kitestacks_portal_upstream_failures_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(text.contains(
        "kitestacks_portal_upstream_last_success_timestamp_seconds{upstream=\"forgejo\"} "
    ));
}

#[tokio::test]
async fn without_upstreams_configured_there_are_no_upstream_series() {
    let p = portal(Some("[weather]\n"));
    let text = call(&p, "GET", "/metrics", &[]).await.body;
    assert!(!std::str::from_utf8(&text).unwrap().contains("upstream"));
}

/// A service behind a self-signed certificate (the exporter over TLS, with a test CA no
/// system trusts): down with `tls` while the certificate is verified, up when the
/// service says `tls_verify = false`, as for a self-signed internal certificate.
#[tokio::test]
async fn a_self_signed_certificate_fails_verification_unless_tls_verify_is_off() {
    let pki = crate::webconfig::Pki::new();
    let (_dir, web) = crate::webconfig::setup(&pki, &crate::webconfig::tls_yaml(""));
    let addr = crate::webconfig::start(web).await;
    let service = |id: &str, verify: bool| {
        format!(
            "[[services]]\nid = \"{id}\"\nname = \"{id}\"\nurl = \"https://{addr}/metrics\"\n\
             category = \"apps\"\nhosts = [\"monk\"]\nauth = \"none\"\nvisibility = \"internal\"\n\
             probe = {{ tls_verify = {verify}, failures = 1 }}\n\n"
        )
    };
    let text = format!(
        "[[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n{}{}",
        service("verified", true),
        service("internal", false)
    );
    let p = portal(Some(&text));
    p.probe_now().await;
    let v = call(&p, "GET", "/api/status", &[]).await.json();
    let verified = crate::status::service(&v, "verified");
    assert_eq!(verified["state"], "down", "{verified}");
    assert_eq!(verified["error"], "tls", "{verified}");
    assert_eq!(verified["failure_reason"], "tls_untrusted", "{verified}");
    assert_eq!(verified["tls"]["chain_valid"], false, "{verified}");
    // The facts are reported whether or not the certificate is verified.
    for s in [verified, crate::status::service(&v, "internal")] {
        assert_eq!(s["tls"]["hostname_matched"], true, "{s}");
        assert!(s["tls"]["days_left"].as_f64().unwrap() > 1000.0, "{s}");
    }
    let internal = crate::status::service(&v, "internal");
    assert_eq!(internal["state"], "up", "{internal}");
    assert_eq!(internal["http_status"], 200);
}

#[tokio::test]
async fn with_probing_off_the_status_says_so_and_every_service_is_unknown() {
    let (fake, _) = setup().await;
    let text = config(&fake.addr.to_string(), 9).replace(
        "[status]\ninterval = \"5s\"",
        "[status]\nenabled = false\ninterval = \"5s\"",
    );
    let p = portal(Some(&text));
    let v = call(&p, "GET", "/api/status", &[]).await.json();
    assert_eq!(v["enabled"], false, "{v}");
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), 6);
    assert!(services.iter().all(|s| s["state"] == "unknown"), "{v}");
}
