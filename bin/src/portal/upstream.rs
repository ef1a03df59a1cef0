//! The cache in front of an upstream (Forgejo, the weather provider): answers are reused
//! for a refresh period; when they are due, one request goes upstream however many
//! clients ask (single flight), in the background: a request that has an earlier answer
//! gets it at once, marked stale, and never waits on the upstream; only a cold cache (no
//! answer yet) waits, and no longer than the upstream's timeout. If the refresh fails,
//! the last good answer is served marked stale with the error's kind, and with none an
//! honest error status. Failures are never cached as data, and after one the upstream is
//! left alone for a short back-off so a dead upstream is not hammered by every open tab.
//! A refresh that panics counts as a failure; the next one runs as usual.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::FutureExt;
use futures_util::future::Shared;
use hyper::{Response, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::response;
use crate::server::Body;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Fetch<T> = Box<dyn Fn() -> BoxFuture<Result<T, Failure>> + Send + Sync>;

/// Why an upstream request failed, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"kind": "timeout", "message": "Forgejo did not answer in time"}))]
pub struct Failure {
    /// The upstream library's error kind, e.g. `timeout`, `unauthorized`, `unavailable`.
    pub kind: String,
    /// A short explanation (details are in the server log).
    pub message: String,
    /// Whether it was a timeout (answered 504 when there is no data to fall back on;
    /// any other failure is 502).
    #[serde(skip)]
    pub timeout: bool,
    /// What went wrong in full, for the one log line of the failure (never sent).
    #[serde(skip)]
    pub detail: String,
}

impl Failure {
    /// A failed request to an upstream: `what` names the request (`the Forgejo request`),
    /// `kind` is the upstream library's error kind, `timeout` whether it timed out.
    pub fn new(what: &str, kind: &str, timeout: bool) -> Self {
        Self {
            kind: kind.to_owned(),
            message: format!("{what} failed ({kind})"),
            timeout,
            detail: String::new(),
        }
    }

    /// A failed request to an upstream, named by the one classifier
    /// ([`failure::upstream_kind`](super::failure::upstream_kind)): `what` names the
    /// request, `library_kind` is the upstream library's kind of `err`, and `err`'s text
    /// (the libraries' messages already quote their causes) is the detail the log line
    /// carries.
    pub fn of(
        what: &str,
        library_kind: &'static str,
        err: &(dyn std::error::Error + 'static),
    ) -> Self {
        let kind = super::failure::upstream_kind(library_kind, err);
        Self {
            detail: err.to_string(),
            ..Self::new(what, kind, kind == "timeout")
        }
    }

    /// The status and error code when there is no good answer to fall back on.
    pub fn status(&self) -> (StatusCode, &'static str) {
        if self.timeout {
            (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout")
        } else {
            (StatusCode::BAD_GATEWAY, "bad_upstream")
        }
    }
}

/// A good answer and when it was fetched.
#[derive(Debug)]
pub struct Good<T> {
    /// The data.
    pub value: Arc<T>,
    /// When it was fetched.
    pub fetched_at: SystemTime,
    at: Instant,
}

impl<T> Clone for Good<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            fetched_at: self.fetched_at,
            at: self.at,
        }
    }
}

impl<T> Good<T> {
    /// Seconds since the Unix epoch when it was fetched.
    pub fn fetched_at_seconds(&self) -> f64 {
        super::unix_seconds(self.fetched_at)
    }

    /// Seconds since it was fetched.
    pub fn age_seconds(&self) -> f64 {
        self.at.elapsed().as_secs_f64()
    }
}

/// What a request gets.
#[derive(Debug)]
pub enum Answer<T> {
    /// Data younger than the refresh period, or just fetched.
    Fresh(Good<T>),
    /// Older data: the refresh failed (`Some`), or is running in the background (`None`).
    Stale(Good<T>, Option<Failure>),
    /// No data at all, and the last attempt failed.
    Error(Failure),
}

struct State<T> {
    good: Option<Good<T>>,
    failure: Option<(Failure, Instant)>,
    inflight: Option<Shared<BoxFuture<()>>>,
}

/// The cache's state, for the portal's `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheState {
    /// Whether there is data and the last request succeeded (false before the first).
    pub up: bool,
    /// Whether the data is older than the refresh period or its refresh failed.
    pub stale: bool,
    /// When the last successful answer was fetched.
    pub last_success: Option<SystemTime>,
    /// Failed requests since start.
    pub failures: u64,
}

