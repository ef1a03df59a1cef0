//! The portal API: its state, its routes (a `match` on method and path) and their
//! OpenAPI descriptions. [`Portal::handle`] needs no socket, so tests drive it directly.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use kitestacks_core::Config;
use kitestacks_core::api::{ErrorBody, Health, ServicesResponse};

pub mod activity;
pub mod cli;
mod cors;
pub mod host_metrics;
pub mod openapi;
mod page;
pub mod probe;
mod static_files;
pub mod upstream;
pub mod weather;

use crate::portal::activity::Activity;
use crate::portal::cors::Cors;
use crate::portal::host_metrics::Metrics;
use crate::portal::probe::{RequestStats, Status};
use crate::portal::static_files::StaticDir;
use crate::portal::weather::CurrentWeather;
use crate::response;
use crate::server::Body;
use crate::webconfig::{Access, Verdict, WebConfig};

/// Where the OpenAPI document is served; Swagger UI loads it from here.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
const DOCS_PATH: &str = "/api/docs";

/// The portal API. Cheap to clone: a handle on shared, immutable state.
#[derive(Clone)]
pub struct Portal {
    inner: Arc<Inner>,
    /// Basic auth and response headers of `[server] web_config` (open without one).
    access: Access,
}

struct Inner {
    services: Bytes,
    openapi: Bytes,
    swagger: Arc<utoipa_swagger_ui::Config<'static>>,
    static_dir: Option<StaticDir>,
    cors: Cors,
    metrics: Arc<Metrics>,
    activity: Activity,
    weather: CurrentWeather,
    status: Arc<Status>,
    requests: RequestStats,
}

impl Portal {
    /// Builds the portal for a validated configuration and takes the first host sample.
    /// Fails only if `static_dir` vanished since validation. Background work (sampling
    /// every interval) starts with [`Portal::background`].
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let static_dir = match &config.server.static_dir {
            Some(dir) => Some(
                StaticDir::new(dir)
                    .map_err(|e| anyhow::anyhow!("server.static_dir {}: {e}", dir.display()))?,
            ),
            None => None,
        };
        let services = serde_json::to_vec(&ServicesResponse::from_config(config))?;
        Ok(Self {
            inner: Arc::new(Inner {
                services: Bytes::from(services),
                openapi: Bytes::from(openapi::json()),
                swagger: Arc::new(utoipa_swagger_ui::Config::new([OPENAPI_PATH])),
                static_dir,
                cors: Cors::new(&config.server.cors_allow_origins),
                metrics: Arc::new(Metrics::new(&config.metrics)?),
                activity: Activity::new(&config.forgejo)?,
                weather: CurrentWeather::new(&config.weather)?,
                status: Arc::new(Status::new(config)?),
                requests: RequestStats::default(),
            }),
            access: Access::open(),
        })
    }

    /// Puts the portal behind a web config's basic auth and response headers (its TLS
    /// is the server's: [`serve_listener`]). `/metrics` and `/api/*` then need
    /// credentials, except `/api/health` and CORS preflights (see [`protected`]).
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// The background work the portal needs while it serves: sampling the host every
    /// `[metrics] interval` and probing the services every `[status] interval`. Spawn it
    /// on the runtime; it runs until aborted.
    pub fn background(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (metrics, status) = (self.inner.metrics.clone(), self.inner.status.clone());
        async move {
            tokio::join!(metrics.run(), status.run());
        }
    }

    /// Probes every service once now, as the background task does every interval.
    pub async fn probe_now(&self) {
        self.inner.status.probe_now().await;
    }

    /// Takes a host sample now (blocking), as the background task does every interval.
    pub fn refresh_metrics(&self) {
        self.inner.metrics.refresh();
    }

    /// Answers one request, and counts it in the request metrics of `/metrics`.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body> {
        let start = std::time::Instant::now();
        let path = req.uri().path().to_owned();
        let mut response = self.respond(req).await;
        self.access.add_headers(&mut response);
        let code = response.status().as_u16();
        let route = crate::portal::probe::route_of(&path, code);
        self.inner.requests.record(route, code, start.elapsed());
        response
    }

    async fn respond<B>(&self, req: Request<B>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let origin = req.headers().get(header::ORIGIN).cloned();
        let cors = &self.inner.cors;

        if method == Method::OPTIONS && cors.enabled() {
            return cors.preflight(origin.as_ref(), req.headers());
        }
        let allow = cors.allow_header();
        let mut response = if protected(&method, &path)
            && self.access.check(req.headers()).await == Verdict::Unauthorized
        {
            unauthorized()
        } else if method != Method::GET && method != Method::HEAD {
            if self.serves(&path) {
                response::method_not_allowed(&method, &path, allow)
            } else {
                response::not_found(&method, &path)
            }
        } else {
            self.get(&method, &path).await
        };
        cors.decorate(origin.as_ref(), &mut response);
        if method == Method::HEAD {
            strip_body(&mut response);
        }
        response
    }

    /// Whether some GET route exists for `path` (to tell 405 from 404).
    fn serves(&self, path: &str) -> bool {
        matches!(
            path,
            "/api/health"
                | "/api/services"
                | "/api/activity"
                | "/api/weather"
                | "/api/status"
                | "/metrics"
                | OPENAPI_PATH
                | DOCS_PATH
        ) || path.starts_with("/api/docs/")
            || crate::portal::host_metrics::is_route(path)
            || (!is_api(path) && self.inner.static_dir.is_some())
            || (self.inner.static_dir.is_none() && crate::portal::page::serves(path))
    }

    async fn get(&self, method: &Method, path: &str) -> Response<Body> {
        match path {
            "/api/health" => health(),
            "/api/services" => services(&self.inner.services),
            "/api/activity" => self.inner.activity.route().await,
            "/api/weather" => self.inner.weather.route().await,
            "/api/status" => crate::portal::probe::status(&self.inner.status),
            "/metrics" => self.prometheus(),
            OPENAPI_PATH => openapi_json(&self.inner.openapi),
            DOCS_PATH => docs_redirect(),
            _ if path == "/api/metrics" || path.starts_with("/api/metrics/") => self
                .inner
                .metrics
                .route(path)
                .unwrap_or_else(|| response::not_found(method, path)),
            _ if path.starts_with("/api/docs/") => {
                docs(&self.inner.swagger, &path["/api/docs/".len()..])
            }
            _ if is_api(path) => response::not_found(method, path),
            _ => match &self.inner.static_dir {
                Some(dir) => dir.serve(method, path).await,
                None => crate::portal::page::serve(path)
                    .unwrap_or_else(|| response::not_found(method, path)),
            },
        }
    }
}

