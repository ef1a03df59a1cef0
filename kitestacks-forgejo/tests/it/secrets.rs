//! The token is sent only as `Authorization: token …` and shows nowhere else: not in
//! `Debug`, not in errors, not in logs, not in any query string.

use std::time::Duration;

use kitestacks_core::Secret;
use kitestacks_forgejo::{Client, Error};

use crate::fake::{Fake, Reply, TOKEN, logs};

/// Every error the client can produce, from a fake whose answers echo the token back.
async fn errors_from_an_echoing_server() -> Vec<Error> {
    let fake = Fake::start().await;
    let echo = format!(r#"{{"message":"token {TOKEN} does not exist","url":""}}"#);
    let client = fake.client();
    let mut errors = Vec::new();
    for (status, body) in [
        (401, echo.clone()),
        (403, echo.clone()),
        (404, echo.clone()),
    ] {
        fake.route("/api/v1/version", Reply::json(status, body));
        errors.push(client.version().await.unwrap_err());
    }
    for status in [409, 422, 500] {
        fake.route("/api/v1/version", Reply::json(status, echo.clone()));
        errors.push(client.version().await.unwrap_err());
    }
    let html = format!("<html>{TOKEN}</html>");
    fake.route(
        "/api/v1/version",
        Reply::raw(502, "text/html", html.clone()),
    );
    errors.push(client.version().await.unwrap_err());
    fake.route("/api/v1/version", Reply::raw(200, "text/html", html));
    errors.push(client.version().await.unwrap_err());
    fake.route(
        "/api/v1/version",
        Reply::json(200, format!("{{\"version\": {TOKEN}")),
    );
    errors.push(client.version().await.unwrap_err());
    fake.route("/api/v1/version", Reply::Hang);
    let impatient = fake.client_with(|b| b.timeout(Duration::from_millis(300)));
    errors.push(impatient.version().await.unwrap_err());
    fake.route(
        "/api/v1/version",
        Reply::Cut {
            declared: 1000,
            body: TOKEN.into(),
        },
    );
    errors.push(client.version().await.unwrap_err());
    errors
}

#[tokio::test]
async fn never_in_debug_or_errors() {
    let builder = Client::builder("https://git.example.com").token(Secret::new(TOKEN));
    assert!(!format!("{builder:?}").contains(TOKEN));
    let client = builder.build().unwrap();
    let debug = format!("{client:?}");
    assert!(
        !debug.contains(TOKEN) && debug.contains("redacted"),
        "{debug}"
    );

    let errors = errors_from_an_echoing_server().await;
    let kinds: Vec<&str> = errors.iter().map(|e| e.kind().as_str()).collect();
    assert_eq!(
        kinds,
        [
            "unauthorized",
            "forbidden",
            "not_found",
            "rejected",
            "rejected",
            "upstream_error",
            "upstream_error",
            "bad_response",
            "bad_response",
            "timeout",
            "connection",
        ]
    );
    for e in &errors {
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(TOKEN), "{text}");
        }
    }
    assert!(
        errors[0].to_string().contains("[redacted]"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn never_in_logs() {
    let fake = Fake::forgejo().await;
    fake.client().recent_commits(10).await.unwrap();
    let errors = errors_from_an_echoing_server().await;
    assert_eq!(errors.len(), 11);

    // The lines of every test so far, this one's included.
    let logs = logs();
    for expected in [
        "forgejo answered",
        "timed out",
        "undecodable",
        "/api/v1/version",
    ] {
        assert!(logs.contains(expected), "{expected:?} is logged: {logs}");
    }
    assert!(!logs.contains(TOKEN), "{logs}");
}

#[tokio::test]
async fn sent_only_in_the_authorization_header() {
    let fake = Fake::forgejo().await;
    let client = fake.client();
    client.version().await.unwrap();
    client.recent_commits(5).await.unwrap();
    client.recent_commits_of("homelab", 5).await.unwrap();
    client.user_feed("mara", 1, 5).await.unwrap();
    let seen = fake.seen();
    assert!(seen.len() >= 6);
    for s in &seen {
        assert_eq!(
            s.header("authorization"),
            Some(format!("token {TOKEN}").as_str())
        );
    }
    fake.assert_token_only_in_authorization();

    // Without a token: no Authorization header at all.
    fake.reset();
    let anonymous = Client::builder(fake.url()).build().unwrap();
    anonymous.version().await.unwrap();
    assert_eq!(fake.seen()[0].header("authorization"), None);
    assert!(
        fake.seen()[0]
            .header("user-agent")
            .unwrap()
            .starts_with("kitestacks-forgejo/")
    );
}
