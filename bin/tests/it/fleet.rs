//! `/api/fleet` and `/api/fleet/{host}/history` against a fake Prometheus on loopback
//! that answers the query API as Prometheus does: figures per host, what each host's
//! probes saw, ranges with gaps; then errors, garbage, a hang and a closed port, each
//! served as the last answer marked stale with its typed error, health staying 200.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kitestacks::portal::Portal;
use serde_json::{Value, json};

use crate::fake::{Fake, Reply};
use crate::http::{call, portal};
use crate::schema::check_response;

fn config(prometheus: &str) -> String {
    format!(
        r#"
[[hosts]]
name = "monk"
role = "home"

[[hosts]]
name = "kscloud1"
role = "cloud"

[fleet]
prometheus_url = "{prometheus}"
this_host = "monk"
refresh = "1s"
timeout = "500ms"

[fleet.hosts]
kscloud1 = "kscloud1:9100"
monk = "monk:9100"
"#
    )
}

/// The query parameters of a request the fake received.
fn params(path_and_query: &str) -> HashMap<String, String> {
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = v.replace('+', " ");
            let v = percent_encoding::percent_decode_str(&v).decode_utf8_lossy();
            (k.to_owned(), v.into_owned())
        })
        .collect()
}

fn vector(series: &[(Value, &str)]) -> Bytes {
    let result: Vec<Value> = series
        .iter()
        .map(|(metric, v)| json!({"metric": metric, "value": [1763856000.0, v]}))
        .collect();
    Bytes::from(
        json!({"status": "success", "data": {"resultType": "vector", "result": result}})
            .to_string(),
    )
}

fn on(host: &str) -> Value {
    json!({"instance": host})
}

/// Prometheus as the two hosts and one stray target would make it answer.
fn prometheus(path_and_query: &str) -> (u16, Bytes) {
    let p = params(path_and_query);
    let expr = p.get("query").cloned().unwrap_or_default();
    if path_and_query.starts_with("/api/v1/query_range") {
        let num = |k: &str| p[k].parse::<f64>().unwrap();
        let (start, end, step) = (num("start"), num("end"), num("step"));
        let value = if expr.starts_with("min_over_time") {
            "1"
        } else if expr.starts_with("avg_over_time") {
            "2"
        } else {
            "3"
        };
        // Every step but the second: a gap, as when the host was not scraped.
        let values: Vec<Value> = (0..)
            .map(|i| start + f64::from(i) * step)
            .take_while(|t| *t <= end + 1e-6)
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, t)| json!([t, value]))
            .collect();
        let body = json!({"status": "success", "data": {"resultType": "matrix",
            "result": [{"metric": {"instance": "kscloud1:9100"}, "values": values}]}});
        return (200, Bytes::from(body.to_string()));
    }
    let fs = |host: &str, mount: &str| json!({"instance": host, "mountpoint": mount});
    let body = if expr.contains("probe_success") {
        let probe = |host: &str, service: &str| json!({"instance": host, "service": service});
        vector(&[
            (probe("monk:9100", "grafana"), "1"),
            (probe("kscloud1:9100", "grafana"), "0"),
            (probe("monk:9100", "git"), "1"),
            (probe("kscloud1:9100", "git"), "1"),
            (probe("kscloud1:9100", "wiki"), "0"),
        ])
    } else if expr.contains("timestamp(up") {
        vector(&[
            (on("monk:9100"), "1763856000"),
            (on("kscloud1:9100"), "1763855990"),
        ])
    } else if expr.starts_with("max by (instance) (up") {
        vector(&[
            (on("monk:9100"), "1"),
            (on("kscloud1:9100"), "0"),
            (on("stray:9100"), "1"),
        ])
    } else if expr.contains("node_cpu_seconds_total") {
        vector(&[(on("monk:9100"), "12.5"), (on("kscloud1:9100"), "NaN")])
    } else if expr.contains("MemAvailable") {
        vector(&[(on("monk:9100"), "40"), (on("kscloud1:9100"), "95.5")])
    } else if expr.contains("node_load1") {
        vector(&[(on("monk:9100"), "0.25")])
    } else if expr.contains("node_filesystem_avail_bytes") {
        vector(&[
            (fs("monk:9100", "/data"), "80"),
            (fs("monk:9100", "/"), "63"),
            (fs("kscloud1:9100", "/"), "95"),
        ])
    } else if expr.contains("receive_bytes") {
        vector(&[(on("monk:9100"), "1000")])
    } else if expr.contains("node_boot_time_seconds") {
        vector(&[(on("monk:9100"), "86400")])
    } else {
        vector(&[])
    };
    (200, body)
}

