//! `GET /api/events`: server-sent events. Each event (a new sample, a service changing
//! state, an upstream's cache changing) is rendered once, as the frame every stream
//! sends, and handed to every open stream by reference.
//!
//! - Every event has an id; a client reconnecting with `Last-Event-ID` gets what it
//!   missed from a bounded replay buffer, or a `reset` event (refetch everything) when
//!   that is gone or the id is not this process's.
//! - A stream holds no queue of its own: it is its place in the hub's ring of the last
//!   [`REPLAY`] events, read only as its connection takes frames. A client that falls
//!   further behind than that is disconnected (it reconnects and catches up, or gets a
//!   `reset`), never buffered without bound. Past `max_streams` open streams, `503` with
//!   `Retry-After`.
//! - A comment line every `keepalive` keeps idle streams open through proxies.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use tokio::sync::{broadcast, watch};

use crate::response;
use crate::server::Body;

/// Events kept for clients that reconnect with `Last-Event-ID`.
pub const REPLAY: usize = 64;
/// How long a browser waits before it reconnects (the `retry:` field), milliseconds.
pub const RETRY_MS: u64 = 3000;

/// The kinds of event (the `event:` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// What `/api/metrics` answers now.
    Sample,
    /// `/api/status` after a service changed state.
    Status,
    /// `/api/activity` after its cache changed.
    Activity,
    /// `/api/weather` after its cache changed.
    Weather,
    /// What `/api/containers` answers now (with every sample).
    Containers,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Sample => "sample",
            Kind::Status => "status",
            Kind::Activity => "activity",
            Kind::Weather => "weather",
            Kind::Containers => "containers",
        }
    }
}

/// One rendered event: its id and the frame every stream sends.
#[derive(Debug)]
struct Event {
    id: u64,
    frame: Bytes,
}

/// The event hub: publish once, every open stream gets it.
pub struct Events {
    state: Mutex<State>,
    tx: broadcast::Sender<Arc<Event>>,
    open: Arc<AtomicUsize>,
    max_streams: usize,
    keepalive: Duration,
    closing: watch::Sender<bool>,
}

struct State {
    next_id: u64,
    replay: VecDeque<Arc<Event>>,
}

/// Counts an open stream while it lives.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Events {
    /// A hub for at most `max_streams` streams, each sent a comment every `keepalive`.
    /// Ids start at this process's start time in milliseconds, so an id from an earlier
    /// run is never taken for one of this run's.
    pub fn new(max_streams: usize, keepalive: Duration) -> Self {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        Self {
            state: Mutex::new(State {
                next_id: start,
                replay: VecDeque::with_capacity(REPLAY),
            }),
            tx: broadcast::channel(REPLAY).0,
            open: Arc::new(AtomicUsize::new(0)),
            max_streams,
            keepalive,
            closing: watch::channel(false).0,
        }
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Sends `data` (one JSON document, no newline) as an event of `kind` to every open
    /// stream, and keeps it for reconnecting clients.
    pub fn publish(&self, kind: Kind, data: &[u8]) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let id = state.next_id;
        state.next_id += 1;
        let mut frame = Vec::with_capacity(data.len() + 48);
        frame.extend_from_slice(format!("id: {id}\nevent: {}\ndata: ", kind.name()).as_bytes());
        // JSON has no raw newline outside strings; one inside would end the field.
        frame.extend(data.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
        frame.extend_from_slice(b"\n\n");
        let event = Arc::new(Event {
            id,
            frame: Bytes::from(frame),
        });
        if state.replay.len() == REPLAY {
            state.replay.pop_front();
        }
        state.replay.push_back(event.clone());
        // Sent under the lock: a stream opening now sees it either in the replay or here.
        let _ = self.tx.send(event);
    }

    /// Ends every stream (graceful shutdown: they would hold the drain to its end).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Answers `GET /api/events` (with the request's `Last-Event-ID`, if any).
    pub fn route(&self, last_event_id: Option<&HeaderValue>) -> Response<Body> {
        let taken = self.open.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(self.open.clone());
        if taken >= self.max_streams || *self.closing.borrow() {
            drop(slot);
            return too_many();
        }
        let (first, sub) = {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let sub = self.tx.subscribe();
            (catch_up(&state, last_event_id), sub)
        };
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + self.keepalive, self.keepalive);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stream = Stream {
            first: first.into_iter(),
            sub,
            tick,
            closing: self.closing.subscribe(),
            _slot: slot,
        };
        let mut r = Response::new(Body::stream(futures_util::stream::unfold(
            stream,
            Stream::next,
        )));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // nginx: pass each event on at once instead of buffering the response.
        h.insert("x-accel-buffering", HeaderValue::from_static("no"));
        r
    }
}

