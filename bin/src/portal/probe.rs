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

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use kitestacks_core::{CheckKind, Config, ProbeSpec, PushSpec, StatusConfig};
use kitestacks_metrics::exposition::Scrape;
use serde::Serialize;
use utoipa::ToSchema;

use crate::portal::alerts::{Alerts, Change};
use crate::portal::checks::{self, Finding, Phase, Reason, Verdict};
use crate::portal::fleet::ServiceChecks;
use crate::portal::unix_seconds as unix;
use crate::portal::uptime::{self, Incident, UptimeRatios};
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
    /// The service failed its probe's `failures` latest checks (see `failure_reason`).
    Down,
    /// Not probed yet, probing is disabled, or the check cannot be made here (see
    /// `failure_reason`, e.g. `icmp_not_permitted`).
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

/// How long each phase of the latest check took, in milliseconds; null for a phase that
/// never ran (no lookup for an address, no TLS over plain HTTP, nothing after a refused
/// connection).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PhaseTimings {
    /// Resolving the host name.
    pub dns: Option<f64>,
    /// Opening the TCP connection (`icmp`: the socket's setup).
    pub connect: Option<f64>,
    /// The TLS handshake.
    pub tls: Option<f64>,
    /// From the request sent to the answer's first byte (`tcp`: the banner; `icmp`: the
    /// round trip).
    pub first_byte: Option<f64>,
    /// The whole check.
    pub total: Option<f64>,
}

/// What the latest check saw of a TLS server's certificate (`https` and `tcp` with
/// `tls = true`), whether or not it is verified.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TlsStatus {
    /// When the leaf certificate expires, seconds since the Unix epoch; null if unreadable.
    pub expires_at_seconds: Option<f64>,
    /// Days until it expires (negative once it has); null if unreadable.
    pub days_left: Option<f64>,
    /// Whether the chain leads to a trusted authority, every certificate in date.
    pub chain_valid: bool,
    /// Whether the certificate is valid for the name checked.
    pub hostname_matched: bool,
}

/// One service's status in `GET /api/status`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "grafana", "kind": "http", "state": "up", "http_status": 200, "latency_ms": 12.5,
    "checked_at_seconds": 1763856000.2, "since_seconds": 1763850000.0, "error": null,
    "failure_reason": null, "consecutive_failures": 0,
    "phases_ms": {"dns": 1.2, "connect": 0.4, "tls": 6.1, "first_byte": 4.8, "total": 12.5},
    "tls": {"expires_at_seconds": 1771632000.0, "days_left": 90.0, "chain_valid": true,
            "hostname_matched": true},
    "uptime": {"24h": 1.0, "7d": 0.9991, "30d": 0.9987},
    "incidents": [{"start_seconds": 1763500000.0, "end_seconds": 1763500600.0, "reason": "connect_refused"}]
}))]
pub struct ServiceStatus {
    /// The service's id, as in `/api/services`.
    pub id: String,
    /// What is checked: `http`, `tcp`, `dns` or `icmp`.
    pub kind: CheckKind,
    /// `up`, `down`, or `unknown` (not probed yet, probing disabled, or the check could
    /// not be made: see `failure_reason`). A service is called down only after its
    /// probe's `failures` consecutive failures.
    pub state: ProbeState,
    /// The status code received; null if there was no response (or not `http`).
    pub http_status: Option<u16>,
    /// Milliseconds the latest check took; null if it got no answer.
    pub latency_ms: Option<f64>,
    /// When it was last probed, seconds since the Unix epoch.
    pub checked_at_seconds: Option<f64>,
    /// When it entered its current state, seconds since the Unix epoch: for `down`, the
    /// first of the failures that made it down.
    pub since_seconds: Option<f64>,
    /// The coarse class of why it is down (`timeout`, `refused`, `dns`, `tls`,
    /// `unexpected_status`, `connection`), as upstream failures are named; null unless
    /// `state` is `down`. `failure_reason` says it precisely.
    pub error: Option<ProbeError>,
    /// Why the latest check failed; null when it passed. Set while `state` is still `up`
    /// when the service has started failing but not `failures` times in a row yet.
    pub failure_reason: Option<Reason>,
    /// Failed checks in a row, up to now.
    pub consecutive_failures: u32,
    /// The latest check's phase timings; null before the first.
    pub phases_ms: Option<PhaseTimings>,
    /// The certificate the latest check saw; null without TLS.
    pub tls: Option<TlsStatus>,
    /// The share of checks that found it up over the last 24 h, 7 d and 30 d (checks
    /// while `unknown` are not counted; a failure not yet making it down counts as up).
    pub uptime: UptimeRatios,
    /// The last outages (at most 10), newest first.
    pub incidents: Vec<Incident>,
}

