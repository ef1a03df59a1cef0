//! The portal's route table: every route once, with its path pattern. It drives dispatch
//! ([`Route::of`] and the `match` in the portal), the 404/405 decision and its `Allow`
//! header ([`ALLOW`]), the request-metrics label ([`label`]), and a test that the OpenAPI
//! document names exactly these routes. A new route is one variant and one row here; the
//! compiler then points at its handler.

use super::host_metrics::PARTS;
use super::openapi::OPENAPI_PATH;

/// What answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /api/health`: liveness.
    Health,
    /// `GET /api/services`: the registry.
    Services,
    /// `GET /api/activity`: recent Forgejo commits.
    Activity,
    /// `GET /api/weather`: current weather.
    Weather,
    /// `GET /api/status`: the prober's latest results.
    Status,
    /// `GET /api/status/{id}/badge.svg`: a service's badge.
    StatusBadge,
    /// `GET`/`POST /api/push/{token}`: a push monitor's heartbeat.
    Push,
    /// `GET /api/openapi.json`: the OpenAPI document.
    OpenApi,
    /// `GET /api/docs`: redirect to Swagger UI.
    DocsRedirect,
    /// `GET /api/docs/{file}`: Swagger UI's files.
    Docs,
    /// `GET /api/metrics`: the latest host sample.
    HostMetrics,
    /// `GET /api/metrics/{part}`: one part of it.
    HostMetricsPart,
    /// `GET /api/history`: every sampled figure over time.
    History,
    /// `GET /api/events`: live updates (server-sent events).
    Events,
    /// `GET /api/fleet`: every host's figures, from Prometheus.
    Fleet,
    /// `GET /api/fleet/{host}/history`: one host's figure over time, from Prometheus.
    FleetHistory,
    /// `GET /api/containers`: the host's containers.
    Containers,
    /// `GET /api/containers/{name}`: one of them.
    Container,
    /// `GET /metrics`: the portal's own Prometheus metrics.
    Telemetry,
    /// The page: any other path outside `/api/` (files of `[server] static_dir`, or the
    /// embedded page).
    Page,
}

/// Which paths a row's pattern takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paths {
    /// The pattern itself, e.g. `/api/health`.
    Exact,
    /// The pattern up to its `{param}`, then any tail (`/api/docs/{file}`).
    AnyTail,
    /// The pattern up to its `{param}`, then one of these (`/api/metrics/{part}`).
    OneOf(&'static [&'static str]),
    /// The pattern up to its `{param}`, one non-empty path segment, then the rest of the
    /// pattern (`/api/fleet/{host}/history`).
    Segment,
    /// Any path outside `/api/` that no row above takes (the page). Whether a file is
    /// there is the page's to say.
    OutsideApi,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// What answers.
    pub route: Route,
    /// The path pattern as OpenAPI writes it (`{param}` for a path segment); also the
    /// route's `route` label in the request metrics, so it must never be a raw path.
    pub pattern: &'static str,
    /// Which paths it takes.
    pub paths: Paths,
    /// Whether the OpenAPI document describes it: every JSON route under `/api/`. Not
    /// `/metrics` (Prometheus text, described by its own `# HELP` lines) nor the page.
    pub documented: bool,
}

const fn row(route: Route, pattern: &'static str, paths: Paths) -> Entry {
    Entry {
        route,
        pattern,
        paths,
        documented: true,
    }
}

/// The table, in [`Route`]'s order (checked when compiling), which is also the order of
/// the request metrics' labels. Rows are tried in order: the page comes last.
pub const ROUTES: [Entry; 20] = [
    row(Route::Health, "/api/health", Paths::Exact),
    row(Route::Services, "/api/services", Paths::Exact),
    row(Route::Activity, "/api/activity", Paths::Exact),
    row(Route::Weather, "/api/weather", Paths::Exact),
    row(Route::Status, "/api/status", Paths::Exact),
    row(
        Route::StatusBadge,
        "/api/status/{id}/badge.svg",
        Paths::AnyTail,
    ),
    row(Route::Push, "/api/push/{token}", Paths::AnyTail),
    row(Route::OpenApi, OPENAPI_PATH, Paths::Exact),
    row(Route::DocsRedirect, "/api/docs", Paths::Exact),
    row(Route::Docs, "/api/docs/{file}", Paths::AnyTail),
    row(Route::HostMetrics, "/api/metrics", Paths::Exact),
    row(
        Route::HostMetricsPart,
        "/api/metrics/{part}",
        Paths::OneOf(&PARTS),
    ),
    row(Route::History, "/api/history", Paths::Exact),
    row(Route::Events, "/api/events", Paths::Exact),
    row(Route::Fleet, "/api/fleet", Paths::Exact),
    row(
        Route::FleetHistory,
        "/api/fleet/{host}/history",
        Paths::Segment,
    ),
    row(Route::Containers, "/api/containers", Paths::Exact),
    row(Route::Container, "/api/containers/{name}", Paths::AnyTail),
    Entry {
        documented: false,
        ..row(Route::Telemetry, "/metrics", Paths::Exact)
    },
    Entry {
        documented: false,
        ..row(Route::Page, "static", Paths::OutsideApi)
    },
];

const _: () = {
    let mut i = 0;
    while i < ROUTES.len() {
        assert!(
            ROUTES[i].route as usize == i,
            "ROUTES is not in Route's order"
        );
        i += 1;
    }
};

/// The methods every route answers: the `Allow` header of a 405 and the
/// `Access-Control-Allow-Methods` of a CORS preflight.
pub const ALLOW: &str = "GET, HEAD";