/// The frames a new stream starts with: the reconnect delay, then what the client
/// missed since `last_event_id` or a `reset` when that is not in the replay.
fn catch_up(state: &State, last_event_id: Option<&HeaderValue>) -> Vec<Bytes> {
    let mut frames = vec![Bytes::from(format!("retry: {RETRY_MS}\n\n"))];
    let Some(last) = last_event_id else {
        return frames;
    };
    let last = last
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let oldest = state.replay.front().map_or(state.next_id, |e| e.id);
    match last {
        // Everything after `last` is still held (or nothing happened since).
        Some(last) if last + 1 >= oldest && last < state.next_id => frames.extend(
            state
                .replay
                .iter()
                .filter(|e| e.id > last)
                .map(|e| e.frame.clone()),
        ),
        _ => frames.push(Bytes::from(format!(
            "id: {}\nevent: reset\ndata: {{}}\n\n",
            state.next_id.saturating_sub(1)
        ))),
    }
    frames
}

/// One open stream: what it starts with, then its place in the hub's ring.
struct Stream {
    first: std::vec::IntoIter<Bytes>,
    sub: broadcast::Receiver<Arc<Event>>,
    tick: tokio::time::Interval,
    closing: watch::Receiver<bool>,
    _slot: Slot,
}

impl Stream {
    /// The next frame for the client; `None` ends the stream: the client fell more than
    /// [`REPLAY`] events behind (`Lagged`), or the hub closes.
    async fn next(mut self) -> Option<(Bytes, Self)> {
        if let Some(frame) = self.first.next() {
            return Some((frame, self));
        }
        let frame = tokio::select! {
            event = self.sub.recv() => match event {
                Ok(event) => event.frame.clone(),
                Err(_) => return None,
            },
            _ = self.tick.tick() => Bytes::from_static(b": keepalive\n\n"),
            _ = self.closing.changed() => return None,
        };
        Some((frame, self))
    }
}

