//! The server loop over real loopback sockets: traversal as an attacker sends it, slow
//! and idle clients, panics, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use kitestacks::portal::Portal;
use kitestacks::response;
use kitestacks::server::{self, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::http::{portal, raw_get};
use crate::routes::{site, site_config};

const LIMITS: Limits = Limits {
    max_connections: 64,
    max_connections_per_address: 0,
    header_read_timeout: Duration::from_millis(500),
    idle_timeout: Duration::from_millis(800),
    write_timeout: Duration::from_millis(800),
    shutdown_grace: Duration::from_secs(2),
};

pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Triggers shutdown; the task ends when `serve_with` returns.
    pub(crate) fn begin_stop(&mut self) -> &mut tokio::task::JoinHandle<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        &mut self.task
    }

    pub(crate) async fn stop(mut self) {
        tokio::time::timeout(Duration::from_secs(10), self.begin_stop())
            .await
            .expect("serve returns after shutdown")
            .unwrap();
    }
}

/// `serve_with` on 127.0.0.1:0 with `limits` and `handler`, until [`Running::stop`].
pub(crate) async fn serve_on_loopback<H, F>(limits: Limits, handler: H) -> Running
where
    H: Fn(hyper::Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = hyper::Response<server::Body>> + Send + 'static,
{
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = rx.await;
    };
    let plain = server::Transport::default();
    let task = tokio::spawn(server::serve_with(
        listener, limits, plain, handler, shutdown,
    ));
    Running {
        addr,
        stop: Some(tx),
        task,
    }
}

async fn start(portal: Portal, limits: Limits) -> Running {
    let handler = move |req: hyper::Request<hyper::body::Incoming>| {
        let portal = portal.clone();
        async move {
            if req.uri().path() == "/panic" {
                panic!("boom");
            }
            portal.handle(req).await
        }
    };
    serve_on_loopback(limits, handler).await
}

#[tokio::test]
async fn traversal_attempts_are_refused_over_the_wire() {
    let dir = site();
    let srv = start(portal(Some(&site_config(&dir))), LIMITS).await;
    for path in [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/etc/passwd",
        "/..%2fsecret.txt",
        "/%2fetc%2fpasswd",
        "/css/..%5c..%5csecret.txt",
        "/index.html%00.js",
        "/up/secret.txt",
        "/leak.txt",
    ] {
        let r = raw_get(srv.addr, "GET", path).await;
        assert!(
            matches!(r.status, 400 | 403 | 404),
            "{path} answered {}",
            r.status
        );
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert!(
            !String::from_utf8_lossy(&r.body).contains("root:x"),
            "{path} leaked"
        );
    }
    // absolute-form request targets are reduced to their path
    let r = raw_get(srv.addr, "GET", "http://evil.example/../secret.txt").await;
    assert!(
        matches!(r.status, 400 | 403 | 404),
        "absolute-form answered {}",
        r.status
    );
    let r = raw_get(srv.addr, "GET", "/app.js").await;
    assert_eq!(r.status, 200);
    srv.stop().await;
}

#[tokio::test]
async fn a_slow_client_does_not_block_others_and_is_cut_off() {
    let srv = start(portal(None), LIMITS).await;
    let mut slow = TcpStream::connect(srv.addr).await.unwrap();
    slow.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // While the slow client dawdles, others are served.
    for _ in 0..5 {
        let r = raw_get(srv.addr, "GET", "/api/health").await;
        assert_eq!(r.status, 200);
    }
    // The header-read timeout closes the slow connection (the read ends; hyper may send
    // a 408 first). The bound is generous: this checks that it happens, not how fast.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the slow connection was not closed");
    assert!(
        buf.is_empty() || buf.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
    srv.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let srv = start(portal(None), LIMITS).await;
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Now idle: the server must close it (read returns 0) within a bounded time.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "idle connection kept open");
    srv.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_gives_500_json_and_the_server_lives_on() {
    let srv = start(portal(None), LIMITS).await;
    let r = raw_get(srv.addr, "GET", "/panic").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "internal");
    assert!(
        !String::from_utf8_lossy(&r.body).contains("boom"),
        "internal details are not sent"
    );
    let r = raw_get(srv.addr, "GET", "/api/health").await;
    assert_eq!(r.status, 200);
    srv.stop().await;
}

#[tokio::test]
async fn head_over_the_wire_has_length_and_no_body() {
    let srv = start(portal(None), LIMITS).await;
    let r = raw_get(srv.addr, "HEAD", "/api/services").await;
    assert_eq!(r.status, 200);
    let len: usize = r.header("content-length").unwrap().parse().unwrap();
    let g = raw_get(srv.addr, "GET", "/api/services").await;
    assert_eq!(len, g.body.len());
    srv.stop().await;
}

#[tokio::test]
async fn shutdown_drains_and_stops_accepting() {
    let srv = start(portal(None), LIMITS).await;
    let addr = srv.addr;
    // a keep-alive client that is between requests
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    assert!(conn.read(&mut buf).await.unwrap() > 0);
    srv.stop().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[test]
fn error_bodies_bound_what_they_quote() {
    let long = format!("/{}", "a".repeat(5000));
    let r = response::not_found(&hyper::Method::GET, &long);
    use hyper::body::Body as _;
    assert!(r.body().size_hint().exact().unwrap() < 400);
}