/// One upstream behind its cache.
pub struct Upstream<T> {
    name: &'static str,
    failures: std::sync::atomic::AtomicU64,
    fetch: Fetch<T>,
    refresh: Duration,
    backoff: Duration,
    cold_wait: Duration,
    state: Mutex<State<T>>,
    /// Called after every refresh (success or failure), outside the lock.
    on_store: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl<T: Send + Sync + 'static> Upstream<T> {
    /// `fetch` makes one upstream request; answers are reused for `refresh`. `timeout` is
    /// the upstream's: the longest a request waits while there is no answer at all yet.
    pub fn new<F, Fut>(
        name: &'static str,
        refresh: Duration,
        timeout: Duration,
        fetch: F,
    ) -> Arc<Self>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, Failure>> + Send + 'static,
    {
        Arc::new(Self {
            name,
            failures: std::sync::atomic::AtomicU64::new(0),
            fetch: Box::new(move || fetch().boxed()),
            refresh,
            backoff: (refresh / 4).clamp(Duration::from_secs(1), Duration::from_secs(30)),
            cold_wait: timeout,
            state: Mutex::new(State {
                good: None,
                failure: None,
                inflight: None,
            }),
            on_store: std::sync::OnceLock::new(),
        })
    }

    /// Calls `f` after every refresh, when the cache has changed (new data, or a new
    /// failure to report beside the old data). Set once.
    pub fn on_store(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_store.set(Box::new(f));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current answer. When it is due, a refresh starts in the background; the
    /// earlier answer (if any) is returned at once, marked stale. Only without any
    /// answer does this wait for the refresh, at most the upstream's timeout.
    pub async fn get(self: &Arc<Self>) -> Answer<T> {
        let wait = {
            let mut st = self.lock();
            if let Some(g) = &st.good
                && g.at.elapsed() < self.refresh
            {
                return Answer::Fresh(g.clone());
            }
            let backing_off = self.start_refresh(&mut st);
            match &st.inflight {
                Some(wait) if st.good.is_none() && !backing_off => wait.clone(),
                // An earlier answer (or a recent failure) is served now; the refresh, if
                // one runs, completes in the background.
                _ => return answer(&st, true),
            }
        };
        if tokio::time::timeout(self.cold_wait, wait).await.is_err() {
            return Answer::Error(Failure::new(
                &format!("the {} request", self.name),
                "timeout",
                true,
            ));
        }
        answer(&self.lock(), false)
    }

    /// The value held now, fresh or stale, without waiting: a refresh that is due starts
    /// in the background, as for [`get`](Self::get). `None` before the first success.
    pub fn peek(self: &Arc<Self>) -> Option<Arc<T>> {
        let mut st = self.lock();
        if st
            .good
            .as_ref()
            .is_none_or(|g| g.at.elapsed() >= self.refresh)
        {
            self.start_refresh(&mut st);
        }
        st.good.as_ref().map(|g| g.value.clone())
    }

    /// Starts a refresh unless one runs or the last failure is within the back-off;
    /// whether it is backing off.
    fn start_refresh(self: &Arc<Self>, st: &mut State<T>) -> bool {
        let backing_off = st
            .failure
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < self.backoff);
        if !backing_off && st.inflight.is_none() {
            st.inflight = Some(self.spawn_refresh());
        }
        backing_off
    }