/// 503 past `max_streams`.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "portal",
    operation_id = "events",
    summary = "Live updates (server-sent events)",
    description = "A `text/event-stream` of `sample` (what `/api/metrics` answers now, every \
                   `[metrics] interval`), `status` (what `/api/status` answers, when a service \
                   changes state), `activity` and `weather` (when their cache changes) events, \
                   each with an `id`. A client reconnecting with `Last-Event-ID` first gets the \
                   events it missed (the last 64 are kept) or a `reset` event: refetch what it \
                   shows. A comment line every 15 s keeps idle streams open through proxies. A \
                   client that does not keep up is disconnected (it reconnects, and catches up). \
                   Past `[events] max_streams` open streams: 503 with `Retry-After`.",
    params(("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received")),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 503, description = "Too many open streams", body = ErrorBody),
    )
)]
pub(super) fn too_many() -> Response<Body> {
    let mut r = response::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_streams",
        "too many open event streams: retry later",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    async fn next(body: &mut Body) -> String {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a frame in time")
            .expect("the stream goes on")
            .unwrap();
        String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap()
    }

    fn id_of(frame: &str) -> u64 {
        frame
            .lines()
            .find_map(|l| l.strip_prefix("id: "))
            .unwrap()
            .parse()
            .unwrap()
    }

    #[tokio::test]
    async fn every_stream_gets_each_event_once_rendered() {
        let hub = Events::new(10, Duration::from_secs(15));
        let mut a = hub.route(None).into_body();
        let mut b = hub.route(None).into_body();
        assert_eq!(next(&mut a).await, "retry: 3000\n\n");
        assert_eq!(next(&mut b).await, "retry: 3000\n\n");
        hub.publish(Kind::Sample, br#"{"cpu":1}"#);
        let fa = next(&mut a).await;
        assert!(
            fa.ends_with("\nevent: sample\ndata: {\"cpu\":1}\n\n"),
            "{fa:?}"
        );
        assert_eq!(next(&mut b).await, fa);
        assert_eq!(hub.open_streams(), 2);
        drop(a);
        hub.publish(Kind::Status, b"{}");
        next(&mut b).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(hub.open_streams(), 1, "a gone client frees its slot");
    }

    #[tokio::test]
    async fn a_reconnect_gets_what_it_missed_or_a_reset() {
        let hub = Events::new(10, Duration::from_secs(15));
        for i in 0..5 {
            hub.publish(Kind::Sample, format!("{{\"n\":{i}}}").as_bytes());
        }
        let mut s = hub.route(None).into_body();
        next(&mut s).await;
        hub.publish(Kind::Sample, b"{\"n\":5}");
        let id = id_of(&next(&mut s).await);
        // Missed: the two after id - 2.
        let mut r = hub.route(Some(&HeaderValue::from(id - 2))).into_body();
        next(&mut r).await;
        assert!(next(&mut r).await.contains("{\"n\":4}"));
        assert!(next(&mut r).await.contains("{\"n\":5}"));
        // Too old (fell out of the replay), or from another run: reset.
        for _ in 0..REPLAY {
            hub.publish(Kind::Sample, b"{}");
        }
        for stale in [
            HeaderValue::from(id - 2),
            HeaderValue::from(5u64),
            HeaderValue::from_static("x"),
        ] {
            let mut r = hub.route(Some(&stale)).into_body();
            next(&mut r).await;
            assert!(next(&mut r).await.contains("event: reset"), "{stale:?}");
        }
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_the_replay_is_dropped_not_buffered() {
        let hub = Events::new(10, Duration::from_secs(15));
        let mut slow = hub.route(None).into_body();
        next(&mut slow).await;
        // REPLAY events behind: every one is still there.
        for _ in 0..REPLAY {
            hub.publish(Kind::Sample, &[b'x'; 1000]);
        }
        for _ in 0..REPLAY {
            assert!(next(&mut slow).await.contains("event: sample"));
        }
        // One more than that: the stream ends and frees its slot.
        for _ in 0..=REPLAY {
            hub.publish(Kind::Sample, &[b'x'; 1000]);
        }
        let end = tokio::time::timeout(Duration::from_secs(5), slow.frame())
            .await
            .unwrap();
        assert!(end.is_none(), "more than REPLAY behind: the stream ends");
        drop(slow);
        assert_eq!(hub.open_streams(), 0, "its slot is free");
    }

    #[tokio::test]
    async fn past_max_streams_503_with_retry_after() {
        let hub = Events::new(2, Duration::from_secs(15));
        let _a = hub.route(None);
        let _b = hub.route(None);
        let r = hub.route(None);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        assert_eq!(hub.open_streams(), 2);
    }

    #[tokio::test]
    async fn idle_streams_get_keepalive_comments_and_close_ends_them() {
        let hub = Events::new(10, Duration::from_millis(50));
        let mut s = hub.route(None).into_body();
        next(&mut s).await;
        assert_eq!(next(&mut s).await, ": keepalive\n\n");
        hub.close();
        let end = tokio::time::timeout(Duration::from_secs(5), s.frame())
            .await
            .unwrap();
        assert!(end.is_none(), "the stream ends");
    }
}
