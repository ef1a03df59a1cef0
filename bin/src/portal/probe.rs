//! Service status: a background prober over the registry's services, served as
//! `GET /api/status` and as blackbox-style `probe_*` families in the portal's `/metrics`
//! (written by [`telemetry`](super::telemetry)).
//!
//! Only URLs of the registry are ever probed, never one a caller supplies; a URL's user
//! name and password (sent as basic auth) and query are used as configured but never
//! logged or published. A round probes
//! every service with a `probe` spec, at most `[status] concurrency` at once; the
//! background task runs one round every `[status] interval` and is started only by
//! [`Portal::background`](crate::portal::Portal::background), so a portal built in a test
//! probes nothing unless the test calls [`Status::probe_now`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use kitestacks_core::{Config, ProbeMethod, ProbeSpec, StatusConfig};
use kitestacks_metrics::exposition::Scrape;
use serde::Serialize;
use utoipa::ToSchema;

use crate::portal::failure;
use crate::portal::unix_seconds as unix;
use crate::response;
use crate::server::Body;

/// The `User-Agent` of every probe.
pub const USER_AGENT: &str = concat!("kitestacks-portal/", env!("CARGO_PKG_VERSION"));

/// A service's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeState {
    /// The last probe got an accepted status.
    Up,
    /// The last probe failed (see `error`).
    Down,
    /// Not probed yet, or probing is disabled.
    Unknown,
}

/// Why a probe failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeError {
    /// No answer within the probe's timeout.
    Timeout,
    /// The connection was refused (nothing listens).
    Refused,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (e.g. an untrusted or expired certificate).
    Tls,
    /// An answer whose status the probe does not accept.
    UnexpectedStatus,
    /// Any other connection failure (reset, closed, protocol error).
    Connection,
}

impl ProbeError {
    /// The failure's name on every surface (JSON, log): `timeout`, `refused`, `dns`,
    /// `tls`, `unexpected_status`, `connection`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeError::Timeout => "timeout",
            ProbeError::Refused => "refused",
            ProbeError::Dns => "dns",
            ProbeError::Tls => "tls",
            ProbeError::UnexpectedStatus => "unexpected_status",
            ProbeError::Connection => "connection",
        }
    }
}

/// One service's status in `GET /api/status`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "grafana", "state": "up", "http_status": 200, "latency_ms": 12.5,
    "checked_at_seconds": 1763856000.2, "since_seconds": 1763850000.0, "error": null
}))]
pub struct ServiceStatus {
    /// The service's id, as in `/api/services`.
    pub id: String,
    /// `up`, `down`, or `unknown` (not probed yet, or probing disabled).
    pub state: ProbeState,
    /// The status code received; null if there was no response.
    pub http_status: Option<u16>,
    /// Milliseconds until the response headers arrived; null if there was no response.
    pub latency_ms: Option<f64>,
    /// When it was last probed, seconds since the Unix epoch.
    pub checked_at_seconds: Option<f64>,
    /// When it entered its current state, seconds since the Unix epoch.
    pub since_seconds: Option<f64>,
    /// Why it is down; null unless `state` is `down`.
    pub error: Option<ProbeError>,
}

/// The body of `GET /api/status`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "enabled": true, "interval_seconds": 30.0, "checked_at_seconds": 1763856000.5,
    "services": [
        {"id": "grafana", "state": "up", "http_status": 200, "latency_ms": 12.5,
         "checked_at_seconds": 1763856000.2, "since_seconds": 1763850000.0, "error": null},
        {"id": "gitforge", "state": "down", "http_status": null, "latency_ms": null,
         "checked_at_seconds": 1763856000.4, "since_seconds": 1763855970.4, "error": "timeout"}
    ]
}))]
pub struct StatusResponse {
    /// Whether services are probed at all (`[status] enabled`); when false every
    /// service stays `unknown` and the page says how to turn probing on.
    pub enabled: bool,
    /// How often every service is probed (`[status] interval`), in seconds.
    pub interval_seconds: f64,
    /// When the last full round finished, seconds since the Unix epoch; null before the first.
    pub checked_at_seconds: Option<f64>,
    /// Every registry service with a probe, in registry order.
    pub services: Vec<ServiceStatus>,
}

/// What one probe found.
#[derive(Debug, Clone)]
struct Outcome {
    up: bool,
    http_status: Option<u16>,
    latency: Option<Duration>,
    /// The whole probe's duration (blackbox's `probe_duration_seconds`).
    elapsed: Duration,
    error: Option<ProbeError>,
    /// What went wrong, for the log (never published): the error chain, or the status.
    detail: String,
    at: SystemTime,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    last: Option<Outcome>,
    since: Option<SystemTime>,
}

