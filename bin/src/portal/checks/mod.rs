//! The check kinds (`http`, `tcp`, `dns`, `icmp`): one run of one probe spec, timed by
//! phase, with a typed [`Reason`] when it fails.
//!
//! A check never panics and never outlives its spec's timeout: [`run`] bounds the whole
//! of it, and a timeout is named after the phase that was running (`dns_timeout`,
//! `connect_timeout`, else `timeout`). A phase that never ran has no duration (null in
//! JSON, no series in `/metrics`), never 0.

use std::time::{Duration, Instant, SystemTime};

use kitestacks_core::{CheckKind, ProbeSpec};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod dns;
pub mod http;
pub mod icmp;
pub mod net;
pub mod tls;

/// Why a check did not find its service up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The name does not exist (NXDOMAIN, no address, or not a valid name).
    DnsNotFound,
    /// The resolver did not answer in time (or answered it cannot now).
    DnsTimeout,
    /// The resolver answered, but not with the expected address.
    DnsMismatch,
    /// Nothing listens on the port (connection refused).
    ConnectRefused,
    /// The connection was not accepted in time (a firewall dropping, a host down).
    ConnectTimeout,
    /// The connection failed another way (network or host unreachable).
    ConnectFailed,
    /// The TLS handshake failed (not TLS, no common protocol or cipher).
    TlsHandshake,
    /// The certificate has expired (or is not valid yet).
    TlsExpired,
    /// The certificate chain leads to no trusted authority (self-signed, unknown CA).
    TlsUntrusted,
    /// The certificate is not valid for the name checked.
    TlsHostname,
    /// An HTTP answer with a status the probe does not accept.
    HttpStatus,
    /// The HTTP body, or the TCP banner, lacks the expected text.
    BodyMismatch,
    /// The server accepted the connection but did not answer in time.
    Timeout,
    /// The connection was closed or reset, or the answer was not the protocol spoken.
    Protocol,
    /// No reply to the ICMP echo in time.
    IcmpNoReply,
    /// This process may not send ICMP echoes (no unprivileged ping group, no raw
    /// sockets): the state is `unknown`, never `down`.
    IcmpNotPermitted,
    /// A push monitor's heartbeat did not arrive in its period plus grace.
    MissedHeartbeat,
    /// A push monitor's job reported a failure (`?status=down`).
    PushedDown,
}

impl Reason {
    /// The reason's name on every surface (JSON, `/metrics`, log).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::DnsNotFound => "dns_not_found",
            Reason::DnsTimeout => "dns_timeout",
            Reason::DnsMismatch => "dns_mismatch",
            Reason::ConnectRefused => "connect_refused",
            Reason::ConnectTimeout => "connect_timeout",
            Reason::ConnectFailed => "connect_failed",
            Reason::TlsHandshake => "tls_handshake",
            Reason::TlsExpired => "tls_expired",
            Reason::TlsUntrusted => "tls_untrusted",
            Reason::TlsHostname => "tls_hostname",
            Reason::HttpStatus => "http_status",
            Reason::BodyMismatch => "body_mismatch",
            Reason::Timeout => "timeout",
            Reason::Protocol => "protocol",
            Reason::IcmpNoReply => "icmp_no_reply",
            Reason::IcmpNotPermitted => "icmp_not_permitted",
            Reason::MissedHeartbeat => "missed_heartbeat",
            Reason::PushedDown => "pushed_down",
        }
    }
}

/// A phase of a check, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Resolving the host name (not run for an address).
    Dns,
    /// Opening the TCP connection (or the ICMP socket).
    Connect,
    /// The TLS handshake.
    Tls,
    /// From the request sent (or the connection made) to the first byte of the answer.
    FirstByte,
}

const PHASES: usize = 4;

/// Per-phase durations of one check; `None` for a phase that never ran.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    phases: [Option<Duration>; PHASES],
    /// The whole check.
    pub total: Duration,
}

impl Timings {
    /// How long `phase` took, if it ran to its end.
    pub fn get(&self, phase: Phase) -> Option<Duration> {
        self.phases[phase as usize]
    }
}

/// Records phase boundaries while a check runs, so that a timeout can name the phase it
/// cut short and the phases done so far keep their durations.
#[derive(Debug)]
pub struct Trace {
    start: Instant,
    running: Option<(Phase, Instant)>,
    timings: Timings,
}

impl Trace {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            running: None,
            timings: Timings::default(),
        }
    }

    /// `phase` starts now.
    pub fn begin(&mut self, phase: Phase) {
        self.running = Some((phase, Instant::now()));
    }

    /// `phase` took `took` (measured elsewhere, e.g. on a blocking thread); it is no
    /// longer running.
    pub fn record(&mut self, phase: Phase, took: Duration) {
        self.running = None;
        self.timings.phases[phase as usize] = Some(took);
    }

    /// The running phase ends now.
    pub fn end(&mut self) {
        if let Some((phase, at)) = self.running.take() {
            self.timings.phases[phase as usize] = Some(at.elapsed());
        }
    }
}