/// Whether a request needs credentials when the web config has `basic_auth_users`:
/// `/metrics` and everything under `/api/`, except `/api/health` (the liveness check of
/// container runtimes, systemd and tunnels; it tells nothing about the homelab) and CORS
/// preflights (browsers send `OPTIONS` without credentials, then the real request with
/// them). The page and its assets stay open: the browser asks for the password when the
/// page's first `fetch` meets the 401.
pub fn protected(method: &Method, path: &str) -> bool {
    method != Method::OPTIONS && (path == "/metrics" || (is_api(path) && path != "/api/health"))
}

/// 401 in the portal's error shape, with `WWW-Authenticate: Basic`.
pub fn unauthorized() -> Response<Body> {
    let mut r = response::error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or wrong credentials",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"kitestacks\""),
    );
    r
}

/// Serves `portal` on `listener` over `web`'s transport (TLS or plain, HTTP/2 or not)
/// until `shutdown` resolves. Put the portal behind `web`'s access first
/// ([`Portal::with_access`]); the binary does both.
pub async fn serve_listener(
    portal: Portal,
    listener: tokio::net::TcpListener,
    limits: crate::server::Limits,
    web: &WebConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let handler = move |req| {
        let portal = portal.clone();
        async move { portal.handle(req).await }
    };
    crate::server::serve_with(listener, limits, web.transport(), handler, shutdown).await;
}

