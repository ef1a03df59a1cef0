//! One failure, one name, one log line: a host name that does not resolve is `dns` in
//! `/api/status`'s `error`, `/api/activity`, `/api/weather` and the upstreams' log lines
//! (`dns_not_found` as a probe's `failure_reason` and in its log line), and each failure
//! is one warning (a probe's only when its result changes).
//!
//! The unresolvable name has a label longer than DNS allows (63 bytes): the C library's
//! resolver refuses it before sending any query, so the test needs no network (a plain
//! `.invalid` name would still be sent to the configured name server).

use bytes::Bytes;

use crate::fake::{Fake, Reply};
use crate::http::{call, portal};
use crate::logs::capture;

/// A name no resolver sends anywhere: its first label is 71 bytes long.
const UNRESOLVABLE: &str =
    "a-label-longer-than-sixty-three-characters-fails-in-the-resolver-itself.invalid";

fn probed(id: &str, url: &str) -> String {
    format!(
        "[[services]]\nid = \"{id}\"\nname = \"{id}\"\nurl = \"{url}\"\ncategory = \"apps\"\n\
         hosts = [\"monk\"]\nauth = \"none\"\nvisibility = \"internal\"\nprobe = {{ timeout = \"5s\", failures = 1 }}\n\n"
    )
}

const HOSTS: &str = "[[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n";

#[tokio::test]
async fn a_dns_failure_is_dns_on_every_surface_and_one_warning_each() {
    let (_guard, logs) = capture();
    let config = format!(
        "[forgejo]\nurl = \"http://{UNRESOLVABLE}/\"\ntimeout = \"5s\"\n\n\
         [weather]\nlocation = \"Heideck\"\nbase_url = \"http://wx:hunter2@{UNRESOLVABLE}/\"\ntimeout = \"5s\"\n\n\
         [status]\ninterval = \"5s\"\n\n{HOSTS}{}",
        probed("nowhere", &format!("http://{UNRESOLVABLE}/"))
    );
    let p = portal(Some(&config));

    p.probe_now().await;
    let v = call(&p, "GET", "/api/status", &[]).await.json();
    assert_eq!(v["services"][0]["state"], "down", "{v}");
    assert_eq!(v["services"][0]["error"], "dns", "{v}");
    assert_eq!(v["services"][0]["failure_reason"], "dns_not_found", "{v}");

    let r = call(&p, "GET", "/api/activity", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.error_code(), "bad_upstream");
    assert_eq!(
        r.json()["error"]["message"],
        "the Forgejo request failed (dns)"
    );
    let r = call(&p, "GET", "/api/weather", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.json()["error"]["message"],
        "the weather request failed (dns)"
    );

    let warnings = logs.at("WARN", "");
    assert_eq!(warnings.len(), 3, "one line per failure: {warnings:#?}");
    let probe = logs.at("WARN", "probe failed");
    assert_eq!(probe.len(), 1, "{warnings:#?}");
    assert!(probe[0].contains("service=nowhere"), "{}", probe[0]);
    assert!(
        probe[0].contains("reason=\"dns_not_found\""),
        "{}",
        probe[0]
    );
    assert!(
        probe[0].contains("failed to lookup address information"),
        "{}",
        probe[0]
    );
    for upstream in ["forgejo", "weather"] {
        let line = logs.at("WARN", &format!("upstream=\"{upstream}\""));
        assert_eq!(line.len(), 1, "{warnings:#?}");
        assert!(line[0].contains("refresh failed: "), "{}", line[0]);
        assert!(line[0].contains("kind=\"dns\""), "{}", line[0]);
        assert!(line[0].contains("dns error"), "{}", line[0]);
    }
    assert!(
        warnings.iter().all(|l| !l.contains("hunter2")),
        "{warnings:#?}"
    );
}

#[tokio::test]
async fn a_probe_failure_is_logged_when_the_state_changes_not_every_round() {
    let fake = Fake::start(vec![(
        "/",
        Reply::Body(200, "text/plain", Bytes::from_static(b"ok")),
    )])
    .await;
    let config = format!(
        "[status]\ninterval = \"5s\"\n\n{HOSTS}{}",
        probed("svc", &format!("http://user:hunter2@{}/", fake.addr))
    );
    let p = portal(Some(&config));
    let (_guard, logs) = capture();

    p.probe_now().await;
    assert!(logs.at("WARN", "").is_empty(), "{:#?}", logs.lines());
    fake.set(
        "/",
        Reply::Body(503, "text/plain", Bytes::from_static(b"no")),
    );
    p.probe_now().await;
    p.probe_now().await;
    p.probe_now().await;
    let down = logs.at("WARN", "probe failed");
    assert_eq!(down.len(), 1, "once, not every round: {:#?}", logs.lines());
    assert!(
        down[0].starts_with(&format!(
            " WARN probe failed: status 503 service=svc target=http://{}/ reason=\"http_status\"",
            fake.addr
        )),
        "{}",
        down[0]
    );
    fake.set(
        "/",
        Reply::Body(200, "text/plain", Bytes::from_static(b"ok")),
    );
    p.probe_now().await;
    p.probe_now().await;
    let up = logs.at("INFO", "probe up again");
    assert_eq!(up.len(), 1, "{:#?}", logs.lines());
    assert!(
        up[0].starts_with(&format!(
            " INFO probe up again: status 200 service=svc target=http://{}/",
            fake.addr
        )),
        "{}",
        up[0]
    );
    assert!(
        logs.lines().iter().all(|l| !l.contains("hunter2")),
        "{:#?}",
        logs.lines()
    );
}
