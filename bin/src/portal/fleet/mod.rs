//! The fleet view: every host of the homelab on one page, read from the Prometheus that
//! scrapes their exporters (`[fleet]`), rather than a fan-out between portals.
//! `GET /api/fleet` answers each host's figures from a fixed set of instant queries
//! ([`queries::FIGURES`]), refreshed in the background behind the upstream cache (single
//! flight, stale-while-revalidate, the last answer served stale with a typed error when
//! Prometheus fails), and what every probing host saw of each service (the portals'
//! `probe_success`). `GET /api/fleet/{host}/history` answers one host's figure over time
//! in `/api/history`'s shape, from `/api/v1/query_range`.

pub mod prometheus;
pub mod queries;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use kitestacks_core::{Config, FleetConfig};
use kitestacks_metrics::history::MAX_POINTS;
use serde::Serialize;
use utoipa::ToSchema;

use self::prometheus::{Prometheus, Sample};
use self::queries::{FIGURES, FILESYSTEM, Figure, LAST_SCRAPE, Scope};
use super::history::{HistoryResponse, Query};
use super::upstream::{self, Answer, CacheState, Failure, Upstream};
use crate::response;
use crate::server::Body;

/// At most this many history queries go to Prometheus at once; more wait (at most the
/// timeout) for a turn, so no number of clients can flood it through the portal.
const HISTORY_AT_ONCE: usize = 4;

/// At most this many history answers are kept, each for the fleet's refresh period (or
/// its step, if longer), so open pages asking the same thing ask Prometheus once.
const HISTORY_CACHED: usize = 64;

/// The body of `GET /api/fleet`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "fetched_at_seconds": 1763856000.2, "age_seconds": 3.1, "stale": false, "error": null,
    "served_by": "monk", "host_label": "instance",
    "hosts": [{"host": "monk", "label": "monk:9100", "registered": true, "this_host": true,
               "up": true, "stale": false, "age_seconds": 4.2,
               "last_scrape_seconds": 1763855999.0, "last_success_seconds": 1763855999.0,
               "cpu_busy_percent": 7.5, "memory_used_percent": 41.2, "swap_used_percent": 0.0,
               "load1": 0.42, "root_used_percent": 63.0,
               "filesystems": [{"mount_point": "/", "used_percent": 63.0}],
               "network_receive_bytes_per_second": 5120.0, "network_transmit_bytes_per_second": 2048.0,
               "uptime_seconds": 864000.0}],
    "checks": [{"service": "grafana", "state": "partial", "agree": false,
                "hosts": [{"host": "monk", "up": true}, {"host": "kscloud1", "up": false}]}]
}))]
pub struct FleetResponse {
    /// When Prometheus was asked, seconds since the Unix epoch.
    pub fetched_at_seconds: f64,
    /// Seconds since then.
    pub age_seconds: f64,
    /// Whether a newer answer was due but could not be had (see `error`).
    pub stale: bool,
    /// Why the last refresh failed, when `stale`: `timeout`, `refused`, `dns`,
    /// `connection`, `unauthorized`, `http_status`, `query_error`, `malformed`, `too_large`.
    pub error: Option<Failure>,
    /// The registry host of the portal that answered (`[fleet] this_host`, else the
    /// machine's host name when it is a registry host); null when unknown.
    pub served_by: Option<String>,
    /// `[fleet] host_label`: the label that names a host in Prometheus.
    pub host_label: String,
    /// The hosts of `[fleet.hosts]` in registry order, then every other label value
    /// Prometheus has, by name.
    pub hosts: Vec<FleetHost>,
    /// What every probing host saw of each service, by service id.
    pub checks: Vec<ServiceChecks>,
}

