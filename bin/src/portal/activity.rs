//! `GET /api/activity`: the newest commits across the homelab's Forgejo, behind the
//! upstream cache. Only repositories the public can see, unless `[forgejo]
//! include_private = true`; the Forgejo URL is published without credentials.

use std::sync::Arc;

use hyper::Response;
use kitestacks_core::ForgejoConfig;
use kitestacks_core::api::ErrorBody;
use kitestacks_forgejo::{Client, Commit, Scope};
use serde::Serialize;
use utoipa::ToSchema;

use super::upstream::{self, CacheState, Failure, Upstream};
use crate::server::Body;

/// The body of `GET /api/activity`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityResponse {
    /// When the commits were fetched from Forgejo, seconds since the Unix epoch.
    pub fetched_at_seconds: f64,
    /// Seconds since then.
    pub age_seconds: f64,
    /// Whether a newer answer was due but could not be had (see `error`).
    pub stale: bool,
    /// Why the last refresh failed, when `stale`.
    pub error: Option<Failure>,
    /// The Forgejo the commits come from (query values read `REDACTED`).
    pub forgejo_url: String,
    /// Newest first, de-duplicated by SHA; only repositories the public can see unless
    /// `[forgejo] include_private = true`.
    pub commits: Vec<Commit>,
}

/// The configured Forgejo behind its cache, or `None` when `[forgejo] url` is unset.
pub struct Activity {
    upstream: Option<(Arc<Upstream<Vec<Commit>>>, String)>,
}

impl Activity {
    /// The Forgejo cache's state for `/metrics`; `None` when not configured.
    pub fn cache_state(&self) -> Option<CacheState> {
        self.upstream.as_ref().map(|(u, _)| u.cache_state())
    }

    /// Builds the client from `[forgejo]`.
    pub fn new(config: &ForgejoConfig) -> anyhow::Result<Self> {
        let Some(url) = &config.url else {
            return Ok(Self { upstream: None });
        };
        let mut builder = Client::builder(url.as_str())
            .timeout(config.timeout)
            .user_agent(concat!("kitestacks-portal/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = &config.token {
            builder = builder.token(token.clone());
        }
        let client = builder.build()?;
        let (limit, owner) = (config.limit, config.owner.clone());
        let include_private = config.include_private;
        let upstream = Upstream::new("forgejo", config.refresh, config.timeout, move || {
            let (client, owner) = (client.clone(), owner.clone());
            async move {
                let scope = Scope {
                    owner: owner.as_deref(),
                    include_private,
                };
                let result = client.recent_commits_in(scope, limit).await;
                // Logged once, by the cache, with the name `Failure::of` gives it.
                result.map_err(|e| Failure::of("the Forgejo request", e.kind().as_str(), &e))
            }
        });
        Ok(Self {
            upstream: Some((upstream, kitestacks_core::redacted(url).to_string())),
        })
    }

    /// Answers the route.
    pub async fn route(&self) -> Response<Body> {
        activity(self).await
    }

    /// Calls `f` after every refresh of the cache (nothing when not configured).
    pub fn on_change(&self, f: impl Fn() + Send + Sync + 'static) {
        if let Some((u, _)) = &self.upstream {
            u.on_store(f);
        }
    }
}

/// Recent commits.
#[utoipa::path(
    get,
    path = "/api/activity",
    tag = "portal",
    operation_id = "activity",
    summary = "Recent commits across all repositories of the homelab's Forgejo",
    description = "Only repositories the public can see (not private or internal, owner not \
                   limited or private), unless `[forgejo] include_private = true`. \
                   Served from a cache refreshed at most once per `[forgejo] refresh` (default 60 s), \
                   with one upstream request however many pages ask. If Forgejo fails after a \
                   success, the last good commits are served with `stale: true` and the error's \
                   kind; with no good answer yet, an error status: 502 (Forgejo answered badly or \
                   could not be reached), 504 (timeout), 503 (not configured).",
    responses(
        (status = 200, description = "The newest commits", body = ActivityResponse),
        (status = 502, description = "Forgejo failed and there is no earlier answer", body = ErrorBody,
         example = json!({"error": {"code": "bad_upstream", "message": "the Forgejo request failed (unauthorized)"}})),
        (status = 503, description = "`[forgejo] url` is not configured", body = ErrorBody,
         example = json!({"error": {"code": "not_configured", "message": "set [forgejo] url to show recent commits"}})),
        (status = 504, description = "Forgejo did not answer in time and there is no earlier answer", body = ErrorBody,
         example = json!({"error": {"code": "upstream_timeout", "message": "the Forgejo request failed (timeout)"}})),
    )
)]
async fn activity(a: &Activity) -> Response<Body> {
    let url = a.upstream.as_ref().map_or("", |(_, url)| url.as_str());
    let hint = "set [forgejo] url to show recent commits";
    upstream::respond(a.upstream.as_ref().map(|(u, _)| u), hint, |commits, age| {
        ActivityResponse {
            fetched_at_seconds: age.fetched_at_seconds,
            age_seconds: age.age_seconds,
            stale: age.stale,
            error: age.error,
            forgejo_url: url.to_owned(),
            commits: commits.clone(),
        }
    })
    .await
}
