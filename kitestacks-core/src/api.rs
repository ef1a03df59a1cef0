//! The JSON bodies of the portal API. Defined once here; the server serialises these
//! types and the OpenAPI document is generated from them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Config;
use crate::registry::{Category, Host, Service};

/// `GET /api/health`: the server is alive. It says nothing about upstreams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"ok": true}))]
pub struct Health {
    /// Always `true` when the server answers.
    pub ok: bool,
}

/// A category of services, in page order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"id": "monitoring", "title": "Monitoring"}))]
pub struct CategoryInfo {
    /// Wire name, as in `Service.category`.
    pub id: Category,
    /// Heading for people.
    pub title: String,
}

/// `GET /api/services`: the homelab's hosts and services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ServicesResponse {
    /// The homelab's name.
    pub homelab: String,
    /// The base domain public services are published on; empty when the configuration
    /// sets none (then no service uses `subdomain`).
    pub base_domain: String,
    /// Every category, in the order a page shows them.
    pub categories: Vec<CategoryInfo>,
    /// The hosts.
    pub hosts: Vec<Host>,
    /// The services, public and internal, in configuration order.
    pub services: Vec<Service>,
}

impl ServicesResponse {
    /// The body for a configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            homelab: config.homelab.name.clone(),
            // Empty when none is configured (a registry of `url`s needs none).
            base_domain: config.homelab.base_domain.clone().unwrap_or_default(),
            categories: Category::ALL
                .iter()
                .map(|&c| CategoryInfo {
                    id: c,
                    title: c.title().to_owned(),
                })
                .collect(),
            hosts: config.registry.hosts.clone(),
            services: config.registry.services.clone(),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"error": {"code": "not_found", "message": "no route for GET /api/nope"}}))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error inside an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `not_found`, `method_not_allowed`, `bad_request`,
    /// `forbidden`, `internal`, `bad_upstream`, `upstream_timeout`, `not_configured`.
    pub code: String,
    /// Explanation for people. Internal details are logged, never sent.
    pub message: String,
}

impl ErrorBody {
    /// An error body.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}
