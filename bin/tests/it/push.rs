//! Push monitors: heartbeats by GET and POST, `?status=down&msg=…`, a missed heartbeat
//! after period + grace (judged at a given time, so the test need not wait), tokens from
//! a file or the environment and never published, an unknown token a plain 404, and the
//! configuration's mistakes.

use std::time::{Duration, SystemTime};

use kitestacks::portal::Portal;
use kitestacks_core::Config;
use serde_json::Value;

use crate::http::call;
use crate::schema::check_response;
use crate::status::service;

const TOKEN: &str = "b4ckup-t0ken-2f9c41d7e0";

fn registry(push: &str) -> String {
    format!(
        "[[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n[[services]]\nid = \"nightly-backup\"\n\
         name = \"Backup\"\ncategory = \"infrastructure\"\nhosts = [\"monk\"]\nauth = \"none\"\n\
         visibility = \"internal\"\npush = {{ {push} }}\n"
    )
}

fn with_env(text: &str, env: &[(&str, &str)]) -> Result<Config, String> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    Config::from_toml_with_env(text, "<test>", None, &|k| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .map_err(|e| e.to_string())
}

fn portal() -> Portal {
    let config = with_env(
        &registry("period = \"10s\", grace = \"5s\""),
        &[("KITESTACKS_PUSH_TOKEN_NIGHTLY_BACKUP", TOKEN)],
    )
    .unwrap();
    Portal::new(&config).unwrap()
}

async fn status(p: &Portal) -> Value {
    let v = call(p, "GET", "/api/status", &[]).await.json();
    let doc = call(p, "GET", "/api/openapi.json", &[]).await.json();
    let errors = check_response(&doc, "/api/status", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");
    service(&v, "nightly-backup").clone()
}

#[tokio::test]
async fn heartbeats_keep_a_push_monitor_up_and_a_missed_one_makes_it_down() {
    let p = portal();
    let start = SystemTime::now();
    let s = status(&p).await;
    assert_eq!(
        (s["kind"].as_str(), s["state"].as_str()),
        (Some("push"), Some("unknown"))
    );
    // Nothing is due before period + grace after start-up.
    p.check_pushes(start + Duration::from_secs(14));
    assert_eq!(status(&p).await["state"], "unknown");

    let r = call(&p, "GET", &format!("/api/push/{TOKEN}"), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"id": "nightly-backup", "state": "up"})
    );
    let pushed = SystemTime::now();
    assert_eq!(status(&p).await["state"], "up");
    p.check_pushes(pushed + Duration::from_secs(14));
    assert_eq!(status(&p).await["state"], "up", "within period + grace");

    p.check_pushes(pushed + Duration::from_secs(16));
    let s = status(&p).await;
    assert_eq!(s["state"], "down", "{s}");
    assert_eq!(s["failure_reason"], "missed_heartbeat");
    let since = s["since_seconds"].as_f64().unwrap();
    let due = pushed
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 15.0;
    assert!(
        (since - due).abs() < 1.0,
        "since the heartbeat was due: {since} vs {due}"
    );
    assert_eq!(s["incidents"][0]["reason"], "missed_heartbeat");

    // A job that reports its own failure, by POST, with a message.
    let r = call(
        &p,
        "POST",
        &format!("/api/push/{TOKEN}?status=down&msg=disk%20full"),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["state"], "down");
    assert_eq!(status(&p).await["failure_reason"], "pushed_down");
    let r = call(&p, "POST", &format!("/api/push/{TOKEN}?status=up"), &[]).await;
    assert_eq!(r.json()["state"], "up");
    let r = call(&p, "GET", &format!("/api/push/{TOKEN}?status=maybe"), &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "status must be up or down, not \"maybe\""
    );
}

