//! The configuration file: a raw serde layer (`deny_unknown_fields`) validated into a
//! typed [`Config`]. A file is only ever named explicitly; without one the embedded
//! default (the homelab of the original system, as a demo that contacts nobody) is used.
//!
//! Reading goes in three steps, each reporting every problem it finds: the keys
//! (unknown ones, with a suggestion, and misshapen sections: [`crate::keys`]), the
//! types (each section and each `[[hosts]]`/`[[services]]` entry on its own, so one bad
//! entry does not hide the next), then the values ([`Validator`]).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use url::Url;

use crate::duration::{self, ConfigDuration};
use crate::error::{ConfigError, Position, Problem};
use crate::keys::{self, Keys, Schema, Section};
mod fleet;
pub use fleet::{FLEET_PASSWORD_ENV, FLEET_TOKEN_ENV, FleetAuth, FleetConfig};

use crate::registry::{
    AuthMethod, Category, CheckKind, DnsRecord, Host, HostRole, ProbeMethod, ProbeSpec, PushSpec,
    Registry, Service, StatusRange, Visibility,
};

/// The embedded default configuration, as TOML (what `--print-default-config` prints).
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default.toml");

const EMBEDDED: &str = "<embedded default>";
const LONGEST_TIMEOUT: Duration = Duration::from_secs(60);
const LONGEST_SERVER_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the configuration came from: a file name or `<embedded default>`.
    pub origin: String,
    /// The homelab as a whole.
    pub homelab: HomelabConfig,
    /// The HTTP server.
    pub server: ServerConfig,
    /// Host metrics.
    pub metrics: MetricsConfig,
    /// Recent commits from Forgejo.
    pub forgejo: ForgejoConfig,
    /// Current weather.
    pub weather: WeatherConfig,
    /// Service status probes.
    pub status: StatusConfig,
    /// History of the sampled figures.
    pub history: HistoryConfig,
    /// Live updates (server-sent events).
    pub events: EventsConfig,
    /// Every host's figures from Prometheus; `None` (off) without `[fleet]`.
    pub fleet: Option<FleetConfig>,
    /// Notifications of state changes.
    pub alerts: crate::alerts::AlertsConfig,
    /// The hosts and services.
    pub registry: Registry,
}

/// `[homelab]`: settings that concern every service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomelabConfig {
    /// Name shown by the page (default `kitestacks`).
    pub name: String,
    /// Base domain: a service's `subdomain` is published at
    /// `https://<subdomain>.<base_domain>/`. No default: required when a service uses
    /// `subdomain`.
    pub base_domain: Option<String>,
}

/// `[server]`: the HTTP server of the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Listen address (default `127.0.0.1:8000`).
    pub listen: SocketAddr,
    /// Directory served at `/` (the portal page), if any. Relative paths are resolved
    /// against the configuration file's directory.
    pub static_dir: Option<PathBuf>,
    /// Origins allowed by CORS; empty (the default) turns CORS off. `*` allows any.
    pub cors_allow_origins: Vec<String>,
    /// Most connections open at once; when all are taken the idlest is closed to make
    /// room, and when none is idle further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Most connections one client address may hold (default half of
    /// `max_connections`; 0 turns the share off, e.g. behind a reverse proxy on the
    /// same host, where every client shares the proxy's address).
    pub max_connections_per_address: usize,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long an open connection may stay without a request before it is closed.
    pub idle_timeout: Duration,
    /// How long a connection that owes a response may deliver none of it (the client
    /// stopped reading, or keeps its HTTP/2 window shut) before it is closed.
    pub write_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// An exporter-toolkit web config file (the YAML node_exporter's
    /// `--web.config.file` reads): TLS, basic auth and response headers for the portal.
    /// Relative paths are resolved against the configuration file's directory. Its
    /// contents are validated by the server, which knows the format; here it only has to
    /// be a file.
    pub web_config: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            static_dir: None,
            cors_allow_origins: Vec::new(),
            max_connections: 512,
            max_connections_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            web_config: None,
        }
    }
}

/// `[metrics]`: how the host is sampled. Patterns left unset take the metrics
/// library's defaults (node_exporter's); they are validated as regular expressions here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// How often the host is sampled (default 2 s, at least 500 ms). Requests are
    /// answered from the latest sample, so this, not the number of open tabs, sets the cost.
    pub interval: Duration,
    /// Where the host's procfs is mounted (default `/proc`).
    pub procfs: PathBuf,
    /// Where the host's sysfs is mounted (default `/sys`).
    pub sysfs: PathBuf,
    /// Where the host's root filesystem is mounted (default `/`).
    pub rootfs: PathBuf,
    /// Mount points to leave out.
    pub mount_points_exclude: Option<String>,
    /// If set, only these mount points.
    pub mount_points_include: Option<String>,
    /// Filesystem types to leave out.
    pub fs_types_exclude: Option<String>,
    /// Block devices to leave out.
    pub disks_exclude: Option<String>,
    /// Network interfaces to leave out.
    pub interfaces_exclude: Option<String>,
    /// If set, only these network interfaces.
    pub interfaces_include: Option<String>,
    /// Leave out interfaces sysfs lists as virtual (default true).
    pub exclude_virtual_interfaces: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            procfs: PathBuf::from("/proc"),
            sysfs: PathBuf::from("/sys"),
            rootfs: PathBuf::from("/"),
            mount_points_exclude: None,
            mount_points_include: None,
            fs_types_exclude: None,
            disks_exclude: None,
            interfaces_exclude: None,
            interfaces_include: None,
            exclude_virtual_interfaces: true,
        }
    }
}

/// The environment variable the Forgejo token is read from (it wins over `token_file`).
pub const FORGEJO_TOKEN_ENV: &str = "KITESTACKS_FORGEJO_TOKEN";

/// `[forgejo]`: recent commits for `/api/activity`. Off without `url` (the default): the
/// route answers 503 `not_configured` and Forgejo is never contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgejoConfig {
    /// The Forgejo (or Gitea) base URL, e.g. `https://git.example.com/`; `None` is off.
    pub url: Option<Url>,
    /// The API token, from `KITESTACKS_FORGEJO_TOKEN` or the file named by `token_file`;
    /// without one only public repositories are seen.
    pub token: Option<crate::Secret>,
    /// How many commits `/api/activity` returns (1–50, default 10).
    pub limit: usize,
    /// Only repositories of this user or organisation.
    pub owner: Option<String>,
    /// Whether `/api/activity` shows commits of repositories the public cannot see
    /// (private or internal repositories, or those of a private or limited owner) when the
    /// token can (default false: the homepage is public, the token is not).
    pub include_private: bool,
    /// How long fetched commits are served before Forgejo is asked again (default 60 s).
    pub refresh: Duration,
    /// How long one request to Forgejo may take (default 10 s).
    pub timeout: Duration,
}

impl Default for ForgejoConfig {
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            limit: 10,
            owner: None,
            include_private: false,
            refresh: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Which weather service `/api/weather` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeatherProviderKind {
    /// wttr.in (`format=j1`): a place name or coordinates.
    Wttr,
    /// Open-Meteo: coordinates only.
    OpenMeteo,
}

impl WeatherProviderKind {
    /// The configuration's name for it (`wttr`, `open-meteo`).
    pub fn id(self) -> &'static str {
        match self {
            WeatherProviderKind::Wttr => "wttr",
            WeatherProviderKind::OpenMeteo => "open-meteo",
        }
    }

    /// The public service asked when `[weather] base_url` is unset (the weather crate's
    /// `DEFAULT_BASE_URL`; a test in `bin/` checks they agree).
    pub fn default_base_url(self) -> &'static str {
        match self {
            WeatherProviderKind::Wttr => "https://wttr.in",
            WeatherProviderKind::OpenMeteo => "https://api.open-meteo.com",
        }
    }
}

/// Which units the page shows (the API sends both °C and °F either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Units {
    /// °C, km/h, hPa, mm.
    Metric,
    /// °F.
    Imperial,
}

