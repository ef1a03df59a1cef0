//! Transport failures: an upstream that hangs, closes without answering, or is not there.

use std::time::Duration;

use kitestacks_weather::{Error, ErrorKind, OpenMeteoProvider, WeatherProvider, WttrProvider};

use crate::fake;

/// Short, so the test is quick; the guard below only keeps a broken timeout from hanging CI.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);
const GUARD: Duration = Duration::from_secs(60);

async fn wttr_at(base_url: String) -> Result<kitestacks_weather::Weather, Error> {
    let wttr = WttrProvider::builder("Berlin".parse().unwrap())
        .base_url(base_url)
        .timeout(CLIENT_TIMEOUT)
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
