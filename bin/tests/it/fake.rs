//! A fake upstream for the portal's tests: a real hyper server on 127.0.0.1 whose
//! answers (per path prefix) can be switched while it runs, and which counts requests.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// What the fake answers on a path prefix.
#[derive(Clone)]
pub enum Reply {
    /// Status, content type and body.
    Body(u16, &'static str, Bytes),
    /// Never answers.
    Hang,
    /// Status, content type and body made from the request's path and query (a fake
    /// that answers what it is asked, such as Prometheus' query API).
    Fn(Answer),
}

/// What a [`Reply::Fn`] answers a path and query with: status and body.
pub type Answer = Arc<dyn Fn(&str) -> (u16, Bytes) + Send + Sync>;

/// The shared fixtures directory beside the repository.
pub fn fixture(rel: &str) -> Bytes {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(rel);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// A request the fake received: path and query, and its `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path_and_query: String,
    pub authorization: Option<String>,
}

pub struct Fake {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<&'static str, Reply>>>,
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Fake {
    pub async fn start(routes: Vec<(&'static str, Reply)>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Arc::new(Mutex::new(routes.into_iter().collect::<HashMap<_, _>>()));
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, h, s) = (routes.clone(), hits.clone(), seen.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (r, h, s) = (r.clone(), h.clone(), s.clone());
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let (r, h, s) = (r.clone(), h.clone(), s.clone());
                            async move {
                                h.fetch_add(1, Ordering::SeqCst);
                                s.lock().unwrap().push(Seen {
                                    path_and_query: req.uri().to_string(),
                                    authorization: req
                                        .headers()
                                        .get("authorization")
                                        .and_then(|v| v.to_str().ok())
                                        .map(str::to_owned),
                                });
                                let path = req.uri().path().to_owned();
                                let path_and_query = req.uri().to_string();
                                let reply = {
                                    let routes = r.lock().unwrap();
                                    routes
                                        .iter()
                                        .filter(|(p, _)| path.starts_with(*p))
                                        .max_by_key(|(p, _)| p.len())
                                        .map(|(_, reply)| reply.clone())
                                };
                                let (status, ct, body) = match reply {
                                    Some(Reply::Body(s, ct, b)) => (s, ct, b),
                                    Some(Reply::Fn(f)) => {
                                        let (s, b) = f(&path_and_query);
                                        (s, "application/json", b)
                                    }
                                    Some(Reply::Hang) => {
                                        tokio::time::sleep(Duration::from_secs(3600)).await;
                                        (500, "text/plain", Bytes::new())
                                    }
                                    None => (
                                        404,
                                        "application/json",
                                        Bytes::from_static(b"{\"message\":\"not found\"}"),
                                    ),
                                };
                                let mut resp = Response::new(Full::new(body));
                                *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                                resp.headers_mut()
                                    .insert("content-type", ct.parse().unwrap());
                                resp.headers_mut()
                                    .insert("x-total-count", "3".parse().unwrap());
                                Ok::<_, Infallible>(resp)
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self {
            addr,
            routes,
            hits,
            seen,
            _task: task,
        }
    }

    pub fn set(&self, prefix: &'static str, reply: Reply) {
        self.routes.lock().unwrap().insert(prefix, reply);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

pub fn json(status: u16, body: Bytes) -> Reply {
    Reply::Body(status, "application/json", body)
}

/// A fake Forgejo serving the shared fixtures.
pub async fn forgejo() -> Fake {
    Fake::start(vec![
        (
            "/api/v1/repos/search",
            json(200, fixture("forgejo/repos-search.json")),
        ),
        (
            "/api/v1/repos/homelab/portal/commits",
            json(200, fixture("forgejo/commits-portal.json")),
        ),
        (
            "/api/v1/repos/mara/dotfiles/commits",
            json(200, fixture("forgejo/commits-dotfiles.json")),
        ),
        (
            "/api/v1/repos/mara/scratch/commits",
            json(409, fixture("forgejo/error-409-empty-repo.json")),
        ),
    ])
    .await
}

/// A fake wttr.in serving j1 for every location.
pub async fn wttr() -> Fake {
    Fake::start(vec![(
        "/",
        Reply::Body(200, "text/plain; charset=utf-8", fixture("wttr/j1-ok.json")),
    )])
    .await
}
