//! Fake upstreams: real hyper HTTP/1 servers on 127.0.0.1:0, and raw TCP misbehavers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A fixture file's bytes, exactly.
pub fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../shared/fixtures/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
}

/// What the fake answers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// The `Location` header, if any.
    pub location: Option<String>,
}

impl Answer {
    pub fn new(status: u16, content_type: Option<&'static str>, body: impl Into<Vec<u8>>) -> Self {
        Answer {
            status,
            content_type,
            body: body.into(),
            location: None,
        }
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: impl Into<String>) -> Self {
        Answer {
            location: Some(location.into()),
            ..Answer::new(302, None, "")
        }
    }
}

/// A request as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// Path and query exactly as sent (still percent-encoded).
    pub target: String,
    pub user_agent: Option<String>,
}

/// A fake HTTP upstream.
pub struct Fake {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// Serves `answer(request)` for every request.
    pub async fn start(answer: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(answer);
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (answer, log) = (Arc::clone(&answer), Arc::clone(&log));
                let service = service_fn(move |req: Request<Incoming>| {
                    let seen = Seen {
                        target: req
                            .uri()
                            .path_and_query()
                            .map_or(String::new(), |pq| pq.as_str().to_owned()),
                        user_agent: req
                            .headers()
                            .get("user-agent")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned),
                    };
                    let a = answer(&seen);
                    log.lock().unwrap().push(seen);
                    let mut response = Response::builder().status(a.status);
                    if let Some(ct) = a.content_type {
                        response = response.header("content-type", ct);
                    }
                    if let Some(location) = &a.location {
                        response = response.header("location", location);
                    }
                    let response = response.body(Full::new(Bytes::from(a.body))).unwrap();
                    async move { Ok::<_, Infallible>(response) }
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Fake { addr, seen }
    }

    /// Serves the same answer for every request.
    pub async fn serving(answer: Answer) -> Fake {
        Fake::start(move |_| answer.clone()).await
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A server that accepts connections, reads the request and then never answers.
/// With `head`, it first writes those bytes (e.g. headers promising a body it never sends).
pub async fn hanging(head: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(head).await;
            open.push(stream);
        }
    });
    format!("http://{addr}")
}

/// A server that accepts connections, reads the request and closes without answering
/// (curl: "Empty reply from server").
pub async fn closing() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            drop(stream);
        }
    });
    format!("http://{addr}")
}

/// A loopback address nothing listens on (bound, then released).
pub async fn refusing() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
