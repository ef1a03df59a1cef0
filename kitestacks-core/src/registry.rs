//! The homelab's hosts and services: validated, typed, and serialised as the
//! `/api/services` body the portal page renders its cards from.
//!
//! A service or probe URL may carry credentials (`https://user:pw@host/?token=…`): the
//! typed value keeps them for probing, and every serialisation publishes
//! [`redacted`] URLs only.

use serde::{Deserialize, Serialize, Serializer};
use url::Url;
use utoipa::ToSchema;

/// What replaces each query value of a published URL (see [`redacted`]).
pub const REDACTED: &str = "REDACTED";

/// A URL as it may be published: without user name and password, every query value
/// replaced by [`REDACTED`] (keys are kept; a parameter without `=` is replaced whole),
/// and without fragment. Scheme, host, port and path are kept, so the link still leads
/// to the service.
///
/// ```
/// use kitestacks_core::redacted;
/// let url = url::Url::parse("https://mara:pw@grafana.example/d/x?orgId=1&token#top").unwrap();
/// assert_eq!(
///     redacted(&url).as_str(),
///     "https://grafana.example/d/x?orgId=REDACTED&REDACTED"
/// );
/// ```
pub fn redacted(url: &Url) -> Url {
    let mut out = url.clone();
    // Both fail only for URLs that cannot have credentials (no host): nothing to remove.
    let _ = out.set_username("");
    let _ = out.set_password(None);
    out.set_fragment(None);
    if let Some(query) = url.query() {
        let pairs: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{key}={REDACTED}"),
                None => REDACTED.to_owned(),
            })
            .collect();
        out.set_query((!pairs.is_empty()).then(|| pairs.join("&")).as_deref());
    }
    out
}

fn serialize_redacted<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(redacted(url).as_str())
}

fn serialize_redacted_opt<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => serialize_redacted(u, s),
        None => s.serialize_none(),
    }
}

/// What a host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HostRole {
    /// The machine at home.
    Home,
    /// A rented machine (VPS) in a data centre.
    Cloud,
}

/// A machine that runs services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"name": "monk", "role": "home", "description": "Home server"}))]
pub struct Host {
    /// Short host name, unique in the registry (e.g. `monk`).
    pub name: String,
    /// What the host is for.
    pub role: HostRole,
    /// One line for people.
    pub description: String,
}

/// The card group a service is shown in, in page order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Sign-in: the identity provider and its parts.
    Identity,
    /// What the rest stands on: tunnel, databases, container management.
    Infrastructure,
    /// Metrics, dashboards, uptime and alerts.
    Monitoring,
    /// The applications people use.
    Apps,
}

impl Category {
    /// Every category, in the order the page shows them.
    pub const ALL: [Category; 4] = [
        Category::Identity,
        Category::Infrastructure,
        Category::Monitoring,
        Category::Apps,
    ];

    /// The wire name (`identity`, `infrastructure`, ...).
    pub fn id(self) -> &'static str {
        match self {
            Category::Identity => "identity",
            Category::Infrastructure => "infrastructure",
            Category::Monitoring => "monitoring",
            Category::Apps => "apps",
        }
    }

    /// The heading a page shows.
    pub fn title(self) -> &'static str {
        match self {
            Category::Identity => "Identity",
            Category::Infrastructure => "Infrastructure",
            Category::Monitoring => "Monitoring",
            Category::Apps => "Apps",
        }
    }
}

/// How a service signs its users in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// OpenID Connect through the homelab's identity provider.
    Oidc,
    /// The reverse proxy asks the identity provider before passing requests on.
    ForwardAuth,
    /// The application's own user database and login form.
    OwnLogin,
    /// No sign-in.
    None,
}

/// Whether a service is reachable from the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// Published through the tunnel on the base domain.
    Public,
    /// Only reachable on the hosts' own networks.
    Internal,
}

/// HTTP method of a health probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProbeMethod {
    /// `GET` (the default).
    Get,
    /// `HEAD`, for services that answer it cheaply.
    Head,
}

/// An inclusive range of HTTP status codes a probe accepts as "up".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"from": 200, "to": 399}))]
pub struct StatusRange {
    /// Lowest accepted code.
    pub from: u16,
    /// Highest accepted code (equal to `from` for a single code).
    pub to: u16,
}