#[tokio::test]
async fn unknown_tokens_are_a_plain_404_and_the_token_is_never_published() {
    let p = portal();
    for path in [
        "/api/push/nope",
        &format!("/api/push/{}", &TOKEN[..TOKEN.len() - 1]),
        &format!("/api/push/{TOKEN}x"),
        "/api/push/",
    ] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.json()["error"]["message"],
            "no push monitor has this token",
            "{path}"
        );
    }
    assert_eq!(status(&p).await["state"], "unknown", "no push was recorded");
    call(&p, "GET", &format!("/api/push/{TOKEN}"), &[]).await;
    for path in [
        "/api/services",
        "/api/status",
        "/api/openapi.json",
        "/metrics",
    ] {
        let body = call(&p, "GET", path, &[]).await.body;
        assert!(
            !String::from_utf8_lossy(&body).contains(TOKEN),
            "token in {path}"
        );
    }
    let services = call(&p, "GET", "/api/services", &[]).await.json();
    assert_eq!(
        services["services"][0]["push"],
        serde_json::json!({"period_seconds": 10, "grace_seconds": 5})
    );
}

#[test]
fn tokens_come_from_a_file_or_the_environment_and_mistakes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let c = with_env(
        &registry(&format!(
            "period = \"1d\", token_file = \"{}\"",
            file.display()
        )),
        &[],
    )
    .unwrap();
    let push = c.registry.services[0].push.as_ref().unwrap();
    assert_eq!(push.token.expose(), TOKEN);
    assert_eq!(
        (push.period_seconds, push.grace_seconds),
        (86_400, 8_640),
        "grace: a tenth"
    );

    let key = "services[0] (id \"nightly-backup\").push";
    for (push, env, message) in [
        (
            "period = \"1d\"",
            None,
            format!(
                "{key}.token_file: a push monitor needs a token: set push.token_file or the environment variable KITESTACKS_PUSH_TOKEN_NIGHTLY_BACKUP"
            ),
        ),
        (
            "period = \"1d\"",
            Some("short"),
            format!(
                "{key}.token_file: the token is too short (at least 16 characters: it is all that guards the push URL)"
            ),
        ),
        (
            "period = \"1s\"",
            Some(TOKEN),
            format!("{key}.period: \"1s\" is out of range (5s to 30days)"),
        ),
        (
            "period = \"1h\", token = \"x\"",
            Some(TOKEN),
            "token".to_owned(),
        ),
    ] {
        let env: Vec<(&str, &str)> = env
            .map(|v| ("KITESTACKS_PUSH_TOKEN_NIGHTLY_BACKUP", v))
            .into_iter()
            .collect();
        let err = with_env(&registry(push), &env).unwrap_err();
        assert!(err.contains(&message), "{push}: {err}");
    }
    let both = registry("period = \"1h\"").replace(
        "push = {",
        "probe = { url = \"http://nas.lan/\" }\npush = {",
    );
    let err = with_env(&both, &[("KITESTACKS_PUSH_TOKEN_NIGHTLY_BACKUP", TOKEN)]).unwrap_err();
    assert!(
        err.contains(&format!("{key}: set either probe or push, not both")),
        "{err}"
    );
}

#[tokio::test]
async fn the_token_in_a_push_path_never_reaches_the_log() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_guard, logs) = crate::logs::capture();
    let config = with_env(
        &registry("period = \"1h\""),
        &[("KITESTACKS_PUSH_TOKEN_NIGHTLY_BACKUP", TOKEN)],
    )
    .unwrap();
    let portal = Portal::new(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let web = kitestacks::webconfig::WebConfig::default();
    let limits = (&config.server).into();
    tokio::spawn(async move {
        kitestacks::portal::serve_listener(portal, listener, limits, &web, std::future::pending())
            .await;
    });
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET /api/push/{TOKEN}?msg=ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The request line is logged once the response is sent.
    for _ in 0..50 {
        if !logs.at("DEBUG", "request").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines = logs.at("DEBUG", "request");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("path=\"/api/push/{token}\"")),
        "{lines:#?}"
    );
    assert!(
        logs.lines().iter().all(|l| !l.contains(TOKEN)),
        "{:#?}",
        logs.lines()
    );
}