/// `[weather]`: current conditions for `/api/weather`. Off without `location` (the
/// default: there is no built-in location): the route answers 503 `not_configured` and
/// no provider is contacted. The location is set here, never by the caller, so the API
/// cannot be used as an open proxy to exhaust the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeatherConfig {
    /// wttr.in (default) or Open-Meteo.
    pub provider: WeatherProviderKind,
    /// A place name (`Berlin`) or `latitude,longitude` (`52.52,13.41`); `None` is off.
    pub location: Option<String>,
    /// The units the page shows.
    pub units: Units,
    /// How long an answer is served before the provider is asked again (default 15 min:
    /// wttr.in renews its data about every 10 minutes; polling faster gets nothing new).
    pub refresh: Duration,
    /// How long one request may take (default 10 s).
    pub timeout: Duration,
    /// The provider's base URL (default: its public service).
    pub base_url: Option<Url>,
}

impl Default for WeatherConfig {
    fn default() -> Self {
        Self {
            provider: WeatherProviderKind::Wttr,
            location: None,
            units: Units::Metric,
            refresh: Duration::from_secs(15 * 60),
            timeout: Duration::from_secs(10),
            base_url: None,
        }
    }
}

/// `[status]`: the background prober of the registry's services (`/api/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusConfig {
    /// Whether services with a `probe` are probed at all (default true; the embedded
    /// default sets false, so a first run contacts nobody); when off every service is
    /// `unknown`.
    pub enabled: bool,
    /// How often every service is probed (default 30 s, 5 s to 1 h).
    pub interval: Duration,
    /// How many probes run at once (default 8, 1-64).
    pub concurrency: usize,
}

/// `[history]`: the in-memory history of every sampled figure (`GET /api/history`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Where a snapshot is kept across restarts (default none: history starts empty at
    /// every start). Relative to the configuration file.
    pub file: Option<PathBuf>,
    /// How often the snapshot is written (default 5 min, 30 s to 1 h); also at shutdown.
    pub snapshot_interval: Duration,
    /// At most this many series are kept (default 384, 16 to 4096); each takes about
    /// 150 KiB at a 2 s sample interval.
    pub max_series: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            file: None,
            snapshot_interval: Duration::from_secs(300),
            max_series: 384,
        }
    }
}

/// `[events]`: `GET /api/events`, the live-update stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    /// At most this many open streams (default 1000, 1 to 100000); past it, 503.
    pub max_streams: usize,
    /// A comment line is sent this often on an idle stream, for proxies (default 15 s,
    /// 1 s to 5 min).
    pub keepalive: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            max_streams: 1000,
            keepalive: Duration::from_secs(15),
        }
    }
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(30),
            concurrency: 8,
        }
    }
}

/// The shortest sampling interval: below it CPU percentages are mostly 0 or 100, as the
/// kernel accounts CPU time in 10 ms ticks.
pub const SHORTEST_METRICS_INTERVAL: Duration = Duration::from_millis(500);

// ---------------------------------------------------------------------------------------
// raw layer: exactly what the TOML may contain

/// The sections, each deserialised on its own ([`Config::from_toml_with_env`]). Entries
/// of `[[hosts]]` and `[[services]]` keep their index in the file, which their problems
/// are named by, even when an entry before them could not be read.
#[derive(Default)]
struct RawConfig {
    homelab: RawHomelab,
    server: RawServer,
    metrics: RawMetrics,
    forgejo: RawForgejo,
    weather: RawWeather,
    status: RawStatusSection,
    history: RawHistory,
    events: RawEvents,
    fleet: Option<fleet::RawFleet>,
    alerts: crate::alerts::RawAlerts,
    hosts: Vec<(usize, RawHost)>,
    /// Names of `[[hosts]]` entries that could not be read: services naming them are not
    /// told the host is unknown (the entry's own problem says what is wrong).
    unreadable_hosts: Vec<String>,
    services: Vec<(usize, RawService)>,
}

fn schema<T: Deserialize<'static>>() -> Schema {
    Schema {
        keys: keys::fields::<T>(),
        nested: &[],
    }
}

fn service_schema() -> Schema {
    Schema {
        keys: keys::fields::<RawService>(),
        nested: &[("probe", schema::<RawProbe>), ("push", schema::<RawPush>)],
    }
}