impl StatusRange {
    /// Whether `code` is in the range.
    pub fn contains(&self, code: u16) -> bool {
        (self.from..=self.to).contains(&code)
    }
}

/// What a probe checks (the probe table's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// An HTTP(S) request to `url` (the default).
    Http,
    /// A TCP connection to `host` and `port` (TLS on top with `tls = true`), optionally
    /// reading an expected banner.
    Tcp,
    /// A DNS lookup of `name`, with the system resolver or a given `server`.
    Dns,
    /// An ICMP echo to `host`.
    Icmp,
    /// A push monitor: the service's own job calls `/api/push/{token}` (not a probe).
    Push,
}

/// The DNS record type a `dns` check asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum DnsRecord {
    /// IPv4 addresses (the default).
    A,
    /// IPv6 addresses.
    #[serde(rename = "AAAA")]
    Aaaa,
}

/// How to check that a service is up. Which fields apply depends on `kind`; the others
/// are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProbeSpec {
    /// What is checked: `http` (default), `tcp`, `dns` or `icmp`.
    pub kind: CheckKind,
    /// `http`: the URL probed, the service's public URL unless the configuration names
    /// another. Published without user name, password, query values or fragment (query
    /// values read `REDACTED`); probes use the URL as configured.
    #[serde(serialize_with = "serialize_redacted_opt")]
    pub url: Option<Url>,
    /// `http`: the method.
    pub method: ProbeMethod,
    /// `http`: status codes that count as up (login-protected apps answer 302, 401 or 403).
    pub accept_status: Vec<StatusRange>,
    /// `tcp` and `icmp`: the host name or address checked.
    pub host: Option<String>,
    /// `tcp`: the port connected to.
    pub port: Option<u16>,
    /// `tcp`: whether a TLS handshake follows the connection.
    pub tls: bool,
    /// `dns`: the name looked up.
    pub name: Option<String>,
    /// `dns`: the record type asked for (`A` or `AAAA`).
    pub record: DnsRecord,
    /// `dns`: the server asked (UDP); null for the system resolver.
    #[schema(value_type = Option<String>)]
    pub server: Option<std::net::SocketAddr>,
    /// What must be seen for the check to pass: a substring of the HTTP body (`http`),
    /// of the first line the server sends (`tcp`), or one of the addresses in the answer
    /// (`dns`). Null: nothing is required.
    pub expect: Option<String>,
    /// How long a probe may take, in milliseconds.
    pub timeout_ms: u64,
    /// Whether the TLS certificate is verified (off only for self-signed internal certs);
    /// certificate facts are reported either way.
    pub tls_verify: bool,
    /// A PEM file of extra certificate authorities trusted by this probe (an internal
    /// CA). Not published.
    #[serde(skip)]
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// Consecutive failures before the service is called down (default 2).
    pub failures: u32,
}

impl ProbeSpec {
    /// Whether a response status means the service is up.
    pub fn accepts(&self, code: u16) -> bool {
        self.accept_status.iter().any(|r| r.contains(code))
    }

    /// An `http` probe of `url` with every other field at its default: GET, 200-399,
    /// 5 s, certificates verified, down after 2 failures.
    pub fn http(url: Url) -> Self {
        Self {
            url: Some(url),
            ..Self::new(CheckKind::Http)
        }
    }

    /// A probe of `kind` with every field at its default and no target yet.
    pub fn new(kind: CheckKind) -> Self {
        Self {
            kind,
            url: None,
            method: ProbeMethod::Get,
            accept_status: vec![StatusRange { from: 200, to: 399 }],
            host: None,
            port: None,
            tls: false,
            name: None,
            record: DnsRecord::A,
            server: None,
            expect: None,
            timeout_ms: 5000,
            tls_verify: true,
            tls_ca_file: None,
            failures: 2,
        }
    }