/// One host's figures, as Prometheus last scraped them. A figure is null when
/// Prometheus has no value for it (no such series, or `NaN`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FleetHost {
    /// The registry host id, or the label value of a host not in `[fleet.hosts]`.
    pub host: String,
    /// Its `host_label` value.
    pub label: String,
    /// Whether it is in `[fleet.hosts]`.
    pub registered: bool,
    /// Whether it is the host whose portal answered.
    pub this_host: bool,
    /// Whether its exporter's last scrape succeeded (`up`); null when Prometheus has no
    /// scrape of it.
    pub up: Option<bool>,
    /// Whether its figures are not from a successful last scrape, or the whole answer is
    /// stale.
    pub stale: bool,
    /// Seconds since its last successful scrape; null when none was seen.
    pub age_seconds: Option<f64>,
    /// Its last scrape, successful or not, seconds since the Unix epoch.
    pub last_scrape_seconds: Option<f64>,
    /// Its last successful scrape (kept from an earlier answer while it is down; null
    /// when none was seen since the portal started).
    pub last_success_seconds: Option<f64>,
    /// CPU time not idle, % of all CPUs, over the last minute.
    pub cpu_busy_percent: Option<f64>,
    /// `MemTotal - MemAvailable`, % of `MemTotal`.
    pub memory_used_percent: Option<f64>,
    /// Swap in use, % of swap (null without swap).
    pub swap_used_percent: Option<f64>,
    /// 1-minute load average.
    pub load1: Option<f64>,
    /// The root filesystem's use, % (of the space available to users, as `df`).
    pub root_used_percent: Option<f64>,
    /// Every data filesystem (not tmpfs, overlay, squashfs…), root included.
    pub filesystems: Vec<FleetFilesystem>,
    /// Bytes received per second over the last minute, all host interfaces (not loopback,
    /// container or bridge interfaces).
    pub network_receive_bytes_per_second: Option<f64>,
    /// Bytes sent per second, likewise.
    pub network_transmit_bytes_per_second: Option<f64>,
    /// Seconds since boot.
    pub uptime_seconds: Option<f64>,
}

/// One filesystem of a host.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FleetFilesystem {
    /// Where it is mounted.
    pub mount_point: String,
    /// % used (of the space available to users).
    pub used_percent: Option<f64>,
}

/// What every host that probes a service saw of it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServiceChecks {
    /// The service id (`probe_success`'s `service` label).
    pub service: String,
    /// `up` when every probing host saw it up, `down` when every one saw it down (an
    /// outage), `partial` when they disagree (a local or network problem of the hosts
    /// that saw it down, not an outage).
    pub state: String,
    /// Whether every probing host saw the same.
    pub agree: bool,
    /// Each probing host's last result.
    pub hosts: Vec<HostCheck>,
}

/// One host's last probe of a service.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HostCheck {
    /// The host, named as in `hosts`.
    pub host: String,
    /// Whether its probe succeeded.
    pub up: bool,
}

/// What a refresh found.
#[derive(Debug)]
struct Snapshot {
    hosts: Vec<FleetHost>,
    checks: Vec<ServiceChecks>,
}

/// The configured fleet behind its cache, or nothing without `[fleet]`.
pub struct Fleet {
    on: Option<On>,
}

struct On {
    upstream: Arc<Upstream<Snapshot>>,
    prometheus: Prometheus,
    config: FleetConfig,
    served_by: Option<String>,
    history_turns: tokio::sync::Semaphore,
    /// Rendered history answers by host, series, range and step, with when they were made.
    history_cache: Mutex<HashMap<String, (std::time::Instant, bytes::Bytes)>>,
}

