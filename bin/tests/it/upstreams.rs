//! `/api/activity` and `/api/weather` against fake upstreams on loopback: data, stale
//! data after a failure, no waiting on a hanging upstream once there is data, honest
//! statuses without data, single flight, and a health check that stays 200 throughout.

use std::time::Duration;

use kitestacks::portal::Portal;

use crate::fake::{self, Reply, fixture, json};
use crate::http::{call, portal};
use crate::schema::check_response;

fn config(forgejo: &str, wttr: &str, refresh: &str) -> String {
    format!(
        "[forgejo]\nurl = \"{forgejo}\"\nrefresh = \"{refresh}\"\ntimeout = \"500ms\"\n\n\
         [weather]\nlocation = \"Heideck\"\nbase_url = \"{wttr}\"\nrefresh = \"60s\"\ntimeout = \"500ms\"\n"
    )
}

#[tokio::test]
async fn activity_serves_recent_commits_then_stale_data_when_forgejo_fails() {
    let forgejo = fake::forgejo().await;
    let wttr = fake::wttr().await;
    let p = portal(Some(&config(&forgejo.url(), &wttr.url(), "5s")));
    let doc = call(&p, "GET", "/api/openapi.json", &[]).await.json();

    let r = call(&p, "GET", "/api/activity", &[]).await;
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["stale"], false);
    assert!(v["error"].is_null());
    let commits = v["commits"].as_array().unwrap();
    assert!(!commits.is_empty());
    assert!(
        commits.iter().all(|c| c["repo"] != "mara/scratch"),
        "the empty repo is skipped"
    );
    let errors = check_response(&doc, "/api/activity", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
    let hits = forgejo.hits();

    // Within the refresh period: served from the cache.
    call(&p, "GET", "/api/activity", &[]).await;
    assert_eq!(forgejo.hits(), hits);

    // Forgejo breaks; once the data is due, the last good commits come back marked stale.
    forgejo.set(
        "/api/v1/repos/search",
        json(500, fixture("forgejo/error-500.json")),
    );
    tokio::time::sleep(Duration::from_millis(5100)).await;
    let v = call(&p, "GET", "/api/activity", &[]).await.json();
    assert_eq!(v["stale"], true, "served at once while the refresh runs");
    let v = once_refreshed(&p, "/api/activity").await;
    assert_eq!(v["stale"], true);
    assert_eq!(v["error"]["kind"], "upstream_error");
    assert_eq!(v["commits"].as_array().unwrap().len(), commits.len());
    let errors = check_response(&doc, "/api/activity", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(call(&p, "GET", "/api/health", &[]).await.status, 200);
}

/// The body of `path` once the background refresh has failed and its error is shown (or
/// the last body after many tries, for the caller's assertions to explain).
async fn once_refreshed(p: &Portal, path: &str) -> serde_json::Value {
    let mut v = serde_json::Value::Null;
    for _ in 0..250 {
        v = call(p, "GET", path, &[]).await.json();
        if !v["error"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    v
}

#[tokio::test]
async fn a_hanging_forgejo_does_not_hold_requests_once_there_is_data() {
    let forgejo = fake::forgejo().await;
    let wttr = fake::wttr().await;
    // The upstream timeout is far longer than the test: the refresh hangs throughout.
    let config = config(&forgejo.url(), &wttr.url(), "5s").replace("500ms", "30s");
    let p = portal(Some(&config));
    let first = call(&p, "GET", "/api/activity", &[]).await;
    assert_eq!(first.status, 200);
    let commits = first.json()["commits"].clone();

    forgejo.set("/api/v1/repos/search", Reply::Hang);
    tokio::time::sleep(Duration::from_millis(5100)).await;
    for _ in 0..3 {
        // A generous bound: this tells "served from the cache" from "held by the hang".
        let r = tokio::time::timeout(
            Duration::from_secs(1),
            call(&p, "GET", "/api/activity", &[]),
        )
        .await
        .expect("a request with an earlier answer must not wait on the hanging refresh");
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["stale"], true);
        assert!(v["error"].is_null(), "the refresh is still running: {v}");
        assert_eq!(v["commits"], commits);
    }
    assert_eq!(call(&p, "GET", "/api/health", &[]).await.status, 200);
}

#[tokio::test]
async fn activity_shows_private_repositories_only_when_opted_in() {
    // mara/dotfiles is private in the fixture; the Forgejo URL carries a query value.
    let forgejo = fake::forgejo().await;
    for (extra, expected) in [
        ("", &["homelab/portal"][..]),
        ("include_private = false\n", &["homelab/portal"]),
        (
            "include_private = true\n",
            &["homelab/portal", "mara/dotfiles"],
        ),
    ] {
        let text = format!(
            "[forgejo]\nurl = \"http://{}/?key=f0rg3\"\n{extra}",
            forgejo.addr
        );
        let v = call(&portal(Some(&text)), "GET", "/api/activity", &[])
            .await
            .json();
        assert_eq!(
            v["forgejo_url"],
            format!("http://{}/?key=REDACTED", forgejo.addr)
        );
        let mut repos: Vec<&str> = v["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["repo"].as_str().unwrap())
            .collect();
        repos.sort_unstable();
        repos.dedup();
        assert_eq!(repos, expected, "{extra}");
    }
}

#[tokio::test]
async fn without_any_good_answer_the_status_is_honest() {
    let forgejo = fake::Fake::start(vec![(
        "/",
        json(401, fixture("forgejo/error-401-invalid-token.json")),
    )])
    .await;
    let wttr = fake::Fake::start(vec![("/", Reply::Hang)]).await;
    let p = portal(Some(&config(&forgejo.url(), &wttr.url(), "60s")));
    let r = call(&p, "GET", "/api/activity", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.error_code(), "bad_upstream");
    let r = call(&p, "GET", "/api/weather", &[]).await;
    assert_eq!(r.status, 504, "a hanging provider times out");
    assert_eq!(r.error_code(), "upstream_timeout");
    assert_eq!(call(&p, "GET", "/api/health", &[]).await.status, 200);

    let unset = portal(Some("[weather]\n"));
    let r = call(&unset, "GET", "/api/activity", &[]).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.error_code(), "not_configured");
    let r = call(&unset, "GET", "/api/weather", &[]).await;
    assert_eq!(r.status, 503);
}

#[tokio::test]
async fn weather_is_fetched_once_for_many_concurrent_pages() {
    let forgejo = fake::forgejo().await;
    let wttr = fake::wttr().await;
    let p = portal(Some(&config(&forgejo.url(), &wttr.url(), "60s")));
    let doc = call(&p, "GET", "/api/openapi.json", &[]).await.json();
    let replies =
        futures_util::future::join_all((0..16).map(|_| call(&p, "GET", "/api/weather", &[]))).await;
    assert_eq!(wttr.hits(), 1, "one upstream request for 16 pages");
    for r in &replies {
        assert_eq!(r.status, 200);
    }
    let v = replies[0].json();
    assert_eq!(v["units"], "metric");
    assert!(v["weather"]["temperature_celsius"].is_number());
    let errors = check_response(&doc, "/api/weather", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn a_provider_that_says_unknown_location_is_a_bad_upstream() {
    let wttr = fake::Fake::start(vec![(
        "/",
        Reply::Body(
            500,
            "text/plain; charset=utf-8",
            fixture("wttr/500-location-not-found.txt"),
        ),
    )])
    .await;
    let p = portal(Some(&format!(
        "[weather]\nlocation = \"Nowhere\"\nbase_url = \"{}\"\n",
        wttr.url()
    )));
    let r = call(&p, "GET", "/api/weather", &[]).await;
    assert_eq!(r.status, 502);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown_location")
    );
}
