//! History and live updates through the whole portal: the sampler feeds `/api/history`
//! and `/api/events`, probes feed both, a stream outlives the server's idle and write
//! deadlines, and shutdown ends open streams.

use std::time::Duration;

use http_body_util::BodyExt as _;
use kitestacks::portal::Portal;
use kitestacks_core::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fake::{Fake, Reply};
use crate::http::call;
use crate::server::serve_on_loopback;

/// A portal sampling every 500 ms, probing `services` (TOML `[[services]]` entries).
fn live_portal(services: &str) -> Portal {
    let text = format!(
        "[metrics]\ninterval = \"500ms\"\n\n[status]\nenabled = true\ninterval = \"5s\"\n\n\
         [[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n{services}"
    );
    Portal::new(&Config::from_toml(&text, "<test>", None).unwrap()).unwrap()
}

/// The frames of an event stream answered by `Portal::handle`, until `n` events came.
pub(crate) async fn events(
    portal: &Portal,
    last_event_id: Option<&str>,
    n: usize,
) -> Vec<(u64, String, String)> {
    let mut req = hyper::Request::get("/api/events");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let resp = portal.handle(req.body(()).unwrap()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let mut text = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an event in time")
            .expect("the stream goes on")
            .unwrap();
        text.push_str(std::str::from_utf8(&frame.into_data().unwrap()).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::to_owned)
            };
            if let (Some(id), Some(event)) = (field("id: "), field("event: ")) {
                out.push((
                    id.parse().unwrap(),
                    event,
                    field("data: ").unwrap_or_default(),
                ));
            }
        }
    }
    out
}

#[tokio::test]
async fn each_new_sample_is_an_event_and_lands_in_the_history() {
    let portal = live_portal("");
    let background = tokio::spawn(portal.background());
    let got = events(&portal, None, 2).await;
    assert!(got.iter().all(|(_, e, _)| e == "sample"), "{got:?}");
    assert!(got[1].0 > got[0].0, "ids grow");
    let sample: serde_json::Value = serde_json::from_str(&got[1].2).unwrap();
    assert!(sample["memory"]["total_bytes"].as_f64().unwrap() > 0.0);
    // The same samples are in the history.
    let index = call(&portal, "GET", "/api/history", &[]).await;
    assert_eq!(index.status, 200);
    let names: Vec<String> = index.json()["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        names.contains(&"memory.used_percent".to_owned()),
        "{names:?}"
    );
    let h = call(
        &portal,
        "GET",
        "/api/history?series=memory.used_percent&range=1m&step=500ms",
        &[],
    )
    .await;
    assert_eq!(h.status, 200);
    let known = h.json()["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[2].is_number())
        .count();
    assert!(known >= 2, "{}", h.json());
    // /metrics says what the history holds against its budget, and the open streams
    // (the stream above is gone with its body).
    let mut m = String::new();
    for _ in 0..50 {
        m = String::from_utf8(call(&portal, "GET", "/metrics", &[]).await.body.to_vec()).unwrap();
        if m.contains("\nkitestacks_portal_event_streams 0\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let value = |name: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing:\n{m}"))
            .parse()
            .unwrap()
    };
    assert!(value("kitestacks_portal_history_series") >= names.len() as f64);
    assert_eq!(value("kitestacks_portal_history_max_series"), 384.0);
    assert!(
        value("kitestacks_portal_history_bytes") <= value("kitestacks_portal_history_budget_bytes")
    );
    assert_eq!(value("kitestacks_portal_history_dropped_values_total"), 0.0);
    assert_eq!(
        value("kitestacks_portal_event_streams"),
        0.0,
        "the streams above are gone"
    );
    // A reconnect with the first id gets the second again, not a reset.
    let again = events(&portal, Some(&got[0].0.to_string()), 1).await;
    assert_eq!(again[0].0, got[1].0);
    let stale = events(&portal, Some("12"), 1).await;
    assert_eq!(stale[0].1, "reset", "an id from another run");
    background.abort();
}

