//! The node-exporter-compatible `/metrics` endpoint: the collectors of
//! kitestacks-metrics behind node_exporter's HTTP behaviour (`collect[]` / `exclude[]`
//! filters, gzip, `--web.max-requests`, exporter self-metrics, a landing page).

pub mod cli;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use kitestacks_metrics::collector::{NodeCollector, ProcessCollector};
use kitestacks_metrics::exposition::Scrape;
use tokio::sync::{Mutex, Semaphore};

use crate::server::Body;
use cli::ExporterArgs;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exporter: cheap to clone.
#[derive(Clone)]
pub struct Exporter {
    inner: Arc<Inner>,
}

struct Inner {
    /// The collectors, the scrape object reused from one scrape to the next, and the
    /// exporter's own `process_*` families. An async lock: a scrape awaits its
    /// collectors' worker thread while holding it, and later scrapes queue behind it.
    node: Mutex<(NodeCollector, Scrape, ProcessCollector)>,
    enabled: Vec<&'static str>,
    telemetry_path: String,
    exporter_metrics: bool,
    limit: Option<Semaphore>,
    max_requests: usize,
    requests_200: AtomicU64,
    requests_500: AtomicU64,
    requests_503: AtomicU64,
    in_flight: AtomicU64,
    encoding_errors: AtomicU64,
    /// Length of the last rendered body, to size the next one's buffer.
    last_len: AtomicU64,
    /// The server's connection limits (from the `--web.*` flags).
    limits: crate::server::Limits,
    /// The last scrape's body, when it began and what it selected: a request that waited
    /// for the lock while that scrape ran gets it (see [`Exporter::render`]).
    last: std::sync::Mutex<Option<LastScrape>>,
}

struct LastScrape {
    started: std::time::Instant,
    selected: Vec<&'static str>,
    body: Bytes,
}

/// A `collect[]`/`exclude[]` query that cannot be served.
#[derive(Debug, PartialEq, Eq)]
pub struct BadFilter(pub String);