/// The body of `GET /api/status`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "enabled": true, "interval_seconds": 30.0, "checked_at_seconds": 1763856000.5,
    "services": [
        {"id": "grafana", "kind": "http", "state": "up", "http_status": 200, "latency_ms": 12.5,
         "checked_at_seconds": 1763856000.2, "since_seconds": 1763850000.0, "error": null,
         "failure_reason": null, "consecutive_failures": 0,
         "phases_ms": {"dns": null, "connect": 0.4, "tls": null, "first_byte": 11.8, "total": 12.5},
         "tls": null, "uptime": {"24h": 1.0, "7d": 1.0, "30d": 0.9995}, "incidents": []},
        {"id": "gitforge", "kind": "http", "state": "down", "http_status": null, "latency_ms": null,
         "checked_at_seconds": 1763856000.4, "since_seconds": 1763855970.4, "error": "timeout",
         "failure_reason": "timeout", "consecutive_failures": 2,
         "phases_ms": {"dns": 0.9, "connect": 0.5, "tls": null, "first_byte": null, "total": 5000.2},
         "tls": null, "uptime": {"24h": 0.97, "7d": 0.995, "30d": 0.998},
         "incidents": [{"start_seconds": 1763855970.4, "end_seconds": null, "reason": "timeout"}]}
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
    /// With `[fleet]`: what every probing host saw of each service, from Prometheus'
    /// `probe_success` (as `/api/fleet`'s `checks`): a service is down for everyone only
    /// when every host that checked it agrees. Absent without `[fleet]` or before
    /// Prometheus first answered; never waited for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Vec<ServiceChecks>>,
}

/// The coarse class of a reason, as `error` has always named it.
fn coarse(reason: Reason) -> ProbeError {
    match reason {
        Reason::DnsNotFound | Reason::DnsTimeout | Reason::DnsMismatch => ProbeError::Dns,
        Reason::ConnectRefused => ProbeError::Refused,
        Reason::ConnectTimeout | Reason::Timeout | Reason::IcmpNoReply => ProbeError::Timeout,
        Reason::TlsHandshake | Reason::TlsExpired | Reason::TlsUntrusted | Reason::TlsHostname => {
            ProbeError::Tls
        }
        Reason::HttpStatus | Reason::BodyMismatch => ProbeError::UnexpectedStatus,
        Reason::ConnectFailed
        | Reason::Protocol
        | Reason::IcmpNotPermitted
        | Reason::MissedHeartbeat
        | Reason::PushedDown => ProbeError::Connection,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Debug, Clone)]
struct Entry {
    last: Option<Finding>,
    state: ProbeState,
    since: Option<SystemTime>,
    failures: u32,
    first_failure: Option<SystemTime>,
    record: uptime::Record,
    /// Push monitors: when the next heartbeat is due (period + grace after the last, or
    /// after start-up); a miss moves it on by a period.
    deadline: Option<SystemTime>,
}

impl Default for Entry {
    fn default() -> Self {
        Self {
            last: None,
            state: ProbeState::Unknown,
            since: None,
            failures: 0,
            first_failure: None,
            record: uptime::Record::default(),
            deadline: None,
        }
    }
}

impl Entry {
    /// Takes in a finding; whether the state changed. Down only after `threshold`
    /// failures in a row, and then since the first of them; `unknown` findings (a check
    /// that could not be made) neither count as failures nor end a run of them.
    fn take(&mut self, finding: Finding, threshold: u32) -> bool {
        let (before, at, verdict) = (self.state, unix(finding.at), finding.verdict);
        let changed = self.judge(finding, threshold);
        match self.state {
            ProbeState::Up => self.record.count(at, true),
            ProbeState::Down => self.record.count(at, false),
            ProbeState::Unknown => {}
        }
        if changed {
            match (self.state, verdict) {
                (ProbeState::Down, Verdict::Down(reason)) => {
                    self.record.open(self.since.map_or(at, unix), reason);
                }
                _ if before == ProbeState::Down => self.record.close(at),
                _ => {}
            }
        }
        changed
    }