impl Fleet {
    /// Builds the client and the cache from `[fleet]` (nothing is asked yet).
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let Some(fleet) = &config.fleet else {
            return Ok(Self { on: None });
        };
        let prometheus = Prometheus::new(fleet)?;
        let order: Vec<String> = config
            .registry
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .collect();
        // Else the machine's host name, read as the sampler reads it: in a container
        // with the host's root mounted, its /etc/hostname names the host.
        let served_by = fleet.this_host.clone().or_else(|| {
            let m = &config.metrics;
            let file = if m.rootfs != std::path::Path::new("/") {
                m.rootfs.join("etc/hostname")
            } else {
                m.procfs.join("sys/kernel/hostname")
            };
            let name = std::fs::read_to_string(file).ok()?;
            order.iter().find(|h| *h == name.trim()).cloned()
        });
        let last_success = Arc::new(Mutex::new(HashMap::new()));
        let (p, f, s) = (prometheus.clone(), fleet.clone(), served_by.clone());
        let upstream = Upstream::new("fleet", fleet.refresh, fleet.timeout, move || {
            let (p, f, s, order, last) = (
                p.clone(),
                f.clone(),
                s.clone(),
                order.clone(),
                last_success.clone(),
            );
            async move { refresh(&p, &f, s.as_deref(), &order, &last).await }
        });
        Ok(Self {
            on: Some(On {
                upstream,
                prometheus,
                config: fleet.clone(),
                served_by,
                history_turns: tokio::sync::Semaphore::new(HISTORY_AT_ONCE),
                history_cache: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The cache's state for `/metrics`; `None` when not configured.
    pub fn cache_state(&self) -> Option<CacheState> {
        self.on.as_ref().map(|on| on.upstream.cache_state())
    }

    /// What every probing host saw of each service, as last read from Prometheus, for
    /// `/api/status`: never waits (a due refresh starts in the background); `None`
    /// without `[fleet]` or before a first answer.
    pub fn checks(&self) -> Option<Vec<ServiceChecks>> {
        let snap = self.on.as_ref()?.upstream.peek()?;
        Some(snap.checks.clone())
    }

    /// Answers `GET /api/fleet`.
    pub async fn route(&self) -> Response<Body> {
        fleet(self).await
    }

    /// Answers `GET /api/fleet/{host}/history` for the path's `{host}/history` tail.
    pub async fn history_route(&self, tail: &str, query: Option<&str>) -> Response<Body> {
        history(self, tail, query, super::unix_seconds(SystemTime::now())).await
    }
}

/// The failure of a Prometheus request, named by the one classifier.
fn failure(e: &prometheus::Error) -> Failure {
    Failure::of("the Prometheus request", e.kind(), e)
}

async fn refresh(
    p: &Prometheus,
    config: &FleetConfig,
    served_by: Option<&str>,
    order: &[String],
    last_success: &Mutex<HashMap<String, f64>>,
) -> Result<Snapshot, Failure> {
    let scope = Scope {
        label: &config.host_label,
        selector: &config.selector,
        host: None,
        mount_point: None,
    };
    let exprs: Vec<String> = FIGURES
        .iter()
        .map(|f| f.expr(&scope))
        .chain([queries::probe_success(&config.host_label)])
        .collect();
    let mut answers = futures_util::future::try_join_all(exprs.iter().map(|e| p.query(e)))
        .await
        .map_err(|e| failure(&e))?;
    let probes = answers.pop().unwrap_or_default();
    let label = config.host_label.as_str();
    let name_of: HashMap<&str, &str> = config
        .hosts
        .iter()
        .map(|(id, value)| (value.as_str(), id.as_str()))
        .collect();
    let mut hosts: BTreeMap<String, FleetHost> = BTreeMap::new();
    let blank = |host: &str, value: &str, registered: bool| FleetHost {
        host: host.to_owned(),
        label: value.to_owned(),
        registered,
        this_host: served_by == Some(host),
        up: None,
        stale: true,
        age_seconds: None,
        last_scrape_seconds: None,
        last_success_seconds: None,
        cpu_busy_percent: None,
        memory_used_percent: None,
        swap_used_percent: None,
        load1: None,
        root_used_percent: None,
        filesystems: Vec::new(),
        network_receive_bytes_per_second: None,
        network_transmit_bytes_per_second: None,
        uptime_seconds: None,
    };
    for (id, value) in &config.hosts {
        hosts.insert(value.clone(), blank(id, value, true));
    }
    for (figure, samples) in FIGURES.iter().zip(&answers) {
        for Sample { labels, value } in samples {
            let Some(v) = labels.get(label) else { continue };
            let h = hosts
                .entry(v.clone())
                .or_insert_with(|| blank(name_of.get(v.as_str()).unwrap_or(&v.as_str()), v, false));
            let slot = match figure.name {
                "up" => {
                    h.up = value.map(|v| v == 1.0);
                    continue;
                }
                FILESYSTEM => {
                    let mount_point = labels.get("mountpoint").cloned().unwrap_or_default();
                    if mount_point == "/" {
                        h.root_used_percent = *value;
                    }
                    h.filesystems.push(FleetFilesystem {
                        mount_point,
                        used_percent: *value,
                    });
                    continue;
                }
                "cpu.busy_percent" => &mut h.cpu_busy_percent,
                "memory.used_percent" => &mut h.memory_used_percent,
                "swap.used_percent" => &mut h.swap_used_percent,
                "load.load1" => &mut h.load1,
                "network.receive_bytes_per_second" => &mut h.network_receive_bytes_per_second,
                "network.transmit_bytes_per_second" => &mut h.network_transmit_bytes_per_second,
                "uptime_seconds" => &mut h.uptime_seconds,
                LAST_SCRAPE => &mut h.last_scrape_seconds,
                _ => continue,
            };
            *slot = *value;
        }
    }
    let mut last = last_success.lock().unwrap_or_else(|p| p.into_inner());
    for (value, h) in &mut hosts {
        h.filesystems
            .sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
        if h.up == Some(true)
            && let Some(t) = h.last_scrape_seconds
        {
            last.insert(value.clone(), t);
        }
        h.last_success_seconds = last.get(value).copied();
    }
    drop(last);
    let rank = |h: &FleetHost| {
        order
            .iter()
            .position(|o| h.registered && *o == h.host)
            .unwrap_or(usize::MAX)
    };
    let mut hosts: Vec<FleetHost> = hosts.into_values().collect();
    hosts.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.host.cmp(&b.host)));

    let mut checks: BTreeMap<String, Vec<HostCheck>> = BTreeMap::new();
    for Sample { labels, value } in &probes {
        let (Some(v), Some(service)) = (labels.get(label), labels.get("service")) else {
            continue;
        };
        checks.entry(service.clone()).or_default().push(HostCheck {
            host: name_of
                .get(v.as_str())
                .map_or_else(|| v.clone(), |n| (*n).to_owned()),
            up: *value == Some(1.0),
        });
    }
    let checks = checks
        .into_iter()
        .map(|(service, mut hosts)| {
            hosts.sort_by(|a, b| a.host.cmp(&b.host));
            let ups = hosts.iter().filter(|h| h.up).count();
            let (state, agree) = match ups {
                0 => ("down", true),
                n if n == hosts.len() => ("up", true),
                _ => ("partial", false),
            };
            ServiceChecks {
                service,
                state: state.to_owned(),
                agree,
                hosts,
            }
        })
        .collect();
    Ok(Snapshot { hosts, checks })
}

const HINT: &str = "set [fleet] prometheus_url to show every host";

/// Every host of the homelab.
#[utoipa::path(
    get,
    path = "/api/fleet",
    tag = "portal",
    operation_id = "fleet",
    summary = "Every host's figures, from Prometheus",
    description = "Read from the Prometheus of `[fleet] prometheus_url` with a fixed set of \
                   instant queries over node_exporter's metric names (`up`, CPU busy %, memory, \
                   swap and filesystems used %, `node_load1`, network rates, uptime, the last \
                   scrape), so a host running node_exporter or kitestacks-exporter reads the same; \
                   and every portal's `probe_success`, for what each probing host saw of each \
                   service. Served from a cache refreshed at most once per `[fleet] refresh` \
                   (default 15 s), one request per query however many pages ask. If Prometheus \
                   fails after a success, the last answer is served with `stale: true` and the \
                   error's kind; with no answer yet, 502 (Prometheus failed or answered garbage) \
                   or 504 (timeout); 503 without `[fleet]`.",
    responses(
        (status = 200, description = "Every host", body = FleetResponse),
        (status = 502, description = "Prometheus failed and there is no earlier answer", body = ErrorBody,
         example = json!({"error": {"code": "bad_upstream", "message": "the Prometheus request failed (refused)"}})),
        (status = 503, description = "`[fleet]` is not configured", body = ErrorBody,
         example = json!({"error": {"code": "not_configured", "message": HINT}})),
        (status = 504, description = "Prometheus did not answer in time and there is no earlier answer", body = ErrorBody,
         example = json!({"error": {"code": "upstream_timeout", "message": "the Prometheus request failed (timeout)"}})),
    )
)]
async fn fleet(f: &Fleet) -> Response<Body> {
    let on = f.on.as_ref();
    upstream::respond(on.map(|on| &on.upstream), HINT, |snap, age| {
        let now = super::unix_seconds(SystemTime::now());
        let hosts = snap
            .hosts
            .iter()
            .map(|h| FleetHost {
                stale: age.stale || h.up != Some(true),
                age_seconds: h.last_success_seconds.map(|t| (now - t).max(0.0)),
                ..h.clone()
            })
            .collect();
        FleetResponse {
            fetched_at_seconds: age.fetched_at_seconds,
            age_seconds: age.age_seconds,
            stale: age.stale,
            error: age.error,
            served_by: on.and_then(|on| on.served_by.clone()),
            host_label: on
                .map(|on| on.config.host_label.clone())
                .unwrap_or_default(),
            hosts,
            checks: snap.checks.clone(),
        }
    })
    .await
}