impl Exporter {
    /// Builds the enabled collectors (compiling their patterns).
    pub fn new(args: &ExporterArgs) -> anyhow::Result<Self> {
        let node = NodeCollector::new(args.context.clone(), &args.collectors, &args.options)?
            .with_deadline(args.collector_deadline);
        Ok(Self {
            inner: Arc::new(Inner {
                node: Mutex::new((node, Scrape::new(), ProcessCollector::new())),
                enabled: args.collectors.clone(),
                telemetry_path: args.telemetry_path.clone(),
                exporter_metrics: args.exporter_metrics,
                limit: (args.max_requests > 0).then(|| Semaphore::new(args.max_requests)),
                max_requests: args.max_requests,
                requests_200: AtomicU64::new(0),
                requests_500: AtomicU64::new(0),
                requests_503: AtomicU64::new(0),
                in_flight: AtomicU64::new(0),
                encoding_errors: AtomicU64::new(0),
                last_len: AtomicU64::new(0),
                limits: args.limits,
                last: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The enabled collectors, sorted.
    pub fn collectors(&self) -> &[&'static str] {
        &self.inner.enabled
    }

    /// Which collectors a query selects: all enabled ones, only `collect[]`, or all but
    /// `exclude[]` (both at once is an error, as is naming one that is not enabled).
    pub fn select(&self, query: Option<&str>) -> Result<Vec<&'static str>, BadFilter> {
        let (mut collect, mut exclude) = (Vec::new(), Vec::new());
        for (k, v) in crate::query::pairs(query) {
            match k.as_ref() {
                "collect[]" => collect.push(v),
                "exclude[]" => exclude.push(v),
                _ => {}
            }
        }
        if !collect.is_empty() && !exclude.is_empty() {
            return Err(BadFilter(
                "Combined collect and exclude queries are not allowed.".into(),
            ));
        }
        if collect.is_empty() {
            return Ok(self
                .inner
                .enabled
                .iter()
                .copied()
                .filter(|c| !exclude.iter().any(|e| e == c))
                .collect());
        }
        let mut out = Vec::new();
        for c in &collect {
            match self.inner.enabled.iter().find(|e| *e == c) {
                Some(e) => out.push(*e),
                None if kitestacks_metrics::collector::definition(c).is_some() => {
                    return Err(BadFilter(format!(
                        "Couldn't create filtered metrics handler: disabled collector: {c}"
                    )));
                }
                None => {
                    return Err(BadFilter(format!(
                        "Couldn't create filtered metrics handler: missing collector: {c}"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// One scrape of the selected collectors, rendered. The collectors run on their
    /// worker thread, each under `--scrape.collector-deadline`, while this task waits
    /// without blocking the runtime: a collector that overruns costs its own figures,
    /// and the other connections are served meanwhile.
    ///
    /// Scrapes queue on one lock. A request that had to wait while a scrape of the same
    /// collectors ran, and that scrape began after the request arrived, is answered with
    /// that scrape's body instead of a second one: the figures were read after it asked,
    /// so they are as fresh as its own would be. Many clients at once (an HA pair of
    /// Prometheus servers, or a crowd of stalled connections) then cost one scrape, not
    /// one each in a row.
    pub async fn render(&self, selected: &[&'static str]) -> Bytes {
        let arrived = std::time::Instant::now();
        let mut guard = self.inner.node.lock().await;
        {
            let last = self
                .inner
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(l) = last.as_ref()
                && l.started >= arrived
                && l.selected == selected
            {
                return l.body.clone();
            }
        }
        let started = std::time::Instant::now();
        let (node, scrape, process) = &mut *guard;
        scrape.clear();
        let mut running = node.start(std::mem::take(scrape), |name| selected.contains(&name));
        let (done, report) = loop {
            // The worker wakes this task when it is done; a stuck one cannot, hence the
            // timeout at the running collector's deadline (the poll then goes on without it).
            let check = tokio::time::Instant::from_std(running.next_check());
            if let Ok(done) = tokio::time::timeout_at(check, &mut running).await {
                break done;
            }
        };
        drop(running);
        *scrape = done;
        for (name, e) in report.failures {
            tracing::error!(collector = name, "collector failed: {e}");
        }
        for (name, e) in report.warnings {
            tracing::warn!(collector = name, "{e}");
        }
        build_info(scrape);
        if self.inner.exporter_metrics {
            process.collect(scrape);
            self.handler_metrics(scrape);
        }
        // Sized from the last body: a buffer that grows by doubling, or a fixed 64 KiB,
        // costs copies or (freed at 64 KiB and above) a glibc heap consolidation per scrape.
        let last = self.inner.last_len.load(Ordering::Relaxed) as usize;
        let mut text = String::with_capacity(last + last / 8 + 4096);
        scrape.render(&mut text);
        self.inner
            .last_len
            .store(text.len() as u64, Ordering::Relaxed);
        let body = Bytes::from(text);
        *self
            .inner
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(LastScrape {
            started,
            selected: selected.to_vec(),
            body: body.clone(),
        });
        body
    }

    fn handler_metrics(&self, out: &mut Scrape) {
        let i = &self.inner;
        for (code, n) in [
            ("200", &i.requests_200),
            ("500", &i.requests_500),
            ("503", &i.requests_503),
        ] {
            out.counter(
                "promhttp_metric_handler_requests_total",
                "Total number of scrapes by HTTP status code.",
                &[("code", code)],
                n.load(Ordering::Relaxed) as f64,
            );
        }
        for cause in ["encoding", "gathering"] {
            out.counter(
                "promhttp_metric_handler_errors_total",
                "Total number of internal errors encountered by the promhttp metric handler.",
                &[("cause", cause)],
                if cause == "encoding" {
                    i.encoding_errors.load(Ordering::Relaxed) as f64
                } else {
                    0.0
                },
            );
        }
        out.gauge(
            "promhttp_metric_handler_requests_in_flight",
            "Current number of scrapes being served.",
            &[],
            i.in_flight.load(Ordering::Relaxed) as f64,
        );
    }

    /// Answers one request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body> {
        let path = req.uri().path();
        if path == self.inner.telemetry_path {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.\n");
            }
            let gzip = accepts_gzip(req.headers());
            let query = req.uri().query().map(str::to_owned);
            let head = req.method() == Method::HEAD;
            let mut r = self.metrics(query, gzip).await;
            if head {
                *r.body_mut() = Body::empty();
            }
            return r;
        }
        if path == "/" {
            return self.landing();
        }
        text(StatusCode::NOT_FOUND, "404 page not found\n")
    }

    async fn metrics(&self, query: Option<String>, gzip: bool) -> Response<Body> {
        let i = &self.inner;
        let _permit = match &i.limit {
            Some(sem) => match sem.try_acquire() {
                Ok(p) => Some(p),
                Err(_) => {
                    i.requests_503.fetch_add(1, Ordering::Relaxed);
                    return text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &format!(
                            "Limit of concurrent requests reached ({}), try again later.\n",
                            i.max_requests
                        ),
                    );
                }
            },
            None => None,
        };
        let selected = match self.select(query.as_deref()) {
            Ok(s) => s,
            Err(BadFilter(msg)) => return text(StatusCode::BAD_REQUEST, &msg),
        };
        let in_flight = InFlight::new(&i.in_flight);
        // The collectors run on one worker thread (one hand-over per scrape), each under
        // the deadline; the request is dropped mid-scrape when the client goes away, and
        // the guard still counts it out.
        let scrape = self.render(&selected).await;
        let rendered = if gzip {
            gzip_bytes(&scrape).map(|b| (Bytes::from(b), true))
        } else {
            Ok((scrape, false))
        };
        drop(in_flight);
        match rendered {
            Ok((body, gzipped)) => {
                i.requests_200.fetch_add(1, Ordering::Relaxed);
                let mut r = Response::new(Body::new(body));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
                if gzipped {
                    r.headers_mut()
                        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                r.headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
                r
            }
            Err(e) => {
                i.requests_500.fetch_add(1, Ordering::Relaxed);
                i.encoding_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!("cannot compress the scrape: {e}");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An error has occurred while serving metrics.\n",
                )
            }
        }
    }

    fn landing(&self) -> Response<Body> {
        let path = html_escape(&self.inner.telemetry_path);
        let collectors = self.inner.enabled.join(", ");
        let page = format!(
            "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>kitestacks-exporter</title></head>\n<body>\n\
             <h1>kitestacks-exporter</h1>\n<p>A node_exporter-compatible Prometheus exporter \
             (version {}).</p>\n<ul><li><a href=\"{path}\">Metrics</a></li></ul>\n\
             <p>Enabled collectors: {}</p>\n</body>\n</html>\n",
            env!("CARGO_PKG_VERSION"),
            html_escape(&collectors)
        );
        let mut r = Response::new(Body::new(Bytes::from(page)));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    }
}

/// One scrape counted in `promhttp_metric_handler_requests_in_flight` until dropped.
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn new(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `node_exporter_build_info`, as client_golang's version collector writes it.
fn build_info(out: &mut Scrape) {
    out.gauge(
        "node_exporter_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which node_exporter was built, and the goos and goarch for the build.",
        &[
            ("branch", ""),
            ("goarch", std::env::consts::ARCH),
            ("goos", std::env::consts::OS),
            ("goversion", concat!("rust-kitestacks-", env!("CARGO_PKG_VERSION"))),
            ("revision", ""),
            ("tags", "kitestacks"),
            ("version", env!("CARGO_PKG_VERSION")),
        ],
        1.0,
    );
}

fn accepts_gzip(headers: &hyper::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',').any(|part| {
                let mut it = part.split(';');
                let coding = it.next().unwrap_or("").trim();
                let q_zero = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                coding.eq_ignore_ascii_case("gzip") && !q_zero
            })
        })
}

fn gzip_bytes(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(data)?;
    enc.finish()
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Body::new(Bytes::from(body.to_owned())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Logs what the exporter runs with, before it serves: its version; its configuration
/// (the web config file, or `web_config=none`: plain HTTP and no authentication; the
/// listen addresses; the telemetry path; the roots it reads); then a warning for each
/// flag given that changes nothing here (node_exporter's deprecation warnings, collectors
/// and flags it does not implement).
pub fn log_startup(args: &ExporterArgs, web: &crate::webconfig::WebConfig) {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "starting kitestacks-exporter"
    );
    let listen: Vec<String> = args.listen.iter().map(ToString::to_string).collect();
    let roots = &args.context.roots;
    let web_config = args
        .web_config_file
        .as_ref()
        .map_or_else(|| "none".to_owned(), |p| p.display().to_string());
    tracing::info!(
        web_config,
        scheme = if web.tls_enabled() { "https" } else { "http" },
        auth = if web.access().requires_auth() { "basic" } else { "none" },
        listen = listen.join(","),
        path = args.telemetry_path,
        procfs = %roots.procfs.display(),
        sysfs = %roots.sysfs.display(),
        rootfs = %roots.rootfs.display(),
        udev_data = %args.context.udev_data.display(),
        "configuration"
    );
    for msg in &args.deprecated {
        tracing::warn!("{msg}");
    }
    for c in &args.unimplemented {
        tracing::warn!(
            collector = c,
            "collector not implemented by kitestacks-exporter; ignored"
        );
    }
    for f in &args.ignored_flags {
        tracing::warn!(
            flag = f,
            "node_exporter flag not implemented by kitestacks-exporter; ignored"
        );
    }
}

/// Binds every address (`[::]` falls back to `0.0.0.0` where IPv6 is off) and serves the
/// exporter on all of them, behind `web` (TLS, basic auth), until SIGTERM or ctrl-c.
pub async fn serve(
    exporter: Exporter,
    addrs: &[std::net::SocketAddr],
    web: &crate::webconfig::WebConfig,
) -> anyhow::Result<()> {
    let mut listeners = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let listener = match crate::server::bind(*addr).await {
            Ok(l) => l,
            Err(e) if addr.ip().is_unspecified() && addr.is_ipv6() => {
                tracing::debug!("{e}; trying IPv4");
                crate::server::bind(std::net::SocketAddr::from(([0, 0, 0, 0], addr.port()))).await?
            }
            Err(e) => return Err(e),
        };
        tracing::info!(
            address = %listener.local_addr()?,
            tls = web.tls_enabled(),
            "listening on"
        );
        listeners.push(listener);
    }
    // Start-up is over (flags, patterns, sockets): its code need not stay resident.
    let released = crate::resident::release_startup_code();
    tracing::debug!(bytes = released, "released start-up code pages");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for listener in listeners {
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(serve_listener(
            exporter.clone(),
            listener,
            web.clone(),
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            },
        )));
    }
    crate::server::shutdown_signal().await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Serves the exporter on one listener behind `web` (TLS, basic auth on every path, as
/// exporter-toolkit) until `shutdown` resolves.
pub async fn serve_listener(
    exporter: Exporter,
    listener: tokio::net::TcpListener,
    web: crate::webconfig::WebConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let limits = exporter.inner.limits;
    let handler = move |req| {
        let exporter = exporter.clone();
        async move { exporter.handle(req).await }
    };
    let handler = web
        .access()
        .guard(handler, |_, _| true, crate::webconfig::unauthorized_text);
    crate::server::serve_with(listener, limits, web.transport(), handler, shutdown).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let h = |v: &str| {
            let mut m = hyper::HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip"));
        assert!(h("deflate, gzip;q=1.0, *;q=0.5"));
        assert!(h("GZIP"));
        assert!(!h("gzip;q=0"));
        assert!(!h("br, deflate"));
        assert!(!accepts_gzip(&hyper::HeaderMap::new()));
    }
}