    fn judge(&mut self, finding: Finding, threshold: u32) -> bool {
        let before = self.state;
        match finding.verdict {
            Verdict::Up => {
                self.failures = 0;
                self.first_failure = None;
                if self.state != ProbeState::Up {
                    self.state = ProbeState::Up;
                    self.since = Some(finding.at);
                }
            }
            Verdict::Down(_) => {
                self.failures += 1;
                let first = *self.first_failure.get_or_insert(finding.at);
                if self.failures >= threshold.max(1) && self.state != ProbeState::Down {
                    self.state = ProbeState::Down;
                    self.since = Some(first);
                }
            }
            Verdict::Unknown(_) => {
                if self.state == ProbeState::Up && self.failures == 0 {
                    self.state = ProbeState::Unknown;
                    self.since = Some(finding.at);
                } else if self.last.is_none() {
                    self.since = Some(finding.at);
                }
            }
        }
        self.last = Some(finding);
        self.state != before
    }
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
    cx: checks::Context,
    state: Mutex<Snapshot>,
    /// Where uptime and incidents are kept across restarts, and how often.
    uptime_file: Option<(PathBuf, Duration)>,
    saved_at: Mutex<Option<std::time::Instant>>,
    /// The push monitor of each target, if it is one (in target order).
    pushes: Vec<Option<PushSpec>>,
    /// Notifications of state changes.
    alerts: Alerts,
    /// Where results go besides `/api/status`: history and live updates.
    feed: std::sync::OnceLock<Arc<super::Feed>>,
}

