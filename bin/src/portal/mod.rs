//! The portal wing: the `kitestacks-portal` API, its state and its dispatch over the route
//! table ([`routes`]). [`Portal::handle`] needs no socket, so tests drive it directly.
//!
//! - JSON routes: [`activity`] and [`weather`] (upstreams behind one cache,
//!   [`upstream`]), [`probe`] (`/api/status`), [`host_metrics`] (`/api/metrics`),
//!   [`containers`] (`/api/containers`),
//!   [`openapi`] (the document and Swagger UI); `/api/health` and `/api/services` here.
//! - `/metrics`: the portal's own Prometheus metrics, [`telemetry`].
//! - The page: the embedded one or `[server] static_dir`; CORS; the flags ([`cli`]).

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use kitestacks_core::Config;
use kitestacks_core::api::{ErrorBody, Health, ServicesResponse};

pub mod activity;
pub mod alerts;
pub mod checks;
pub mod cli;
pub mod containers;
mod cors;
pub mod events;
pub mod failure;
pub mod fleet;
pub mod history;
pub mod host_metrics;
pub mod openapi;
mod page;
pub mod probe;
pub mod push;
pub mod routes;
pub mod startup;
mod static_files;
pub mod telemetry;
pub mod upstream;
pub mod uptime;
pub mod weather;

use activity::Activity;
use cors::Cors;
use events::{Events, Kind};
use history::Recorder;
use host_metrics::Metrics;
use openapi::OPENAPI_PATH;
use probe::Status;
use routes::Route;
use static_files::StaticDir;
use telemetry::RequestStats;
use weather::CurrentWeather;

use crate::response;
use crate::server::Body;
use crate::webconfig::{Access, Verdict, WebConfig};

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
    fleet: fleet::Fleet,
    status: Arc<Status>,
    feed: Arc<Feed>,
    requests: RequestStats,
}

/// Where new data goes besides its own route: the history (`/api/history`) and the
/// live-update stream (`/api/events`). The sampler and the prober hold it.
pub struct Feed {
    /// Every figure over time.
    pub history: Arc<Recorder>,
    /// Server-sent events.
    pub events: Arc<Events>,
    snapshot_interval: std::time::Duration,
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
        let mut tiers = kitestacks_metrics::history::HistoryConfig::new(config.metrics.interval);
        tiers.max_series = config.history.max_series;
        let feed = Arc::new(Feed {
            history: Arc::new(Recorder::new(tiers, config.history.file.clone())),
            events: Arc::new(Events::new(
                config.events.max_streams,
                config.events.keepalive,
            )),
            snapshot_interval: config.history.snapshot_interval,
        });
        let metrics = Arc::new(Metrics::new(&config.metrics)?);
        metrics.feed(feed.clone());
        let status = Arc::new(Status::new(config)?);
        status.feed(feed.clone());
        let inner = Arc::new(Inner {
            services: Bytes::from(services),
            openapi: Bytes::from(openapi::json()),
            swagger: Arc::new(utoipa_swagger_ui::Config::new([OPENAPI_PATH])),
            static_dir,
            cors: Cors::new(&config.server.cors_allow_origins),
            metrics,
            activity: Activity::new(&config.forgejo)?,
            weather: CurrentWeather::new(&config.weather)?,
            fleet: fleet::Fleet::new(config)?,
            status,
            feed,
            requests: RequestStats::default(),
        });
        // A refreshed upstream cache is sent as an event: what its route answers now.
        // Weak: the hook lives inside `inner`.
        let weak = Arc::downgrade(&inner);
        inner
            .activity
            .on_change(move || publish_route(&weak, Kind::Activity));
        let weak = Arc::downgrade(&inner);
        inner
            .weather
            .on_change(move || publish_route(&weak, Kind::Weather));
        Ok(Self {
            inner,
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
        let (history, every) = (
            self.inner.feed.history.clone(),
            self.inner.feed.snapshot_interval,
        );
        let host_rules = {
            let (metrics, status) = (metrics.clone(), status.clone());
            let interval = metrics.interval();
            async move {
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    status.host_sample(&metrics.latest().0);
                }
            }
        };
        async move {
            tokio::join!(metrics.run(), status.run(), history.run(every), host_rules);
        }
    }

    /// Judges the alerts' host rules against the latest host sample, as the background
    /// task does every `[metrics] interval`.
    pub fn check_host(&self) {
        self.inner
            .status
            .host_sample(&self.inner.metrics.latest().0);
    }

    /// Ends every event stream: call it when the server is asked to stop, or the streams
    /// would hold the graceful drain to its end.
    pub fn close_streams(&self) {
        self.inner.feed.events.close();
    }

    /// Writes the history snapshot, if there is a file (blocking: call it after serving,
    /// or off the async workers).
    pub fn save_history(&self) {
        self.inner.feed.history.save();
        self.inner.status.save_uptime();
    }

    /// The history's memory budget, for the start-up log: `(bytes, max series, bytes per
    /// series)`.
    pub fn history_budget(&self) -> (usize, usize, usize) {
        self.inner.feed.history.budget()
    }

    /// Probes every service once now, as the background task does every interval.
    pub async fn probe_now(&self) {
        self.inner.status.probe_now().await;
    }

    /// Judges the push monitors as at `at`, as the background task does every second.
    pub fn check_pushes(&self, at: std::time::SystemTime) {
        self.inner.status.check_pushes(at);
    }

    /// Takes a host sample now (blocking), as the background task does every interval.
    pub fn refresh_metrics(&self) {
        self.inner.metrics.refresh();
    }