#[tokio::test]
async fn probes_feed_the_history_and_a_state_change_is_a_status_event() {
    let target = Fake::start(vec![(
        "/health",
        Reply::Body(200, "text/plain", "ok".into()),
    )])
    .await;
    let portal = live_portal(&format!(
        "[[services]]\nid = \"app\"\nname = \"App\"\nurl = \"{url}\"\ncategory = \"apps\"\n\
         hosts = [\"monk\"]\nauth = \"none\"\nvisibility = \"internal\"\n\
         probe = {{ url = \"{url}health\" }}\n",
        url = target.url()
    ));
    let listen = {
        let portal = portal.clone();
        tokio::spawn(async move { events(&portal, None, 1).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    portal.probe_now().await; // unknown -> up: a change
    let got = listen.await.unwrap();
    assert_eq!(got[0].1, "status");
    let status: serde_json::Value = serde_json::from_str(&got[0].2).unwrap();
    assert_eq!(status["services"][0]["state"], "up");
    let up = call(
        &portal,
        "GET",
        "/api/history?series=probe.up%5Bapp%5D&range=1h&step=2s",
        &[],
    )
    .await;
    assert_eq!(up.status, 200, "{}", up.json());
    assert_eq!(up.json()["unit"], "up");
    let latency = call(
        &portal,
        "GET",
        "/api/history?series=probe.latency_ms%5Bapp%5D",
        &[],
    )
    .await;
    assert_eq!(latency.json()["unit"], "milliseconds");
}

#[tokio::test]
async fn a_stream_outlives_the_idle_and_write_deadlines_and_shutdown_ends_it() {
    let portal = live_portal("");
    let background = tokio::spawn(portal.background());
    let limits = kitestacks::server::Limits {
        max_connections: 8,
        max_connections_per_address: 0,
        header_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(700),
        write_timeout: Duration::from_millis(700),
        shutdown_grace: Duration::from_secs(30),
    };
    let handler = {
        let portal = portal.clone();
        move |req| {
            let portal = portal.clone();
            async move { portal.handle(req).await }
        }
    };
    let mut srv = serve_on_loopback(limits, handler).await;
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Three seconds: several idle and write deadlines; samples keep coming.
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 65536];
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("data in time")
            .unwrap();
        assert!(n > 0, "the stream was closed after {:?}", start.elapsed());
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.matches("event: sample").count() >= 4, "{text}");
    // Shutdown: the streams end at once, so the drain does not wait its 30 s.
    portal.close_streams();
    let stop = srv.begin_stop();
    tokio::time::timeout(Duration::from_secs(5), stop)
        .await
        .expect("serve returns: no stream holds the drain")
        .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the client saw its stream end");
    background.abort();
}

#[tokio::test]
async fn a_history_snapshot_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[metrics]\ninterval = \"500ms\"\n\n[status]\nenabled = false\n\n[history]\nfile = \"{}\"\n",
        dir.path().join("history.bin").display()
    );
    let config = Config::from_toml(&text, "<test>", None).unwrap();
    let first = Portal::new(&config).unwrap();
    first.refresh_metrics();
    first.refresh_metrics();
    first.save_history();
    let second = Portal::new(&config).unwrap();
    let h = call(
        &second,
        "GET",
        "/api/history?series=memory.used_percent&range=5m&step=1s",
        &[],
    )
    .await;
    assert_eq!(h.status, 200, "{}", h.json());
    assert!(
        h.json()["points"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p[2].is_number()),
        "the samples of the first run are there"
    );
}

#[tokio::test]
async fn a_refreshed_upstream_cache_is_an_event_with_what_its_route_answers() {
    let forgejo = crate::fake::forgejo().await;
    let text = format!(
        "[status]\nenabled = false\n\n[forgejo]\nurl = \"{}\"\nrefresh = \"1m\"\n",
        forgejo.url()
    );
    let portal = Portal::new(&Config::from_toml(&text, "<test>", None).unwrap()).unwrap();
    let listen = {
        let portal = portal.clone();
        tokio::spawn(async move { events(&portal, None, 1).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let direct = call(&portal, "GET", "/api/activity", &[]).await; // refreshes the cache
    assert_eq!(direct.status, 200);
    let got = listen.await.unwrap();
    assert_eq!(got[0].1, "activity");
    let event: serde_json::Value = serde_json::from_str(&got[0].2).unwrap();
    assert_eq!(event["commits"], direct.json()["commits"]);
    assert!(!event["commits"].as_array().unwrap().is_empty());
}
