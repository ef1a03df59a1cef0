//! The one server loop both binaries use: hyper 1.x over tokio, HTTP/1.1 and HTTP/2,
//! bounded connections (idlest closed first when they run short, a per-address share),
//! header, idle and write deadlines, graceful shutdown with a bounded drain, accept
//! errors logged and survived, panics turned into 500s, one debug log line per request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use hyper::body::{Body as _, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use crate::response;

pub use crate::body::Body;

/// Limits that keep slow, idle, stalled or numerous clients from holding the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most connections served at once. When every slot is taken, the connection idle
    /// the longest (one that never sent a request first, then one between requests) is
    /// closed to make room; when none is idle, new clients wait in the listen backlog.
    pub max_connections: usize,
    /// Most connections one client address may hold at once (0: no limit). A further
    /// connection from that address closes the address's own idlest connection, or is
    /// closed at once when all of them are busy. Behind a reverse proxy on the same host
    /// every client shares the proxy's address: see README "Security and limits".
    pub max_connections_per_address: usize,
    /// How long a new connection may take to send its first complete request head
    /// (TLS handshake included); also hyper's HTTP/1 header-read timeout.
    pub header_read_timeout: Duration,
    /// How long a connection may stay between requests before it is closed.
    pub idle_timeout: Duration,
    /// How long a connection that owes a response may go without delivering any of it
    /// (the peer stopped reading, or its HTTP/2 flow-control window stays shut) before
    /// it is closed; also how long a connection asked to close may take to finish.
    pub write_timeout: Duration,
    /// How long shutdown waits for connections to finish their requests.
    pub shutdown_grace: Duration,
}

impl From<&kitestacks_core::ServerConfig> for Limits {
    fn from(c: &kitestacks_core::ServerConfig) -> Self {
        Self {
            max_connections: c.max_connections,
            max_connections_per_address: c.max_connections_per_address,
            header_read_timeout: c.header_read_timeout,
            idle_timeout: c.idle_timeout,
            write_timeout: c.write_timeout,
            shutdown_grace: c.shutdown_grace,
        }
    }
}

/// TCP keepalive on every accepted connection: a peer that vanished without a FIN is
/// found after about 90 s of silence (60 s, then 3 probes 10 s apart).
const TCP_KEEPALIVE: socket2::TcpKeepalive = socket2::TcpKeepalive::new()
    .with_time(Duration::from_secs(60))
    .with_interval(Duration::from_secs(10))
    .with_retries(3);

