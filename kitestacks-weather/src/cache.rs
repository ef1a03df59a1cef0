//! `Cached`: a provider wrapper that asks upstream at most once per time-to-live.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::error::Error;
use crate::location::Location;
use crate::provider::WeatherProvider;
use crate::weather::{Provider, Weather};

/// A time-to-live that loses nothing: wttr.in renders answers for ~12 minutes and renews
/// its data about every 10–45 minutes; Open-Meteo's current values move in 15-minute steps.
/// Polling more often only risks being blocked.
pub const RECOMMENDED_TTL: Duration = Duration::from_secs(15 * 60);

/// Wraps a provider and keeps its last good answer for a time-to-live.
///
/// Concurrent callers of an expired cache wait for one upstream request and share its
/// result. Errors are not cached: the next call asks again. The last good answer stays
/// available through [`Cached::last`] after it expires, for a page that prefers showing
/// stale weather (with its age) to showing none.
#[derive(Debug)]
pub struct Cached<P> {
    inner: P,
    ttl: Duration,
    last: Mutex<Option<(Instant, Weather)>>,
}

impl<P: WeatherProvider> Cached<P> {
    /// Caches `inner`'s answers for `ttl` ([`RECOMMENDED_TTL`] unless you know better).
    pub fn new(inner: P, ttl: Duration) -> Cached<P> {
        Cached {
            inner,
            ttl,
            last: Mutex::new(None),
        }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The last good answer and its age, however old, without asking upstream.
    pub async fn last(&self) -> Option<(Weather, Duration)> {
        let last = self.last.lock().await;
        last.as_ref()
            .map(|(at, weather)| (weather.clone(), at.elapsed()))
    }
}

#[async_trait]
impl<P: WeatherProvider> WeatherProvider for Cached<P> {
    fn provider(&self) -> Provider {
        self.inner.provider()
    }

    fn location(&self) -> &Location {
        self.inner.location()
    }

    async fn current(&self) -> Result<Weather, Error> {
        let mut last = self.last.lock().await;
        if let Some((at, weather)) = last.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(weather.clone());
        }
        let weather = self.inner.current().await?;
        *last = Some((Instant::now(), weather.clone()));
        Ok(weather)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::weather::{Compass, Condition};

    /// Answers `Ok` with the call number as temperature, or `Err` on odd calls if `flaky`.
    struct Counting {
        calls: AtomicUsize,
        flaky: bool,
        location: Location,
    }

    impl Counting {
        fn new(flaky: bool) -> Counting {
            Counting {
                calls: AtomicUsize::new(0),
                flaky,
                location: Location::Name("Testville".into()),
            }
        }
    }

    #[async_trait]
    impl WeatherProvider for Counting {
        fn provider(&self) -> Provider {
            Provider::Wttr
        }

        fn location(&self) -> &Location {
            &self.location
        }

        async fn current(&self) -> Result<Weather, Error> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.flaky && n % 2 == 1 {
                return Err(Error::Empty {
                    provider: Provider::Wttr,
                    url: "u".into(),
                    status: 200,
                });
            }
            Ok(sample(n as f64))
        }
    }

    fn sample(temperature_celsius: f64) -> Weather {
        Weather {
            provider: Provider::Wttr,
            location: "Testville".into(),
            region: None,
            country: None,
            latitude: 0.0,
            longitude: 0.0,
            observed_local: "2026-01-01T00:00".into(),
            utc_offset_seconds: None,
            temperature_celsius,
            temperature_fahrenheit: 0.0,
            feels_like_celsius: 0.0,
            feels_like_fahrenheit: 0.0,
            humidity_percent: 0.0,
            wind_speed_kmh: 0.0,
            wind_gust_kmh: None,
            wind_direction_degrees: 0.0,
            wind_direction_compass: Compass::North,
            pressure_hpa: 0.0,
            precipitation_mm: 0.0,
            uv_index: None,
            visibility_km: None,
            cloud_cover_percent: 0.0,
            is_day: None,
            description: "Clear".into(),
            condition: Condition::Clear,
            provider_code: 113,
            today: None,
        }
    }

    #[tokio::test]
    async fn answers_from_cache_within_ttl() {
        let cached = Cached::new(Counting::new(false), RECOMMENDED_TTL);
        assert!(cached.last().await.is_none());
        assert_eq!(cached.current().await.unwrap().temperature_celsius, 1.0);
        assert_eq!(cached.current().await.unwrap().temperature_celsius, 1.0);
        assert_eq!(cached.inner().calls.load(Ordering::SeqCst), 1);
        assert_eq!(cached.last().await.unwrap().0.temperature_celsius, 1.0);
    }

    #[tokio::test]
    async fn asks_again_when_expired() {
        let cached = Cached::new(Counting::new(false), Duration::ZERO);
        assert_eq!(cached.current().await.unwrap().temperature_celsius, 1.0);
        assert_eq!(cached.current().await.unwrap().temperature_celsius, 2.0);
    }

    #[tokio::test]
    async fn errors_are_not_cached_and_keep_the_last_good_answer() {
        let cached = Cached::new(Counting::new(true), Duration::ZERO);
        assert!(cached.current().await.is_err());
        assert!(cached.last().await.is_none());
        assert_eq!(cached.current().await.unwrap().temperature_celsius, 2.0);
        assert!(cached.current().await.is_err());
        assert_eq!(cached.last().await.unwrap().0.temperature_celsius, 2.0);
    }

    #[tokio::test]
    async fn is_object_safe() {
        let shared: std::sync::Arc<dyn WeatherProvider> =
            std::sync::Arc::new(Cached::new(Counting::new(false), RECOMMENDED_TTL));
        assert_eq!(shared.provider(), Provider::Wttr);
        assert_eq!(shared.location().to_string(), "Testville");
        assert!(shared.current().await.is_ok());
    }
}
