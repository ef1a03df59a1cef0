//! Notifications of state changes to ntfy or a webhook (`[alerts]`): one per transition,
//! a flapping service summed up in one notice, deliveries retried with backoff in tasks
//! of their own (a check never waits for a notifier), and each notifier's deliveries
//! counted for `/metrics` (`kitestacks_portal_notifications_*`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use kitestacks_core::{AlertEvent, AlertRule, AlertsConfig, Config, Notifier, NotifierKind};
use kitestacks_metrics::Sample;
use kitestacks_metrics::exposition::Scrape;
use serde::Serialize;

use super::checks::Reason;
use super::unix_seconds as unix;

/// Delivery attempts per notification.
const ATTEMPTS: u32 = 5;
/// The first retry's delay; each next one doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Counters of one notifier.
#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    /// 1 after a delivery that worked, 0 after one that gave up; u64::MAX before any.
    up: AtomicU64,
}

/// What a service is, for messages.
#[derive(Debug, Clone)]
struct ServiceInfo {
    id: String,
    name: String,
    hosts: String,
    link: Option<String>,
}

/// Per service: recent transitions and what was already said.
#[derive(Debug, Default, Clone)]
struct Memory {
    flips: VecDeque<SystemTime>,
    flapping: bool,
    cert_noticed: bool,
    down_noticed: bool,
}

/// What happened to a service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// It went down, for this reason, since then.
    Down(Reason, SystemTime),
    /// It is up again, after being down since then.
    Up(SystemTime),
}

/// The webhook's JSON body.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    event: &'a str,
    service: &'a str,
    name: &'a str,
    hosts: &'a str,
    reason: Option<&'a str>,
    since_seconds: Option<f64>,
    message: &'a str,
    link: Option<&'a str>,
}

/// A host rule's state: since when its value has been above the threshold, and
/// whether it has fired for this stretch.
#[derive(Debug, Clone, Default)]
struct Watch {
    above_since: Option<f64>,
    fired: bool,
}

impl Watch {
    /// Takes a reading at `t` (seconds); true when the rule fires now.
    fn observe(&mut self, t: f64, value: Option<f64>, above: f64, lasting: f64) -> bool {
        match value {
            Some(v) if v > above => {
                let since = *self.above_since.get_or_insert(t);
                if !self.fired && t - since >= lasting {
                    self.fired = true;
                    return true;
                }
                false
            }
            _ => {
                *self = Watch::default();
                false
            }
        }
    }
}

/// A notification before it is addressed.
struct Draft {
    event: &'static str,
    title: String,
    message: String,
    reason: Option<Reason>,
    since: Option<SystemTime>,
    priority: Option<u8>,
}

/// One notification, ready to deliver.
struct Note {
    title: String,
    message: String,
    payload: String,
    priority: u8,
    tags: Vec<String>,
    link: Option<String>,
}

/// The alerter.
pub struct Alerts {
    config: AlertsConfig,
    services: Vec<ServiceInfo>,
    /// Per rule (host rules only used): how long its value has been above threshold.
    watches: Mutex<Vec<Watch>>,
    /// Per container cgroup: the OOM kill already notified (its sample's time).
    oom_told: Mutex<HashMap<String, f64>>,
    memory: Mutex<Vec<Memory>>,
    counters: Vec<Arc<Counters>>,
    client: reqwest::Client,
}