/// How often the accept loop looks again for an idle connection to close while every
/// slot is busy.
const FULL_RECHECK: Duration = Duration::from_millis(100);

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
    // PINGs find a vanished HTTP/2 peer: one not answered within the write timeout
    // closes the connection.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(limits.write_timeout.saturating_mul(2))
        .keep_alive_timeout(limits.write_timeout);
    let builders = Arc::new(Builders {
        http1: builder.clone().http1_only(),
        http2: builder.clone().http2_only(),
        any: if transport.http1_only {
            builder.http1_only()
        } else {
            builder
        },
    });

    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let slots = Arc::new(Slots::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut accept_backoff = Duration::from_millis(5);
    tokio::pin!(shutdown);

    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Every slot is taken: close the connection idle the longest, then take
                // its slot. When all are busy, wait for one to end (or to become idle).
                slots.evict_idlest();
                tokio::select! {
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break, // the semaphore is never closed
                    },
                    () = tokio::time::sleep(FULL_RECHECK) => continue,
                    () = &mut shutdown => break,
                }
            }
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
        let state = Arc::new(ConnState::new());
        let Some(slot) = slots.admit(
            peer.ip().to_canonical(),
            &state,
            permit,
            limits.max_connections_per_address,
        ) else {
            tracing::debug!(%peer, "refused: the address holds its share of connections, all busy");
            continue;
        };
        let _ = stream.set_nodelay(true);
        // The write deadline for what the kernel already holds: TCP_USER_TIMEOUT drops
        // the connection when sent data stays unacknowledged, or unsent behind a shut
        // window. Half the deadline: the kernel checks it only at its window probes, which
        // back off (0.2 s, 0.6 s, 1.4 s, 3 s...), so the drop comes within the deadline.
        let socket = socket2::SockRef::from(&stream);
        if let Err(e) = socket
            .set_tcp_keepalive(&TCP_KEEPALIVE)
            .and_then(|()| socket.set_tcp_user_timeout(Some(limits.write_timeout / 2)))
        {
            tracing::debug!(%peer, "cannot set TCP keepalive options: {e}");
        }
        let conn = Connection {
            builders: builders.clone(),
            handler: handler.clone(),
            peer,
            stop_rx: stop_rx.clone(),
            state,
            limits,
        };
        // One spawn per transport: a task is allocated at its future's size, and a
        // plain connection's future need not make room for a TLS stream and handshake
        // (10 KiB against 2 KiB).
        match transport.tls.clone() {
            None if transport.http1_only => {
                tokio::spawn(async move {
                    let _slot = slot;
                    conn.drive(stream, Protocol::Http1).await;
                });
            }
            None => {
                tokio::spawn(async move {
                    let _slot = slot;
                    if let Some(protocol) = conn.sniff(&stream).await {
                        conn.drive(stream, protocol).await;
                    }
                });
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    let _slot = slot;
                    let state = conn.state.clone();
                    tokio::select! {
                        r = tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)) => match r {
                            Ok(Ok(tls)) => conn.drive(tls, Protocol::Any).await,
                            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        },
                        () = state.evict.notified() => {
                            tracing::debug!(%peer, "closing a connection still in its TLS handshake: slots ran short");
                        }
                    }
                });
            }
        }
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

/// The connection builders: `any` tells HTTP/2 from HTTP/1 by reading the first bytes
/// (what a TLS connection uses; `http1_only` transports have it set to HTTP/1).
struct Builders {
    any: auto::Builder<TokioExecutor>,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

/// Which builder serves a connection.
#[derive(Clone, Copy)]
enum Protocol {
    Any,
    Http1,
    Http2,
}

/// The HTTP/2 connection preface (RFC 9113 §3.4): what a prior-knowledge client sends first.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One accepted connection and what serving it needs.
struct Connection<H> {
    builders: Arc<Builders>,
    handler: H,
    peer: SocketAddr,
    stop_rx: watch::Receiver<bool>,
    state: Arc<ConnState>,
    limits: Limits,
}

impl<H, F> Connection<H>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    /// Tells an HTTP/2 prior-knowledge connection from an HTTP/1 one by peeking at its
    /// first bytes, which stay in the socket for hyper. (hyper-util's own detection reads
    /// them into a buffer it hands back first: hyper then parses a partial request and
    /// doubles its 8 KiB read buffer for the rest, 16 KiB for every connection's life.)
    /// `None`: the peer closed or failed, sent nothing before the header deadline, or its
    /// slot was needed or the server stops meanwhile.
    async fn sniff(&self, stream: &tokio::net::TcpStream) -> Option<Protocol> {
        let peek = async {
            let mut buf = [0u8; H2_PREFACE.len()];
            loop {
                let n = stream.peek(&mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                if buf[..n] != H2_PREFACE[..n] {
                    return Some(Protocol::Http1);
                }
                if n == H2_PREFACE.len() {
                    return Some(Protocol::Http2);
                }
                // A prefix of the preface so far: the socket stays readable, so wait a
                // little for the rest instead of peeking again at once.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let mut stop_rx = self.stop_rx.clone();
        tokio::select! {
            r = tokio::time::timeout(self.limits.header_read_timeout, peek) => r.ok().flatten(),
            () = self.state.evict.notified() => None,
            _ = stop_rx.changed() => None,
        }
    }

    /// Serves the connection until it ends, the peer breaks a deadline ([`ConnState::check`]),
    /// the accept loop needs its slot while it is idle, or `stop_rx` changes (then
    /// gracefully). Returning drops the connection, which closes the socket.
    async fn drive<S>(mut self, stream: S, protocol: Protocol)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (state, peer, limits) = (self.state.clone(), self.peer, self.limits);
        let io = TrackedIo {
            inner: TokioIo::new(stream),
            state: state.clone(),
        };
        let handler = self.handler;
        let in_service = state.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let handler = handler.clone();
            let in_flight = InFlight::start(in_service.clone());
            // Boxed: hyper keeps a slot sized for this future for the whole connection;
            // boxed, the slot is a pointer and the handler's state lives only while a
            // request is answered (an idle or streaming connection holds none of it).
            Box::pin(async move {
                let response = handle_logged(handler, req, peer).await;
                Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, in_flight)))
            })
        });
        let builders = self.builders.clone();
        let builder = match protocol {
            Protocol::Any => &builders.any,
            Protocol::Http1 => &builders.http1,
            Protocol::Http2 => &builders.http2,
        };
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let mut stop_began = None;
        loop {
            let now = state.now_ms();
            let wake = match state.check(now, &limits, stop_began) {
                Check::Close(why) => {
                    tracing::debug!(%peer, "closing connection: {why}");
                    break;
                }
                Check::Idle => {
                    tracing::debug!(%peer, "closing idle connection");
                    stop_began = Some(now);
                    conn.as_mut().graceful_shutdown();
                    continue;
                }
                Check::WaitUntil(ms) => state.instant(ms),
            };
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, "connection ended with an error: {e}");
                    }
                    break;
                }
                _ = self.stop_rx.changed(), if stop_began.is_none() => {
                    stop_began = Some(state.now_ms());
                    conn.as_mut().graceful_shutdown();
                }
                () = state.evict.notified() => {
                    if state.is_idle() {
                        tracing::debug!(%peer, "closing idle connection: slots ran short");
                        break;
                    }
                    state.evicting.store(false, Ordering::Relaxed);
                }
                () = tokio::time::sleep_until(wake) => {}
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
    // A push monitor's token is a secret in the path: it never reaches the log.
    let path = match req.uri().path() {
        p if p.starts_with("/api/push/") => "/api/push/{token}".to_owned(),
        p => p.to_owned(),
    };
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

