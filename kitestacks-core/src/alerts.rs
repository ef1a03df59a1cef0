//! `[alerts]`: where notifications go (`[[alerts.notify]]`: ntfy or a webhook) and when
//! (`[[alerts.rules]]`, or the default rules: down, back up, a certificate expiring within
//! 14 days, a push missed), validated from its raw serde layer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::duration::ConfigDuration;
use crate::error::Problem;
use crate::secret::Secret;

/// How a notifier is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifierKind {
    /// An ntfy topic: `POST` of the message to `url` (server and topic), with `Title`,
    /// `Priority`, `Tags` and `Click` headers.
    Ntfy,
    /// A JSON `POST` to `url`.
    Webhook,
}

/// What a rule fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    /// A service went down.
    Down,
    /// A service that was down is up again.
    Up,
    /// A service's certificate expires within the rule's `days`.
    CertExpiring,
    /// A push monitor missed its heartbeat.
    PushMissed,
    /// The host's CPU is busier than `above` percent for `for`.
    Cpu,
    /// The host's memory is fuller than `above` percent for `for`.
    Memory,
    /// A filesystem (`mount`, or any) is fuller than `above` percent for `for`.
    Filesystem,
    /// The kernel's OOM killer killed a process in a container (its `memory.events`
    /// `oom_kill` count went up between two samples).
    OomKill,
}

impl AlertEvent {
    /// The event's name in messages and webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertEvent::Down => "down",
            AlertEvent::Up => "up",
            AlertEvent::CertExpiring => "cert_expiring",
            AlertEvent::PushMissed => "push_missed",
            AlertEvent::Cpu => "cpu",
            AlertEvent::Memory => "memory",
            AlertEvent::Filesystem => "filesystem",
            AlertEvent::OomKill => "oom_kill",
        }
    }

    /// Whether the rule watches the host (with `above` and `for`) rather than a service
    /// (`oom_kill` watches the host's containers, with neither).
    pub fn is_host(self) -> bool {
        matches!(
            self,
            AlertEvent::Cpu | AlertEvent::Memory | AlertEvent::Filesystem
        )
    }
}

/// One place notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifier {
    /// Its name, unique (the `notify` of rules and the `notifier` label in `/metrics`).
    pub name: String,
    /// ntfy or webhook.
    pub kind: NotifierKind,
    /// Where to `POST`.
    pub url: Url,
    /// An access token (`Authorization: Bearer`), from `token_file` or
    /// `KITESTACKS_NOTIFY_TOKEN_<NAME>`.
    pub token: Option<Secret>,
    /// Basic auth: the user, with the password from `password_file` or
    /// `KITESTACKS_NOTIFY_PASSWORD_<NAME>`.
    pub basic: Option<(String, Secret)>,
}

/// When to notify, and how loudly.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// What it fires on.
    pub on: AlertEvent,
    /// The notifiers it goes to (all when empty).
    pub notify: Vec<String>,
    /// ntfy priority, 1 (min) to 5 (max).
    pub priority: u8,
    /// ntfy tags (emoji short codes or words).
    pub tags: Vec<String>,
    /// `cert_expiring`: how many days before expiry.
    pub days: u32,
    /// Host rules: the threshold, in percent.
    pub above: f64,
    /// Host rules: how long the value must stay above it.
    pub lasting: Duration,
    /// `filesystem`: the mount point watched (all when `None`).
    pub mount: Option<String>,
}

impl Eq for AlertRule {}

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// The notifiers; none: nothing is sent.
    pub notify: Vec<Notifier>,
    /// The rules: the configured ones, or [`AlertsConfig::default_rules`].
    pub rules: Vec<AlertRule>,
    /// The portal's public address, linked from every message (`<link>#<service id>`);
    /// without it, the service's own URL.
    pub link: Option<Url>,
    /// A service that changes state this many times within `flap_window` is flapping:
    /// one notice, then silence until it settles (default 4).
    pub flap_count: usize,
    /// See `flap_count` (default 10 min).
    pub flap_window: Duration,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            notify: Vec::new(),
            rules: Self::default_rules(),
            link: None,
            flap_count: 4,
            flap_window: Duration::from_secs(600),
        }
    }
}

