//! Transport failures: an upstream that hangs, closes without answering, is not there, or
//! redirects to another origin.

use std::time::Duration;

use kitestacks_weather::{
    Error, ErrorKind, MAX_REDIRECTS, OpenMeteoProvider, WeatherProvider, WttrProvider,
};

use crate::fake::{self, Answer, Fake, fixture};

/// Short, so the test is quick; the guard below only keeps a broken timeout from hanging CI.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);
const GUARD: Duration = Duration::from_secs(60);
const JSON: Option<&str> = Some("application/json");

async fn wttr_at(base_url: String) -> Result<kitestacks_weather::Weather, Error> {
    wttr_within(base_url, CLIENT_TIMEOUT).await
}

/// Generous, where the upstream answers: a loaded machine must not turn it into a timeout.
const ANSWERING: Duration = Duration::from_secs(10);

async fn wttr_within(
    base_url: String,
    timeout: Duration,
) -> Result<kitestacks_weather::Weather, Error> {
    let wttr = WttrProvider::builder("Berlin".parse().unwrap())
        .base_url(base_url)
        .timeout(timeout)
        .build()
        .unwrap();
    tokio::time::timeout(GUARD, wttr.current())
        .await
        .expect("the client timeout should have ended the call")
}

#[tokio::test]
async fn hanging_server_times_out() {
    let err = wttr_at(fake::hanging(b"").await).await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { timeout, .. } if timeout == CLIENT_TIMEOUT),
        "{err:?}"
    );
    assert_eq!(err.kind().as_str(), "timeout");
}

#[tokio::test]
async fn body_that_never_ends_times_out() {
    let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 40000\r\n\r\n{\"current_condition\"";
    let err = wttr_at(fake::hanging(head).await).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
}

#[tokio::test]
async fn closed_without_answer_is_connection() {
    let err = wttr_at(fake::closing().await).await.unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn refused_is_connection() {
    let err = wttr_at(fake::refusing().await).await.unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
}

#[tokio::test]
async fn open_meteo_shares_the_transport_errors() {
    let om = OpenMeteoProvider::builder("52.52,13.41".parse().unwrap())
        .base_url(fake::hanging(b"").await)
        .timeout(CLIENT_TIMEOUT)
        .build()
        .unwrap();
    let err = tokio::time::timeout(GUARD, om.current())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");

    let om = OpenMeteoProvider::builder("52.52,13.41".parse().unwrap())
        .base_url(fake::closing().await)
        .timeout(CLIENT_TIMEOUT)
        .build()
        .unwrap();
    let err = tokio::time::timeout(GUARD, om.current())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err:?}");
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let elsewhere = Fake::serving(Answer::new(200, JSON, fixture("wttr", "j1-ok.json"))).await;
    let to = format!("{}/Berlin?format=j1", elsewhere.base_url());
    let fake = Fake::serving(Answer::redirect(to)).await;
    let err = wttr_within(fake.base_url(), ANSWERING).await.unwrap_err();
    let Error::Redirected { to, url, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(to, &elsewhere.base_url());
    assert!(url.starts_with(&fake.base_url()), "{url}");
    assert_eq!(err.kind().as_str(), "redirected");
    assert!(!err.is_transient());
    assert!(
        elsewhere.seen().is_empty(),
        "the other origin is never contacted"
    );

    // Open-Meteo's client is the same.
    let om = OpenMeteoProvider::builder("52.52,13.41".parse().unwrap())
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let err = om.current().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Redirected, "{err:?}");
    assert!(elsewhere.seen().is_empty());
}

#[tokio::test]
async fn redirects_within_the_origin_are_followed_a_bounded_number_of_times() {
    let fake = Fake::start(|seen| {
        if seen.target.starts_with("/Berlin") {
            Answer::redirect("/Heideck?format=j1")
        } else {
            Answer::new(200, JSON, fixture("wttr", "j1-ok.json"))
        }
    })
    .await;
    assert!(wttr_within(fake.base_url(), ANSWERING).await.is_ok());
    let targets: Vec<_> = fake.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, ["/Berlin?format=j1", "/Heideck?format=j1"]);

    let looping = Fake::serving(Answer::redirect("/Berlin?format=j1")).await;
    let err = wttr_within(looping.base_url(), ANSWERING)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err:?}");
    assert!(err.to_string().contains("redirects"), "{err}");
    assert_eq!(looping.seen().len(), MAX_REDIRECTS + 1);
}
