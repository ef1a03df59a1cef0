//! Service status: a background prober over the registry's services (`GET /api/status`),
//! and the portal's own Prometheus endpoint (`GET /metrics`: blackbox-style `probe_*`
//! families, request counts and latency per route, the upstream caches' state).
//!
//! Only URLs of the registry are ever probed, never one a caller supplies. A round probes
//! every service with a `probe` spec, at most `[status] concurrency` at once; the
//! background task runs one round every `[status] interval` and is started only by
//! [`Portal::background`](crate::portal::Portal::background), so a portal built in a test
//! probes nothing unless the test calls [`Status::probe_now`].

use std::error::Error as StdError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use kitestacks_core::{Config, ProbeMethod, ProbeSpec, StatusConfig};
use kitestacks_metrics::exposition::Scrape;
use serde::Serialize;
use utoipa::ToSchema;

use crate::portal::upstream::CacheState;
use crate::response;
use crate::server::Body;

/// The `User-Agent` of every probe.
pub const USER_AGENT: &str = concat!("kitestacks-portal/", env!("CARGO_PKG_VERSION"));

/// The `Content-Type` of `/metrics` (Prometheus text format 0.0.4).
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    fn as_str(self) -> &'static str {
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
    "interval_seconds": 30.0, "checked_at_seconds": 1763856000.5,
    "services": [
        {"id": "grafana", "state": "up", "http_status": 200, "latency_ms": 12.5,
         "checked_at_seconds": 1763856000.2, "since_seconds": 1763850000.0, "error": null},
        {"id": "gitforge", "state": "down", "http_status": null, "latency_ms": null,
         "checked_at_seconds": 1763856000.4, "since_seconds": 1763855970.4, "error": "timeout"}
    ]
}))]
pub struct StatusResponse {
    /// How often every service is probed (`[status] interval`), in seconds.
    pub interval_seconds: f64,
    /// When the last full round finished, seconds since the Unix epoch; null before the first.
    pub checked_at_seconds: Option<f64>,
    /// Every registry service with a probe, in registry order.
    pub services: Vec<ServiceStatus>,
}

