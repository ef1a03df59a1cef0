//! kitestacks-core: the homelab's service registry, the configuration file and the JSON
//! wire types of the portal API.
//!
//! Principal types:
//! - [`Config`]: a validated configuration, from [`Config::default_embedded`] (the
//!   homelab of the original system, compiled into the binary) or from one TOML file
//!   named explicitly ([`Config::load`]). Errors name the key and quote the bad value.
//! - [`Registry`], [`Host`], [`Service`]: the hosts and services the portal page renders
//!   cards from.
//! - [`Secret`]: a string that never shows itself in `Debug` or `Display`.
//! - [`api`]: the JSON bodies of the portal API (`/api/health`, `/api/services`, errors).
//!
//! This crate knows nothing of HTTP servers, flags or the process: `bin/` wires it.
//!
//! ```
//! use kitestacks_core::Config;
//!
//! let config = Config::default_embedded();
//! let www = config.registry.service("portal").expect("the portal is in the default");
//! assert_eq!(www.url.as_ref().map(|u| u.as_str()), Some("https://www.kitestacks.com/"));
//! assert_eq!(config.server.listen.to_string(), "127.0.0.1:8000");
//! ```

mod alerts;
pub mod api;
mod config;
mod duration;
mod error;
mod keys;
mod registry;
mod secret;

pub use alerts::{AlertEvent, AlertRule, AlertsConfig, Notifier, NotifierKind};
pub use config::{
    Config, Contact, DEFAULT_CONFIG_TOML, EventsConfig, FLEET_PASSWORD_ENV, FLEET_TOKEN_ENV,
    FORGEJO_TOKEN_ENV, FleetAuth, FleetConfig, ForgejoConfig, HistoryConfig, HomelabConfig,
    MetricsConfig, SHORTEST_METRICS_INTERVAL, ServerConfig, StatusConfig, Units, WeatherConfig,
    WeatherProviderKind, parse_listen_address, push_token_env,
};
pub use error::{ConfigError, Position, Problem};
pub use keys::edit_distance;
pub use registry::{
    AuthMethod, Category, CheckKind, DnsRecord, Host, HostRole, ProbeMethod, ProbeSpec, PushSpec,
    REDACTED, Registry, Service, StatusRange, Visibility, redacted,
};
pub use secret::Secret;

/// The README's example, run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
