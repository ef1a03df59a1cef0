//! Uptime ratios and incidents in `/api/status` and `/metrics`, kept across a restart
//! beside the history snapshot, and the SVG badge of `/api/status/{id}/badge.svg`.

use bytes::Bytes;
use serde_json::Value;

use crate::fake::{Fake, Reply};
use crate::http::{call, portal};
use crate::schema::check_response;
use crate::status::service;

fn config(fake: &Fake, history: Option<&std::path::Path>) -> String {
    let mut text = String::new();
    if let Some(file) = history {
        text += &format!("[history]\nfile = \"{}\"\n\n", file.display());
    }
    text += &format!(
        "[[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n[[services]]\nid = \"app\"\nname = \"app\"\n\
         url = \"http://{}/\"\ncategory = \"apps\"\nhosts = [\"monk\"]\nauth = \"none\"\n\
         visibility = \"internal\"\nprobe = {{ path = \"/ok\" }}\n",
        fake.addr
    );
    text
}

async fn status(p: &kitestacks::portal::Portal) -> Value {
    let v = call(p, "GET", "/api/status", &[]).await.json();
    let doc = call(p, "GET", "/api/openapi.json", &[]).await.json();
    let errors = check_response(&doc, "/api/status", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
    service(&v, "app").clone()
}

#[tokio::test]
async fn uptime_and_incidents_follow_the_state_and_survive_a_restart() {
    let fake = Fake::start(vec![("/ok", Reply::Body(200, "text/plain", Bytes::new()))]).await;
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.bin");
    let p = portal(Some(&config(&fake, Some(&history))));
    let before = status(&p).await;
    assert!(
        before["uptime"]["24h"].is_null(),
        "nothing counted yet: {before}"
    );
    assert_eq!(before["incidents"], serde_json::json!([]));

    p.probe_now().await;
    p.probe_now().await;
    fake.set("/ok", Reply::Body(500, "text/plain", Bytes::new()));
    p.probe_now().await; // failing, still up: counted as up
    let first_failure = status(&p).await["checked_at_seconds"].clone();
    p.probe_now().await; // down
    let s = status(&p).await;
    assert_eq!(s["state"], "down");
    for window in ["24h", "7d", "30d"] {
        assert_eq!(s["uptime"][window], 0.75, "{window}: {s}");
    }
    assert_eq!(s["incidents"].as_array().unwrap().len(), 1, "{s}");
    assert_eq!(s["incidents"][0]["start_seconds"], first_failure);
    assert!(s["incidents"][0]["end_seconds"].is_null());
    assert_eq!(s["incidents"][0]["reason"], "http_status");

    fake.set("/ok", Reply::Body(200, "text/plain", Bytes::new()));
    p.probe_now().await;
    let s = status(&p).await;
    assert_eq!(s["state"], "up");
    assert_eq!(s["incidents"][0]["end_seconds"], s["since_seconds"], "{s}");
    assert_eq!(s["uptime"]["24h"], 0.8);

    let text = call(&p, "GET", "/metrics", &[]).await.body;
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(
        text.contains("kitestacks_portal_probe_uptime_ratio{service=\"app\",window=\"30d\"} 0.8\n"),
        "{text}"
    );
    crate::checks::promtool(&text);

    // A restart with the same history file finds the record where it was.
    p.save_history();
    assert!(dir.path().join("history.bin.uptime.json").is_file());
    let again = portal(Some(&config(&fake, Some(&history))));
    let restored = status(&again).await;
    assert_eq!(
        restored["state"], "unknown",
        "the state is probed anew: {restored}"
    );
    assert_eq!(restored["uptime"], s["uptime"]);
    assert_eq!(restored["incidents"], s["incidents"]);
    // Without a history file nothing is read or written.
    let plain = portal(Some(&config(&fake, None)));
    assert!(status(&plain).await["uptime"]["24h"].is_null());
}

#[tokio::test]
async fn a_damaged_uptime_file_starts_an_empty_record() {
    let fake = Fake::start(vec![("/ok", Reply::Body(200, "text/plain", Bytes::new()))]).await;
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.bin");
    std::fs::write(
        dir.path().join("history.bin.uptime.json"),
        b"{\"format\":1,",
    )
    .unwrap();
    let p = portal(Some(&config(&fake, Some(&history))));
    assert!(status(&p).await["uptime"]["7d"].is_null());
    p.probe_now().await;
    assert_eq!(status(&p).await["uptime"]["7d"], 1.0);
}

#[tokio::test]
async fn badges_show_the_state_or_the_uptime() {
    let fake = Fake::start(vec![("/ok", Reply::Body(200, "text/plain", Bytes::new()))]).await;
    let p = portal(Some(&config(&fake, None)));
    let r = call(&p, "GET", "/api/status/app/badge.svg", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    let svg = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(svg.contains("<title>app: unknown</title>"), "{svg}");

    p.probe_now().await;
    let svg = call(&p, "GET", "/api/status/app/badge.svg", &[]).await.body;
    assert!(String::from_utf8_lossy(&svg).contains("<title>app: up</title>"));
    let svg = call(
        &p,
        "GET",
        "/api/status/app/badge.svg?metric=uptime&window=7d",
        &[],
    )
    .await
    .body;
    assert!(String::from_utf8_lossy(&svg).contains("<title>uptime 7d: 100.00%</title>"));

    let r = call(
        &p,
        "GET",
        "/api/status/app/badge.svg?metric=uptime&window=1y",
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "window must be 24h, 7d or 30d, not \"1y\""
    );
    // A window no badge has is refused for the state badge too (it ignores the window).
    let r = call(&p, "GET", "/api/status/app/badge.svg?window=AAA", &[]).await;
    assert_eq!(r.status, 400);
    let r = call(&p, "GET", "/api/status/app/badge.svg?metric=latency", &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "metric must be state or uptime, not \"latency\""
    );
    let r = call(&p, "GET", "/api/status/nope/badge.svg", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["error"]["message"],
        "no probed service with this id (GET /api/status lists them)"
    );
    assert_eq!(
        call(&p, "GET", "/api/status/app/other", &[]).await.status,
        404
    );
    assert_eq!(
        call(&p, "POST", "/api/status/app/badge.svg", &[])
            .await
            .status,
        405
    );
}