impl Status {
    /// The prober for the registry's services with a probe spec. Probes nothing yet.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let mut targets = Vec::new();
        let mut pushes = Vec::new();
        for s in &config.registry.services {
            if let Some(p) = &s.probe {
                targets.push((s.id.clone(), p.clone()));
                pushes.push(None);
            } else if let Some(push) = &s.push {
                let mut spec = ProbeSpec::new(CheckKind::Push);
                spec.failures = 1;
                targets.push((s.id.clone(), spec));
                pushes.push(Some(push.clone()));
            }
        }
        let started = SystemTime::now();
        let ids: Vec<&str> = targets.iter().map(|(id, _)| id.as_str()).collect();
        let alerts = Alerts::new(config, &ids)?;
        let uptime_file = config.history.file.as_deref().map(uptime::sibling);
        let mut entries = vec![Entry::default(); targets.len()];
        for (entry, push) in entries.iter_mut().zip(&pushes) {
            entry.deadline = push.as_ref().map(|p| started + push_window(p));
        }
        if let Some(path) = uptime_file.as_ref().filter(|p| p.exists()) {
            let ids: Vec<&str> = targets.iter().map(|(id, _)| id.as_str()).collect();
            match std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| uptime::decode(&bytes, &ids))
            {
                Ok(records) => {
                    for (entry, record) in entries.iter_mut().zip(records) {
                        entry.record = record;
                    }
                    tracing::info!("uptime: restored from {}", path.display());
                }
                Err(e) => tracing::warn!(
                    "uptime: {}: {e}; starting with no uptime record",
                    path.display()
                ),
            }
        }
        Ok(Self {
            config: config.status.clone(),
            state: Mutex::new(Snapshot {
                checked_at: None,
                entries,
            }),
            targets,
            cx: checks::Context::default(),
            uptime_file: uptime_file.map(|p| (p, config.history.snapshot_interval)),
            saved_at: Mutex::new(None),
            pushes,
            alerts,
            feed: std::sync::OnceLock::new(),
        })
    }

    /// Writes the uptime record beside the history snapshot, if `[history] file` is set
    /// (blocking: call it off the async workers).
    pub fn save_uptime(&self) {
        let Some((path, _)) = &self.uptime_file else {
            return;
        };
        let bytes = {
            let st = self.lock();
            let records: Vec<(&str, &uptime::Record)> = self
                .targets
                .iter()
                .zip(&st.entries)
                .map(|((id, _), e)| (id.as_str(), &e.record))
                .collect();
            uptime::encode(&records)
        };
        if let Err(e) = kitestacks_metrics::history::write_atomic(path, &bytes) {
            tracing::warn!("uptime: {e}");
        }
        *self.saved_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
    }

    /// Whether a snapshot interval has passed since the uptime record was last written.
    fn save_due(&self) -> bool {
        let Some((_, every)) = &self.uptime_file else {
            return false;
        };
        let mut saved = self.saved_at.lock().unwrap_or_else(|p| p.into_inner());
        match *saved {
            None => {
                *saved = Some(std::time::Instant::now());
                false
            }
            Some(at) => at.elapsed() >= *every,
        }
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
            .filter(|(_, (_, spec))| spec.kind != CheckKind::Push)
            .map(|(i, (_, spec))| async move { (i, checks::run(spec, &self.cx).await) })
            .collect();
        let mut probes = futures_util::stream::iter(round).buffer_unordered(concurrency);
        let mut changed = false;
        while let Some((i, finding)) = probes.next().await {
            changed |= self.judge(i, finding);
        }
        self.lock().checked_at = Some(SystemTime::now());
        if changed {
            self.publish();
        }
    }

    /// Takes in a finding of target `i`: history, log, state; whether the state changed.
    fn judge(&self, i: usize, finding: Finding) -> bool {
        if let Some(feed) = self.feed.get() {
            let (id, t) = (&self.targets[i].0, unix(finding.at));
            let up = match finding.verdict {
                Verdict::Up => Some(1.0),
                Verdict::Down(_) => Some(0.0),
                Verdict::Unknown(_) => None,
            };
            if let Some(up) = up {
                feed.history.record(&format!("probe.up[{id}]"), "up", t, up);
            }
            if let Some(latency) = latency(&finding) {
                feed.history.record(
                    &format!("probe.latency_ms[{id}]"),
                    "milliseconds",
                    t,
                    latency,
                );
            }
        }
        let days = finding.tls.as_ref().and_then(|t| t.days_left(finding.at));
        let (change, changed) = {
            let mut st = self.lock();
            let entry = &mut st.entries[i];
            self.log_change(i, entry.last.as_ref(), &finding);
            let (before, before_since) = (entry.state, entry.since);
            let verdict = finding.verdict;
            let changed = entry.take(finding, self.targets[i].1.failures);
            let change = match (changed, entry.state, verdict) {
                (true, ProbeState::Down, Verdict::Down(reason)) => {
                    entry.since.map(|since| Change::Down(reason, since))
                }
                (true, ProbeState::Up, _) if before == ProbeState::Down => {
                    before_since.map(Change::Up)
                }
                _ => None,
            };
            (change, changed)
        };
        let now = SystemTime::now();
        if let Some(change) = change {
            self.alerts.changed(i, change, now);
        }
        if let Some(days) = days {
            self.alerts.certificate(i, days);
        }
        changed
    }

    /// Sends `/api/status` as a `status` event.
    fn publish(&self) {
        let Some(feed) = self.feed.get() else { return };
        match serde_json::to_vec(&self.response()) {
            Ok(json) => feed.events.publish(super::events::Kind::Status, &json),
            Err(e) => tracing::error!("cannot serialise the status: {e}"),
        }
    }

    /// Records a push to the monitor whose token is `token`: up, or down
    /// (`pushed_down`) when the job says so. `None` for an unknown token.
    pub fn push(&self, token: &str, down: bool, msg: Option<&str>) -> Option<(String, ProbeState)> {
        let tokens: Vec<(usize, &str)> = self
            .pushes
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p.token.expose())))
            .collect();
        let i = super::push::find(&tokens, token)?;
        let push = self.pushes[i].as_ref()?;
        let at = SystemTime::now();
        let detail = match (down, msg) {
            (false, None) => "pushed up".to_owned(),
            (true, None) => "pushed down".to_owned(),
            (false, Some(m)) => format!("pushed up: {m}"),
            (true, Some(m)) => format!("pushed down: {m}"),
        };
        let finding = Finding {
            verdict: if down {
                Verdict::Down(Reason::PushedDown)
            } else {
                Verdict::Up
            },
            http_status: None,
            timings: checks::Timings::default(),
            tls: None,
            detail,
            at,
        };
        self.lock().entries[i].deadline = Some(at + push_window(push));
        if self.judge(i, finding) {
            self.publish();
        }
        let state = self.lock().entries[i].state;
        Some((self.targets[i].0.clone(), state))
    }

    /// Judges the alerts' host rules (`cpu`, `memory`, `filesystem`) against a sample.
    pub fn host_sample(&self, sample: &kitestacks_metrics::Sample) {
        self.alerts.host_sample(sample);
    }

    /// Judges every push monitor as at `now`: one whose heartbeat is past due is down with
    /// `missed_heartbeat` (once per missed period).
    pub fn check_pushes(&self, now: SystemTime) {
        let mut changed = false;
        for (i, push) in self.pushes.iter().enumerate() {
            let Some(push) = push else { continue };
            let due = {
                let mut st = self.lock();
                let entry = &mut st.entries[i];
                match entry.deadline {
                    Some(deadline) if deadline < now => {
                        entry.deadline =
                            Some(deadline + Duration::from_secs(push.period_seconds.max(1)));
                        Some(deadline)
                    }
                    _ => None,
                }
            };
            if let Some(deadline) = due {
                let finding = Finding {
                    verdict: Verdict::Down(Reason::MissedHeartbeat),
                    http_status: None,
                    timings: checks::Timings::default(),
                    tls: None,
                    detail: format!(
                        "no push within {}s + {}s grace",
                        push.period_seconds, push.grace_seconds
                    ),
                    at: deadline,
                };
                changed |= self.judge(i, finding);
            }
        }
        if changed {
            self.publish();
        }
    }

    /// Probes every `[status] interval` and judges push monitors every second until
    /// aborted; returns at once when `[status] enabled = false` or no service has a probe
    /// or a push monitor.
    pub async fn run(self: Arc<Self>) {
        if !self.config.enabled || self.targets.is_empty() {
            return;
        }
        if self.pushes.iter().any(Option::is_some) {
            let me = self.clone();
            tokio::join!(me.probe_loop(), self.push_loop());
        } else {
            self.probe_loop().await;
        }
    }

    async fn push_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.check_pushes(SystemTime::now());
        }
    }

    async fn probe_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.probe_now().await;
            if self.save_due() {
                let me = self.clone();
                let _ = tokio::task::spawn_blocking(move || me.save_uptime()).await;
            }
        }
    }

    /// Logs a change of a check's result, not every probe: one warning when it starts
    /// failing (or fails another way), one line when it passes again.
    fn log_change(&self, i: usize, last: Option<&Finding>, now: &Finding) {
        let (id, spec) = &self.targets[i];
        let target = spec.target();
        let last = last.map(|l| l.verdict);
        match now.verdict {
            Verdict::Up if last.is_some_and(|l| l != Verdict::Up) => {
                tracing::info!(service = %id, target = %target, "probe up again: {}", now.detail);
            }
            Verdict::Down(reason) | Verdict::Unknown(reason) if last != Some(now.verdict) => {
                tracing::warn!(
                    service = %id,
                    target = %target,
                    reason = reason.as_str(),
                    "probe failed: {}",
                    now.detail
                );
            }
            _ => {}
        }
    }

    /// The body of `GET /api/status`.
    pub fn response(&self) -> StatusResponse {
        let st = self.lock();
        let now = SystemTime::now();
        let services = self
            .targets
            .iter()
            .zip(&st.entries)
            .map(|((id, spec), e)| {
                let last = e.last.as_ref();
                let reason = last.and_then(|f| match f.verdict {
                    Verdict::Up => None,
                    Verdict::Down(r) | Verdict::Unknown(r) => Some(r),
                });
                ServiceStatus {
                    id: id.clone(),
                    kind: spec.kind,
                    state: e.state,
                    http_status: last.and_then(|f| f.http_status),
                    latency_ms: last.and_then(latency),
                    checked_at_seconds: last.map(|f| unix(f.at)),
                    since_seconds: e.since.map(unix),
                    error: match (e.state, last.map(|f| f.verdict)) {
                        (ProbeState::Down, Some(Verdict::Down(r))) => Some(coarse(r)),
                        _ => None,
                    },
                    failure_reason: reason,
                    consecutive_failures: e.failures,
                    phases_ms: last.map(|f| PhaseTimings {
                        dns: f.timings.get(Phase::Dns).map(ms),
                        connect: f.timings.get(Phase::Connect).map(ms),
                        tls: f.timings.get(Phase::Tls).map(ms),
                        first_byte: f.timings.get(Phase::FirstByte).map(ms),
                        total: Some(ms(f.timings.total)),
                    }),
                    tls: last.and_then(|f| f.tls.as_ref()).map(|t| TlsStatus {
                        expires_at_seconds: t.not_after.map(unix),
                        days_left: t.days_left(now),
                        chain_valid: t.chain_valid,
                        hostname_matched: t.hostname_matched,
                    }),
                    uptime: e.record.ratios(unix(now)),
                    incidents: e.record.incidents(),
                }
            })
            .collect();
        StatusResponse {
            enabled: self.config.enabled,
            interval_seconds: self.config.interval.as_secs_f64(),
            checked_at_seconds: st.checked_at.map(unix),
            services,
            fleet: None,
        }
    }

    /// Adds blackbox_exporter's families per probed service (`probe_success`,
    /// `probe_duration_seconds`, `probe_http_status_code`, `probe_http_duration_seconds`,
    /// `probe_dns_lookup_time_seconds`, `probe_ssl_earliest_cert_expiry`,
    /// `probe_failed_due_to_regex`, `probe_icmp_duration_seconds`) and the failure
    /// reason as `kitestacks_portal_probe_failure_info`. Services not probed yet have no
    /// series; a phase that never ran has none either.
    pub fn collect(&self, scrape: &mut Scrape) {
        self.alerts.collect(scrape);
        let st = self.lock();
        for ((id, spec), e) in self.targets.iter().zip(&st.entries) {
            let Some(f) = &e.last else { continue };
            let labels = [("service", id.as_str())];
            let t = &f.timings;
            if let Verdict::Up | Verdict::Down(_) = f.verdict {
                scrape.gauge(
                    "probe_success",
                    "Displays whether or not the probe was a success",
                    &labels,
                    if f.verdict == Verdict::Up { 1.0 } else { 0.0 },
                );
            }
            scrape.gauge(
                "probe_duration_seconds",
                "Returns how long the probe took to complete in seconds",
                &labels,
                t.total.as_secs_f64(),
            );
            if let Some(dns) = t.get(Phase::Dns) {
                scrape.gauge(
                    "probe_dns_lookup_time_seconds",
                    "Returns the time taken for probe dns lookup in seconds",
                    &labels,
                    dns.as_secs_f64(),
                );
            }
            match spec.kind {
                CheckKind::Http => {
                    scrape.gauge(
                        "probe_http_status_code",
                        "Response HTTP status code (0 when there was no response)",
                        &labels,
                        f64::from(f.http_status.unwrap_or(0)),
                    );
                    let family = (
                        "probe_http_duration_seconds",
                        "Duration of http request by phase, summed over all redirects",
                    );
                    let names = [
                        (Phase::Dns, "resolve"),
                        (Phase::Connect, "connect"),
                        (Phase::Tls, "tls"),
                        (Phase::FirstByte, "processing"),
                    ];
                    by_phase(scrape, family, id, t, &names);
                }
                CheckKind::Icmp => {
                    let family = (
                        "probe_icmp_duration_seconds",
                        "Duration of icmp request by phase",
                    );
                    let names = [
                        (Phase::Dns, "resolve"),
                        (Phase::Connect, "setup"),
                        (Phase::FirstByte, "rtt"),
                    ];
                    by_phase(scrape, family, id, t, &names);
                }
                CheckKind::Tcp | CheckKind::Dns | CheckKind::Push => {}
            }
            if let Some(expiry) = f.tls.as_ref().and_then(|t| t.not_after) {
                scrape.gauge(
                    "probe_ssl_earliest_cert_expiry",
                    "Returns last SSL chain expiry in unixtime",
                    &labels,
                    unix(expiry),
                );
            }
            if spec.expect.is_some() {
                let mismatch = matches!(
                    f.verdict,
                    Verdict::Down(Reason::BodyMismatch | Reason::DnsMismatch)
                );
                scrape.gauge(
                    "probe_failed_due_to_regex",
                    "Indicates if probe failed due to regex",
                    &labels,
                    if mismatch { 1.0 } else { 0.0 },
                );
            }
            let now = unix(SystemTime::now());
            for (w, (window, _, _)) in uptime::WINDOWS.iter().enumerate() {
                if let Some(ratio) = e.record.ratio(w, now) {
                    scrape.gauge(
                        "kitestacks_portal_probe_uptime_ratio",
                        "Share of checks that found the service up, over the window (checks while unknown not counted).",
                        &[("service", id.as_str()), ("window", window)],
                        ratio,
                    );
                }
            }
            if let Verdict::Down(reason) | Verdict::Unknown(reason) = f.verdict {
                scrape.gauge(
                    "kitestacks_portal_probe_failure_info",
                    "Why the service's latest probe failed, as the reason label (failure_reason in /api/status)",
                    &[("service", id.as_str()), ("reason", reason.as_str())],
                    1.0,
                );
            }
        }
    }
}