#[derive(Default)]
struct Snapshot {
    checked_at: Option<SystemTime>,
    entries: Vec<Entry>,
}

/// The prober and the state it keeps.
pub struct Status {
    config: StatusConfig,
    targets: Vec<(String, ProbeSpec)>,
    verifying: reqwest::Client,
    insecure: reqwest::Client,
    state: Mutex<Snapshot>,
    /// Where results go besides `/api/status`: history and live updates.
    feed: std::sync::OnceLock<Arc<super::Feed>>,
}

impl Status {
    /// The prober for the registry's services with a probe spec. Probes nothing yet.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let targets: Vec<(String, ProbeSpec)> = config
            .registry
            .services
            .iter()
            .filter_map(|s| s.probe.clone().map(|p| (s.id.clone(), p)))
            .collect();
        let client = |verify: bool| {
            reqwest::Client::builder()
                .user_agent(USER_AGENT)
                // A 302 to a login page is an answer: the service is up if 302 is accepted.
                .redirect(reqwest::redirect::Policy::none())
                // Probes go straight to the service, never through a proxy from the environment.
                .no_proxy()
                .tls_danger_accept_invalid_certs(!verify)
                .build()
        };
        Ok(Self {
            config: config.status.clone(),
            state: Mutex::new(Snapshot {
                checked_at: None,
                entries: vec![Entry::default(); targets.len()],
            }),
            targets,
            verifying: client(true)?,
            insecure: client(false)?,
            feed: std::sync::OnceLock::new(),
        })
    }

    /// Records every later result in the history (`probe.up[<id>]`, 1 or 0, and
    /// `probe.latency_ms[<id>]`) and sends `/api/status` as a `status` event when a
    /// service changes state.
    pub fn feed(&self, feed: Arc<super::Feed>) {
        let _ = self.feed.set(feed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Probes every service once, at most `[status] concurrency` at once, and records the
    /// results (each as soon as it is known).
    pub async fn probe_now(&self) {
        let concurrency = self.config.concurrency.max(1);
        // Futures collected first: a lazy `map` over borrowed targets would make the
        // background future's `Send` bound unprovable (rust-lang/rust#102211).
        let round: Vec<_> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, (_, spec))| async move { (i, self.probe(spec).await) })
            .collect();
        let mut probes = futures_util::stream::iter(round).buffer_unordered(concurrency);
        let feed = self.feed.get();
        let mut changed = false;
        while let Some((i, outcome)) = probes.next().await {
            if let Some(feed) = feed {
                let (id, t) = (&self.targets[i].0, unix(outcome.at));
                let up = if outcome.up { 1.0 } else { 0.0 };
                feed.history.record(&format!("probe.up[{id}]"), "up", t, up);
                if let Some(latency) = outcome.latency {
                    let ms = latency.as_secs_f64() * 1000.0;
                    feed.history
                        .record(&format!("probe.latency_ms[{id}]"), "milliseconds", t, ms);
                }
            }
            let mut st = self.lock();
            let entry = &mut st.entries[i];
            self.log_change(i, entry.last.as_ref(), &outcome);
            if entry.last.as_ref().is_none_or(|l| l.up != outcome.up) {
                entry.since = Some(outcome.at);
                changed = true;
            }
            entry.last = Some(outcome);
        }
        self.lock().checked_at = Some(SystemTime::now());
        if let (true, Some(feed)) = (changed, feed) {
            match serde_json::to_vec(&self.response()) {
                Ok(json) => feed.events.publish(super::events::Kind::Status, &json),
                Err(e) => tracing::error!("cannot serialise the status: {e}"),
            }
        }
    }

    /// Probes every `[status] interval` until aborted; returns at once when `[status]
    /// enabled = false` or no service has a probe.
    pub async fn run(self: Arc<Self>) {
        if !self.config.enabled || self.targets.is_empty() {
            return;
        }
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.probe_now().await;
        }
    }

    /// Logs a change of a service's state, not every probe: one warning when it goes
    /// down (or fails another way while down), one line when it is up again.
    fn log_change(&self, i: usize, last: Option<&Outcome>, now: &Outcome) {
        let (id, spec) = &self.targets[i];
        let url = kitestacks_core::redacted(&spec.url);
        match (last, now.error) {
            (Some(l), None) if !l.up => {
                tracing::info!(service = %id, url = %url, "probe up again: {}", now.detail);
            }
            (last, Some(kind)) if last.is_none_or(|l| l.error != Some(kind)) => {
                tracing::warn!(
                    service = %id,
                    url = %url,
                    kind = kind.as_str(),
                    "probe failed: {}",
                    now.detail
                );
            }
            _ => {}
        }
    }

    async fn probe(&self, spec: &ProbeSpec) -> Outcome {
        let client = if spec.tls_verify {
            &self.verifying
        } else {
            &self.insecure
        };
        let method = match spec.method {
            ProbeMethod::Get => reqwest::Method::GET,
            ProbeMethod::Head => reqwest::Method::HEAD,
        };
        let start = Instant::now();
        let result = client
            .request(method, spec.url.clone())
            .timeout(Duration::from_millis(spec.timeout_ms))
            .send()
            .await;
        let elapsed = start.elapsed();
        let at = SystemTime::now();
        match result {
            Ok(resp) => {
                // `send` resolves with the headers; the body is never read.
                let code = resp.status().as_u16();
                let up = spec.accepts(code);
                Outcome {
                    up,
                    http_status: Some(code),
                    latency: Some(elapsed),
                    elapsed,
                    error: (!up).then_some(ProbeError::UnexpectedStatus),
                    detail: format!("status {code}"),
                    at,
                }
            }
            Err(e) => {
                let kind = failure::classify(&e);
                // reqwest's errors quote the URL, credentials and all: leave it out.
                let detail = failure::chain(&e.without_url());
                Outcome {
                    up: false,
                    http_status: None,
                    latency: None,
                    elapsed,
                    error: Some(kind),
                    detail,
                    at,
                }
            }
        }
    }

    /// The body of `GET /api/status`.
    pub fn response(&self) -> StatusResponse {
        let st = self.lock();
        let services = self
            .targets
            .iter()
            .zip(&st.entries)
            .map(|((id, _), e)| match &e.last {
                None => ServiceStatus {
                    id: id.clone(),
                    state: ProbeState::Unknown,
                    http_status: None,
                    latency_ms: None,
                    checked_at_seconds: None,
                    since_seconds: None,
                    error: None,
                },
                Some(o) => ServiceStatus {
                    id: id.clone(),
                    state: if o.up {
                        ProbeState::Up
                    } else {
                        ProbeState::Down
                    },
                    http_status: o.http_status,
                    latency_ms: o.latency.map(|d| d.as_secs_f64() * 1000.0),
                    checked_at_seconds: Some(unix(o.at)),
                    since_seconds: e.since.map(unix),
                    error: o.error,
                },
            })
            .collect();
        StatusResponse {
            enabled: self.config.enabled,
            interval_seconds: self.config.interval.as_secs_f64(),
            checked_at_seconds: st.checked_at.map(unix),
            services,
        }
    }

    /// Adds `probe_success`, `probe_duration_seconds` and `probe_http_status_code` per
    /// probed service (services not probed yet have no series).
    pub fn collect(&self, scrape: &mut Scrape) {
        let st = self.lock();
        for ((id, _), e) in self.targets.iter().zip(&st.entries) {
            let Some(o) = &e.last else { continue };
            let labels = [("service", id.as_str())];
            scrape.gauge(
                "probe_success",
                "Displays whether or not the probe was a success",
                &labels,
                if o.up { 1.0 } else { 0.0 },
            );
            scrape.gauge(
                "probe_duration_seconds",
                "Returns how long the probe took to complete in seconds",
                &labels,
                o.elapsed.as_secs_f64(),
            );
            scrape.gauge(
                "probe_http_status_code",
                "Response HTTP status code (0 when there was no response)",
                &labels,
                f64::from(o.http_status.unwrap_or(0)),
            );
        }
    }
}

/// The latest probe result of every service with a probe.
#[utoipa::path(
    get,
    path = "/api/status",
    tag = "portal",
    operation_id = "status",
    summary = "Up/down state of every probed service",
    description = "Every registry service with a `probe`, in registry order, with the result \
                   of its latest probe. Services are probed in the background every \
                   `[status] interval` (default 30 s); a request never triggers a probe. \
                   `unknown` means not probed yet; with `[status] enabled = false`, `enabled` \
                   is false and every service stays `unknown`.",
    responses(
        (status = 200, description = "The latest probe results", body = StatusResponse),
        (status = 500, description = "Internal error", body = ErrorBody),
    )
)]
pub fn status(status: &Status) -> Response<Body> {
    response::json(StatusCode::OK, &status.response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_the_contract() {
        let s = ServiceStatus {
            id: "x".into(),
            state: ProbeState::Down,
            http_status: None,
            latency_ms: None,
            checked_at_seconds: Some(1.5),
            since_seconds: Some(1.5),
            error: Some(ProbeError::UnexpectedStatus),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["state"], "down");
        assert_eq!(v["error"], "unexpected_status");
        assert!(v["http_status"].is_null());
    }
}