/// What one probe found.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    up: bool,
    http_status: Option<u16>,
    latency: Option<Duration>,
    /// The whole probe's duration (blackbox's `probe_duration_seconds`).
    elapsed: Duration,
    error: Option<ProbeError>,
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
        })
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
        while let Some((i, outcome)) = probes.next().await {
            let mut st = self.lock();
            let entry = &mut st.entries[i];
            if entry.last.is_none_or(|l| l.up != outcome.up) {
                entry.since = Some(outcome.at);
            }
            entry.last = Some(outcome);
        }
        self.lock().checked_at = Some(SystemTime::now());
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
                    at,
                }
            }
            Err(e) => {
                let kind = classify(&e);
                tracing::debug!(url = %spec.url, kind = kind.as_str(), "probe failed: {e}");
                Outcome {
                    up: false,
                    http_status: None,
                    latency: None,
                    elapsed,
                    error: Some(kind),
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

/// The error kind of a failed request, found by walking the error's source chain.
fn classify(e: &reqwest::Error) -> ProbeError {
    if e.is_timeout() {
        return ProbeError::Timeout;
    }
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return ProbeError::Tls;
        }
        let mut next = err.source();
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return ProbeError::Refused,
                std::io::ErrorKind::TimedOut => return ProbeError::Timeout,
                _ => {}
            }
            // io::Error's `source` skips the error it wraps (tokio-rustls wraps rustls's).
            if let Some(inner) = io.get_ref() {
                next = Some(inner as &(dyn StdError + 'static));
            }
        }
        // hyper-util's connector names a resolver failure "dns error".
        if err.to_string().starts_with("dns error") {
            return ProbeError::Dns;
        }
        cur = next;
    }
    ProbeError::Connection
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The route labels of the portal's request metrics: route patterns, never raw paths.
pub const ROUTES: &[&str] = &[
    "/api/health",
    "/api/services",
    "/api/activity",
    "/api/weather",
    "/api/status",
    "/api/openapi.json",
    "/api/docs",
    "/api/docs/{file}",
    "/api/metrics",
    "/api/metrics/{part}",
    "/metrics",
    "static",
    "not_found",
];

/// The index in [`ROUTES`] of the route that answered `path` with `status`: `static` for
/// a path outside `/api/` that was served (the page), `not_found` for any path no route
/// knows.
pub fn route_of(path: &str, status: u16) -> usize {
    let label = match path {
        "/api/health" | "/api/services" | "/api/activity" | "/api/weather" | "/api/status"
        | "/api/openapi.json" | "/api/docs" | "/api/metrics" | "/metrics" => path,
        _ if path.starts_with("/api/docs/") => "/api/docs/{file}",
        _ if crate::portal::host_metrics::is_route(path) => "/api/metrics/{part}",
        _ if path != "/api" && !path.starts_with("/api/") && status != 404 => "static",
        _ => "not_found",
    };
    ROUTES
        .iter()
        .position(|r| *r == label)
        .unwrap_or(ROUTES.len() - 1)
}

const CODES: usize = 500; // 100..=599

/// Request counts and latency per route, as lock-free counters (one `fetch_add` each).
pub struct RequestStats {
    counts: Box<[AtomicU64]>,
    nanos: Box<[AtomicU64]>,
    done: Box<[AtomicU64]>,
}

impl Default for RequestStats {
    fn default() -> Self {
        let zeros = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect();
        Self {
            counts: zeros(ROUTES.len() * CODES),
            nanos: zeros(ROUTES.len()),
            done: zeros(ROUTES.len()),
        }
    }
}

impl RequestStats {
    /// Records one answered request on route `route` (an index from [`route_of`]).
    pub fn record(&self, route: usize, code: u16, took: Duration) {
        let route = route.min(ROUTES.len() - 1);
        let code = usize::from(code.clamp(100, 599) - 100);
        self.counts[route * CODES + code].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.nanos[route].fetch_add(nanos, Ordering::Relaxed);
        self.done[route].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `kitestacks_portal_requests_total{route,code}`.
    pub fn collect(&self, scrape: &mut Scrape) {
        for (r, route) in ROUTES.iter().enumerate() {
            for c in 0..CODES {
                let n = self.counts[r * CODES + c].load(Ordering::Relaxed);
                if n > 0 {
                    scrape.counter(
                        "kitestacks_portal_requests_total",
                        "Requests answered by the portal, by route pattern and status code.",
                        &[("code", &(c + 100).to_string()), ("route", route)],
                        n as f64,
                    );
                }
            }
        }
    }

    /// Writes `kitestacks_portal_request_duration_seconds` as a summary without
    /// quantiles (`_sum` and `_count` per route), the shape client_golang gives it.
    pub fn render_durations(&self, out: &mut String) {
        let mut lines = String::new();
        for (r, route) in ROUTES.iter().enumerate() {
            let count = self.done[r].load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let sum = self.nanos[r].load(Ordering::Relaxed) as f64 / 1e9;
            for (suffix, value) in [("_sum", sum), ("_count", count as f64)] {
                lines.push_str("kitestacks_portal_request_duration_seconds");
                lines.push_str(suffix);
                lines.push_str("{route=\"");
                lines.push_str(route); // route patterns need no escaping
                lines.push_str("\"} ");
                kitestacks_metrics::exposition::write_go_float(value, &mut lines);
                lines.push('\n');
            }
        }
        if !lines.is_empty() {
            out.push_str(
                "# HELP kitestacks_portal_request_duration_seconds Time to answer a request \
                 (until the response headers), by route pattern.\n\
                 # TYPE kitestacks_portal_request_duration_seconds summary\n",
            );
            out.push_str(&lines);
        }
    }
}

/// Adds the `kitestacks_portal_upstream_*` families for one upstream cache.
pub fn collect_upstream(scrape: &mut Scrape, name: &str, state: &CacheState) {
    let labels = [("upstream", name)];
    scrape.gauge(
        "kitestacks_portal_upstream_up",
        "Whether the upstream's last request succeeded (0 before its first).",
        &labels,
        if state.up { 1.0 } else { 0.0 },
    );
    scrape.gauge(
        "kitestacks_portal_upstream_stale",
        "Whether the cached answer is older than its refresh period or its refresh failed.",
        &labels,
        if state.stale { 1.0 } else { 0.0 },
    );
    if let Some(t) = state.last_success {
        scrape.gauge(
            "kitestacks_portal_upstream_last_success_timestamp_seconds",
            "When the upstream last answered successfully, seconds since the Unix epoch.",
            &labels,
            unix(t),
        );
    }
    scrape.counter(
        "kitestacks_portal_upstream_failures_total",
        "Failed requests to the upstream.",
        &labels,
        state.failures as f64,
    );
}

/// `GET /metrics` as a response: `body` is the rendered text format.
pub fn metrics_response(body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
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
                   `unknown` means not probed yet (or probing is disabled).",
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
    fn routes_are_patterns() {
        let label = |p: &str, s: u16| ROUTES[route_of(p, s)];
        assert_eq!(label("/api/health", 200), "/api/health");
        assert_eq!(label("/api/health", 405), "/api/health");
        assert_eq!(label("/api/metrics/cpu", 200), "/api/metrics/{part}");
        assert_eq!(label("/api/metrics/nope", 404), "not_found");
        assert_eq!(label("/api/docs/index.html", 200), "/api/docs/{file}");
        assert_eq!(label("/index.html", 200), "static");
        assert_eq!(label("/index.html", 404), "not_found");
        assert_eq!(label("/api/nope", 404), "not_found");
        assert_eq!(label("/metrics", 200), "/metrics");
    }

    #[test]
    fn request_stats_count_per_route_and_code() {
        let stats = RequestStats::default();
        stats.record(0, 200, Duration::from_millis(2));
        stats.record(0, 200, Duration::from_millis(3));
        stats.record(12, 404, Duration::from_millis(1));
        let mut scrape = Scrape::new();
        stats.collect(&mut scrape);
        let mut out = String::new();
        scrape.render(&mut out);
        stats.render_durations(&mut out);
        assert!(
            out.contains(
                "kitestacks_portal_requests_total{code=\"200\",route=\"/api/health\"} 2\n"
            )
        );
        assert!(
            out.contains("kitestacks_portal_requests_total{code=\"404\",route=\"not_found\"} 1\n")
        );
        assert!(out.contains(
            "kitestacks_portal_request_duration_seconds_count{route=\"/api/health\"} 2\n"
        ));
        assert!(out.contains(
            "kitestacks_portal_request_duration_seconds_sum{route=\"/api/health\"} 0.005\n"
        ));
    }

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