/// One host's figure over time.
#[utoipa::path(
    get,
    path = "/api/fleet/{host}/history",
    tag = "metrics",
    operation_id = "fleet_history",
    summary = "History of one host's figure, from Prometheus",
    description = "The same shape as `/api/history`: `[t, min, avg, max]` per step, `t` the \
                   start of the step, `null` where Prometheus has nothing (gaps, never \
                   interpolated). Each step's min, avg and max are `min_over_time`, \
                   `avg_over_time` and `max_over_time` of the figure's expression (as \
                   `/api/fleet` computes it) evaluated every tenth of the step (at least 1 s) \
                   within the step, from `/api/v1/query_range`. Series: `up`, \
                   `cpu.busy_percent`, `memory.used_percent`, `swap.used_percent`, `load.load1`, \
                   `network.receive_bytes_per_second`, `network.transmit_bytes_per_second`, \
                   `uptime_seconds`, `filesystem.used_percent[<mount point>]`. An answer is \
                   reused for `[fleet] refresh` (or the step, if longer); at most 4 such queries \
                   run at once.",
    params(
        ("host" = String, Path, description = "A host of `/api/fleet` (its `host`)"),
        ("series" = String, Query, description = "The figure, e.g. `cpu.busy_percent` or `filesystem.used_percent[/]`"),
        ("range" = Option<String>, Query, pattern = r"^([1-9][0-9]{0,5}(d|h|m|s|ms))?$",
         description = "How far back: `1h` (default; also when empty), `24h`, `7d`, or a duration such as `90m`"),
        ("step" = Option<String>, Query, pattern = r"^([1-9][0-9]{0,5}(h|m|s|ms))?$",
         description = "Time between points (default range / 360), at least 1 s, and widened to at most 10000 points"),
    ),
    responses(
        (status = 200, description = "The points", body = HistoryResponse),
        (status = 400, description = "No series, or a range or step that is not a duration", body = ErrorBody),
        (status = 404, description = "No such host or series", body = ErrorBody),
        (status = 502, description = "Prometheus failed", body = ErrorBody),
        (status = 503, description = "`[fleet]` is not configured, or too many history queries wait", body = ErrorBody),
        (status = 504, description = "Prometheus did not answer in time", body = ErrorBody),
    )
)]
async fn history(f: &Fleet, tail: &str, query: Option<&str>, now: f64) -> Response<Body> {
    // A mistake in the request is said first, configured or not.
    let q = match Query::parse(query) {
        Ok(q) => q,
        Err(message) => return super::history::bad(message),
    };
    let Some(series) = q.series else {
        return response::error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "name a series, e.g. series=cpu.busy_percent (the description of this route lists them)",
        );
    };
    let Some(on) = &f.on else {
        return response::error(StatusCode::SERVICE_UNAVAILABLE, "not_configured", HINT);
    };
    let host = tail.strip_suffix("/history").unwrap_or(tail);
    // A registry host by its id, or a host Prometheus named that is in no mapping.
    let label = match on.config.hosts.get(host) {
        Some(v) => Some(v.clone()),
        None => match on.upstream.get().await {
            Answer::Fresh(g) | Answer::Stale(g, _) => g
                .value
                .hosts
                .iter()
                .find(|h| !h.registered && h.host == host)
                .map(|h| h.label.clone()),
            Answer::Error(_) => None,
        },
    };
    let Some(label) = label else {
        return response::error(
            StatusCode::NOT_FOUND,
            "unknown_host",
            format!("no host {host:?}: GET /api/fleet lists them"),
        );
    };
    let Some((figure, mount_point)) = Figure::of_series(&series) else {
        return response::error(
            StatusCode::NOT_FOUND,
            "unknown_series",
            format!(
                "no series {series:?}: up, cpu.busy_percent, memory.used_percent, swap.used_percent, load.load1, network.receive_bytes_per_second, network.transmit_bytes_per_second, uptime_seconds or filesystem.used_percent[<mount point>]"
            ),
        );
    };
    let step = q
        .step_s
        .max(q.range_s / (MAX_POINTS as f64 - 1.0))
        .max(1.0)
        .ceil();
    let n = ((q.range_s / step).floor() as usize).max(1);
    let end = (now / step).floor() * step;
    let first = end - n as f64 * step;
    let scope = Scope {
        label: &on.config.host_label,
        selector: &on.config.selector,
        host: Some(&label),
        mount_point,
    };
    let key = format!("{label}\n{series}\n{}\n{step}", q.range_s);
    let keep = on
        .config
        .refresh
        .max(std::time::Duration::from_secs_f64(step));
    let cached = {
        let cache = on.history_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&key)
            .filter(|(at, _)| at.elapsed() < keep)
            .map(|(_, body)| body.clone())
    };
    if let Some(body) = cached {
        return response::json_bytes(StatusCode::OK, body);
    }
    let expr = figure.expr(&scope);
    let resolution = (step / 10.0).max(1.0);
    let Ok(turn) = tokio::time::timeout(on.config.timeout, on.history_turns.acquire()).await else {
        return response::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many fleet history queries at once; try again",
        );
    };
    let ask = |reducer: &'static str| {
        let e = queries::over_step(&expr, reducer, step, resolution);
        let p = on.prometheus.clone();
        // Evaluated at the end of each step: the step [t, t + step) is its window.
        async move { p.query_range(&e, first + step, end, step).await }
    };
    let answers = futures_util::future::try_join3(
        ask("min_over_time"),
        ask("avg_over_time"),
        ask("max_over_time"),
    )
    .await;
    drop(turn);
    let (min, avg, max) = match answers {
        Ok(a) => a,
        Err(e) => {
            let f = failure(&e);
            tracing::warn!(
                upstream = "fleet",
                kind = f.kind,
                "history query failed: {e}"
            );
            let (status, code) = f.status();
            return response::error(status, code, f.message);
        }
    };
    // Points by the step they end, in whole milliseconds (Prometheus answers the times it
    // was asked for, as floats).
    let by_end = |m: &[prometheus::Series]| -> HashMap<i64, Option<f64>> {
        m.first()
            .map(|s| {
                s.points
                    .iter()
                    .map(|(t, v)| ((t * 1000.0).round() as i64, *v))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (min, avg, max) = (by_end(&min), by_end(&avg), by_end(&max));
    let points = (0..n)
        .map(|i| {
            let t = first + i as f64 * step;
            let key = ((t + step) * 1000.0).round() as i64;
            let at = |m: &HashMap<i64, Option<f64>>| m.get(&key).copied().flatten();
            [Some(t), at(&min), at(&avg), at(&max)]
        })
        .collect();
    let answer = HistoryResponse {
        series,
        unit: figure.unit.to_owned(),
        from_seconds: first,
        to_seconds: end,
        step_seconds: step,
        points,
    };
    let Ok(body) = serde_json::to_vec(&answer) else {
        return response::json(StatusCode::OK, &answer);
    };
    let body = bytes::Bytes::from(body);
    let mut cache = on.history_cache.lock().unwrap_or_else(|p| p.into_inner());
    cache.retain(|_, (at, _)| at.elapsed() < keep);
    if cache.len() >= HISTORY_CACHED {
        // Full of fresh answers: the oldest makes room.
        if let Some(oldest) = cache
            .iter()
            .min_by_key(|(_, (at, _))| *at)
            .map(|(k, _)| k.clone())
        {
            cache.remove(&oldest);
        }
    }
    cache.insert(key, (std::time::Instant::now(), body.clone()));
    drop(cache);
    response::json_bytes(StatusCode::OK, body)
}