impl Portal {
    /// `GET /metrics`: probe results, request metrics and the upstream caches' state.
    fn prometheus(&self) -> Response<Body> {
        let mut scrape = kitestacks_metrics::exposition::Scrape::new();
        self.inner.status.collect(&mut scrape);
        self.inner.requests.collect(&mut scrape);
        let upstreams = [
            ("forgejo", self.inner.activity.cache_state()),
            ("weather", self.inner.weather.cache_state()),
        ];
        for (name, state) in upstreams {
            if let Some(state) = state {
                crate::portal::probe::collect_upstream(&mut scrape, name, &state);
            }
        }
        let mut out = String::new();
        scrape.render(&mut out);
        self.inner.requests.render_durations(&mut out);
        crate::portal::probe::metrics_response(out)
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// HEAD: same status and headers as GET, with the GET body's length and no body.
fn strip_body(response: &mut Response<Body>) {
    use hyper::body::Body as _;
    let len = response.body().size_hint().exact().unwrap_or(0);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    *response.body_mut() = Full::new(Bytes::new());
}

/// Liveness: the server answers. Stays 200 whatever an upstream does.
#[utoipa::path(
    get,
    path = "/api/health",
    tag = "portal",
    operation_id = "health",
    summary = "Liveness check",
    description = "Answers `{\"ok\": true}` while the server runs, whatever its upstreams do. HEAD is accepted too.",
    responses(
        (status = 200, description = "The server is alive", body = Health,
         example = json!({"ok": true})),
        (status = 500, description = "Internal error", body = ErrorBody),
    )
)]
fn health() -> Response<Body> {
    response::json(StatusCode::OK, &Health { ok: true })
}

/// The registry, pre-rendered at start (it does not change while the server runs).
#[utoipa::path(
    get,
    path = "/api/services",
    tag = "portal",
    operation_id = "services",
    summary = "Hosts and services of the homelab",
    description = "The service registry as the portal page renders its cards from it: \
                   categories in page order, hosts, and every public and internal service.",
    responses(
        (status = 200, description = "The registry", body = ServicesResponse),
        (status = 500, description = "Internal error", body = ErrorBody),
    )
)]
fn services(body: &Bytes) -> Response<Body> {
    response::json_bytes(StatusCode::OK, body.clone())
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "docs",
    operation_id = "openapi",
    summary = "This OpenAPI document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object,
         content_type = "application/json"),
    )
)]
fn openapi_json(body: &Bytes) -> Response<Body> {
    response::json_bytes(StatusCode::OK, body.clone())
}

/// `/api/docs` → `/api/docs/` (Swagger UI loads its files relative to it).
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "docs",
    operation_id = "docs_redirect",
    summary = "Swagger UI (redirects to /api/docs/)",
    responses(
        (status = 308, description = "Permanent redirect to `/api/docs/`",
         headers(("Location" = String, description = "`/api/docs/`"))),
    )
)]
fn docs_redirect() -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::PERMANENT_REDIRECT;
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/api/docs/"));
    r
}

/// Swagger UI, served from the binary (no internet needed).
#[utoipa::path(
    get,
    path = "/api/docs/{file}",
    tag = "docs",
    operation_id = "docs",
    summary = "Swagger UI files",
    description = "`/api/docs/` is the Swagger UI page for this API; its scripts and styles are the other files.",
    params(("file" = String, Path, description = "A Swagger UI file, e.g. `index.html`; empty for the page")),
    responses(
        (status = 200, description = "A Swagger UI file (HTML, JavaScript, CSS or PNG)",
         content(("text/html"), ("text/javascript"), ("text/css"), ("image/png"))),
        (status = 404, description = "No such file", body = ErrorBody,
         example = json!({"error": {"code": "not_found", "message": "no route for GET /api/docs/nope"}})),
    )
)]
fn docs(config: &Arc<utoipa_swagger_ui::Config<'static>>, tail: &str) -> Response<Body> {
    let tail = if tail.is_empty() { "index.html" } else { tail };
    match utoipa_swagger_ui::serve(tail, config.clone()) {
        Ok(Some(file)) => {
            let bytes = match file.bytes {
                std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
                std::borrow::Cow::Owned(v) => Bytes::from(v),
            };
            let mut r = Response::new(Full::new(bytes));
            if let Ok(ct) = HeaderValue::from_str(&file.content_type) {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Ok(None) => response::not_found(&Method::GET, &format!("/api/docs/{tail}")),
        Err(e) => {
            tracing::error!("swagger ui: {e}");
            response::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal server error",
            )
        }
    }
}