/// [`ALLOW`] when CORS is on: preflight `OPTIONS` requests are answered too.
pub const ALLOW_WITH_OPTIONS: &str = "GET, HEAD, OPTIONS";

/// The request-metrics label of a request no route answered.
pub const NOT_FOUND: &str = "not_found";

/// How many request-metrics labels there are: one per route, and [`NOT_FOUND`].
pub const LABELS: usize = ROUTES.len() + 1;

impl Route {
    /// The route that takes `path`, if any. [`Route::Page`] for any path outside `/api/`
    /// no other route takes: the portal then asks its page whether it has that file.
    pub fn of(path: &str) -> Option<Route> {
        ROUTES.iter().find(|e| e.takes(path)).map(|e| e.route)
    }

    /// Its row of [`ROUTES`].
    pub fn entry(self) -> &'static Entry {
        &ROUTES[self as usize]
    }
}

impl Entry {
    /// Whether this row takes `path`.
    pub fn takes(&self, path: &str) -> bool {
        match self.paths {
            Paths::Exact => path == self.pattern,
            Paths::AnyTail => path.starts_with(self.prefix()),
            Paths::OneOf(tails) => path
                .strip_prefix(self.prefix())
                .is_some_and(|tail| tails.contains(&tail)),
            Paths::Segment => {
                let suffix = self
                    .pattern
                    .find('}')
                    .map_or("", |i| &self.pattern[i + 1..]);
                path.strip_prefix(self.prefix())
                    .and_then(|rest| rest.strip_suffix(suffix))
                    .is_some_and(|segment| !segment.is_empty() && !segment.contains('/'))
            }
            Paths::OutsideApi => !is_api(path),
        }
    }

    /// The pattern up to its `{param}` (all of it when it has none).
    pub fn prefix(&self) -> &'static str {
        self.pattern
            .find('{')
            .map_or(self.pattern, |i| &self.pattern[..i])
    }

    /// What `path` has after [`Entry::prefix`] (the `{param}`'s value).
    pub fn tail<'p>(&self, path: &'p str) -> &'p str {
        path.strip_prefix(self.prefix()).unwrap_or_default()
    }

    /// The paths the OpenAPI document lists for this row: none when not documented, one
    /// per value for [`Paths::OneOf`] (each part has its own schema), else the pattern.
    pub fn openapi_paths(&self) -> Vec<String> {
        match self.paths {
            _ if !self.documented => Vec::new(),
            Paths::OneOf(tails) => tails
                .iter()
                .map(|t| format!("{}{t}", self.prefix()))
                .collect(),
            _ => vec![self.pattern.to_owned()],
        }
    }
}

/// The request-metrics label index of a request `route` answered with `status`: a page
/// request that found no file counts as [`NOT_FOUND`], like a path no route takes.
pub fn label_index(route: Option<Route>, status: u16) -> usize {
    match route {
        Some(Route::Page) if status == 404 => ROUTES.len(),
        Some(r) => r as usize,
        None => ROUTES.len(),
    }
}

/// The label at `index` (from [`label_index`]): a route pattern, never a raw path.
pub fn label(index: usize) -> &'static str {
    ROUTES.get(index).map_or(NOT_FOUND, |e| e.pattern)
}

/// Whether `path` is under `/api/`.
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_route() {
        let of = Route::of;
        assert_eq!(of("/api/health"), Some(Route::Health));
        assert_eq!(of("/api/metrics"), Some(Route::HostMetrics));
        assert_eq!(of("/api/metrics/cpu"), Some(Route::HostMetricsPart));
        assert_eq!(of("/api/metrics/nope"), None);
        assert_eq!(of("/api/docs"), Some(Route::DocsRedirect));
        assert_eq!(of("/api/docs/"), Some(Route::Docs));
        assert_eq!(of("/api/docs/index.html"), Some(Route::Docs));
        assert_eq!(of("/api"), None);
        assert_eq!(of("/api/nope"), None);
        assert_eq!(of("/metrics"), Some(Route::Telemetry));
        assert_eq!(of("/api/fleet"), Some(Route::Fleet));
        assert_eq!(of("/api/fleet/monk/history"), Some(Route::FleetHistory));
        assert_eq!(of("/api/fleet//history"), None);
        assert_eq!(of("/api/fleet/a/b/history"), None);
        assert_eq!(of("/api/fleet/monk"), None);
        assert_eq!(
            Route::FleetHistory.entry().tail("/api/fleet/monk/history"),
            "monk/history"
        );
        assert_eq!(of("/"), Some(Route::Page));
        assert_eq!(of("/apix"), Some(Route::Page));
        assert_eq!(Route::Docs.entry().tail("/api/docs/a.css"), "a.css");
    }

    #[test]
    fn labels_are_patterns() {
        let l = |p: &str, s: u16| label(label_index(Route::of(p), s));
        assert_eq!(l("/api/health", 200), "/api/health");
        assert_eq!(l("/api/health", 405), "/api/health");
        assert_eq!(l("/api/metrics/cpu", 200), "/api/metrics/{part}");
        assert_eq!(l("/api/metrics/nope", 404), "not_found");
        assert_eq!(l("/api/docs/index.html", 200), "/api/docs/{file}");
        assert_eq!(l("/index.html", 200), "static");
        assert_eq!(l("/index.html", 405), "static");
        assert_eq!(l("/index.html", 404), "not_found");
        assert_eq!(l("/api/nope", 404), "not_found");
        assert_eq!(l("/metrics", 200), "/metrics");
        assert_eq!(LABELS, ROUTES.len() + 1);
        assert_eq!(label(LABELS - 1), NOT_FOUND);
    }
}