/// A `{phase}` series of `family` for each phase that ran, under blackbox's phase names.
fn by_phase(
    scrape: &mut Scrape,
    (name, help): (&'static str, &'static str),
    id: &str,
    t: &checks::Timings,
    names: &[(Phase, &'static str)],
) {
    for (phase, label) in names {
        if let Some(d) = t.get(*phase) {
            scrape.gauge(
                name,
                help,
                &[("service", id), ("phase", label)],
                d.as_secs_f64(),
            );
        }
    }
}

/// How long after a push the next one is due.
fn push_window(push: &PushSpec) -> Duration {
    Duration::from_secs(push.period_seconds + push.grace_seconds)
}

/// The latency published: the whole check's time when it got an answer.
fn latency(f: &Finding) -> Option<f64> {
    (f.verdict == Verdict::Up || f.http_status.is_some()).then(|| ms(f.timings.total))
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
pub fn status(status: &Status, fleet: Option<Vec<ServiceChecks>>) -> Response<Body> {
    let mut body = status.response();
    body.fleet = fleet;
    response::json(StatusCode::OK, &body)
}

// The badge's query values as the OpenAPI document's enums (the route matches the
// query's text; `window` against `uptime::WINDOWS`).
/// What the badge shows.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum BadgeMetric {
    State,
    Uptime,
}

/// The window of an uptime badge.
#[derive(ToSchema)]
#[allow(dead_code)]
enum BadgeWindow {
    #[schema(rename = "24h")]
    Day,
    #[schema(rename = "7d")]
    Week,
    #[schema(rename = "30d")]
    Month,
}

/// A service's state, or its uptime over a window, as an SVG badge.
#[utoipa::path(
    get,
    path = "/api/status/{id}/badge.svg",
    tag = "portal",
    operation_id = "status_badge",
    summary = "A badge of a service's state or uptime",
    description = "A small SVG badge for a README or a wiki: the service's state (`up`, \
                   `down`, `unknown`), or with `?metric=uptime&window=30d` (`24h`, `7d`, \
                   `30d`) its uptime ratio as a percentage.",
    params(
        ("id" = String, Path, description = "A probed service's id"),
        ("metric" = inline(Option<BadgeMetric>), Query, description = "`state` (default) or `uptime`"),
        ("window" = inline(Option<BadgeWindow>), Query, description = "`24h`, `7d` or `30d` (default `30d`), for `uptime`"),
    ),
    responses(
        (status = 200, description = "The badge", content_type = "image/svg+xml", body = String),
        (status = 400, description = "An unknown metric or window", body = ErrorBody),
        (status = 404, description = "No probed service with this id", body = ErrorBody),
    )
)]
pub fn badge(status: &Status, tail: &str, query: Option<&str>) -> Response<Body> {
    let Some(id) = tail.strip_suffix("/badge.svg") else {
        return response::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such badge: GET /api/status/{id}/badge.svg",
        );
    };
    let Some(i) = status.targets.iter().position(|(t, _)| t == id) else {
        return response::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no probed service with this id (GET /api/status lists them)",
        );
    };
    let (mut metric, mut window) = ("state".to_owned(), "30d".to_owned());
    for (key, value) in crate::query::pairs(query) {
        match key.as_ref() {
            "metric" => metric = value,
            "window" => window = value,
            _ => {}
        }
    }
    // Checked whatever the metric: a window no badge has is a mistake either way.
    let Some(w) = uptime::WINDOWS
        .iter()
        .position(|(name, _, _)| *name == window)
    else {
        return response::error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "window must be 24h, 7d or 30d, not {:?}",
                window.chars().take(16).collect::<String>()
            ),
        );
    };
    let st = status.lock();
    let entry = &st.entries[i];
    let (label, value, color) = match metric.as_str() {
        "state" => {
            let (value, color) = match entry.state {
                ProbeState::Up => ("up", "#2e7d32"),
                ProbeState::Down => ("down", "#c62828"),
                ProbeState::Unknown => ("unknown", "#757575"),
            };
            (id.to_owned(), value.to_owned(), color)
        }
        "uptime" => match entry.record.ratio(w, unix(SystemTime::now())) {
            None => (format!("uptime {window}"), "no data".to_owned(), "#757575"),
            Some(r) => {
                let color = if r >= 0.999 {
                    "#2e7d32"
                } else if r >= 0.99 {
                    "#9e9d24"
                } else {
                    "#c62828"
                };
                (
                    format!("uptime {window}"),
                    format!("{:.2}%", r * 100.0),
                    color,
                )
            }
        },
        other => {
            return response::error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!(
                    "metric must be state or uptime, not {:?}",
                    other.chars().take(16).collect::<String>()
                ),
            );
        }
    };
    let mut r = Response::new(Body::new(bytes::Bytes::from(uptime::badge(
        &label, &value, color,
    ))));
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("image/svg+xml"),
    );
    h.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_the_contract() {
        let s = ServiceStatus {
            id: "x".into(),
            kind: CheckKind::Tcp,
            state: ProbeState::Down,
            http_status: None,
            latency_ms: None,
            checked_at_seconds: Some(1.5),
            since_seconds: Some(1.5),
            error: Some(ProbeError::Refused),
            failure_reason: Some(Reason::ConnectRefused),
            consecutive_failures: 2,
            phases_ms: None,
            tls: None,
            uptime: uptime::Record::default().ratios(0.0),
            incidents: Vec::new(),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["state"], "down");
        assert_eq!(v["kind"], "tcp");
        assert_eq!(v["error"], "refused");
        assert_eq!(v["failure_reason"], "connect_refused");
        assert!(v["http_status"].is_null());
    }

    fn finding(verdict: Verdict, at: u64) -> Finding {
        Finding {
            verdict,
            http_status: None,
            timings: checks::Timings::default(),
            tls: None,
            detail: String::new(),
            at: std::time::UNIX_EPOCH + Duration::from_secs(at),
        }
    }

    #[test]
    fn down_after_n_failures_in_a_row_since_the_first() {
        let mut e = Entry::default();
        assert!(e.take(finding(Verdict::Up, 10), 2));
        let down = Verdict::Down(Reason::Timeout);
        assert!(
            !e.take(finding(down, 20), 2),
            "one failure is not an outage"
        );
        assert_eq!((e.state, e.failures), (ProbeState::Up, 1));
        assert!(e.take(finding(down, 30), 2));
        assert_eq!(e.state, ProbeState::Down);
        assert_eq!(e.since.map(unix), Some(20.0), "since the first failure");
        assert!(!e.take(finding(down, 40), 2));
        assert!(e.take(finding(Verdict::Up, 50), 2));
        assert_eq!((e.failures, e.since.map(unix)), (0, Some(50.0)));
        // A check that cannot be made is no failure.
        let mut e = Entry::default();
        assert!(!e.take(finding(Verdict::Unknown(Reason::IcmpNotPermitted), 5), 1));
        assert_eq!((e.state, e.failures), (ProbeState::Unknown, 0));
    }
}