fn when(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

impl Alerts {
    /// The alerter of `config`'s `[alerts]`, for the services `ids` (the prober's targets,
    /// in its order).
    pub fn new(config: &Config, ids: &[&str]) -> anyhow::Result<Self> {
        let services = ids
            .iter()
            .map(|id| {
                let s = config.registry.service(id);
                ServiceInfo {
                    id: (*id).to_owned(),
                    name: s.map_or_else(|| (*id).to_owned(), |s| s.name.clone()),
                    hosts: s.map(|s| s.hosts.join(", ")).unwrap_or_default(),
                    link: match &config.alerts.link {
                        Some(link) => Some(format!("{link}#{id}")),
                        None => s
                            .and_then(|s| s.url.as_ref())
                            .map(|u| kitestacks_core::redacted(u).to_string()),
                    },
                }
            })
            .collect();
        let client = reqwest::Client::builder()
            .user_agent(super::probe::USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            counters: config
                .alerts
                .notify
                .iter()
                .map(|_| {
                    let c = Counters::default();
                    c.up.store(u64::MAX, Ordering::Relaxed);
                    Arc::new(c)
                })
                .collect(),
            memory: Mutex::new(vec![Memory::default(); ids.len()]),
            watches: Mutex::new(vec![Watch::default(); config.alerts.rules.len()]),
            oom_told: Mutex::new(HashMap::new()),
            config: config.alerts.clone(),
            services,
            client,
        })
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Vec<Memory>> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Service `i` changed state at `at`: notifies the rules for it, once, unless the
    /// service is flapping (then one `flapping` notice for the lot).
    pub fn changed(&self, i: usize, change: Change, at: SystemTime) {
        if self.config.notify.is_empty() {
            return;
        }
        let (flapping_now, suppressed) = {
            let mut memory = self.memory();
            let m = &mut memory[i];
            m.flips.push_back(at);
            while m.flips.front().is_some_and(|t| {
                at.duration_since(*t).unwrap_or_default() > self.config.flap_window
            }) {
                m.flips.pop_front();
            }
            let flapping = m.flips.len() >= self.config.flap_count;
            let started = flapping && !m.flapping;
            m.flapping = flapping;
            // An `up` only follows a `down` that was said (or a flapping notice).
            let silent_up = matches!(change, Change::Up(_)) && !m.down_noticed;
            if started {
                m.down_noticed = true;
            } else if !flapping {
                m.down_noticed = matches!(change, Change::Down(..));
            }
            (started, flapping || silent_up)
        };
        let s = &self.services[i];
        if flapping_now {
            let message = format!(
                "{} on {} is flapping: {} changes within {}s; notices paused until it settles",
                s.name,
                s.hosts,
                self.config.flap_count,
                self.config.flap_window.as_secs()
            );
            let draft = Draft {
                event: "flapping",
                title: format!("{} flapping", s.name),
                message,
                reason: None,
                since: None,
                priority: Some(3),
            };
            return self.send(AlertEvent::Down, i, draft);
        }
        if suppressed {
            return;
        }
        let on = match change {
            Change::Down(Reason::MissedHeartbeat, _) => AlertEvent::PushMissed,
            Change::Down(..) => AlertEvent::Down,
            Change::Up(_) => AlertEvent::Up,
        };
        let draft = match change {
            Change::Down(reason, since) => Draft {
                event: on.as_str(),
                title: format!("{} down", s.name),
                message: format!(
                    "{} on {} is down: {} since {}",
                    s.name,
                    s.hosts,
                    reason.as_str(),
                    when(since)
                ),
                reason: Some(reason),
                since: Some(since),
                priority: None,
            },
            Change::Up(since) => Draft {
                event: on.as_str(),
                title: format!("{} up", s.name),
                message: format!(
                    "{} on {} is up again, after being down since {}",
                    s.name,
                    s.hosts,
                    when(since)
                ),
                reason: None,
                since: Some(since),
                priority: None,
            },
        };
        self.send(on, i, draft);
    }

    /// Service `i`'s certificate has `days` left: one notice per approach (again only
    /// after it was renewed past the rule's days).
    pub fn certificate(&self, i: usize, days: f64) {
        let Some(rule_days) = self
            .config
            .rules
            .iter()
            .filter(|r| r.on == AlertEvent::CertExpiring)
            .map(|r| r.days)
            .max()
        else {
            return;
        };
        let due = days < f64::from(rule_days);
        {
            let mut memory = self.memory();
            let m = &mut memory[i];
            if !due || m.cert_noticed {
                m.cert_noticed &= due;
                return;
            }
            m.cert_noticed = true;
        }
        let s = &self.services[i];
        let message = format!(
            "{} on {}: its certificate expires in {:.0} days",
            s.name, s.hosts, days
        );
        let draft = Draft {
            event: AlertEvent::CertExpiring.as_str(),
            title: format!("{} certificate", s.name),
            message,
            reason: None,
            since: None,
            priority: None,
        };
        self.send(AlertEvent::CertExpiring, i, draft);
    }

    /// Delivers a notification to the notifiers of the rules on `on` (the first rule
    /// naming each notifier, or naming none), each in a task of its own.
    fn send(&self, on: AlertEvent, i: usize, draft: Draft) {
        let rules: Vec<&AlertRule> = self.config.rules.iter().filter(|r| r.on == on).collect();
        self.dispatch(&rules, &self.services[i], &draft);
    }

    fn dispatch(&self, rules: &[&AlertRule], s: &ServiceInfo, draft: &Draft) {
        let payload = serde_json::to_string(&Payload {
            event: draft.event,
            service: &s.id,
            name: &s.name,
            hosts: &s.hosts,
            reason: draft.reason.map(Reason::as_str),
            since_seconds: draft.since.map(unix),
            message: &draft.message,
            link: s.link.as_deref(),
        })
        .unwrap_or_default();
        for (n, notifier) in self.config.notify.iter().enumerate() {
            let Some(rule) = rules
                .iter()
                .find(|r| r.notify.is_empty() || r.notify.contains(&notifier.name))
            else {
                continue;
            };
            let note = Note {
                title: draft.title.clone(),
                message: draft.message.clone(),
                payload: payload.clone(),
                priority: draft.priority.unwrap_or(rule.priority),
                tags: rule.tags.clone(),
                link: s.link.clone(),
            };
            let counters = self.counters[n].clone();
            tokio::spawn(deliver(
                self.client.clone(),
                notifier.clone(),
                counters,
                note,
            ));
        }
    }

    /// Judges the host rules (`cpu`, `memory`, `filesystem`) against a sample: a rule
    /// whose value has stayed above its threshold for its `for` notifies once, and again
    /// only after the value went back under. Then the `oom_kill` rules.
    pub fn host_sample(&self, sample: &Sample) {
        if self.config.notify.is_empty() {
            return;
        }
        let host = &sample.host.hostname;
        self.oom_kills(sample);
        for (r, rule) in self.config.rules.iter().enumerate() {
            if !rule.on.is_host() {
                continue;
            }
            let (value, what) = match rule.on {
                AlertEvent::Cpu => (
                    sample.cpu.as_ref().and_then(|c| c.busy_percent),
                    "CPU".to_owned(),
                ),
                AlertEvent::Memory => (
                    sample.memory.as_ref().map(|m| m.used_percent),
                    "memory".to_owned(),
                ),
                _ => {
                    let fullest = sample
                        .filesystems
                        .iter()
                        .filter(|f| rule.mount.as_ref().is_none_or(|m| &f.mount_point == m))
                        .max_by(|a, b| a.used_percent.total_cmp(&b.used_percent));
                    match fullest {
                        Some(f) => (
                            Some(f.used_percent),
                            format!("filesystem {}", f.mount_point),
                        ),
                        None => (None, "filesystem".to_owned()),
                    }
                }
            };
            let fires = self.watches.lock().unwrap_or_else(|p| p.into_inner())[r].observe(
                sample.timestamp_seconds,
                value,
                rule.above,
                rule.lasting.as_secs_f64(),
            );
            let (true, Some(value)) = (fires, value) else {
                continue;
            };
            let who = ServiceInfo {
                id: String::new(),
                name: host.clone(),
                hosts: host.clone(),
                link: self.config.link.as_ref().map(ToString::to_string),
            };
            let draft = Draft {
                event: rule.on.as_str(),
                title: format!("{host} {what}"),
                message: format!(
                    "{host}: {what} at {value:.0}%, above {}% for {}s",
                    rule.above,
                    rule.lasting.as_secs()
                ),
                reason: None,
                since: None,
                priority: None,
            };
            self.dispatch(&[rule], &who, &draft);
        }
    }

    /// The `oom_kill` rules: one notice per container whose OOM kill count went up in a
    /// sample (the sampler marks it with `last_oom_kill_seconds`), however often the same
    /// sample is judged.
    fn oom_kills(&self, sample: &Sample) {
        let rules: Vec<&AlertRule> = self
            .config
            .rules
            .iter()
            .filter(|r| r.on == AlertEvent::OomKill)
            .collect();
        let Some(containers) = sample.containers.as_ref().filter(|_| !rules.is_empty()) else {
            return;
        };
        let host = &sample.host.hostname;
        let mut told = self.oom_told.lock().unwrap_or_else(|p| p.into_inner());
        told.retain(|cgroup, _| containers.containers.iter().any(|c| &c.cgroup == cgroup));
        for c in &containers.containers {
            let Some(memory) = &c.memory else { continue };
            let Some(at) = memory.last_oom_kill_seconds else {
                continue;
            };
            if told.insert(c.cgroup.clone(), at) == Some(at) {
                continue;
            }
            let total = memory
                .oom_kills_total
                .map_or_else(String::new, |n| format!(" ({n} in all)"));
            let limit = memory
                .limit_bytes
                .map_or_else(String::new, |l| format!(", limit {} MiB", l >> 20));
            let who = ServiceInfo {
                id: String::new(),
                name: c.name.clone(),
                hosts: host.clone(),
                link: self.config.link.as_ref().map(ToString::to_string),
            };
            let draft = Draft {
                event: AlertEvent::OomKill.as_str(),
                title: format!("{host} {} OOM kill", c.name),
                message: format!(
                    "{host}: container {} had a process killed for memory{total}{limit}",
                    c.name
                ),
                reason: None,
                since: Some(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(at.max(0.0))),
                priority: None,
            };
            self.dispatch(&rules, &who, &draft);
        }
    }

    /// `kitestacks_portal_notifications_sent_total`, `_failed_total`, `_retries_total`
    /// and `kitestacks_portal_notifier_up` per notifier.
    pub fn collect(&self, scrape: &mut Scrape) {
        for (n, c) in self.config.notify.iter().zip(&self.counters) {
            let labels = [("notifier", n.name.as_str())];
            scrape.counter(
                "kitestacks_portal_notifications_sent_total",
                "Notifications delivered, by notifier.",
                &labels,
                c.sent.load(Ordering::Relaxed) as f64,
            );
            scrape.counter(
                "kitestacks_portal_notifications_failed_total",
                "Notifications given up after every retry, by notifier.",
                &labels,
                c.failed.load(Ordering::Relaxed) as f64,
            );
            scrape.counter(
                "kitestacks_portal_notifications_retries_total",
                "Delivery attempts that failed and were retried, by notifier.",
                &labels,
                c.retries.load(Ordering::Relaxed) as f64,
            );
            let up = c.up.load(Ordering::Relaxed);
            if up != u64::MAX {
                scrape.gauge(
                    "kitestacks_portal_notifier_up",
                    "Whether the notifier's latest delivery worked (1) or gave up (0).",
                    &labels,
                    up as f64,
                );
            }
        }
    }
}

/// Delivers one notification, retrying with backoff.
async fn deliver(client: reqwest::Client, notifier: Notifier, counters: Arc<Counters>, note: Note) {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let mut req = client.post(notifier.url.clone());
        req = match notifier.kind {
            NotifierKind::Ntfy => {
                let mut r = req
                    .header("Title", note.title.as_str())
                    .header("Priority", note.priority.to_string())
                    .body(note.message.clone());
                if !note.tags.is_empty() {
                    r = r.header("Tags", note.tags.join(","));
                }
                if let Some(link) = &note.link {
                    r = r.header("Click", link.as_str());
                }
                r
            }
            NotifierKind::Webhook => req
                .header("Content-Type", "application/json")
                .body(note.payload.clone()),
        };
        if let Some(token) = &notifier.token {
            req = req.bearer_auth(token.expose());
        } else if let Some((user, password)) = &notifier.basic {
            req = req.basic_auth(user, Some(password.expose()));
        }
        let outcome = match req.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("status {}", r.status().as_u16())),
            Err(e) => Err(super::failure::chain(&e.without_url())),
        };
        match outcome {
            Ok(()) => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                counters.up.store(1, Ordering::Relaxed);
                return;
            }
            Err(e) if attempt < ATTEMPTS => {
                counters.retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(notifier = %notifier.name, "notification failed, retrying: {e}");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(e) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                counters.up.store(0, Ordering::Relaxed);
                tracing::warn!(notifier = %notifier.name, "notification given up after {ATTEMPTS} attempts: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_rule_fires_once_after_its_duration_and_again_only_after_a_dip() {
        let mut w = Watch::default();
        let fire = |w: &mut Watch, t: f64, v: Option<f64>| w.observe(t, v, 90.0, 300.0);
        assert!(
            !fire(&mut w, 0.0, Some(95.0)),
            "above, but not for long yet"
        );
        assert!(!fire(&mut w, 200.0, Some(99.0)));
        assert!(fire(&mut w, 300.0, Some(91.0)), "5 minutes above");
        assert!(!fire(&mut w, 400.0, Some(97.0)), "once per stretch");
        assert!(!fire(&mut w, 500.0, Some(80.0)));
        assert!(
            !fire(&mut w, 600.0, Some(95.0)),
            "the clock starts again after a dip"
        );
        assert!(!fire(&mut w, 700.0, None), "no reading is no stretch");
        assert!(!fire(&mut w, 800.0, Some(95.0)));
        assert!(fire(&mut w, 1100.0, Some(95.0)));
    }
}
