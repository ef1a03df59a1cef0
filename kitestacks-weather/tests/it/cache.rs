//! `Cached` in front of a real provider: one upstream request per time-to-live.

use std::sync::Arc;
use std::time::Duration;

use kitestacks_weather::{Cached, RECOMMENDED_TTL, WeatherProvider, WttrProvider};

use crate::fake::{Answer, Fake, fixture};

async fn cached(fake: &Fake, ttl: Duration) -> Cached<WttrProvider> {
    let wttr = WttrProvider::builder("Heideck".parse().unwrap())
        .base_url(fake.base_url())
        .build()
        .unwrap();
    Cached::new(wttr, ttl)
}

#[tokio::test]
async fn one_request_per_ttl() {
    let fake = Fake::serving(Answer::new(200, None, fixture("wttr", "j1-ok.json"))).await;
    let shared: Arc<dyn WeatherProvider> = Arc::new(cached(&fake, RECOMMENDED_TTL).await);
    let first = shared.current().await.unwrap();
    let second = shared.current().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn concurrent_callers_share_one_request() {
    let fake = Fake::serving(Answer::new(200, None, fixture("wttr", "j1-ok.json"))).await;
    let cache = cached(&fake, RECOMMENDED_TTL).await;
    let (a, b, c) = tokio::join!(cache.current(), cache.current(), cache.current());
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn errors_are_not_cached() {
    let fake = Fake::serving(Answer::new(
        503,
        None,
        fixture("wttr", "503-capacity-limit-legacy.txt"),
    ))
    .await;
    let cache = cached(&fake, RECOMMENDED_TTL).await;
    assert!(cache.current().await.is_err());
    assert!(cache.current().await.is_err());
    assert_eq!(fake.seen().len(), 2);
    assert!(cache.last().await.is_none());
}
