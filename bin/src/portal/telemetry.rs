//! The portal's own `GET /metrics` (Prometheus text format): the prober's blackbox-style
//! `probe_*` families, request counts and durations per route pattern, and the state of
//! the upstream caches. Not to be confused with `/api/metrics` (the host's figures, in
//! [`host_metrics`](super::host_metrics)).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use kitestacks_metrics::exposition::{Distribution, MetricType, Scrape};

use super::probe::Status;
use super::routes::{LABELS, label};
use super::unix_seconds;
use super::upstream::CacheState;
use crate::server::Body;

/// The `Content-Type` of `/metrics` (Prometheus text format 0.0.4).
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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
            counts: zeros(LABELS * CODES),
            nanos: zeros(LABELS),
            done: zeros(LABELS),
        }
    }
}

impl RequestStats {
    /// Records one answered request under a route label (an index from
    /// [`label_index`](super::routes::label_index)).
    pub fn record(&self, label: usize, code: u16, took: Duration) {
        let label = label.min(LABELS - 1);
        let code = usize::from(code.clamp(100, 599) - 100);
        self.counts[label * CODES + code].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.nanos[label].fetch_add(nanos, Ordering::Relaxed);
        self.done[label].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `kitestacks_portal_requests_total{route,code}` and
    /// `kitestacks_portal_request_duration_seconds{route}`, a summary without quantiles
    /// (`_sum` and `_count`), the shape client_golang gives it.
    pub fn collect(&self, scrape: &mut Scrape) {
        for l in 0..LABELS {
            let route = label(l);
            for c in 0..CODES {
                let n = self.counts[l * CODES + c].load(Ordering::Relaxed);
                if n > 0 {
                    scrape.counter(
                        "kitestacks_portal_requests_total",
                        "Requests answered by the portal, by route pattern and status code.",
                        &[("code", &(c + 100).to_string()), ("route", route)],
                        n as f64,
                    );
                }
            }
            let count = self.done[l].load(Ordering::Relaxed);
            if count > 0 {
                scrape.add_distribution(
                    "kitestacks_portal_request_duration_seconds",
                    "Time to answer a request (until the response headers), by route pattern.",
                    MetricType::Summary,
                    Distribution {
                        labels: vec![(Cow::Borrowed("route"), route.to_owned())],
                        points: Vec::new(),
                        sum: self.nanos[l].load(Ordering::Relaxed) as f64 / 1e9,
                        count: count as f64,
                    },
                );
            }
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
            unix_seconds(t),
        );
    }
    scrape.counter(
        "kitestacks_portal_upstream_failures_total",
        "Failed requests to the upstream.",
        &labels,
        state.failures as f64,
    );
}

/// Adds the history's and the event streams' families: what the history holds against
/// its budget, what it dropped past its cap, and the streams open.
pub fn collect_feed(scrape: &mut Scrape, feed: &super::Feed) {
    let (series, bytes, dropped) = feed.history.usage();
    let (budget, max_series, _) = feed.history.budget();
    scrape.gauge(
        "kitestacks_portal_history_series",
        "Series the history holds.",
        &[],
        series as f64,
    );
    scrape.gauge(
        "kitestacks_portal_history_max_series",
        "The cap on series ([history] max_series).",
        &[],
        max_series as f64,
    );
    scrape.gauge(
        "kitestacks_portal_history_bytes",
        "Bytes the history's rings take now.",
        &[],
        bytes as f64,
    );
    scrape.gauge(
        "kitestacks_portal_history_budget_bytes",
        "Bytes the rings can take at most: max_series times the bytes of one series.",
        &[],
        budget as f64,
    );
    scrape.counter(
        "kitestacks_portal_history_dropped_values_total",
        "Values not kept because their series was past the cap.",
        &[],
        dropped as f64,
    );
    scrape.gauge(
        "kitestacks_portal_event_streams",
        "Open /api/events streams.",
        &[],
        feed.events.open_streams() as f64,
    );
}

/// `GET /metrics`: the prober's results, the request metrics, the history and event
/// streams, and the state of each configured upstream cache (by name), rendered.
pub fn metrics(
    status: &Status,
    requests: &RequestStats,
    feed: &super::Feed,
    upstreams: &[(&str, Option<CacheState>)],
) -> Response<Body> {
    let mut scrape = Scrape::new();
    status.collect(&mut scrape);
    requests.collect(&mut scrape);
    collect_feed(&mut scrape, feed);
    for (name, state) in upstreams {
        if let Some(state) = state {
            collect_upstream(&mut scrape, name, state);
        }
    }
    let mut out = String::new();
    scrape.render(&mut out);
    let mut r = Response::new(Body::new(Bytes::from(out)));
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::routes::{Route, label_index};

    #[test]
    fn request_stats_count_per_route_and_code() {
        let stats = RequestStats::default();
        let health = label_index(Some(Route::Health), 200);
        stats.record(health, 200, Duration::from_millis(2));
        stats.record(health, 200, Duration::from_millis(3));
        stats.record(label_index(None, 404), 404, Duration::from_millis(1));
        let mut scrape = Scrape::new();
        stats.collect(&mut scrape);
        let mut out = String::new();
        scrape.render(&mut out);
        assert!(
            out.contains(
                "kitestacks_portal_requests_total{code=\"200\",route=\"/api/health\"} 2\n"
            )
        );
        assert!(
            out.contains("kitestacks_portal_requests_total{code=\"404\",route=\"not_found\"} 1\n")
        );
        assert!(out.contains(
            "# HELP kitestacks_portal_request_duration_seconds Time to answer a request \
             (until the response headers), by route pattern.\n\
             # TYPE kitestacks_portal_request_duration_seconds summary\n"
        ));
        assert!(out.contains(
            "kitestacks_portal_request_duration_seconds_sum{route=\"/api/health\"} 0.005\n\
             kitestacks_portal_request_duration_seconds_count{route=\"/api/health\"} 2\n"
        ));
        assert!(
            out.contains(
                "kitestacks_portal_request_duration_seconds_count{route=\"not_found\"} 1\n"
            )
        );
    }
}