async fn fake_prometheus() -> Fake {
    Fake::start(vec![("/api/v1/", Reply::Fn(Arc::new(prometheus)))]).await
}

fn host<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {v}"))
}

#[tokio::test]
async fn every_host_comes_with_its_figures_and_what_each_host_saw_of_each_service() {
    let prom = fake_prometheus().await;
    let p = portal(Some(&config(&prom.url())));
    let doc = call(&p, "GET", "/api/openapi.json", &[]).await.json();

    let r = call(&p, "GET", "/api/fleet", &[]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    let errors = check_response(&doc, "/api/fleet", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(v["served_by"], "monk");
    assert_eq!(v["stale"], false);
    let names: Vec<&str> = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["monk", "kscloud1", "stray:9100"],
        "registry order, then unmapped label values under their own name"
    );
    let monk = host(&v, "monk");
    assert_eq!(monk["this_host"], true);
    assert_eq!(monk["up"], true);
    assert_eq!(monk["stale"], false);
    assert_eq!(monk["cpu_busy_percent"], 12.5);
    assert_eq!(monk["memory_used_percent"], 40.0);
    assert_eq!(monk["load1"], 0.25);
    assert_eq!(monk["root_used_percent"], 63.0);
    assert_eq!(
        monk["filesystems"],
        json!([{"mount_point": "/", "used_percent": 63.0}, {"mount_point": "/data", "used_percent": 80.0}])
    );
    assert_eq!(monk["network_receive_bytes_per_second"], 1000.0);
    assert_eq!(monk["uptime_seconds"], 86400.0);
    assert_eq!(monk["last_success_seconds"], 1763856000.0);
    let kscloud1 = host(&v, "kscloud1");
    assert_eq!(kscloud1["this_host"], false);
    assert_eq!(kscloud1["up"], false, "its last scrape failed");
    assert_eq!(kscloud1["stale"], true);
    assert_eq!(kscloud1["last_scrape_seconds"], 1763855990.0);
    assert!(
        kscloud1["last_success_seconds"].is_null(),
        "no successful scrape seen"
    );
    assert!(kscloud1["cpu_busy_percent"].is_null(), "NaN is no figure");
    assert_eq!(host(&v, "stray:9100")["registered"], false);

    assert_eq!(
        v["checks"],
        json!([
            {"service": "git", "state": "up", "agree": true,
             "hosts": [{"host": "kscloud1", "up": true}, {"host": "monk", "up": true}]},
            {"service": "grafana", "state": "partial", "agree": false,
             "hosts": [{"host": "kscloud1", "up": false}, {"host": "monk", "up": true}]},
            {"service": "wiki", "state": "down", "agree": true,
             "hosts": [{"host": "kscloud1", "up": false}]},
        ])
    );
    // /api/status carries the same, from the cache: no further request.
    let status = call(&p, "GET", "/api/status", &[]).await.json();
    let errors = check_response(&doc, "/api/status", "200", &status);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(status["fleet"], v["checks"]);
    let seen = prom.seen();
    assert_eq!(
        seen.len(),
        11,
        "ten figures and the probes, once: {seen:#?}"
    );
    let hits = prom.hits();
    call(&p, "GET", "/api/fleet", &[]).await;
    assert_eq!(prom.hits(), hits, "within the refresh period: the cache");
    let metrics = String::from_utf8(call(&p, "GET", "/metrics", &[]).await.body.to_vec()).unwrap();
    assert!(
        metrics.contains("kitestacks_portal_upstream_up{upstream=\"fleet\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn without_this_host_the_machines_host_name_says_which_host_answered() {
    let prom = fake_prometheus().await;
    // A host's root as a container sees it mounted: its /etc/hostname names the host.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("etc/hostname"), "kscloud1\n").unwrap();
    let text = config(&prom.url()).replace("this_host = \"monk\"\n", "")
        + &format!(
            "\n[metrics]\nrootfs = {:?}\n",
            root.path().display().to_string()
        );
    let p = portal(Some(&text));
    let v = call(&p, "GET", "/api/fleet", &[]).await.json();
    assert_eq!(v["served_by"], "kscloud1", "{v}");
    assert_eq!(host(&v, "kscloud1")["this_host"], true);
    assert_eq!(host(&v, "monk")["this_host"], false);
}

/// `/api/fleet` once its error has become `kind` (polled: the refresh runs in the
/// background after the back-off), or the last body for the assertion to show.
async fn stale_with(p: &Portal, kind: &str) -> Value {
    let mut v = Value::Null;
    for _ in 0..200 {
        let r = call(p, "GET", "/api/fleet", &[]).await;
        assert_eq!(r.status, 200, "never an error once there is an answer");
        v = r.json();
        if v["error"]["kind"] == kind {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    v
}

#[tokio::test]
async fn a_failing_prometheus_leaves_the_last_answer_stale_with_a_typed_error() {
    let prom = fake_prometheus().await;
    let p = portal(Some(&config(&prom.url())));
    let doc = call(&p, "GET", "/api/openapi.json", &[]).await.json();
    assert_eq!(call(&p, "GET", "/api/fleet", &[]).await.status, 200);

    let error = Bytes::from_static(
        br#"{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected end of input"}"#,
    );
    for (reply, kind) in [
        (
            Reply::Body(200, "text/html", Bytes::from_static(b"<html>oops</html>")),
            "malformed",
        ),
        (Reply::Body(422, "application/json", error), "query_error"),
        (
            Reply::Body(500, "text/plain", Bytes::from_static(b"internal")),
            "http_status",
        ),
        (
            Reply::Body(401, "text/plain", Bytes::from_static(b"no")),
            "unauthorized",
        ),
        (Reply::Hang, "timeout"),
    ] {
        prom.set("/api/v1/query", reply);
        let v = stale_with(&p, kind).await;
        assert_eq!(v["error"]["kind"], kind, "{v}");
        assert_eq!(
            v["error"]["message"],
            format!("the Prometheus request failed ({kind})")
        );
        assert_eq!(v["stale"], true);
        assert_eq!(
            host(&v, "monk")["cpu_busy_percent"],
            12.5,
            "the last answer"
        );
        assert_eq!(host(&v, "monk")["stale"], true);
        let errors = check_response(&doc, "/api/fleet", "200", &v);
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(call(&p, "GET", "/api/health", &[]).await.status, 200);
    }
}

#[tokio::test]
async fn without_an_answer_yet_a_dead_prometheus_is_an_honest_502() {
    // A port nothing listens on: bound, then closed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let p = portal(Some(&config(&format!("http://{addr}/"))));
    let r = call(&p, "GET", "/api/fleet", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.error_code(), "bad_upstream");
    assert_eq!(
        r.json()["error"]["message"],
        "the Prometheus request failed (refused)"
    );
    let r = call(&p, "GET", "/api/fleet/monk/history?series=up", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.error_code(), "bad_upstream");
    assert_eq!(call(&p, "GET", "/api/health", &[]).await.status, 200);
}

#[tokio::test]
async fn without_fleet_the_routes_say_how_to_turn_it_on() {
    let p = portal(None);
    let status = call(&p, "GET", "/api/status", &[]).await.json();
    assert!(status.get("fleet").is_none(), "{status}");
    for path in ["/api/fleet", "/api/fleet/monk/history?series=up"] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 503, "{path}");
        assert_eq!(r.error_code(), "not_configured");
        assert_eq!(
            r.json()["error"]["message"],
            "set [fleet] prometheus_url to show every host"
        );
    }
}

#[tokio::test]
async fn a_hosts_history_has_the_shape_of_api_history_with_gaps() {
    let prom = fake_prometheus().await;
    let p = portal(Some(&config(&prom.url())));
    let doc = call(&p, "GET", "/api/openapi.json", &[]).await.json();
    let path = "/api/fleet/kscloud1/history?series=cpu.busy_percent&range=1h&step=60s";
    let r = call(&p, "GET", path, &[]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    let errors = check_response(&doc, "/api/fleet/{host}/history", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(v["series"], "cpu.busy_percent");
    assert_eq!(v["unit"], "percent");
    assert_eq!(v["step_seconds"], 60.0);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 60);
    assert_eq!(
        points[0].as_array().unwrap()[1..],
        [json!(1.0), json!(2.0), json!(3.0)],
        "min, avg, max"
    );
    assert_eq!(
        points[1].as_array().unwrap()[1..],
        [Value::Null, Value::Null, Value::Null],
        "a gap"
    );
    let t0 = points[0][0].as_f64().unwrap();
    assert_eq!(t0, v["from_seconds"].as_f64().unwrap());
    assert_eq!(points[59][0].as_f64().unwrap(), t0 + 59.0 * 60.0);
    let asked: Vec<String> = prom
        .seen()
        .iter()
        .map(|s| params(&s.path_and_query)["query"].clone())
        .collect();
    assert_eq!(asked.len(), 3, "min, avg and max: {asked:#?}");
    let again = call(&p, "GET", path, &[]).await;
    assert_eq!(again.body, r.body, "the same answer, from the cache");
    assert_eq!(
        prom.seen().len(),
        3,
        "Prometheus is asked once per refresh period"
    );
    assert!(
        asked.iter().any(|q| q.starts_with("avg_over_time((100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\",instance=\"kscloud1:9100\"}[1m]))))[60s:6s])")),
        "{asked:#?}"
    );

    for (path, status, code, text) in [
        (
            "/api/fleet/nas/history?series=up",
            404,
            "unknown_host",
            "no host \"nas\": GET /api/fleet lists them",
        ),
        (
            "/api/fleet/monk/history?series=nope",
            404,
            "unknown_series",
            "no series \"nope\"",
        ),
        (
            "/api/fleet/monk/history",
            400,
            "bad_request",
            "name a series",
        ),
        (
            "/api/fleet/monk/history?series=up&range=forever",
            400,
            "bad_request",
            "range \"forever\": write 1h, 24h, 7d, 30d or a duration such as 90m",
        ),
    ] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.error_code(), code, "{path}");
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(text), "{path}: {message}");
    }
    // A host Prometheus names that no mapping has is asked for by its label value.
    call(&p, "GET", "/api/fleet", &[]).await;
    let r = call(
        &p,
        "GET",
        "/api/fleet/stray:9100/history?series=filesystem.used_percent%5B%2F%5D",
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    prom.set(
        "/api/v1/query_range",
        Reply::Body(503, "text/plain", Bytes::from_static(b"down")),
    );
    // Still within the refresh period: the same question has its answer; a new one needs
    // Prometheus, which fails.
    assert_eq!(call(&p, "GET", path, &[]).await.status, 200);
    let r = call(&p, "GET", "/api/fleet/kscloud1/history?series=up", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.error_code(), "bad_upstream");
}

mod props {
    //! Prometheus' JSON, which we do not write: random and mutated answers (seeded from
    //! what the fake answers) never panic, and an error message stays proportionate.

    use kitestacks::portal::fleet::prometheus::{parse_matrix, parse_vector};
    use proptest::prelude::*;

    use crate::mutate;

    fn seeds() -> Vec<String> {
        let range = "/api/v1/query_range?query=avg_over_time(x)&start=0&end=30&step=10";
        [
            "/api/v1/query?query=max%20by%20(instance)%20(up)",
            "/api/v1/query?query=probe_success",
            "/api/v1/query?query=node_filesystem_avail_bytes",
            range,
        ]
        .iter()
        .map(|q| String::from_utf8(super::prometheus(q).1.to_vec()).unwrap())
        .chain([
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.to_owned(),
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#.to_owned(),
        ])
        .collect()
    }

    proptest! {
        #![proptest_config(mutate::config(256))]

        #[test]
        fn prometheus_answers(text in mutate::input(seeds())) {
            for result in [
                parse_vector("/api/v1/query", text.as_bytes()).map(|v| v.len()),
                parse_matrix("/api/v1/query_range", text.as_bytes()).map(|m| m.len()),
            ] {
                match result {
                    Ok(n) => prop_assert!(n <= text.len()),
                    Err(e) => {
                        let message = e.to_string();
                        prop_assert!(message.len() <= 2 * text.len() + 512, "{} bytes of message", message.len());
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn api_status_never_waits_for_prometheus() {
    // A Prometheus that accepts and never answers.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", hang.local_addr().unwrap());
    // Prometheus' timeout is 30 s: waiting for it would blow the 5 s watchdog.
    let config = config(&url).replace("timeout = \"500ms\"", "timeout = \"30s\"");
    assert!(config.contains("timeout = \"30s\""));
    let p = portal(Some(&config));
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        call(&p, "GET", "/api/status", &[]),
    )
    .await
    .expect("/api/status answered without waiting for the fleet");
    assert_eq!(r.status, 200);
    assert!(
        r.json().get("fleet").is_none(),
        "no answer from Prometheus yet"
    );
}
