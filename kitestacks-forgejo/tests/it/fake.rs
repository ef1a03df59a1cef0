//! A fake Forgejo: a real hyper HTTP/1 server on 127.0.0.1:0 serving the shared fixtures,
//! recording every request and counting them per path.
//!
//! On drop it asserts that the token never travelled anywhere but in the `Authorization`
//! header (no `token=` / `access_token=` in any query string, no other header carrying it).

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kitestacks_core::Secret;
use kitestacks_forgejo::Client;
use tokio::net::TcpListener;

/// The token the tests' clients use.
pub const TOKEN: &str = "kst-f4ke-t0ken-9d1c27a4e0b3";

/// The fixtures shared with the rest of the project.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/forgejo");

/// The text of a fixture file.
pub fn fixture(name: &str) -> String {
    let path = format!("{FIXTURES}/{name}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A fixture file as JSON.
pub fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// Everything the test binary logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOGS: OnceLock<Captured> = OnceLock::new();

/// Installs, once, a global subscriber that captures every log line of every test. It is
/// global on purpose: a thread-local one (`set_default`) misses events whose call site
/// another test thread reached first.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    });
}

/// The log lines captured so far, from all tests.
pub fn logs() -> String {
    capture_logs();
    let bytes = LOGS.get().unwrap().0.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What the fake answers to a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete answer.
    Body {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// Read the request, never answer.
    Hang,
    /// Announce `declared` bytes, send `body`, then break the connection.
    Cut { declared: usize, body: Bytes },
    /// A 200 JSON answer whose body never ends (chunked, no length announced).
    Endless,
    /// A 200 JSON answer announcing `declared` bytes, then sending `[` and nothing more.
    Announce { declared: u64 },
}

impl Reply {
    /// A JSON answer, with Forgejo's content type.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::raw(status, "application/json;charset=utf-8", body.into())
    }

    /// A fixture file as a JSON answer.
    pub fn fixture(status: u16, name: &str) -> Self {
        Self::json(status, fixture(name))
    }

    /// Any answer.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self::Body {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Body { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: &str) -> Self {
        Self::raw(302, "text/html; charset=utf-8", "").header("location", location)
    }

    /// Adds `X-Total-Count`.
    pub fn total(self, total: u64) -> Self {
        self.header("x-total-count", &total.to_string())
    }
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The value of a header (lowercase name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Route {
    path: String,
    /// The answer applies only when the query contains this (`page=2`).
    query: Option<String>,
    reply: Reply,
}

#[derive(Default)]
struct State {
    routes: Mutex<Vec<Route>>,
    seen: Mutex<Vec<Seen>>,
}

/// A running fake; the server stops with the test's runtime.
pub struct Fake {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Fake {
    /// A fake with no routes: every request gets a 404.
    pub async fn start() -> Self {
        capture_logs();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    /// A fake Forgejo for the instance of the fixtures: `mara` (the token owner), `jonas`,
    /// the organisation `homelab`; repositories `homelab/portal`, `mara/dotfiles` and the
    /// empty `mara/scratch`.
    pub async fn forgejo() -> Self {
        let fake = Self::start().await;
        let search = fixture_json("repos-search.json");
        fake.route("/api/v1/version", Reply::fixture(200, "version.json"));
        fake.route(
            "/api/v1/repos/search",
            Reply::fixture(200, "repos-search.json").total(5).header(
                "link",
                "<https://forge.homelab.example/api/v1/repos/search?limit=3&order=desc&page=2&sort=updated>; rel=\"next\"",
            ),
        );
        fake.route(
            "/api/v1/repos/homelab/portal/commits",
            Reply::fixture(200, "commits-portal.json").total(214),
        );
        fake.route(
            "/api/v1/repos/mara/dotfiles/commits",
            Reply::fixture(200, "commits-dotfiles.json").total(57),
        );
        fake.route(
            "/api/v1/repos/mara/scratch/commits",
            Reply::fixture(409, "error-409-empty-repo.json"),
        );
        fake.route(
            "/api/v1/repos/mara/nope/commits",
            Reply::fixture(404, "error-404-repo.json"),
        );
        fake.route(
            "/api/v1/users/mara/activities/feeds",
            Reply::fixture(200, "activities-feeds.json").total(1342),
        );
        fake.route(
            "/api/v1/users/ghost/activities/feeds",
            Reply::fixture(404, "error-404-user.json"),
        );
        fake.route(
            "/api/v1/users/homelab",
            Reply::json(200, search["data"][0]["owner"].to_string()),
        );
        fake.route(
            "/api/v1/users/mara",
            Reply::json(200, search["data"][1]["owner"].to_string()),
        );
        fake
    }

    /// The base URL to give a client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client with [`TOKEN`] and a generous timeout.
    pub fn client(&self) -> Client {
        self.client_with(|b| b)
    }

    /// A client with [`TOKEN`], configured further by `f`.
    pub fn client_with(
        &self,
        f: impl FnOnce(kitestacks_forgejo::ClientBuilder) -> kitestacks_forgejo::ClientBuilder,
    ) -> Client {
        let builder = Client::builder(self.url())
            .token(Secret::new(TOKEN))
            .timeout(Duration::from_secs(10));
        f(builder).build().unwrap()
    }

    /// Answers requests for `path` with `reply` (replacing an earlier answer).
    pub fn route(&self, path: &str, reply: Reply) {
        self.add(path, None, reply);
    }

    /// Answers requests for `path` whose query contains `query` with `reply`.
    pub fn route_query(&self, path: &str, query: &str, reply: Reply) {
        self.add(path, Some(query.to_owned()), reply);
    }

    fn add(&self, path: &str, query: Option<String>, reply: Reply) {
        let mut routes = self.state.routes.lock().unwrap();
        routes.retain(|r| !(r.path == path && r.query == query));
        routes.push(Route {
            path: path.to_owned(),
            query,
            reply,
        });
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// How many requests were made for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }

    /// How many requests were made in all.
    pub fn total(&self) -> usize {
        self.state.seen.lock().unwrap().len()
    }

    /// Forgets the requests seen so far.
    pub fn reset(&self) {
        self.state.seen.lock().unwrap().clear();
    }

    /// Panics if the token appears anywhere but in an `Authorization: token <TOKEN>` header.
    pub fn assert_token_only_in_authorization(&self) {
        for s in self.seen() {
            let q = s.query.to_ascii_lowercase();
            assert!(
                !q.contains("token=") && !q.contains("access_token=") && !s.query.contains(TOKEN),
                "token in the query string of {}?{}",
                s.path,
                s.query
            );
            for (name, value) in &s.headers {
                if name == "authorization" {
                    assert_eq!(value, &format!("token {TOKEN}"), "{}", s.path);
                } else {
                    assert!(
                        !value.contains(TOKEN),
                        "token in header {name} of {}",
                        s.path
                    );
                }
            }
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_token_only_in_authorization();
        }
    }
}

type Body = BoxBody<Bytes, std::io::Error>;

async fn answer(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_owned(), v)
        })
        .collect();
    state.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        query: query.clone(),
        headers,
    });
    let reply = {
        let routes = state.routes.lock().unwrap();
        routes
            .iter()
            .rev()
            .filter(|r| r.path == path)
            .find(|r| r.query.as_ref().is_none_or(|q| query.contains(q.as_str())))
            .map(|r| r.reply.clone())
    };
    let reply =
        reply.unwrap_or_else(|| Reply::json(404, r#"{"message":"fake: no route","url":""}"#));
    Ok(match reply {
        Reply::Body {
            status,
            headers,
            body,
        } => {
            let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
            for (k, v) in headers {
                response = response.header(k, v);
            }
            let body = Full::new(body).map_err(|never| match never {}).boxed();
            response.body(body).unwrap()
        }
        Reply::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        Reply::Cut { declared, body } => {
            let frames = futures_util::stream::iter([
                Ok(Frame::data(body)),
                Err(std::io::Error::other("fake: connection cut")),
            ]);
            streamed(Some(declared as u64), frames)
        }
        Reply::Endless => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            streamed(
                None,
                futures_util::stream::repeat_with(move || Ok(Frame::data(chunk.clone()))),
            )
        }
        Reply::Announce { declared } => {
            let first = futures_util::stream::iter([Ok(Frame::data(Bytes::from_static(b"[")))]);
            let frames = futures_util::StreamExt::chain(first, futures_util::stream::pending());
            streamed(Some(declared), frames)
        }
    })
}

/// A 200 JSON answer whose body is `frames`, announcing `declared` bytes when given.
fn streamed<S>(declared: Option<u64>, frames: S) -> Response<Body>
where
    S: futures_util::Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Send + Sync + 'static,
{
    let mut response = Response::builder()
        .status(200)
        .header("content-type", "application/json;charset=utf-8");
    if let Some(declared) = declared {
        response = response.header("content-length", declared.to_string());
    }
    response
        .body(BodyExt::boxed(StreamBody::new(frames)))
        .unwrap()
}
