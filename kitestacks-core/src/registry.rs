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

/// How to check that a service is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProbeSpec {
    /// The URL probed: the service's public URL unless the configuration names another.
    /// Published without user name, password, query values or fragment (query values
    /// read `REDACTED`); probes use the URL as configured.
    #[serde(serialize_with = "serialize_redacted")]
    pub url: Url,
    /// HTTP method.
    pub method: ProbeMethod,
    /// Status codes that count as up (login-protected apps answer 302, 401 or 403).
    pub accept_status: Vec<StatusRange>,
    /// How long a probe may take, in milliseconds.
    pub timeout_ms: u64,
    /// Whether the TLS certificate is verified (off only for self-signed internal certs).
    pub tls_verify: bool,
}

impl ProbeSpec {
    /// Whether a response status means the service is up.
    pub fn accepts(&self, code: u16) -> bool {
        self.accept_status.iter().any(|r| r.contains(code))
    }
}

/// One service of the homelab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "gitforge", "name": "Forgejo", "url": "https://gitforge.kitestacks.com/",
    "category": "apps", "description": "Git hosting for every homelab repo",
    "container": "forgejo", "hosts": ["monk"], "auth": "oidc", "visibility": "public",
    "probe": {"url": "https://gitforge.kitestacks.com/api/healthz", "method": "GET",
              "accept_status": [{"from": 200, "to": 399}], "timeout_ms": 5000, "tls_verify": true}
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
        let spec = ProbeSpec {
            url: url.clone(),
            method: ProbeMethod::Get,
            accept_status: vec![StatusRange { from: 200, to: 399 }],
            timeout_ms: 1000,
            tls_verify: true,
        };
        let json = serde_json::to_string(&spec).unwrap();
        assert!(
            json.contains("\"https://h.example/health?key=REDACTED\""),
            "{json}"
        );
        assert!(!json.contains("s3cret") && !json.contains("pw"), "{json}");
        assert_eq!(spec.url, url);
    }
}