/// What a check learnt of a TLS server's leaf certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFacts {
    /// When the leaf certificate expires (its `notAfter`), if it could be read.
    pub not_after: Option<SystemTime>,
    /// Whether the chain leads to a trusted authority and every certificate is in its
    /// validity period.
    pub chain_valid: bool,
    /// Whether the leaf certificate is valid for the name checked.
    pub hostname_matched: bool,
}

impl TlsFacts {
    /// Days (fractional) until the leaf expires, negative once it has; `None` when its
    /// expiry could not be read.
    pub fn days_left(&self, now: SystemTime) -> Option<f64> {
        let not_after = self.not_after?;
        Some(match not_after.duration_since(now) {
            Ok(d) => d.as_secs_f64() / 86400.0,
            Err(e) => -e.duration().as_secs_f64() / 86400.0,
        })
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The service answered as expected.
    Up,
    /// It did not, for this reason.
    Down(Reason),
    /// The check could not be made, for this reason (never counted as down).
    Unknown(Reason),
}

/// One run of a check.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Up, down or unknown.
    pub verdict: Verdict,
    /// The HTTP status received (`http` checks that got an answer).
    pub http_status: Option<u16>,
    /// How long each phase took.
    pub timings: Timings,
    /// The certificate facts of `https` and `tls` checks that got a certificate.
    pub tls: Option<TlsFacts>,
    /// What went wrong or right, for the log (never published; no credentials).
    pub detail: String,
    /// When the check ended.
    pub at: SystemTime,
}

/// A failed step: its reason and a line for the log.
#[derive(Debug)]
pub struct Fail {
    /// The reason published.
    pub reason: Reason,
    /// What happened, for the log.
    pub detail: String,
    /// [`Verdict::Unknown`] instead of down.
    pub unknown: bool,
}

impl Fail {
    /// A failure for `reason`.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            unknown: false,
        }
    }
}

/// What a successful step of a check returns to [`run`].
#[derive(Debug, Default)]
pub struct Found {
    /// The HTTP status, for `http` checks.
    pub http_status: Option<u16>,
    /// The certificate facts, for TLS checks.
    pub tls: Option<TlsFacts>,
    /// Why the service is not up although the check ran through (a status or body the
    /// probe does not accept), else `None`.
    pub failed: Option<Reason>,
    /// A line for the log.
    pub detail: String,
}

/// What the checks share: the trusted roots for TLS.
#[derive(Debug, Default)]
pub struct Context {
    /// The system's trusted certificate authorities, loaded once on first use.
    pub roots: tls::Roots,
}

/// Runs one check of `spec`, bounded by its timeout.
pub async fn run(spec: &ProbeSpec, cx: &Context) -> Finding {
    let mut trace = Trace::new();
    let limit = Duration::from_millis(spec.timeout_ms);
    // The check borrows `trace`; the borrow ends with the (finished or dropped) future.
    let result = tokio::time::timeout(limit, check(spec, cx, &mut trace)).await;
    let result = match result {
        Ok(r) => r,
        Err(_) => {
            let reason = match trace.running.map(|(p, _)| p) {
                Some(Phase::Dns) => Reason::DnsTimeout,
                _ if spec.kind == CheckKind::Icmp => Reason::IcmpNoReply,
                Some(Phase::Connect) => Reason::ConnectTimeout,
                _ => Reason::Timeout,
            };
            Err((
                Fail::new(reason, format!("no answer within {limit:?}")),
                None,
                None,
            ))
        }
    };
    trace.timings.total = trace.start.elapsed();
    let at = SystemTime::now();
    match result {
        Ok(found) => Finding {
            verdict: match found.failed {
                None => Verdict::Up,
                Some(r) => Verdict::Down(r),
            },
            http_status: found.http_status,
            timings: trace.timings,
            tls: found.tls,
            detail: found.detail,
            at,
        },
        Err((fail, http_status, tls)) => Finding {
            verdict: if fail.unknown {
                Verdict::Unknown(fail.reason)
            } else {
                Verdict::Down(fail.reason)
            },
            http_status,
            timings: trace.timings,
            tls,
            detail: fail.detail,
            at,
        },
    }
}

/// A failed check with what it learnt before failing (HTTP status, certificate facts).
pub type Failed = (Fail, Option<u16>, Option<TlsFacts>);

async fn check(spec: &ProbeSpec, cx: &Context, trace: &mut Trace) -> Result<Found, Failed> {
    match spec.kind {
        CheckKind::Http => http::check(spec, cx, trace).await,
        CheckKind::Tcp => net::check(spec, cx, trace).await,
        CheckKind::Dns => dns::check(spec, trace).await.map_err(|f| (f, None, None)),
        CheckKind::Icmp => icmp::check(spec, trace).await.map_err(|f| (f, None, None)),
        // Push monitors are judged by their heartbeats, never checked over the network.
        CheckKind::Push => Err((
            Fail::new(Reason::MissedHeartbeat, "a push monitor is not probed"),
            None,
            None,
        )),
    }
}
