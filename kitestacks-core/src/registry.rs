//! The homelab's hosts and services: validated, typed, and serialised as the
//! `/api/services` body the portal page renders its cards from.

use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

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
    /// Public URL; `null` for an internal service with no URL.
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