    /// Answers one request, and counts it in the request metrics of `/metrics`.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body> {
        let start = std::time::Instant::now();
        let route = self.route(req.uri().path());
        let mut response = self.respond(req, route).await;
        self.access.add_headers(&mut response);
        let code = response.status().as_u16();
        let label = routes::label_index(route, code);
        self.inner.requests.record(label, code, start.elapsed());
        response
    }

    /// The route for `path`: the table's, except that the page takes only the paths it
    /// has (any path outside `/api/` with `[server] static_dir`: the directory says 404).
    fn route(&self, path: &str) -> Option<Route> {
        match Route::of(path) {
            Some(Route::Page) if self.inner.static_dir.is_none() && !page::serves(path) => None,
            route => route,
        }
    }

    async fn respond<B>(&self, req: Request<B>, route: Option<Route>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path();
        let origin = req.headers().get(header::ORIGIN).cloned();
        let cors = &self.inner.cors;

        if method == Method::OPTIONS && cors.enabled() {
            return cors.preflight(origin.as_ref(), req.headers());
        }
        let mut response = if protected(&method, path)
            && self.access.check(req.headers()).await == Verdict::Unauthorized
        {
            unauthorized()
        } else if method == Method::POST && route == Some(Route::Push) {
            let tail = Route::Push.entry().tail(path);
            push::route(&self.inner.status, tail, req.uri().query())
        } else if method != Method::GET && method != Method::HEAD {
            match route {
                Some(_) => response::method_not_allowed(&method, path, cors.allow_header()),
                None => response::not_found(&method, path),
            }
        } else {
            match route {
                Some(route) => {
                    let query = req.uri().query();
                    let last_event_id = req.headers().get("last-event-id");
                    self.get(route, &method, path, query, last_event_id).await
                }
                None => response::not_found(&method, path),
            }
        };
        cors.decorate(origin.as_ref(), &mut response);
        if method == Method::HEAD {
            strip_body(&mut response);
        }
        response
    }

    /// Answers a GET (or HEAD) on `route`.
    async fn get(
        &self,
        route: Route,
        method: &Method,
        path: &str,
        query: Option<&str>,
        last_event_id: Option<&HeaderValue>,
    ) -> Response<Body> {
        let inner = &self.inner;
        match route {
            Route::Health => health(),
            Route::Services => services(&inner.services),
            Route::Activity => inner.activity.route().await,
            Route::Weather => inner.weather.route().await,
            Route::Status => probe::status(&inner.status, inner.fleet.checks()),
            Route::Push => push::route(&inner.status, Route::Push.entry().tail(path), query),
            Route::StatusBadge => {
                probe::badge(&inner.status, Route::StatusBadge.entry().tail(path), query)
            }
            Route::OpenApi => openapi::openapi_json(&inner.openapi),
            Route::DocsRedirect => openapi::docs_redirect(),
            Route::Docs => openapi::docs(&inner.swagger, Route::Docs.entry().tail(path)),
            Route::History => inner
                .feed
                .history
                .route(query, unix_seconds(std::time::SystemTime::now())),
            Route::Events => inner.feed.events.route(last_event_id),
            Route::Fleet => inner.fleet.route().await,
            Route::FleetHistory => {
                let tail = Route::FleetHistory.entry().tail(path);
                inner.fleet.history_route(tail, query).await
            }
            Route::Containers => inner.metrics.containers(None),
            Route::Container => inner
                .metrics
                .containers(Some(Route::Container.entry().tail(path))),
            Route::HostMetrics | Route::HostMetricsPart => inner
                .metrics
                .route(path)
                .unwrap_or_else(|| response::not_found(method, path)),
            Route::Telemetry => telemetry::metrics(
                &inner.status,
                &inner.requests,
                &inner.feed,
                &[
                    ("forgejo", inner.activity.cache_state()),
                    ("weather", inner.weather.cache_state()),
                    ("fleet", inner.fleet.cache_state()),
                ],
            ),
            Route::Page => match &inner.static_dir {
                Some(dir) => dir.serve(method, path).await,
                None => page::serve(path).unwrap_or_else(|| response::not_found(method, path)),
            },
        }
    }
}

/// Publishes what `/api/activity` or `/api/weather` answers now as an event of `kind`
/// (in a task of its own: it is called from inside the cache's refresh).
fn publish_route(inner: &std::sync::Weak<Inner>, kind: Kind) {
    let Some(inner) = inner.upgrade() else { return };
    tokio::spawn(async move {
        use http_body_util::BodyExt as _;
        let response = match kind {
            Kind::Activity => inner.activity.route().await,
            _ => inner.weather.route().await,
        };
        if response.status() != StatusCode::OK {
            return; // the failure is in the log; the page keeps what it shows
        }
        if let Ok(body) = response.into_body().collect().await {
            inner.feed.events.publish(kind, &body.to_bytes());
        }
    });
}

/// Whether a request needs credentials when the web config has `basic_auth_users`:
/// `/metrics` and everything under `/api/`, except `/api/health` (the liveness check of
/// container runtimes, systemd and tunnels; it tells nothing about the homelab) and CORS
/// preflights (browsers send `OPTIONS` without credentials, then the real request with
/// them). The page and its assets stay open: the browser asks for the password when the
/// page's first `fetch` meets the 401.
pub fn protected(method: &Method, path: &str) -> bool {
    method != Method::OPTIONS
        && (path == "/metrics" || (routes::is_api(path) && path != "/api/health"))
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

/// Seconds since the Unix epoch (0 for a time before it).
pub(crate) fn unix_seconds(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// HEAD: same status and headers as GET, with the GET body's length and no body.
fn strip_body(response: &mut Response<Body>) {
    use hyper::body::Body as _;
    let len = response.body().size_hint().exact().unwrap_or(0);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    *response.body_mut() = Body::empty();
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