impl AlertsConfig {
    /// The rules every notifier gets when none is configured.
    pub fn default_rules() -> Vec<AlertRule> {
        let rule = |on, priority, tag: &str, days| AlertRule {
            on,
            notify: Vec::new(),
            priority,
            tags: vec![tag.to_owned()],
            days,
            above: 0.0,
            lasting: Duration::ZERO,
            mount: None,
        };
        vec![
            rule(AlertEvent::Down, 4, "rotating_light", 0),
            rule(AlertEvent::Up, 3, "white_check_mark", 0),
            rule(AlertEvent::CertExpiring, 3, "lock", 14),
            rule(AlertEvent::PushMissed, 4, "alarm_clock", 0),
        ]
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    link: Option<String>,
    flap_count: Option<i64>,
    flap_window: Option<ConfigDuration>,
    #[serde(default)]
    notify: Vec<RawNotifier>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotifier {
    name: String,
    kind: NotifierKind,
    url: String,
    token_file: Option<PathBuf>,
    user: Option<String>,
    password_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    on: AlertEvent,
    notify: Option<Vec<String>>,
    priority: Option<i64>,
    tags: Option<Vec<String>>,
    days: Option<i64>,
    above: Option<f64>,
    #[serde(rename = "for")]
    lasting: Option<ConfigDuration>,
    mount: Option<String>,
}

/// `NAME` of an environment variable for notifier `name`: upper case, `-` as `_`.
fn env_name(prefix: &str, name: &str) -> String {
    format!("{prefix}{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// Validates `[alerts]`, adding what is wrong to `problems`.
pub(crate) fn validate(
    raw: RawAlerts,
    base_dir: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) -> AlertsConfig {
    let mut a = AlertsConfig::default();
    let resolve = |p: PathBuf| match base_dir {
        Some(base) if p.is_relative() => base.join(p),
        _ => p,
    };
    if let Some(link) = raw.link {
        match Url::parse(&link) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => a.link = Some(u),
            _ => problems.push(Problem::new(
                "alerts.link",
                format!("{link:?} is not an http(s) URL"),
            )),
        }
    }
    match raw.flap_count.map(usize::try_from) {
        None => {}
        Some(Ok(n @ 2..=100)) => a.flap_count = n,
        Some(_) => problems.push(Problem::new(
            "alerts.flap_count",
            format!(
                "{} is not between 2 and 100",
                raw.flap_count.unwrap_or_default()
            ),
        )),
    }
    if let Some(ConfigDuration(d)) = raw.flap_window {
        if d < Duration::from_secs(10) || d > Duration::from_secs(86_400) {
            problems.push(Problem::new(
                "alerts.flap_window",
                "must be between 10s and 1d",
            ));
        } else {
            a.flap_window = d;
        }
    }
    for (i, n) in raw.notify.into_iter().enumerate() {
        let key = format!("alerts.notify[{i}]");
        if n.name.is_empty()
            || !n
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            problems.push(Problem::new(
                format!("{key}.name"),
                format!("{:?} is not a name (letters, digits, '-', '_')", n.name),
            ));
            continue;
        }
        if a.notify.iter().any(|o| o.name == n.name) {
            problems.push(Problem::new(
                format!("{key}.name"),
                format!("duplicate notifier {:?}", n.name),
            ));
            continue;
        }
        let url = match Url::parse(&n.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
            _ => {
                problems.push(Problem::new(
                    format!("{key}.url"),
                    "is not an http(s) URL with a host",
                ));
                continue;
            }
        };
        let token = match Secret::resolve(
            &format!("{key}.token_file"),
            &env_name("KITESTACKS_NOTIFY_TOKEN_", &n.name),
            n.token_file.map(resolve).as_deref(),
            env,
        ) {
            Ok(t) => t,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let password_var = env_name("KITESTACKS_NOTIFY_PASSWORD_", &n.name);
        let basic = match (n.user, n.password_file) {
            (None, None) if env(&password_var).is_none() => None,
            (Some(user), file) => match Secret::resolve(
                &format!("{key}.password_file"),
                &password_var,
                file.map(resolve).as_deref(),
                env,
            ) {
                Ok(Some(p)) => Some((user, p)),
                Ok(None) => {
                    problems.push(Problem::new(
                        format!("{key}.password_file"),
                        format!("user is set: set password_file or {password_var}"),
                    ));
                    None
                }
                Err(p) => {
                    problems.push(p);
                    None
                }
            },
            (None, _) => {
                problems.push(Problem::new(
                    format!("{key}.user"),
                    "a password needs a user",
                ));
                None
            }
        };
        if token.is_some() && basic.is_some() {
            problems.push(Problem::new(
                format!("{key}.token_file"),
                "set either a token or user and password, not both",
            ));
        }
        a.notify.push(Notifier {
            name: n.name,
            kind: n.kind,
            url,
            token,
            basic,
        });
    }
    if !raw.rules.is_empty() {
        a.rules.clear();
    }
    for (i, r) in raw.rules.into_iter().enumerate() {
        let key = format!("alerts.rules[{i}]");
        let host_default = AlertRule {
            on: r.on,
            notify: Vec::new(),
            priority: 4,
            tags: vec!["warning".to_owned()],
            days: 0,
            above: 0.0,
            lasting: Duration::from_secs(300),
            mount: None,
        };
        let default = AlertsConfig::default_rules()
            .into_iter()
            .find(|d| d.on == r.on)
            .unwrap_or(host_default);
        let above = match (r.on.is_host(), r.above) {
            (true, Some(a)) if a > 0.0 && a < 100.0 => a,
            (true, Some(a)) => {
                problems.push(Problem::new(
                    format!("{key}.above"),
                    format!("{a} is not a percentage between 0 and 100"),
                ));
                0.0
            }
            (true, None) => {
                problems.push(Problem::new(
                    format!("{key}.above"),
                    format!("a {} rule needs a threshold in percent", r.on.as_str()),
                ));
                0.0
            }
            (false, Some(_)) => {
                problems.push(Problem::new(
                    format!("{key}.above"),
                    "applies only to cpu, memory and filesystem rules",
                ));
                0.0
            }
            (false, None) => 0.0,
        };
        let lasting = match (r.on.is_host(), r.lasting) {
            (true, Some(ConfigDuration(d))) if d <= Duration::from_secs(86_400) => d,
            (true, Some(_)) => {
                problems.push(Problem::new(format!("{key}.for"), "must be at most 1d"));
                default.lasting
            }
            (false, Some(_)) => {
                problems.push(Problem::new(
                    format!("{key}.for"),
                    "applies only to cpu, memory and filesystem rules",
                ));
                Duration::ZERO
            }
            (_, None) => default.lasting,
        };
        if r.mount.is_some() && r.on != AlertEvent::Filesystem {
            problems.push(Problem::new(
                format!("{key}.mount"),
                "applies only to on = \"filesystem\"",
            ));
        }
        let notify = r.notify.unwrap_or_default();
        for name in &notify {
            if !a.notify.iter().any(|n| &n.name == name) {
                problems.push(Problem::new(
                    format!("{key}.notify"),
                    format!("no notifier named {name:?} in [[alerts.notify]]"),
                ));
            }
        }
        let priority = match r.priority.map(u8::try_from) {
            None => default.priority,
            Some(Ok(p @ 1..=5)) => p,
            Some(_) => {
                problems.push(Problem::new(
                    format!("{key}.priority"),
                    format!(
                        "{} is not an ntfy priority (1 to 5)",
                        r.priority.unwrap_or_default()
                    ),
                ));
                default.priority
            }
        };
        let days = match r.days.map(u32::try_from) {
            _ if r.on != AlertEvent::CertExpiring && r.days.is_some() => {
                problems.push(Problem::new(
                    format!("{key}.days"),
                    "applies only to on = \"cert_expiring\"",
                ));
                0
            }
            None => default.days,
            Some(Ok(d @ 1..=365)) => d,
            Some(_) => {
                problems.push(Problem::new(
                    format!("{key}.days"),
                    "must be between 1 and 365",
                ));
                default.days
            }
        };
        a.rules.push(AlertRule {
            on: r.on,
            notify,
            priority,
            tags: r.tags.unwrap_or(default.tags),
            days,
            above,
            lasting,
            mount: r.mount,
        });
    }
    a
}