/// What the connection loop decided after looking at a connection's clocks.
enum Check {
    /// Close now, for this reason.
    Close(&'static str),
    /// Idle past the idle timeout: ask it to close gracefully.
    Idle,
    /// Nothing to do before this time (milliseconds since the connection was accepted).
    WaitUntil(u64),
}

/// What one connection is doing, shared by its IO wrapper, its requests, its own loop
/// and the accept loop (which closes the idlest connection when slots run short).
/// Times are milliseconds since `accepted`.
struct ConnState {
    accepted: Instant,
    /// Requests whose handler runs or whose response body hyper has not taken whole.
    requests: AtomicU32,
    /// When `requests` last fell to 0 (or the connection was accepted).
    idle_since: AtomicU64,
    /// Whether a complete request head has ever arrived.
    seen_request: AtomicBool,
    /// Responses handed to hyper whose bodies it has not taken whole (HTTP/2 waits for
    /// the peer's flow-control window before it takes one).
    sending: AtomicU32,
    /// When a response last started sending on an otherwise quiet connection, or one
    /// was taken whole: the last progress of `sending`.
    sending_since: AtomicU64,
    /// When a write last moved bytes.
    last_write: AtomicU64,
    /// The last write returned `Pending` and none has moved bytes since.
    blocked: AtomicBool,
    /// The accept loop asked this connection to close (if idle); set to skip it while
    /// it closes.
    evicting: AtomicBool,
    evict: Notify,
}

impl ConnState {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            requests: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
            seen_request: AtomicBool::new(false),
            sending: AtomicU32::new(0),
            sending_since: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            blocked: AtomicBool::new(false),
            evicting: AtomicBool::new(false),
            evict: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        millis(self.accepted.elapsed())
    }

