//! `GET /api/weather`: current conditions at the configured location, behind the
//! upstream cache.

use std::sync::Arc;

use hyper::Response;
use kitestacks_core::api::ErrorBody;
use kitestacks_core::{Units, WeatherConfig, WeatherProviderKind};
use kitestacks_weather::{Location, OpenMeteoProvider, Weather, WeatherProvider, WttrProvider};
use serde::Serialize;
use utoipa::ToSchema;

use super::upstream::{self, CacheState, Failure, Upstream};
use crate::server::Body;

/// The body of `GET /api/weather`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeatherResponse {
    /// When the weather was fetched, seconds since the Unix epoch.
    pub fetched_at_seconds: f64,
    /// Seconds since then.
    pub age_seconds: f64,
    /// Whether a newer answer was due but could not be had (see `error`).
    pub stale: bool,
    /// Why the last refresh failed, when `stale`.
    pub error: Option<Failure>,
    /// The units the page should show (`[weather] units`); both are in `weather`.
    pub units: Units,
    /// The conditions.
    pub weather: Weather,
}

/// The configured provider behind its cache, or `None` without `[weather] location`.
pub struct CurrentWeather {
    upstream: Option<Arc<Upstream<Weather>>>,
    units: Units,
}

impl CurrentWeather {
    /// The weather cache's state for `/metrics`; `None` when not configured.
    pub fn cache_state(&self) -> Option<CacheState> {
        self.upstream.as_ref().map(|u| u.cache_state())
    }

    /// Builds the provider from `[weather]`.
    pub fn new(config: &WeatherConfig) -> anyhow::Result<Self> {
        let Some(location) = &config.location else {
            return Ok(Self {
                upstream: None,
                units: config.units,
            });
        };
        let location: Location = location.parse()?;
        let agent = concat!("kitestacks-portal/", env!("CARGO_PKG_VERSION"));
        // The two builders have the same methods but no common trait.
        macro_rules! build {
            ($provider:ty) => {{
                let mut b = <$provider>::builder(location)
                    .timeout(config.timeout)
                    .user_agent(agent);
                if let Some(u) = &config.base_url {
                    b = b.base_url(u.as_str());
                }
                Arc::new(b.build()?)
            }};
        }
        let provider: Arc<dyn WeatherProvider> = match config.provider {
            WeatherProviderKind::Wttr => build!(WttrProvider),
            WeatherProviderKind::OpenMeteo => build!(OpenMeteoProvider),
        };
        // The provider's errors quote the request URL: never with the base URL's password.
        let credentials = config.base_url.as_ref().and_then(|u| {
            let user = u.username();
            let password = u.password();
            (!user.is_empty() || password.is_some()).then(|| {
                format!(
                    "{user}{}@",
                    password.map(|p| format!(":{p}")).unwrap_or_default()
                )
            })
        });
        let upstream = Upstream::new("weather", config.refresh, config.timeout, move || {
            let (provider, credentials) = (provider.clone(), credentials.clone());
            async move {
                // Logged once, by the cache, with the name `Failure::of` gives it.
                provider.current().await.map_err(|e| {
                    let mut f = Failure::of("the weather request", e.kind().as_str(), &e);
                    if let Some(c) = &credentials {
                        f.detail = f.detail.replace(c, "");
                    }
                    f
                })
            }
        });
        Ok(Self {
            upstream: Some(upstream),
            units: config.units,
        })
    }

    /// Answers the route.
    pub async fn route(&self) -> Response<Body> {
        weather(self).await
    }

    /// Calls `f` after every refresh of the cache (nothing when not configured).
    pub fn on_change(&self, f: impl Fn() + Send + Sync + 'static) {
        if let Some(u) = &self.upstream {
            u.on_store(f);
        }
    }
}

/// Current weather.
#[utoipa::path(
    get,
    path = "/api/weather",
    tag = "portal",
    operation_id = "weather",
    summary = "Current weather at the homelab's location",
    description = "The location is set by `[weather] location`, never by the caller. Served from a \
                   cache refreshed at most once per `[weather] refresh` (default 15 min: wttr.in \
                   renews its data about every 10 minutes), with one upstream request however many \
                   pages ask. If the provider fails after a success, the last good answer is served \
                   with `stale: true` and the error's kind; with no good answer yet, an error status: \
                   502 (bad answer, unknown location, provider over capacity or unreachable), 504 \
                   (timeout), 503 (not configured).",
    responses(
        (status = 200, description = "The current weather", body = WeatherResponse),
        (status = 502, description = "The provider failed and there is no earlier answer", body = ErrorBody,
         example = json!({"error": {"code": "bad_upstream", "message": "the weather request failed (unavailable)"}})),
        (status = 503, description = "`[weather] location` is not configured", body = ErrorBody,
         example = json!({"error": {"code": "not_configured", "message": "set [weather] location to show the weather"}})),
        (status = 504, description = "The provider did not answer in time and there is no earlier answer", body = ErrorBody,
         example = json!({"error": {"code": "upstream_timeout", "message": "the weather request failed (timeout)"}})),
    )
)]
async fn weather(w: &CurrentWeather) -> Response<Body> {
    let hint = "set [weather] location to show the weather";
    upstream::respond(w.upstream.as_ref(), hint, |weather, age| WeatherResponse {
        fetched_at_seconds: age.fetched_at_seconds,
        age_seconds: age.age_seconds,
        stale: age.stale,
        error: age.error,
        units: w.units,
        weather: weather.clone(),
    })
    .await
}
