//! The one server loop both binaries use: hyper 1.x over tokio, HTTP/1.1 and HTTP/2,
//! bounded connections, header-read and idle timeouts, graceful shutdown with a bounded
//! drain, accept errors logged and survived, panics turned into 500s, one debug log
//! line per request.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::response;

/// The body type every handler answers with.
pub type Body = Full<Bytes>;

/// Limits that keep slow, idle or numerous clients from holding the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most connections served at once; more wait in the kernel's listen backlog.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (HTTP/1).
    pub header_read_timeout: Duration,
    /// How long a connection may stay without any traffic before it is closed.
    pub idle_timeout: Duration,
    /// How long shutdown waits for connections to finish their requests.
    pub shutdown_grace: Duration,
}

impl From<&kitestacks_core::ServerConfig> for Limits {
    fn from(c: &kitestacks_core::ServerConfig) -> Self {
        Self {
            max_connections: c.max_connections,
            header_read_timeout: c.header_read_timeout,
            idle_timeout: c.idle_timeout,
            shutdown_grace: c.shutdown_grace,
        }
    }
}

/// Binds a listener, with a message that names the address on failure.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for ctrl-c: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// How connections are carried: plain TCP or TLS, HTTP/2 offered or not.
#[derive(Clone, Default)]
pub struct Transport {
    /// TLS on every accepted connection; the handshake must finish within
    /// `Limits::header_read_timeout`.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Serve HTTP/1.1 only (web config `http2: false`).
    pub http1_only: bool,
}

/// The one server loop of both binaries: serves `handler` on `listener` over `transport`
/// until `shutdown` resolves, then stops accepting, asks every connection to finish
/// (HTTP/2 GOAWAY, HTTP/1 close after the current request) and waits at most
/// `limits.shutdown_grace` for them.
pub async fn serve_with<H, F>(
    listener: TcpListener,
    limits: Limits,
    transport: Transport,
    handler: H,
    shutdown: impl Future<Output = ()>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64);
    let builder = Arc::new(if transport.http1_only {
        builder.http1_only()
    } else {
        builder
    });

    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut accept_backoff = Duration::from_millis(5);
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break, // the semaphore is never closed
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(conn) => {
                    accept_backoff = Duration::from_millis(5);
                    conn
                }
                Err(e) => {
                    // EMFILE, ECONNABORTED...: log, back off a little, keep serving.
                    tracing::warn!("accept failed: {e}; retrying in {accept_backoff:?}");
                    tokio::time::sleep(accept_backoff).await;
                    accept_backoff = (accept_backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let builder = builder.clone();
        let stop_rx = stop_rx.clone();
        let idle_timeout = limits.idle_timeout;
        let tls = transport.tls.clone();
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            match tls {
                None => drive(builder, stream, handler, peer, stop_rx, idle_timeout).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            drive(builder, tls, handler, peer, stop_rx, idle_timeout).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }

    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    match tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all)).await {
        Ok(_) => tracing::info!("all connections closed"),
        Err(_) => tracing::warn!(
            "connections still open after {:?}; stopping anyway",
            limits.shutdown_grace
        ),
    }
}

/// Serves one connection until it ends, closing it when idle for `idle_timeout` and
/// gracefully when `stop_rx` changes.
async fn drive<S, H, F>(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: S,
    handler: H,
    peer: SocketAddr,
    mut stop_rx: watch::Receiver<bool>,
    idle_timeout: Duration,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let activity = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let io = ActivityIo {
        inner: TokioIo::new(stream),
        activity: activity.clone(),
        started,
    };
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handle_logged(handler, req, peer).await) }
    });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let idle_for = started
            .elapsed()
            .saturating_sub(Duration::from_millis(activity.load(Ordering::Relaxed)));
        let idle_left = idle_timeout.saturating_sub(idle_for);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, "connection ended with an error: {e}");
                }
                break;
            }
            _ = stop_rx.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(idle_left), if !stopping => {
                let idle_for = started.elapsed()
                    .saturating_sub(Duration::from_millis(activity.load(Ordering::Relaxed)));
                if idle_for >= idle_timeout {
                    tracing::debug!(%peer, "closing idle connection");
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

async fn handle_logged<H, F>(handler: H, req: Request<Incoming>, peer: SocketAddr) -> Response<Body>
where
    H: Fn(Request<Incoming>) -> F,
    F: Future<Output = Response<Body>>,
{
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = match AssertUnwindSafe(handler(req)).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%peer, %method, path, "handler panicked: {what}");
            response::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal server error",
            )
        }
    };
    tracing::debug!(
        %peer,
        %method,
        path,
        status = response.status().as_u16(),
        micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// An IO stream that records when it last moved bytes (milliseconds since `started`),
/// so the connection task can close connections idle for too long.
struct ActivityIo<T> {
    inner: T,
    activity: Arc<AtomicU64>,
    started: Instant,
}

impl<T> ActivityIo<T> {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.store(ms, Ordering::Relaxed);
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for ActivityIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if poll.is_ready() {
            self.touch();
        }
        poll
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for ActivityIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if poll.is_ready() {
            self.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if poll.is_ready() {
            self.touch();
        }
        poll
    }
}