    /// What the probe contacts, for logs and `--check-config`: the redacted URL, or
    /// `tcp://host:port`, `dns://server/name`, `icmp://host`.
    pub fn target(&self) -> String {
        match self.kind {
            CheckKind::Http => self
                .url
                .as_ref()
                .map(|u| redacted(u).to_string())
                .unwrap_or_default(),
            CheckKind::Tcp => format!(
                "tcp://{}:{}",
                self.host.as_deref().unwrap_or_default(),
                self.port.unwrap_or_default()
            ),
            CheckKind::Dns => match self.server {
                Some(server) => format!(
                    "dns://{server}/{}",
                    self.name.as_deref().unwrap_or_default()
                ),
                None => format!("dns:{}", self.name.as_deref().unwrap_or_default()),
            },
            CheckKind::Icmp => format!("icmp://{}", self.host.as_deref().unwrap_or_default()),
            CheckKind::Push => "push:".to_owned(),
        }
    }
}

/// A push monitor (dead-man check): the service's job calls `GET` or `POST
/// /api/push/{token}` at least every `period`; a push missing past `period` + `grace`
/// makes the service down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PushSpec {
    /// How often the job pushes, in seconds.
    pub period_seconds: u64,
    /// How late a push may be before the service is down, in seconds.
    pub grace_seconds: u64,
    /// The token of the push URL (from `push.token_file` or
    /// `KITESTACKS_PUSH_TOKEN_<SERVICE_ID>`). Never published.
    #[serde(skip)]
    pub token: crate::Secret,
}

/// One service of the homelab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "gitforge", "name": "Forgejo", "url": "https://gitforge.kitestacks.com/",
    "category": "apps", "description": "Git hosting for every homelab repo",
    "container": "forgejo", "hosts": ["monk"], "auth": "oidc", "visibility": "public",
    "probe": {"kind": "http", "url": "https://gitforge.kitestacks.com/api/healthz", "method": "GET",
              "accept_status": [{"from": 200, "to": 399}], "host": null, "port": null, "tls": false,
              "name": null, "record": "A", "server": null, "expect": null, "timeout_ms": 5000,
              "tls_verify": true, "failures": 2}
}))]
pub struct Service {
    /// Stable identifier (lowercase letters, digits, `-`), unique in the registry.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Public URL; `null` for an internal service with no URL. Published without user
    /// name, password, query values or fragment (query values read `REDACTED`).
    #[serde(serialize_with = "serialize_redacted_opt")]
    pub url: Option<Url>,
    /// Card group.
    pub category: Category,
    /// One line for people.
    pub description: String,
    /// Container name on its hosts.
    pub container: String,
    /// Names of the hosts that run it (each is in `hosts`).
    pub hosts: Vec<String>,
    /// How it signs users in.
    pub auth: AuthMethod,
    /// Public (through the tunnel) or internal.
    pub visibility: Visibility,
    /// How to check it is up; `null` when it is not probed.
    pub probe: Option<ProbeSpec>,
    /// Its push monitor; `null` when it has none.
    pub push: Option<PushSpec>,
}

/// The hosts and services, validated: ids are unique and every service's hosts exist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registry {
    /// The hosts, in configuration order.
    pub hosts: Vec<Host>,
    /// The services, in configuration order.
    pub services: Vec<Service>,
}

impl Registry {
    /// The service with this id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// The host with this name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The services of one category, in configuration order.
    pub fn in_category(&self, category: Category) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(move |s| s.category == category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redacted(&Url::parse(s).unwrap()).to_string()
    }

    #[test]
    fn credentials_query_values_and_fragments_are_not_published() {
        assert_eq!(
            r("https://user:pw@host.example:8443/a/b?token=s3cret&x=1#frag"),
            "https://host.example:8443/a/b?token=REDACTED&x=REDACTED"
        );
        assert_eq!(r("https://user@host.example/"), "https://host.example/");
        assert_eq!(
            r("http://host.example/?s3cret"),
            "http://host.example/?REDACTED"
        );
        assert_eq!(r("http://host.example/?&&"), "http://host.example/");
        assert_eq!(
            r("https://host.example/plain"),
            "https://host.example/plain"
        );
    }

    #[test]
    fn serialised_urls_are_redacted_but_the_value_keeps_them() {
        let url = Url::parse("https://u:pw@h.example/health?key=s3cret").unwrap();
        let spec = ProbeSpec::http(url.clone());
        let json = serde_json::to_string(&spec).unwrap();
        assert!(
            json.contains("\"https://h.example/health?key=REDACTED\""),
            "{json}"
        );
        assert!(!json.contains("s3cret") && !json.contains("pw"), "{json}");
        assert_eq!(spec.url, Some(url));
    }
}