/// The top-level keys and what each holds.
fn sections() -> [(&'static str, Section); 12] {
    fn host_entry(i: usize, _: &DeTable<'_>) -> String {
        format!("hosts[{i}]")
    }
    [
        ("homelab", Section::Table(schema::<RawHomelab>)),
        ("server", Section::Table(schema::<RawServer>)),
        ("metrics", Section::Table(schema::<RawMetrics>)),
        ("forgejo", Section::Table(schema::<RawForgejo>)),
        ("weather", Section::Table(schema::<RawWeather>)),
        ("status", Section::Table(schema::<RawStatusSection>)),
        ("history", Section::Table(schema::<RawHistory>)),
        ("events", Section::Table(schema::<RawEvents>)),
        ("fleet", Section::Table(schema::<fleet::RawFleet>)),
        ("alerts", Section::Table(schema::<crate::alerts::RawAlerts>)),
        ("hosts", Section::List(schema::<RawHost>, host_entry)),
        ("services", Section::List(service_schema, service_entry)),
    ]
}

/// How problems name a `[[services]]` entry: `services[2] (id "ai")`.
fn service_entry(i: usize, table: &DeTable<'_>) -> String {
    match table.get("id").and_then(|v| v.get_ref().as_str()) {
        Some(id) => format!("services[{i}] (id {id:?})"),
        None => format!("services[{i}]"),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    interval: Option<ConfigDuration>,
    procfs: Option<PathBuf>,
    sysfs: Option<PathBuf>,
    rootfs: Option<PathBuf>,
    mount_points_exclude: Option<String>,
    mount_points_include: Option<String>,
    fs_types_exclude: Option<String>,
    disks_exclude: Option<String>,
    interfaces_exclude: Option<String>,
    interfaces_include: Option<String>,
    exclude_virtual_interfaces: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawForgejo {
    url: Option<String>,
    token_file: Option<PathBuf>,
    limit: Option<i64>,
    owner: Option<String>,
    include_private: Option<bool>,
    refresh: Option<ConfigDuration>,
    timeout: Option<ConfigDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWeather {
    provider: Option<WeatherProviderKind>,
    location: Option<String>,
    units: Option<Units>,
    refresh: Option<ConfigDuration>,
    timeout: Option<ConfigDuration>,
    base_url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStatusSection {
    enabled: Option<bool>,
    interval: Option<ConfigDuration>,
    concurrency: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHistory {
    file: Option<PathBuf>,
    snapshot_interval: Option<ConfigDuration>,
    max_series: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEvents {
    max_streams: Option<i64>,
    keepalive: Option<ConfigDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHomelab {
    #[serde(default = "default_name")]
    name: String,
    // No default: a file that leaves it out gets no one else's domain.
    base_domain: Option<String>,
}

fn default_name() -> String {
    "kitestacks".to_owned()
}

impl Default for RawHomelab {
    fn default() -> Self {
        Self {
            name: default_name(),
            base_domain: None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    static_dir: Option<PathBuf>,
    #[serde(default)]
    cors_allow_origins: Vec<String>,
    max_connections: Option<i64>,
    max_connections_per_address: Option<i64>,
    header_read_timeout: Option<ConfigDuration>,
    idle_timeout: Option<ConfigDuration>,
    write_timeout: Option<ConfigDuration>,
    shutdown_grace: Option<ConfigDuration>,
    web_config: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: String,
    role: HostRole,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    id: String,
    name: String,
    url: Option<String>,
    subdomain: Option<String>,
    category: Category,
    #[serde(default)]
    description: String,
    #[serde(default)]
    container: String,
    hosts: Vec<String>,
    auth: AuthMethod,
    visibility: Visibility,
    probe: Option<RawProbe>,
    push: Option<RawPush>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPush {
    period: ConfigDuration,
    grace: Option<ConfigDuration>,
    token_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    kind: Option<CheckKind>,
    url: Option<String>,
    path: Option<String>,
    method: Option<ProbeMethod>,
    accept_status: Option<Vec<RawStatus>>,
    host: Option<String>,
    port: Option<i64>,
    tls: Option<bool>,
    name: Option<String>,
    record: Option<DnsRecord>,
    server: Option<String>,
    expect: Option<String>,
    timeout: Option<ConfigDuration>,
    tls_verify: Option<bool>,
    tls_ca_file: Option<PathBuf>,
    failures: Option<i64>,
}

/// `200` or `"200-399"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawStatus {
    Code(i64),
    Range(String),
}

// ---------------------------------------------------------------------------------------

impl Config {
    /// The embedded default configuration. It is tested to parse and validate, so this
    /// cannot fail at run time.
    pub fn default_embedded() -> Self {
        match Self::from_toml(DEFAULT_CONFIG_TOML, EMBEDDED, None) {
            Ok(config) => config,
            // A test proves the embedded text valid; a broken build must not start.
            Err(e) => panic!("the embedded default configuration is invalid: {e}"),
        }
    }

    /// Loads and validates the file at `path`. Relative paths in it are resolved against
    /// the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string(), path.parent())
    }

    /// Loads `path` if given, else the embedded default.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            Some(p) => Self::load(p),
            None => Ok(Self::default_embedded()),
        }
    }

    /// Parses and validates configuration text. `origin` names it in errors; `base_dir`
    /// is what relative paths are relative to (the current directory when `None`).
    pub fn from_toml(
        text: &str,
        origin: &str,
        base_dir: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        Self::from_toml_with_env(text, origin, base_dir, &|k| std::env::var(k).ok())
    }

    /// [`Config::from_toml`] with the environment given as a lookup function (for the
    /// Forgejo token), so tests need not change the process environment.
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        base_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        const LISTS: [&str; 2] = ["hosts", "services"];
        let parsed = DeTable::parse(text);
        // `[services]` where `[[services]]` was meant: reported at the line the user wrote,
        // then read as meant, so the entries' own problems are found too. (Written twice,
        // it is not even TOML: a duplicate table.)
        let misread = match &parsed {
            Err(_) => true,
            Ok(tree) => LISTS.iter().any(|l| {
                matches!(
                    tree.get_ref().get(*l).map(|v| v.get_ref()),
                    Some(DeValue::Table(_))
                )
            }),
        };
        let (single, fixed) = if misread {
            keys::single_bracket_lists(text, &LISTS)
        } else {
            (Vec::new(), String::new())
        };
        let (tree, read) = match (parsed, single.is_empty()) {
            (Ok(tree), true) => (tree, text),
            (parsed, _) => match DeTable::parse(&fixed) {
                Ok(tree) if !single.is_empty() => (tree, &fixed[..]),
                _ => {
                    let e = parsed.err().or_else(|| DeTable::parse(&fixed).err());
                    let e = e.expect("one of the two parses failed");
                    let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
                    return Err(ConfigError::Syntax {
                        origin: origin.to_owned(),
                        line,
                        column,
                        message: e.message().trim().to_owned(),
                        source_line: source_line(text, line),
                    });
                }
            },
        };
        // Positions in `read` (which has the lines of `text`), quoting `text`.
        let at = |offset: usize| {
            let (line, column) = line_col(read, offset);
            Position {
                line,
                column,
                source_line: source_line(text, line),
            }
        };
        let mut placed: Vec<Problem> = single
            .iter()
            .map(|(offset, name)| {
                let (line, column) = line_col(text, *offset);
                Problem {
                    key: name.clone(),
                    message: keys::list_hint(name),
                    at: Some(Position {
                        line,
                        column,
                        source_line: source_line(text, line),
                    }),
                }
            })
            .collect();
        let mut root = tree.into_inner();
        let mut keys = Keys::read(&mut root, &sections());
        let mut found = Found {
            problems: std::mem::take(&mut keys.problems),
            meant: std::mem::take(&mut keys.meant),
        };
        let raw = RawConfig {
            homelab: section(&mut root, "homelab", &mut found),
            server: section(&mut root, "server", &mut found),
            metrics: section(&mut root, "metrics", &mut found),
            forgejo: section(&mut root, "forgejo", &mut found),
            weather: section(&mut root, "weather", &mut found),
            status: section(&mut root, "status", &mut found),
            history: section(&mut root, "history", &mut found),
            events: section(&mut root, "events", &mut found),
            fleet: section(&mut root, "fleet", &mut found),
            alerts: section(&mut root, "alerts", &mut found),
            hosts: Vec::new(),
            unreadable_hosts: Vec::new(),
            services: Vec::new(),
        };
        let (hosts, unreadable) = list::<RawHost>(&mut root, "hosts", &mut found);
        let unreadable_hosts = unreadable
            .iter()
            .filter_map(|t| t.get("name").and_then(|v| v.get_ref().as_str()))
            .map(str::to_owned)
            .collect();
        let (services, _) = list::<RawService>(&mut root, "services", &mut found);
        let raw = RawConfig {
            hosts,
            unreadable_hosts,
            services,
            ..raw
        };
        placed.extend(found.problems.into_iter().map(|(mut p, span)| {
            p.at = Some(at(span.start));
            p
        }));
        let mut v = Validator {
            problems: Vec::new(),
        };
        let config = v.config(raw, origin, base_dir, env);
        placed.extend(v.problems.into_iter().map(|mut p| {
            p.at = keys.span_of(&p.key).map(|s| at(s.start));
            p
        }));
        if placed.is_empty() {
            return Ok(config);
        }
        placed.sort_by_key(|p| {
            p.at.as_ref()
                .map_or((usize::MAX, 0), |a| (a.line, a.column))
        });
        Err(ConfigError::Invalid {
            origin: origin.to_owned(),
            problems: placed,
        })
    }

    /// Whether this is the embedded default (no file was named).
    pub fn is_embedded_default(&self) -> bool {
        self.origin == EMBEDDED
    }

    /// Everything the portal will request from other machines (or this one), as this
    /// configuration says: each probed service, Forgejo and the weather provider, with
    /// how often. Empty for the embedded default. URLs are as published ([`redacted`]).
    ///
    /// [`redacted`]: crate::redacted
    pub fn contacts(&self) -> Vec<Contact> {
        let mut contacts = Vec::new();
        if self.status.enabled {
            for s in &self.registry.services {
                if let Some(Ok(url)) = s.probe.as_ref().map(|p| Url::parse(&p.target())) {
                    contacts.push(Contact {
                        what: format!("probe of service {:?}", s.id),
                        url,
                        every: self.status.interval,
                    });
                }
            }
        }
        if let Some(url) = &self.forgejo.url {
            contacts.push(Contact {
                what: "forgejo".to_owned(),
                url: crate::redacted(url),
                every: self.forgejo.refresh,
            });
        }
        if self.weather.location.is_some() {
            let url = self.weather.base_url.clone().unwrap_or_else(|| {
                Url::parse(self.weather.provider.default_base_url())
                    .expect("the default weather URLs are valid")
            });
            contacts.push(Contact {
                what: format!("weather ({})", self.weather.provider.id()),
                url: crate::redacted(&url),
                every: self.weather.refresh,
            });
        }
        if let Some(f) = &self.fleet {
            contacts.push(Contact {
                what: "fleet (Prometheus query API)".to_owned(),
                url: crate::redacted(&f.prometheus_url),
                every: f.refresh,
            });
        }
        contacts
    }

    /// Human summary of the settings in effect, for `--check-config`: where they come
    /// from, the listen address, what the portal will contact and how often (or how to
    /// turn each upstream on), and what it serves.
    pub fn summary(&self) -> String {
        let on_domain = self
            .homelab
            .base_domain
            .as_ref()
            .map_or(String::new(), |d| format!(" on {d}"));
        let mut out = format!(
            "{}: ok: {} hosts, {} services{on_domain}; listen {}",
            self.origin,
            self.registry.hosts.len(),
            self.registry.services.len(),
            self.server.listen,
        );
        for (key, value) in self.settings() {
            out.push_str(&format!("\n  {key:<10} {value}"));
        }
        out
    }

    /// The settings that matter, as `(key, what it is)`: `source`, `probes`, `forgejo`,
    /// `weather` (each saying how to turn it on when off), `static_dir`, `web_config`,
    /// `cors`, `timeouts`. [`Self::summary`] prints them; the portal logs the upstream
    /// ones at start.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let s = &self.server;
        let mut out = Vec::new();
        let mut line = |key: &'static str, value: String| out.push((key, value));
        line(
            "source",
            if self.is_embedded_default() {
                "the embedded default (no --config FILE or KITESTACKS_CONFIG): a demo that \
                 contacts nobody"
                    .to_owned()
            } else {
                format!("file {}", self.origin)
            },
        );
        let probed = self
            .registry
            .services
            .iter()
            .filter(|s| s.probe.is_some())
            .count();
        line(
            "probes",
            match (self.status.enabled, probed) {
                (false, n) => format!(
                    "off — set [status] enabled = true to turn on ({n} services have a probe)"
                ),
                (true, 0) => "on, but no service has a `probe`".to_owned(),
                (true, n) => format!(
                    "{n} service{} every {}, {} at once",
                    if n == 1 { "" } else { "s" },
                    duration::format(self.status.interval),
                    self.status.concurrency
                ),
            },
        );
        line(
            "forgejo",
            match &self.forgejo.url {
                None => "off — set [forgejo] url to turn on".to_owned(),
                Some(url) => format!(
                    "{} every {}, {}",
                    crate::redacted(url),
                    duration::format(self.forgejo.refresh),
                    if self.forgejo.token.is_some() {
                        "with a token"
                    } else {
                        "no token (public repositories only)"
                    }
                ),
            },
        );
        line(
            "weather",
            match &self.weather.location {
                None => "off — set [weather] location to turn on".to_owned(),
                Some(location) => format!(
                    "{} {location:?} every {} ({})",
                    self.weather.provider.id(),
                    duration::format(self.weather.refresh),
                    self.weather
                        .base_url
                        .as_ref()
                        .map_or(self.weather.provider.default_base_url().to_owned(), |u| {
                            crate::redacted(u).to_string()
                        })
                ),
            },
        );
        line(
            "fleet",
            match &self.fleet {
                None => "off — set [fleet] prometheus_url to turn on".to_owned(),
                Some(f) => format!(
                    "{} every {}, hosts by label {:?}",
                    crate::redacted(&f.prometheus_url),
                    duration::format(f.refresh),
                    f.host_label
                ),
            },
        );
        line(
            "static_dir",
            s.static_dir
                .as_ref()
                .map_or("none (the embedded page is served at /)".to_owned(), |p| {
                    p.display().to_string()
                }),
        );
        line(
            "web_config",
            s.web_config
                .as_ref()
                .map_or("none (plain HTTP, no basic auth)".to_owned(), |p| {
                    p.display().to_string()
                }),
        );
        line(
            "cors",
            if s.cors_allow_origins.is_empty() {
                "off".to_owned()
            } else {
                s.cors_allow_origins.join(", ")
            },
        );
        line(
            "timeouts",
            format!(
                "header_read {}, idle {}, write {}",
                duration::format(s.header_read_timeout),
                duration::format(s.idle_timeout),
                duration::format(s.write_timeout)
            ),
        );
        out
    }
}

/// One thing the portal will request, from [`Config::contacts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// What asks: `probe of service "grafana"`, `forgejo`, `weather (wttr)`.
    pub what: String,
    /// The URL asked, as published (no credentials, query values `REDACTED`).
    pub url: Url,
    /// How often it is asked (at most).
    pub every: Duration,
}

/// Deserialises section `name` of `root` on its own; when it cannot be read, its problem
/// is added to `found` and its defaults are used (so nothing cascades from it).
fn section<T: DeserializeOwned + Default>(
    root: &mut DeTable<'_>,
    name: &str,
    found: &mut Found,
) -> T {
    match root.remove(name) {
        Some(value) => {
            let span = value.span();
            match value.into_inner() {
                DeValue::Table(table) => entry(name, table, span, found).unwrap_or_default(),
                // Not a table: `Keys::read` reported and removed it.
                _ => T::default(),
            }
        }
        None => T::default(),
    }
}

/// Deserialises each entry of the list of tables `name` on its own: the entries read,
/// with their index in the file, and the tables of those that could not be.
fn list<'i, T: DeserializeOwned>(
    root: &mut DeTable<'i>,
    name: &str,
    found: &mut Found,
) -> (Vec<(usize, T)>, Vec<DeTable<'i>>) {
    let (mut read, mut unreadable) = (Vec::new(), Vec::new());
    let Some(DeValue::Array(entries)) = root.remove(name).map(Spanned::into_inner) else {
        return (read, unreadable);
    };
    for (i, value) in entries.iter().enumerate() {
        let span = value.span();
        match value.get_ref() {
            DeValue::Table(table) => {
                let path = if name == "services" {
                    service_entry(i, table)
                } else {
                    format!("{name}[{i}]")
                };
                match entry(&path, table.clone(), span, found) {
                    Some(raw) => read.push((i, raw)),
                    None => unreadable.push(table.clone()),
                }
            }
            other => found.problems.push((
                Problem::new(
                    format!("{name}[{i}]"),
                    format!("must be a table, not {}", other.type_str()),
                ),
                span,
            )),
        }
    }
    (read, unreadable)
}

/// The problems of reading keys and types, each with the bytes it concerns.
struct Found {
    problems: Vec<(Problem, std::ops::Range<usize>)>,
    /// From [`Keys::meant`].
    meant: Vec<(String, &'static str)>,
}

/// Deserialises one table; its problem names the key the deserialiser stopped at. A key
/// missing because it was misspelt is not reported twice.
fn entry<T: DeserializeOwned>(
    path: &str,
    table: DeTable<'_>,
    span: std::ops::Range<usize>,
    found: &mut Found,
) -> Option<T> {
    let de = toml::de::Deserializer::from(Spanned::new(span.clone(), table.clone()));
    match T::deserialize(de) {
        Ok(raw) => Some(raw),
        Err(e) => {
            let at = e.span().unwrap_or(span);
            let key = match keys::key_at(&table, at.start) {
                Some(k) => format!("{path}.{k}"),
                None => path.to_owned(),
            };
            let message = e.message().trim();
            let misspelt = message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'))
                .is_some_and(|field| found.meant.iter().any(|(p, k)| p == path && *k == field));
            if !misspelt {
                // serde names integer types; the configuration has integers.
                let message = ["i64", "u64", "usize", "u16"]
                    .iter()
                    .fold(message.to_owned(), |m, t| {
                        m.replace(&format!("expected {t}"), "expected an integer")
                    });
                found.problems.push((Problem::new(key, message), at));
            }
            None
        }
    }
}

fn source_line(text: &str, line: usize) -> String {
    text.lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .trim_end()
        .to_owned()
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    fn config(
        &mut self,
        raw: RawConfig,
        origin: &str,
        base_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Config {
        let homelab = self.homelab(raw.homelab);
        let server = self.server(raw.server, base_dir);
        let metrics = self.metrics(raw.metrics);
        let forgejo = self.forgejo(raw.forgejo, base_dir, env);
        let weather = self.weather(raw.weather);
        let status = self.status(raw.status);
        let history = self.history(raw.history, base_dir);
        let events = self.events(raw.events);
        let alerts = crate::alerts::validate(raw.alerts, base_dir, env, &mut self.problems);
        let hosts = self.hosts(raw.hosts);
        let fleet = self.fleet(raw.fleet, &hosts, base_dir, env);
        let services = self.services(
            raw.services,
            &hosts,
            &raw.unreadable_hosts,
            &homelab,
            base_dir,
            env,
        );
        Config {
            origin: origin.to_owned(),
            homelab,
            server,
            metrics,
            forgejo,
            weather,
            status,
            history,
            events,
            fleet,
            alerts,
            registry: Registry { hosts, services },
        }
    }

    fn homelab(&mut self, raw: RawHomelab) -> HomelabConfig {
        if raw.name.trim().is_empty() {
            self.problem("homelab.name", "must not be empty");
        }
        if let Some(domain) = &raw.base_domain
            && !is_domain(domain)
        {
            self.problem(
                "homelab.base_domain",
                format!("{domain:?} is not a domain name (expected e.g. \"example.com\")"),
            );
        }
        HomelabConfig {
            name: raw.name,
            base_domain: raw.base_domain.map(|d| d.to_ascii_lowercase()),
        }
    }

    fn server(&mut self, raw: RawServer, base_dir: Option<&Path>) -> ServerConfig {
        let mut s = ServerConfig::default();
        if let Some(listen) = raw.listen {
            match parse_listen_address(&listen) {
                Ok(addr) => s.listen = addr,
                Err(why) => self.problem("server.listen", why),
            }
        }
        if let Some(dir) = raw.static_dir {
            let resolved = match base_dir {
                Some(base) if dir.is_relative() => base.join(&dir),
                _ => dir.clone(),
            };
            if resolved.is_dir() {
                s.static_dir = Some(resolved);
            } else {
                self.problem(
                    "server.static_dir",
                    format!("{:?} is not a directory", resolved.display().to_string()),
                );
            }
        }
        if let Some(file) = raw.web_config {
            let resolved = match base_dir {
                Some(base) if file.is_relative() => base.join(&file),
                _ => file.clone(),
            };
            if resolved.is_file() {
                s.web_config = Some(resolved);
            } else {
                self.problem(
                    "server.web_config",
                    format!("{:?} is not a file", resolved.display().to_string()),
                );
            }
        }
        for (i, origin) in raw.cors_allow_origins.iter().enumerate() {
            if origin != "*" && !is_origin(origin) {
                self.problem(
                    format!("server.cors_allow_origins[{i}]"),
                    format!("{origin:?} is not an origin (expected \"*\" or scheme://host[:port], no path)"),
                );
            }
        }
        s.cors_allow_origins = raw.cors_allow_origins;
        if let Some(n) = raw.max_connections {
            match usize::try_from(n) {
                Ok(n) if (1..=1_000_000).contains(&n) => s.max_connections = n,
                _ => self.problem(
                    "server.max_connections",
                    format!("{n} is not between 1 and 1000000"),
                ),
            }
        }
        s.max_connections_per_address = (s.max_connections / 2).max(1);
        if let Some(n) = raw.max_connections_per_address {
            match usize::try_from(n) {
                Ok(n) if n <= s.max_connections => s.max_connections_per_address = n,
                _ => self.problem(
                    "server.max_connections_per_address",
                    format!(
                        "{n} is not between 0 (no share) and max_connections ({})",
                        s.max_connections
                    ),
                ),
            }
        }
        let timeouts = [
            (
                "server.header_read_timeout",
                raw.header_read_timeout,
                &mut s.header_read_timeout,
            ),
            ("server.idle_timeout", raw.idle_timeout, &mut s.idle_timeout),
            (
                "server.write_timeout",
                raw.write_timeout,
                &mut s.write_timeout,
            ),
            (
                "server.shutdown_grace",
                raw.shutdown_grace,
                &mut s.shutdown_grace,
            ),
        ];
        for (key, value, slot) in timeouts {
            if let Some(ConfigDuration(d)) = value {
                if d.is_zero() || d > LONGEST_SERVER_TIMEOUT {
                    self.problem(
                        key,
                        format!(
                            "{:?} is impossible (must be more than 0 and at most {})",
                            duration::format(d),
                            duration::format(LONGEST_SERVER_TIMEOUT)
                        ),
                    );
                } else {
                    *slot = d;
                }
            }
        }
        s
    }

    fn metrics(&mut self, raw: RawMetrics) -> MetricsConfig {
        let mut m = MetricsConfig::default();
        if let Some(ConfigDuration(d)) = raw.interval {
            if d < SHORTEST_METRICS_INTERVAL || d > Duration::from_secs(3600) {
                self.problem(
                    "metrics.interval",
                    format!(
                        "{:?} is out of range (at least {}: CPU time is counted in 10 ms ticks; at most 1h)",
                        duration::format(d),
                        duration::format(SHORTEST_METRICS_INTERVAL)
                    ),
                );
            } else {
                m.interval = d;
            }
        }
        for (key, value, slot) in [
            ("metrics.procfs", raw.procfs, &mut m.procfs),
            ("metrics.sysfs", raw.sysfs, &mut m.sysfs),
            ("metrics.rootfs", raw.rootfs, &mut m.rootfs),
        ] {
            if let Some(p) = value {
                if p.is_dir() {
                    *slot = p;
                } else {
                    self.problem(
                        key,
                        format!("{:?} is not a directory", p.display().to_string()),
                    );
                }
            }
        }
        for (key, value, slot) in [
            (
                "metrics.mount_points_exclude",
                raw.mount_points_exclude,
                &mut m.mount_points_exclude,
            ),
            (
                "metrics.mount_points_include",
                raw.mount_points_include,
                &mut m.mount_points_include,
            ),
            (
                "metrics.fs_types_exclude",
                raw.fs_types_exclude,
                &mut m.fs_types_exclude,
            ),
            (
                "metrics.disks_exclude",
                raw.disks_exclude,
                &mut m.disks_exclude,
            ),
            (
                "metrics.interfaces_exclude",
                raw.interfaces_exclude,
                &mut m.interfaces_exclude,
            ),
            (
                "metrics.interfaces_include",
                raw.interfaces_include,
                &mut m.interfaces_include,
            ),
        ] {
            if let Some(pattern) = value {
                match regex::Regex::new(&pattern) {
                    Ok(_) => *slot = Some(pattern),
                    Err(e) => self.problem(
                        key,
                        format!(
                            "{pattern:?} is not a regular expression: {}",
                            first_line(&e.to_string())
                        ),
                    ),
                }
            }
        }
        if let Some(b) = raw.exclude_virtual_interfaces {
            m.exclude_virtual_interfaces = b;
        }
        m
    }

    fn duration(
        &mut self,
        key: &str,
        value: Option<ConfigDuration>,
        min: Duration,
        max: Duration,
        slot: &mut Duration,
    ) {
        if let Some(ConfigDuration(d)) = value {
            if d < min || d > max {
                self.problem(
                    key,
                    format!(
                        "{:?} is out of range ({} to {})",
                        duration::format(d),
                        duration::format(min),
                        duration::format(max)
                    ),
                );
            } else {
                *slot = d;
            }
        }
    }

    fn forgejo(
        &mut self,
        raw: RawForgejo,
        base_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> ForgejoConfig {
        let mut f = ForgejoConfig::default();
        if let Some(u) = &raw.url {
            f.url = self.http_url("forgejo.url", u);
        }
        let token_file = raw.token_file.map(|p| match base_dir {
            Some(base) if p.is_relative() => base.join(p),
            _ => p,
        });
        match crate::Secret::resolve(
            "forgejo.token_file",
            FORGEJO_TOKEN_ENV,
            token_file.as_deref(),
            env,
        ) {
            Ok(token) => f.token = token,
            Err(p) => self.problems.push(p),
        }
        if let Some(n) = raw.limit {
            match usize::try_from(n) {
                Ok(n) if (1..=50).contains(&n) => f.limit = n,
                _ => self.problem("forgejo.limit", format!("{n} is not between 1 and 50")),
            }
        }
        if let Some(owner) = raw.owner {
            if owner.trim().is_empty() || owner.contains(['/', ' ', '?', '#']) {
                self.problem(
                    "forgejo.owner",
                    format!("{owner:?} is not a user or organisation name"),
                );
            } else {
                f.owner = Some(owner);
            }
        }
        f.include_private = raw.include_private.unwrap_or(false);
        self.duration(
            "forgejo.refresh",
            raw.refresh,
            Duration::from_secs(5),
            Duration::from_secs(86_400),
            &mut f.refresh,
        );
        self.duration(
            "forgejo.timeout",
            raw.timeout,
            Duration::from_millis(100),
            LONGEST_TIMEOUT,
            &mut f.timeout,
        );
        f
    }

    fn weather(&mut self, raw: RawWeather) -> WeatherConfig {
        let mut w = WeatherConfig::default();
        if let Some(p) = raw.provider {
            w.provider = p;
        }
        if let Some(u) = raw.units {
            w.units = u;
        }
        if let Some(loc) = raw.location {
            let coords = parse_coordinates(&loc);
            if loc.trim().is_empty() {
                self.problem(
                    "weather.location",
                    "must not be empty (a place name or \"latitude,longitude\")",
                );
            } else if loc.contains(',')
                && coords.is_none()
                && loc
                    .trim_start()
                    .starts_with(|c: char| c.is_ascii_digit() || c == '-')
            {
                self.problem(
                    "weather.location",
                    format!(
                        "{loc:?} is not valid coordinates (latitude -90..90, longitude -180..180)"
                    ),
                );
            } else if w.provider == WeatherProviderKind::OpenMeteo && coords.is_none() {
                self.problem(
                    "weather.location",
                    format!("{loc:?}: the open-meteo provider needs \"latitude,longitude\", not a place name"),
                );
            } else {
                w.location = Some(loc.trim().to_owned());
            }
        }
        self.duration(
            "weather.refresh",
            raw.refresh,
            Duration::from_secs(60),
            Duration::from_secs(86_400),
            &mut w.refresh,
        );
        self.duration(
            "weather.timeout",
            raw.timeout,
            Duration::from_millis(100),
            LONGEST_TIMEOUT,
            &mut w.timeout,
        );
        if let Some(u) = &raw.base_url {
            w.base_url = self.http_url("weather.base_url", u);
        }
        w
    }

    fn status(&mut self, raw: RawStatusSection) -> StatusConfig {
        let mut s = StatusConfig::default();
        if let Some(b) = raw.enabled {
            s.enabled = b;
        }
        self.duration(
            "status.interval",
            raw.interval,
            Duration::from_secs(5),
            Duration::from_secs(3600),
            &mut s.interval,
        );
        if let Some(n) = raw.concurrency {
            match usize::try_from(n) {
                Ok(n) if (1..=64).contains(&n) => s.concurrency = n,
                _ => self.problem("status.concurrency", format!("{n} is not between 1 and 64")),
            }
        }
        s
    }

    fn history(&mut self, raw: RawHistory, base_dir: Option<&Path>) -> HistoryConfig {
        let mut h = HistoryConfig::default();
        if let Some(file) = raw.file {
            let resolved = match base_dir {
                Some(base) if file.is_relative() => base.join(&file),
                _ => file,
            };
            // The file itself may not exist yet (the first start writes it); its
            // directory must, or no snapshot could ever be written.
            let dir = resolved
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if resolved.is_dir() {
                self.problem(
                    "history.file",
                    format!(
                        "{:?} is a directory, not a file",
                        resolved.display().to_string()
                    ),
                );
            } else if !dir.is_dir() {
                self.problem(
                    "history.file",
                    format!(
                        "{:?}: its directory {:?} does not exist",
                        resolved.display().to_string(),
                        dir.display().to_string()
                    ),
                );
            } else {
                h.file = Some(resolved);
            }
        }
        self.duration(
            "history.snapshot_interval",
            raw.snapshot_interval,
            Duration::from_secs(30),
            Duration::from_secs(3600),
            &mut h.snapshot_interval,
        );
        if let Some(n) = raw.max_series {
            match usize::try_from(n) {
                Ok(n) if (16..=4096).contains(&n) => h.max_series = n,
                _ => self.problem(
                    "history.max_series",
                    format!("{n} is not between 16 and 4096"),
                ),
            }
        }
        h
    }

    fn events(&mut self, raw: RawEvents) -> EventsConfig {
        let mut e = EventsConfig::default();
        if let Some(n) = raw.max_streams {
            match usize::try_from(n) {
                Ok(n) if (1..=100_000).contains(&n) => e.max_streams = n,
                _ => self.problem(
                    "events.max_streams",
                    format!("{n} is not between 1 and 100000"),
                ),
            }
        }
        self.duration(
            "events.keepalive",
            raw.keepalive,
            Duration::from_secs(1),
            Duration::from_secs(300),
            &mut e.keepalive,
        );
        e
    }

    fn hosts(&mut self, raw: Vec<(usize, RawHost)>) -> Vec<Host> {
        let mut seen = HashSet::new();
        let mut hosts = Vec::with_capacity(raw.len());
        for (i, h) in raw {
            let key = format!("hosts[{i}]");
            if !is_label(&h.name) {
                self.problem(
                    format!("{key}.name"),
                    format!(
                        "{:?} is not a host name (lowercase letters, digits and '-')",
                        h.name
                    ),
                );
            } else if !seen.insert(h.name.clone()) {
                self.problem(
                    format!("{key}.name"),
                    format!("duplicate host name {:?}", h.name),
                );
            }
            hosts.push(Host {
                name: h.name,
                role: h.role,
                description: h.description,
            });
        }
        hosts
    }

    fn services(
        &mut self,
        raw: Vec<(usize, RawService)>,
        hosts: &[Host],
        unreadable_hosts: &[String],
        homelab: &HomelabConfig,
        base_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<Service> {
        let mut seen = HashSet::new();
        let mut services = Vec::with_capacity(raw.len());
        // Services whose `subdomain` needs `[homelab] base_domain`, which is missing.
        let mut without_domain = Vec::new();
        for (i, s) in raw {
            let key = format!("services[{i}] (id {:?})", s.id);
            if !is_label(&s.id) {
                self.problem(
                    format!("{key}.id"),
                    format!(
                        "{:?} is not an id (lowercase letters, digits and '-')",
                        s.id
                    ),
                );
            } else if !seen.insert(s.id.clone()) {
                self.problem(
                    format!("{key}.id"),
                    format!("duplicate service id {:?}", s.id),
                );
            }
            if s.name.trim().is_empty() {
                self.problem(format!("{key}.name"), "must not be empty");
            }
            // `Err`: the url is wrong, and its problem already says so.
            let url: Result<Option<Url>, ()> = match (&s.url, &s.subdomain) {
                (Some(_), Some(_)) => {
                    self.problem(
                        format!("{key}.url"),
                        "set either url or subdomain, not both",
                    );
                    Err(())
                }
                (Some(u), None) => self.http_url(&format!("{key}.url"), u).map(Some).ok_or(()),
                (None, Some(sub)) => {
                    if !is_label(sub) {
                        self.problem(
                            format!("{key}.subdomain"),
                            format!(
                                "{sub:?} is not a DNS label (lowercase letters, digits and '-')"
                            ),
                        );
                        Err(())
                    } else if let Some(domain) = &homelab.base_domain {
                        self.http_url(
                            &format!("{key}.subdomain"),
                            &format!("https://{sub}.{domain}/"),
                        )
                        .map(Some)
                        .ok_or(())
                    } else {
                        without_domain.push(s.id.clone());
                        Err(())
                    }
                }
                (None, None) => {
                    if s.visibility == Visibility::Public {
                        self.problem(
                            format!("{key}.url"),
                            "a public service needs a url or a subdomain",
                        );
                    }
                    Ok(None)
                }
            };
            if s.hosts.is_empty() {
                self.problem(format!("{key}.hosts"), "must name at least one host");
            }
            for h in &s.hosts {
                if !hosts.iter().any(|known| &known.name == h) && !unreadable_hosts.contains(h) {
                    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
                    self.problem(
                        format!("{key}.hosts"),
                        format!("unknown host {h:?} (hosts are: {})", names.join(", ")),
                    );
                }
            }
            let probe = s.probe.and_then(|p| {
                self.probe(
                    &format!("{key}.probe"),
                    p,
                    url.as_ref().map(Option::as_ref),
                    base_dir,
                )
            });
            if s.push.is_some() && probe.is_some() {
                self.problem(format!("{key}.push"), "set either probe or push, not both");
            }
            let push = s
                .push
                .and_then(|p| self.push(&format!("{key}.push"), &s.id, p, base_dir, env));
            let url = url.unwrap_or(None);
            services.push(Service {
                id: s.id,
                name: s.name,
                url,
                category: s.category,
                description: s.description,
                container: s.container,
                hosts: s.hosts,
                auth: s.auth,
                visibility: s.visibility,
                probe,
                push,
            });
        }
        without_domain.dedup();
        if !without_domain.is_empty() {
            let ids: Vec<String> = without_domain.iter().map(|id| format!("{id:?}")).collect();
            let (who, them) = match ids.len() {
                1 => (format!("service {} uses", ids[0]), "it"),
                _ => (format!("services {} use", ids.join(", ")), "them"),
            };
            self.problem(
                "homelab.base_domain",
                format!(
                    "is required: {who} `subdomain`, published at https://<subdomain>.<base_domain>/ (set base_domain in [homelab], or give {them} a `url`)"
                ),
            );
        }
        services
    }

    /// `service_url` is `Err` when the service's own url is wrong (already reported): a
    /// probe that would use it is then left out without a second problem.
    fn probe(
        &mut self,
        key: &str,
        raw: RawProbe,
        service_url: Result<Option<&Url>, &()>,
        base_dir: Option<&Path>,
    ) -> Option<ProbeSpec> {
        let kind = raw.kind.unwrap_or(CheckKind::Http);
        let kind_name = match kind {
            CheckKind::Http => "http",
            CheckKind::Tcp => "tcp",
            CheckKind::Dns => "dns",
            CheckKind::Icmp => "icmp",
            CheckKind::Push => "push",
        };
        // Keys of another kind are a mistake worth naming, not something to ignore.
        let applies: &[(&str, bool, &[CheckKind])] = &[
            ("url", raw.url.is_some(), &[CheckKind::Http]),
            ("path", raw.path.is_some(), &[CheckKind::Http]),
            ("method", raw.method.is_some(), &[CheckKind::Http]),
            (
                "accept_status",
                raw.accept_status.is_some(),
                &[CheckKind::Http],
            ),
            (
                "host",
                raw.host.is_some(),
                &[CheckKind::Tcp, CheckKind::Icmp],
            ),
            ("port", raw.port.is_some(), &[CheckKind::Tcp]),
            ("tls", raw.tls.is_some(), &[CheckKind::Tcp]),
            ("name", raw.name.is_some(), &[CheckKind::Dns]),
            ("record", raw.record.is_some(), &[CheckKind::Dns]),
            ("server", raw.server.is_some(), &[CheckKind::Dns]),
            (
                "expect",
                raw.expect.is_some(),
                &[CheckKind::Http, CheckKind::Tcp, CheckKind::Dns],
            ),
            (
                "tls_verify",
                raw.tls_verify.is_some(),
                &[CheckKind::Http, CheckKind::Tcp],
            ),
            (
                "tls_ca_file",
                raw.tls_ca_file.is_some(),
                &[CheckKind::Http, CheckKind::Tcp],
            ),
        ];
        let mut misplaced = false;
        for (name, set, kinds) in applies {
            if *set && !kinds.contains(&kind) {
                self.problem(
                    format!("{key}.{name}"),
                    format!("does not apply to kind = \"{kind_name}\""),
                );
                misplaced = true;
            }
        }
        // tcp, icmp and dns default to the host of the service's URL.
        let service_host = match service_url {
            Ok(Some(u)) => u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()),
            _ => None,
        };
        let mut spec = ProbeSpec::new(kind);
        let mut ok = !misplaced;
        match kind {
            CheckKind::Push => {
                self.problem(
                    format!("{key}.kind"),
                    "\"push\" is not a probe kind: give the service a `push` table instead",
                );
                ok = false;
            }
            CheckKind::Http => {
                spec.url = self.probe_url(key, &raw, service_url);
                ok &= spec.url.is_some();
                spec.method = raw.method.unwrap_or(ProbeMethod::Get);
                spec.accept_status = self.accept_status(key, raw.accept_status);
            }
            CheckKind::Tcp | CheckKind::Icmp => {
                spec.host = raw.host.clone().or(service_host);
                if spec.host.as_deref().is_none_or(|h| h.trim().is_empty()) {
                    self.problem(
                        format!("{key}.host"),
                        format!(
                            "a {kind_name} check needs a host (or a service url to take it from)"
                        ),
                    );
                    ok = false;
                }
                if kind == CheckKind::Tcp {
                    spec.tls = raw.tls.unwrap_or(false);
                    spec.port = match raw.port.map(u16::try_from) {
                        Some(Ok(p)) if p > 0 => Some(p),
                        Some(_) => {
                            self.problem(
                                format!("{key}.port"),
                                format!("{} is not a port (1-65535)", raw.port.unwrap_or_default()),
                            );
                            None
                        }
                        None => {
                            self.problem(format!("{key}.port"), "a tcp check needs a port");
                            None
                        }
                    };
                    ok &= spec.port.is_some();
                }
            }
            CheckKind::Dns => {
                spec.name = raw.name.clone().or(service_host);
                if spec.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                    self.problem(
                        format!("{key}.name"),
                        "a dns check needs a name (or a service url to take it from)",
                    );
                    ok = false;
                }
                spec.record = raw.record.unwrap_or(DnsRecord::A);
                if let Some(server) = &raw.server {
                    spec.server = server.parse::<std::net::SocketAddr>().ok().or_else(|| {
                        server
                            .trim_matches(['[', ']'])
                            .parse::<std::net::IpAddr>()
                            .ok()
                            .map(|ip| std::net::SocketAddr::new(ip, 53))
                    });
                    if spec.server.is_none() {
                        self.problem(
                            format!("{key}.server"),
                            format!("{server:?} is not an IP address, with or without a port (e.g. \"192.168.1.1\" or \"127.0.0.1:5353\")"),
                        );
                        ok = false;
                    }
                }
            }
        }
        if let Some(expect) = &raw.expect
            && expect.is_empty()
        {
            self.problem(
                format!("{key}.expect"),
                "must not be empty (leave it out instead)",
            );
        }
        spec.expect = raw.expect;
        if let Some(file) = raw.tls_ca_file {
            let resolved = match base_dir {
                Some(base) if file.is_relative() => base.join(&file),
                _ => file,
            };
            if !resolved.is_file() {
                self.problem(
                    format!("{key}.tls_ca_file"),
                    format!("{:?} is not a file", resolved.display().to_string()),
                );
            }
            spec.tls_ca_file = Some(resolved);
        }
        let timeout = raw.timeout.map_or(DEFAULT_PROBE_TIMEOUT, |d| d.0);
        if timeout.is_zero() || timeout > LONGEST_TIMEOUT {
            self.problem(
                format!("{key}.timeout"),
                format!(
                    "{:?} is impossible (must be more than 0 and at most {})",
                    duration::format(timeout),
                    duration::format(LONGEST_TIMEOUT)
                ),
            );
        }
        spec.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        spec.tls_verify = raw.tls_verify.unwrap_or(true);
        spec.failures = match raw.failures.map(u32::try_from) {
            None => 2,
            Some(Ok(n @ 1..=10)) => n,
            Some(_) => {
                self.problem(
                    format!("{key}.failures"),
                    format!(
                        "{} is not a number of failures (1 to 10)",
                        raw.failures.unwrap_or_default()
                    ),
                );
                2
            }
        };
        ok.then_some(spec)
    }

    /// A push monitor: its period (5 s to 30 days), grace (up to 7 days; default a tenth
    /// of the period) and token (the environment, else `token_file`; at least 16
    /// characters).
    fn push(
        &mut self,
        key: &str,
        id: &str,
        raw: RawPush,
        base_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<PushSpec> {
        let mut period = Duration::from_secs(60);
        self.duration(
            &format!("{key}.period"),
            Some(raw.period),
            Duration::from_secs(5),
            Duration::from_secs(30 * 86_400),
            &mut period,
        );
        let mut grace = period / 10;
        self.duration(
            &format!("{key}.grace"),
            raw.grace,
            Duration::ZERO,
            Duration::from_secs(7 * 86_400),
            &mut grace,
        );
        let var = push_token_env(id);
        let file = raw.token_file.map(|p| match base_dir {
            Some(base) if p.is_relative() => base.join(p),
            _ => p,
        });
        let token = match crate::Secret::resolve(
            &format!("{key}.token_file"),
            &var,
            file.as_deref(),
            env,
        ) {
            Ok(Some(token)) if token.expose().chars().count() >= 16 => Some(token),
            Ok(Some(_)) => {
                self.problem(
                    format!("{key}.token_file"),
                    "the token is too short (at least 16 characters: it is all that guards the push URL)",
                );
                None
            }
            Ok(None) => {
                self.problem(
                    format!("{key}.token_file"),
                    format!("a push monitor needs a token: set push.token_file or the environment variable {var}"),
                );
                None
            }
            Err(p) => {
                self.problems.push(p);
                None
            }
        };
        Some(PushSpec {
            period_seconds: period.as_secs(),
            grace_seconds: grace.as_secs(),
            token: token?,
        })
    }

    /// An `http` probe's URL: its own `url`, or `path` on the service's, or the service's.
    fn probe_url(
        &mut self,
        key: &str,
        raw: &RawProbe,
        service_url: Result<Option<&Url>, &()>,
    ) -> Option<Url> {
        match (&raw.url, &raw.path, service_url) {
            (Some(_), Some(_), _) => {
                self.problem(format!("{key}.path"), "set either url or path, not both");
                None
            }
            (Some(u), None, _) => self.http_url(&format!("{key}.url"), u),
            (None, _, Err(())) => None,
            (None, Some(p), Ok(Some(base))) => {
                if p.starts_with('/') && !p.starts_with("//") {
                    base.join(p).ok()
                } else {
                    self.problem(
                        format!("{key}.path"),
                        format!("{p:?} must start with a single '/'"),
                    );
                    None
                }
            }
            (None, None, Ok(Some(u))) => Some(u.clone()),
            (None, _, Ok(None)) => {
                self.problem(
                    format!("{key}.url"),
                    "the service has no url, so its probe needs one",
                );
                None
            }
        }
    }

    fn accept_status(&mut self, key: &str, raw: Option<Vec<RawStatus>>) -> Vec<StatusRange> {
        let mut accept_status = Vec::new();
        for (i, st) in raw.unwrap_or_default().into_iter().enumerate() {
            match parse_status(&st) {
                Some(range) => accept_status.push(range),
                None => {
                    let shown = match st {
                        RawStatus::Code(c) => c.to_string(),
                        RawStatus::Range(r) => format!("{r:?}"),
                    };
                    self.problem(
                        format!("{key}.accept_status[{i}]"),
                        format!("{shown} is not a status code or range (100-599, e.g. 200 or \"200-399\")"),
                    );
                }
            }
        }
        if accept_status.is_empty() {
            accept_status.push(StatusRange { from: 200, to: 399 });
        }
        accept_status
    }

    fn http_url(&mut self, key: &str, text: &str) -> Option<Url> {
        match Url::parse(text) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty()) =>
            {
                Some(u)
            }
            Ok(_) => {
                let shown = shown_url(text);
                self.problem(key, format!("{shown} is not an http(s) URL with a host"));
                None
            }
            Err(e) => {
                let shown = shown_url(text);
                self.problem(key, format!("{shown} is not a valid URL: {e}"));
                None
            }
        }
    }
}

/// A URL quoted in an error: without credentials or query values (which may be
/// secrets), or left out when it cannot be parsed and might hold them.
fn shown_url(text: &str) -> String {
    match Url::parse(text) {
        Ok(u) if u.has_host() => format!("{:?}", crate::redacted(&u).as_str()),
        _ if text.contains(['@', '?', '#']) => "the URL (left out: it may hold credentials)".into(),
        _ => format!("{text:?}"),
    }
}

/// `"52.52,13.41"` as (latitude, longitude), if it is valid coordinates.
fn parse_coordinates(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once(',')?;
    let (lat, lon): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// The last non-empty line of a multi-line message (regex errors draw a caret diagram).
fn first_line(message: &str) -> String {
    message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message)
        .trim()
        .to_owned()
}

/// The environment variable holding the push token of service `id`:
/// `KITESTACKS_PUSH_TOKEN_<ID>`, upper case, `-` as `_`.
pub fn push_token_env(id: &str) -> String {
    format!(
        "KITESTACKS_PUSH_TOKEN_{}",
        id.to_ascii_uppercase().replace('-', "_")
    )
}

fn parse_status(st: &RawStatus) -> Option<StatusRange> {
    let ok = |c: i64| u16::try_from(c).ok().filter(|c| (100..=599).contains(c));
    match st {
        RawStatus::Code(c) => ok(*c).map(|c| StatusRange { from: c, to: c }),
        RawStatus::Range(r) => {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            let from = ok(a.trim().parse().ok()?)?;
            let to = ok(b.trim().parse().ok()?)?;
            (from <= to).then_some(StatusRange { from, to })
        }
    }
}

/// A DNS label / identifier: `[a-z0-9]([a-z0-9-]*[a-z0-9])?`, at most 63 bytes.
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_domain(s: &str) -> bool {
    s.len() <= 253 && s.contains('.') && s.to_ascii_lowercase().split('.').all(is_label)
}

fn is_origin(s: &str) -> bool {
    Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.origin().ascii_serialization() == s.trim_end_matches('/')
    })
}

/// Parses a listen address the way both binaries take one (node_exporter's forms):
/// `:9100` (every interface, IPv6 and IPv4), `127.0.0.1:9100`, `[::1]:9100`,
/// `localhost:9100`. The error says what was wrong and shows the forms.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let bad = || {
        format!(
            "{text:?} is not a socket address (expected IP:PORT, e.g. \"127.0.0.1:8000\", \":8000\" or \"[::1]:8000\")"
        )
    };
    let port = |p: &str| p.parse::<u16>().map_err(|_| bad());
    if let Some(p) = text.strip_prefix(':') {
        return Ok(SocketAddr::from((
            std::net::Ipv6Addr::UNSPECIFIED,
            port(p)?,
        )));
    }
    if let Some(p) = text.strip_prefix("localhost:") {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port(p)?)));
    }
    text.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc\n", 0), (1, 1));
        assert_eq!(line_col("a\nbc\n", 3), (2, 2));
    }

    #[test]
    fn status_ranges() {
        let r = |s: &str| parse_status(&RawStatus::Range(s.to_owned()));
        assert_eq!(r("200-399"), Some(StatusRange { from: 200, to: 399 }));
        assert_eq!(r("401"), Some(StatusRange { from: 401, to: 401 }));
        assert_eq!(r("399-200"), None);
        assert_eq!(r("99-200"), None);
        assert_eq!(r("abc"), None);
        assert_eq!(parse_status(&RawStatus::Code(700)), None);
    }

    #[test]
    fn urls_in_errors_show_no_credentials() {
        assert_eq!(
            shown_url("ftp://u:pw@x.example/?k=v"),
            "\"ftp://x.example/?k=REDACTED\""
        );
        assert_eq!(
            shown_url("u:pw@x"),
            "the URL (left out: it may hold credentials)"
        );
        assert_eq!(shown_url("gitforge.example"), "\"gitforge.example\"");
    }

    #[test]
    fn labels_domains_origins() {
        assert!(is_label("gitforge") && is_label("a1-b"));
        assert!(!is_label("-a") && !is_label("A") && !is_label("") && !is_label("a_b"));
        assert!(is_domain("kitestacks.com") && !is_domain("localhost") && !is_domain("a..b"));
        assert!(is_origin("https://www.kitestacks.com") && is_origin("http://localhost:8080"));
        assert!(
            !is_origin("https://x.com/path") && !is_origin("ftp://x.com") && !is_origin("x.com")
        );
    }
}