    fn instant(&self, ms: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.accepted) + Duration::from_millis(ms)
    }

    /// No request in progress and nothing left to write: before the first request, or
    /// between two.
    fn is_idle(&self) -> bool {
        self.requests.load(Ordering::Relaxed) == 0 && !self.blocked.load(Ordering::Relaxed)
    }

    /// Which idle connection to close first: one that never sent a request, then the
    /// one idle the longest.
    fn eviction_rank(&self) -> (bool, Instant) {
        let idle_since = self.idle_since.load(Ordering::Relaxed);
        (
            self.seen_request.load(Ordering::Relaxed),
            self.accepted + Duration::from_millis(idle_since),
        )
    }

    /// The connection's deadlines at `now`: the first request head within the header
    /// timeout; a response that stays undelivered (write blocked, or not taken by an
    /// HTTP/2 stream) for the write timeout; the idle timeout between requests; and,
    /// once asked to close, the write timeout to finish.
    fn check(&self, now: u64, limits: &Limits, stop_began: Option<u64>) -> Check {
        let write = millis(limits.write_timeout);
        let mut wake = now.saturating_add(write);
        if !self.seen_request.load(Ordering::Relaxed) {
            let at = millis(limits.header_read_timeout);
            if now >= at {
                return Check::Close("no complete request head within the header timeout");
            }
            wake = wake.min(at);
        }
        if self.blocked.load(Ordering::Relaxed) {
            let at = self
                .last_write
                .load(Ordering::Relaxed)
                .saturating_add(write);
            if now >= at {
                return Check::Close("the peer took no byte within the write timeout");
            }
            wake = wake.min(at);
        }
        if self.sending.load(Ordering::Relaxed) > 0 {
            let at = self
                .sending_since
                .load(Ordering::Relaxed)
                .saturating_add(write);
            if now >= at {
                return Check::Close(
                    "a response waited for the peer's flow-control window past the write timeout",
                );
            }
            wake = wake.min(at);
        }
        if self.is_idle() {
            let idle_since = self.idle_since.load(Ordering::Relaxed);
            match stop_began {
                Some(began) => {
                    let at = began.max(idle_since).saturating_add(write);
                    if now >= at {
                        return Check::Close("not closed a write timeout after it was asked to");
                    }
                    wake = wake.min(at);
                }
                None => {
                    let at = idle_since.saturating_add(millis(limits.idle_timeout));
                    if now >= at {
                        return Check::Idle;
                    }
                    wake = wake.min(at);
                }
            }
        }
        Check::WaitUntil(wake)
    }

    fn wrote(&self) {
        self.last_write.store(self.now_ms(), Ordering::Relaxed);
        self.blocked.store(false, Ordering::Relaxed);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The open connections, by client address, for the accept loop: it closes the idlest
/// when slots run short and keeps one address within its share.
#[derive(Default)]
struct Slots {
    table: Mutex<SlotTable>,
}

#[derive(Default)]
struct SlotTable {
    next_id: u64,
    open: HashMap<u64, (IpAddr, Arc<ConnState>)>,
    per_address: HashMap<IpAddr, usize>,
}

impl SlotTable {
    /// Asks the idlest connection (of `address`, or of any) to close. `false` when none
    /// is idle.
    fn evict_idlest(&self, address: Option<IpAddr>) -> bool {
        let victim = self
            .open
            .values()
            .filter(|(a, c)| {
                address.is_none_or(|address| *a == address)
                    && c.is_idle()
                    && !c.evicting.load(Ordering::Relaxed)
            })
            .min_by_key(|(_, c)| c.eviction_rank());
        match victim {
            Some((_, c)) => {
                c.evicting.store(true, Ordering::Relaxed);
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Slots {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotTable> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks the connection idle the longest to close (if any is idle).
    fn evict_idlest(&self) {
        self.lock().evict_idlest(None);
    }

    /// Registers a new connection from `address`, or `None` when that address already
    /// holds `share` connections (0: no share) and none of them is idle.
    fn admit(
        self: &Arc<Self>,
        address: IpAddr,
        state: &Arc<ConnState>,
        permit: OwnedSemaphorePermit,
        share: usize,
    ) -> Option<Slot> {
        let mut table = self.lock();
        let held = table.per_address.get(&address).copied().unwrap_or(0);
        if share > 0 && held >= share && !table.evict_idlest(Some(address)) {
            return None;
        }
        table.next_id += 1;
        let id = table.next_id;
        table.open.insert(id, (address, state.clone()));
        *table.per_address.entry(address).or_default() += 1;
        Some(Slot {
            slots: self.clone(),
            id,
            _permit: permit,
        })
    }
}

/// A connection's place in [`Slots`]; dropping it frees the slot.
struct Slot {
    slots: Arc<Slots>,
    id: u64,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.slots.lock();
        if let Some((address, _)) = table.open.remove(&self.id)
            && let Some(n) = table.per_address.get_mut(&address)
        {
            *n -= 1;
            if *n == 0 {
                table.per_address.remove(&address);
            }
        }
    }
}

/// One request in progress on a connection, from its head to hyper taking its
/// response body whole (or dropping it).
struct InFlight {
    state: Arc<ConnState>,
    sending: bool,
    delivered: bool,
}

impl InFlight {
    fn start(state: Arc<ConnState>) -> Self {
        state.seen_request.store(true, Ordering::Relaxed);
        state.requests.fetch_add(1, Ordering::Relaxed);
        Self {
            state,
            sending: false,
            delivered: false,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let s = &self.state;
        if self.sending {
            let left = s.sending.fetch_sub(1, Ordering::Relaxed) - 1;
            if left > 0 && self.delivered {
                s.sending_since.store(s.now_ms(), Ordering::Relaxed);
            }
        }
        if s.requests.fetch_sub(1, Ordering::Relaxed) == 1 {
            s.idle_since.store(s.now_ms(), Ordering::Relaxed);
        }
    }
}

/// A response body that tells its connection when hyper has taken it whole: until
/// then the response counts as undelivered (see [`ConnState::check`]).
struct TrackedBody {
    inner: Body,
    in_flight: InFlight,
}

impl TrackedBody {
    fn new(inner: Body, mut in_flight: InFlight) -> Self {
        let s = &in_flight.state;
        if s.sending.fetch_add(1, Ordering::Relaxed) == 0 {
            s.sending_since.store(s.now_ms(), Ordering::Relaxed);
        }
        in_flight.sending = true;
        in_flight.delivered = inner.is_end_stream();
        Self { inner, in_flight }
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        let s = self.in_flight.state.clone();
        match &poll {
            // The body waits for its own data (an event stream between events): that is
            // not the peer failing to take it, so it does not count as undelivered.
            Poll::Pending => {
                if self.in_flight.sending {
                    s.sending.fetch_sub(1, Ordering::Relaxed);
                    self.in_flight.sending = false;
                }
            }
            // A frame is taken: progress, and the next one is the peer's to take again.
            Poll::Ready(Some(_)) => {
                if !self.in_flight.sending {
                    s.sending.fetch_add(1, Ordering::Relaxed);
                    self.in_flight.sending = true;
                }
                s.sending_since.store(s.now_ms(), Ordering::Relaxed);
            }
            Poll::Ready(None) => {}
        }
        if self.inner.is_end_stream() {
            self.in_flight.delivered = true;
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// An IO stream that records when a write last moved bytes and whether the last one
/// found the peer not reading, for the write timeout.
struct TrackedIo<T> {
    inner: T,
    state: Arc<ConnState>,
}

impl<T> TrackedIo<T> {
    fn note<R>(&self, poll: &Poll<std::io::Result<R>>, moved: impl FnOnce(&R) -> bool) {
        match poll {
            Poll::Ready(Ok(r)) if moved(r) => self.state.wrote(),
            Poll::Pending => self.state.blocked.store(true, Ordering::Relaxed),
            Poll::Ready(_) => {}
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note(&poll, |n| *n > 0);
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.note(&poll, |_| false);
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.note(&poll, |_| false);
        poll
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
        self.note(&poll, |n| *n > 0);
        poll
    }
}