    /// Starts the one refresh in a task of its own, so that it completes even if every
    /// waiting client goes away, and returns what a cold request waits on. A panic in
    /// `fetch` is caught and stored as a failure: the single-flight slot is always freed.
    fn spawn_refresh(self: &Arc<Self>) -> Shared<BoxFuture<()>> {
        let me = self.clone();
        let task = tokio::spawn(async move {
            let result = AssertUnwindSafe(async { (me.fetch)().await })
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .copied()
                        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                        .unwrap_or("no message");
                    tracing::error!(upstream = me.name, "refresh panicked: {what}");
                    Err(Failure::new(
                        &format!("the {} refresh", me.name),
                        "internal",
                        false,
                    ))
                });
            me.store(result);
        });
        async move {
            let _ = task.await;
        }
        .boxed()
        .shared()
    }

    /// Waits for the refresh in flight, if any (tests only).
    #[cfg(test)]
    async fn settled(&self) {
        let wait = self.lock().inflight.clone();
        if let Some(wait) = wait {
            wait.await;
        }
    }

    /// The cache's state now (no request is made).
    pub fn cache_state(&self) -> CacheState {
        let st = self.lock();
        let good = st.good.as_ref();
        CacheState {
            up: good.is_some() && st.failure.is_none(),
            stale: good.is_some_and(|g| st.failure.is_some() || g.at.elapsed() >= self.refresh),
            last_success: good.map(|g| g.fetched_at),
            failures: self.failures.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    fn store(&self, result: Result<T, Failure>) {
        let mut st = self.lock();
        match result {
            Ok(value) => {
                st.good = Some(Good {
                    value: Arc::new(value),
                    fetched_at: SystemTime::now(),
                    at: Instant::now(),
                });
                st.failure = None;
            }
            Err(f) => {
                self.failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // The one line of this failure: the client and the fetch log nothing more.
                tracing::warn!(
                    upstream = self.name,
                    kind = f.kind,
                    "refresh failed: {}",
                    if f.detail.is_empty() {
                        &f.message
                    } else {
                        &f.detail
                    }
                );
                st.failure = Some((f, Instant::now()));
            }
        }
        st.inflight = None;
        drop(st);
        if let Some(f) = self.on_store.get() {
            f();
        }
    }
}

/// What every cached route's body says beside its data: how old the data is, and why it
/// may be stale.
#[derive(Debug, Clone)]
pub struct Age {
    /// When the data was fetched, seconds since the Unix epoch.
    pub fetched_at_seconds: f64,
    /// Seconds since then.
    pub age_seconds: f64,
    /// Whether a newer answer was due but could not be had (see `error`).
    pub stale: bool,
    /// Why the last refresh failed, when `stale`.
    pub error: Option<Failure>,
}

/// Answers a route from `upstream`'s cache, refreshing first if it is due: 503
/// `not_configured` with `hint` when there is no upstream; 200 with the body `make`
/// builds from the data and its [`Age`]; with no good answer at all, the failure's status
/// ([`Failure::status`]).
pub async fn respond<T, B>(
    upstream: Option<&Arc<Upstream<T>>>,
    hint: &str,
    make: impl FnOnce(&T, Age) -> B,
) -> Response<Body>
where
    T: Send + Sync + 'static,
    B: Serialize,
{
    let Some(upstream) = upstream else {
        return response::error(StatusCode::SERVICE_UNAVAILABLE, "not_configured", hint);
    };
    let (good, stale, error) = match upstream.get().await {
        Answer::Fresh(g) => (g, false, None),
        Answer::Stale(g, e) => (g, true, e),
        Answer::Error(f) => {
            let (status, code) = f.status();
            return response::error(status, code, f.message);
        }
    };
    let age = Age {
        fetched_at_seconds: good.fetched_at_seconds(),
        age_seconds: good.age_seconds(),
        stale,
        error,
    };
    response::json(StatusCode::OK, &make(&good.value, age))
}

/// The answer `st` holds; `due` when its data is known to be older than the refresh
/// period (then it is stale even without a failure: its refresh is running).
fn answer<T>(st: &State<T>, due: bool) -> Answer<T> {
    match (&st.good, &st.failure) {
        (Some(g), None) if due => Answer::Stale(g.clone(), None),
        (Some(g), None) => Answer::Fresh(g.clone()),
        (Some(g), Some((f, _))) => Answer::Stale(g.clone(), Some(f.clone())),
        (None, Some((f, _))) => Answer::Error(f.clone()),
        (None, None) => Answer::Error(Failure {
            kind: "unknown".into(),
            message: "no answer yet".into(),
            timeout: false,
            detail: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counter_upstream(
        results: Vec<Result<u32, bool>>,
        refresh: Duration,
    ) -> (Arc<Upstream<u32>>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let results = Arc::new(results);
        let up = Upstream::new("test", refresh, Duration::from_secs(30), move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            let r = results[n.min(results.len() - 1)];
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                r.map_err(|timeout| Failure {
                    kind: "x".into(),
                    message: "failed".into(),
                    timeout,
                    detail: String::new(),
                })
            }
        });
        (up, calls)
    }

    #[tokio::test]
    async fn many_concurrent_callers_make_one_upstream_request() {
        let (up, calls) = counter_upstream(vec![Ok(7)], Duration::from_secs(60));
        let answers = futures_util::future::join_all((0..20).map(|_| up.get())).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Answer::Fresh(g) if *g.value == 7))
        );
        assert!(matches!(up.get().await, Answer::Fresh(_)));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "fresh data is reused");
    }

    #[tokio::test]
    async fn a_failure_after_a_success_serves_the_last_good_data_marked_stale() {
        let (up, calls) = counter_upstream(vec![Ok(1), Err(true), Ok(3)], Duration::ZERO);
        assert!(matches!(up.get().await, Answer::Fresh(g) if *g.value == 1));
        // due: the last good data comes back at once while the refresh runs
        assert!(matches!(up.get().await, Answer::Stale(g, None) if *g.value == 1));
        up.settled().await;
        match up.get().await {
            Answer::Stale(g, Some(f)) => {
                assert_eq!(*g.value, 1);
                assert_eq!(f.status().0, StatusCode::GATEWAY_TIMEOUT);
            }
            other => panic!("{other:?}"),
        }
        // within the back-off the upstream is not asked again
        assert!(matches!(up.get().await, Answer::Stale(_, Some(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failures_are_not_cached_as_data() {
        // refresh 4 s: the back-off after a failure is a quarter of it, at least 1 s
        let (up, calls) = counter_upstream(vec![Err(false), Ok(5)], Duration::from_secs(4));
        match up.get().await {
            Answer::Error(f) => assert_eq!(f.status(), (StatusCode::BAD_GATEWAY, "bad_upstream")),
            other => panic!("{other:?}"),
        }
        // after the back-off (1 s minimum), the next request asks again and succeeds
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(matches!(up.get().await, Answer::Fresh(g) if *g.value == 5));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// Stands in for an upstream that answers `first`, then never again.
    fn answers_once_then_hangs(
        first: Result<u32, Failure>,
        refresh: Duration,
        timeout: Duration,
    ) -> (Arc<Upstream<u32>>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let up = Upstream::new("test", refresh, timeout, move || {
            let first = (c.fetch_add(1, Ordering::SeqCst) == 0).then(|| first.clone());
            async move {
                match first {
                    Some(result) => result,
                    None => std::future::pending().await,
                }
            }
        });
        (up, calls)
    }

    /// Far longer than serving from the cache takes, far shorter than the hang.
    const NOT_HANGING: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_request_with_an_earlier_answer_never_waits_on_a_hanging_refresh() {
        let (up, calls) = answers_once_then_hangs(Ok(9), Duration::ZERO, Duration::from_secs(3600));
        assert!(matches!(up.get().await, Answer::Fresh(g) if *g.value == 9));
        for _ in 0..3 {
            let answer = tokio::time::timeout(NOT_HANGING, up.get())
                .await
                .expect("served from the cache, not held by the hanging refresh");
            assert!(
                matches!(&answer, Answer::Stale(g, None) if *g.value == 9),
                "{answer:?}"
            );
        }
        // let the refresh task start (it then hangs)
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one refresh in flight");
        assert!(up.cache_state().stale);
    }

    #[tokio::test]
    async fn a_cold_cache_waits_no_longer_than_the_upstream_timeout() {
        let up = Upstream::new(
            "test",
            Duration::from_secs(60),
            Duration::from_millis(100),
            std::future::pending::<Result<u32, Failure>>,
        );
        let answer = tokio::time::timeout(Duration::from_secs(30), up.get())
            .await
            .expect("a cold request gives up after the upstream timeout");
        match answer {
            Answer::Error(f) => {
                assert_eq!(
                    f.status(),
                    (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout")
                );
                assert_eq!(f.message, "the test request failed (timeout)");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_refresh_that_panics_does_not_stop_the_cache_refreshing() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        // refresh 4 s: the back-off after a failure is a quarter of it, at least 1 s
        let up = Upstream::new(
            "test",
            Duration::from_secs(4),
            Duration::from_secs(30),
            move || {
                assert_ne!(
                    c.fetch_add(1, Ordering::SeqCst),
                    0,
                    "the first fetch panics"
                );
                async { Ok(11) }
            },
        );
        match up.get().await {
            Answer::Error(f) => {
                assert_eq!(f.kind, "internal");
                assert_eq!(f.status(), (StatusCode::BAD_GATEWAY, "bad_upstream"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(up.cache_state().failures, 1);
        // after the back-off, the next request refreshes again and succeeds
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(matches!(up.get().await, Answer::Fresh(g) if *g.value == 11));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
