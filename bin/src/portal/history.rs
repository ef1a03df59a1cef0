//! `GET /api/history`: every sampled figure over time, from one fixed-memory
//! [`History`] fed by the host sampler (and the probes), optionally kept across restarts
//! in a snapshot file.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use kitestacks_metrics::Sample;
use kitestacks_metrics::history::{History, HistoryConfig, MAX_POINTS};
use serde::Serialize;
use utoipa::ToSchema;

use crate::response;
use crate::server::Body;

/// Points a query answers when it names no step.
pub const DEFAULT_POINTS: f64 = 360.0;

/// The history and where its snapshot goes.
pub struct Recorder {
    history: RwLock<History>,
    file: Option<PathBuf>,
}

/// `GET /api/history` with `series`: the points of one series.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "series": "cpu.busy_percent", "unit": "percent",
    "from_seconds": 1763852400.0, "to_seconds": 1763856000.0, "step_seconds": 10.0,
    "points": [[1763852400.0, 3.1, 4.2, 9.8], [1763852410.0, null, null, null]]
}))]
pub struct HistoryResponse {
    /// The series asked for.
    pub series: String,
    /// Its unit: `percent`, `bytes`, `bytes_per_second`, `celsius`, `tasks`, `milliseconds`.
    pub unit: String,
    /// Start of the first point, seconds since the Unix epoch.
    pub from_seconds: f64,
    /// The end of the range asked for.
    pub to_seconds: f64,
    /// Seconds between points: the step asked for, rounded to whole buckets of the tier
    /// that answers.
    pub step_seconds: f64,
    /// `[t, min, avg, max]` per step; `min`, `avg` and `max` are `null` where nothing
    /// was recorded (the portal was down, a rate was unknown): gaps, never interpolated.
    #[schema(value_type = Vec<Vec<Option<f64>>>)]
    pub points: Vec<[Option<f64>; 4]>,
}

/// What `GET /api/history` answers: the points of a series, or the index.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum HistoryAnswer {
    /// With `series`.
    Points(HistoryResponse),
    /// Without `series`.
    Index(HistoryIndex),
}

/// `GET /api/history` without `series`: what is kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryIndex {
    /// Every series held, in the order first recorded.
    pub series: Vec<SeriesEntry>,
    /// The tiers, finest first.
    pub tiers: Vec<TierEntry>,
    /// The cap on series; figures of series beyond it are not kept.
    pub max_series: usize,
    /// Values dropped because their series was past the cap.
    pub dropped_values: u64,
}

/// One series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesEntry {
    /// E.g. `network.receive_bytes_per_second[eth0]`.
    pub name: String,
    /// E.g. `bytes_per_second`.
    pub unit: String,
}

/// One tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierEntry {
    /// Bucket width.
    pub step_seconds: f64,
    /// How far back it reaches.
    pub span_seconds: f64,
}

impl Recorder {
    /// An empty history, or the one in `file` when it holds a usable snapshot. A missing,
    /// truncated, corrupt or foreign file is logged and the history starts empty.
    pub fn new(config: HistoryConfig, file: Option<PathBuf>) -> Self {
        let history = match &file {
            Some(path) if path.exists() => match History::load(path, config.clone()) {
                Ok(h) => {
                    tracing::info!(
                        "history: {} series restored from {}",
                        h.series_count(),
                        path.display()
                    );
                    h
                }
                Err(e) => {
                    tracing::warn!("history: {e}; starting with an empty history");
                    History::new(config)
                }
            },
            Some(path) => {
                tracing::info!(
                    "history: no snapshot at {} yet; starting empty",
                    path.display()
                );
                History::new(config)
            }
            None => History::new(config),
        };
        Self {
            history: RwLock::new(history),
            file,
        }
    }

    /// The memory budget, for the start-up log: `(bytes, max series, bytes per series)`.
    pub fn budget(&self) -> (usize, usize, usize) {
        let h = self.read();
        let c = h.config();
        (c.budget_bytes(), c.max_series, c.bytes_per_series())
    }

    /// `(series held, bytes they take, values dropped past the cap)`, for `/metrics`.
    pub fn usage(&self) -> (usize, usize, u64) {
        let h = self.read();
        (h.series_count(), h.bytes_used(), h.dropped_values())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, History> {
        self.history.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Records every figure of a sample.
    pub fn record_sample(&self, sample: &Sample) {
        let mut h = self.history.write().unwrap_or_else(|p| p.into_inner());
        h.record_sample(sample);
    }

    /// Records one value.
    pub fn record(&self, name: &str, unit: &str, t: f64, value: f64) {
        let mut h = self.history.write().unwrap_or_else(|p| p.into_inner());
        h.record(name, unit, t, value);
    }

    /// Writes the snapshot, if there is a file (blocking: call it off the async workers).
    pub fn save(&self) {
        let Some(path) = &self.file else { return };
        let bytes = self.read().encode();
        if let Err(e) = kitestacks_metrics::history::write_atomic(path, &bytes) {
            tracing::warn!("history: {e}");
        }
    }

    /// Saves a snapshot every `every` until aborted (nothing without a file).
    pub async fn run(self: Arc<Self>, every: Duration) {
        if self.file.is_none() {
            return std::future::pending().await;
        }
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let me = self.clone();
            let _ = tokio::task::spawn_blocking(move || me.save()).await;
        }
    }

    /// Answers `GET /api/history?series=…&range=…&step=…` at time `now` (seconds).
    pub fn route(&self, query: Option<&str>, now: f64) -> Response<Body> {
        let Query {
            series,
            range_s,
            step_s,
        } = match Query::parse(query) {
            Ok(q) => q,
            Err(message) => return bad(message),
        };
        let h = self.read();
        let Some(series) = series else {
            return response::json(StatusCode::OK, &index(&h));
        };
        let Some(unit) = h.unit(&series).map(str::to_owned) else {
            return response::error(
                StatusCode::NOT_FOUND,
                "unknown_series",
                format!("no series {series:?}: GET /api/history lists them"),
            );
        };
        let from = now - range_s;
        // At most MAX_POINTS: a finer step asked for is widened, and the answer says so.
        let step_s = step_s.max(range_s / (MAX_POINTS as f64 - 1.0));
        match h.query(&series, from, now, step_s) {
            Ok(p) => response::json(
                StatusCode::OK,
                &HistoryResponse {
                    series,
                    unit,
                    from_seconds: p.points.first().map_or(from, |p| p.t),
                    to_seconds: now,
                    step_seconds: p.step,
                    points: p
                        .points
                        .iter()
                        .map(|p| [Some(p.t), p.min, p.avg, p.max])
                        .collect(),
                },
            ),
            Err(e) => bad(e.to_string()),
        }
    }
}

/// The parameters of a history query (`/api/history`, `/api/fleet/{host}/history`).
pub(crate) struct Query {
    /// `series`, when given.
    pub series: Option<String>,
    /// `range`, in seconds (default 1 h).
    pub range_s: f64,
    /// `step`, in seconds (default range / [`DEFAULT_POINTS`]).
    pub step_s: f64,
}

impl Query {
    /// Reads `series`, `range` and `step`; a range or step that is not a duration is an
    /// error message saying what to write (answered 400 by [`bad`]).
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, String> {
        let mut series = None;
        let mut range = "1h".to_owned();
        let mut step = None;
        for (k, v) in crate::query::pairs(query) {
            match k.as_ref() {
                "series" => series = Some(v),
                // Empty is the default, as a form with an empty field sends it.
                "range" if !v.is_empty() => range = v,
                "step" if !v.is_empty() => step = Some(v),
                _ => {}
            }
        }
        // Checked first, with or without `series`: a mistake is never silently ignored.
        let Some(range_s) = parse_span(&range, true) else {
            return Err(format!(
                "range {range:?}: write 1h, 24h, 7d, 30d or a duration such as 90m"
            ));
        };
        let step_s = match step.as_deref().map(|s| parse_span(s, false)) {
            None => range_s / DEFAULT_POINTS,
            Some(Some(d)) => d,
            Some(None) => {
                return Err(format!(
                    "step {:?}: write a duration such as 10s or 5m",
                    step.unwrap_or_default()
                ));
            }
        };
        Ok(Self {
            series,
            range_s,
            step_s,
        })
    }
}

/// 400 `bad_request` with `message`.
pub(crate) fn bad(message: String) -> Response<Body> {
    response::error(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn index(h: &History) -> HistoryIndex {
    HistoryIndex {
        series: h
            .series()
            .map(|s| SeriesEntry {
                name: s.name,
                unit: s.unit,
            })
            .collect(),
        tiers: h
            .config()
            .tiers
            .iter()
            .map(|t| TierEntry {
                step_seconds: t.step.as_secs_f64(),
                span_seconds: t.span.as_secs_f64(),
            })
            .collect(),
        max_series: h.config().max_series,
        dropped_values: h.dropped_values(),
    }
}

/// A positive whole number of one unit, in seconds: `90m`, `24h`, `500ms`, and with
/// `days`, `7d`; one to six digits, no leading zero (the OpenAPI patterns of `range`
/// and `step` say the same).
fn parse_span(text: &str, days: bool) -> Option<f64> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(digits);
    if n.is_empty() || n.len() > 6 || n.starts_with('0') {
        return None;
    }
    let n: f64 = n.parse().ok()?;
    let seconds = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" if days => 86_400.0,
        _ => return None,
    };
    Some(n * seconds)
}

/// The history: one series over a range, or the list of series.
#[utoipa::path(
    get,
    path = "/api/history",
    tag = "metrics",
    operation_id = "history",
    summary = "History of a figure",
    description = "Every figure the host sampler produces (CPU total and per core, memory, swap, \
                   load, network per interface, disks, filesystems, temperatures) and each probed \
                   service's latency and up/down, kept in memory in tiers: the sample interval for \
                   1 h, 1-minute buckets for 48 h, 15-minute buckets for 30 days; each bucket keeps \
                   min, max, sum and count. With `series`: `[t, min, avg, max]` points on a regular \
                   step, `null` where nothing was recorded. Without: the series held, the tiers and \
                   the cap on series.",
    params(
        ("series" = Option<String>, Query, description = "A series name from the list, e.g. `cpu.busy_percent` or `network.receive_bytes_per_second[eth0]`"),
        ("range" = Option<String>, Query, pattern = r"^([1-9][0-9]{0,5}(d|h|m|s|ms))?$",
         description = "How far back: `1h` (default; also when empty), `24h`, `7d`, `30d`, or a duration such as `90m`"),
        ("step" = Option<String>, Query, pattern = r"^([1-9][0-9]{0,5}(h|m|s|ms))?$",
         description = "Time between points, as a duration (`10s`, `5m`); default (also when empty) range / 360. \
                        Rounded up to whole buckets of the tier that answers, and to at most 10000 points"),
    ),
    responses(
        (status = 200, description = "With `series`: its points; without: the series held", body = HistoryAnswer),
        (status = 400, description = "A range or step that is not a duration", body = ErrorBody),
        (status = 404, description = "No such series", body = ErrorBody),
    )
)]
#[allow(
    dead_code,
    reason = "documentation only: the OpenAPI path of Recorder::route"
)]
pub(super) fn history_doc() -> HistoryAnswer {
    unreachable!("documentation only: Recorder::route answers")
}

const _: () = assert!(MAX_POINTS == 10_000, "the OpenAPI text says 10000 points");

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    const NOW: f64 = 1_800_003_600.0;

    fn recorder() -> Recorder {
        let r = Recorder::new(HistoryConfig::new(Duration::from_secs(2)), None);
        for i in 0..1800 {
            // an hour at 2 s, with a 10-minute hole (the portal was down)
            if !(600..900).contains(&i) {
                r.record(
                    "cpu.busy_percent",
                    "percent",
                    NOW - 3600.0 + 2.0 * f64::from(i),
                    25.0,
                );
            }
        }
        r
    }

    async fn json(r: Response<Body>) -> (StatusCode, serde_json::Value) {
        let status = r.status();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_series_answers_points_with_nulls_in_the_gap() {
        let r = recorder();
        let (status, v) =
            json(r.route(Some("series=cpu.busy_percent&range=1h&step=60s"), NOW)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["unit"], "percent");
        assert_eq!(v["step_seconds"], 60.0);
        let points = v["points"].as_array().unwrap();
        assert_eq!(points.len(), 60);
        let nulls = points.iter().filter(|p| p[2].is_null()).count();
        assert_eq!(nulls, 10, "the ten minutes without samples are gaps");
        assert_eq!(points[0][1], 25.0);
        assert_eq!(points[0][3], 25.0);
    }

    #[tokio::test]
    async fn without_series_it_lists_them_and_the_tiers() {
        let (status, v) = json(recorder().route(None, NOW)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["series"][0]["name"], "cpu.busy_percent");
        assert_eq!(v["tiers"][2]["span_seconds"], 30.0 * 86_400.0);
        assert_eq!(v["max_series"], 384);
    }

    #[tokio::test]
    async fn mistakes_explain_themselves() {
        let r = recorder();
        for (q, status, text) in [
            (
                "series=nope",
                StatusCode::NOT_FOUND,
                "GET /api/history lists them",
            ),
            (
                "series=cpu.busy_percent&range=forever",
                StatusCode::BAD_REQUEST,
                "range \"forever\"",
            ),
            (
                "series=cpu.busy_percent&step=-1s",
                StatusCode::BAD_REQUEST,
                "step \"-1s\"",
            ),
            (
                "series=cpu.busy_percent&range=0s",
                StatusCode::BAD_REQUEST,
                "range \"0s\"",
            ),
        ] {
            let (got, v) = json(r.route(Some(q), NOW)).await;
            let text_of_v = v.to_string();
            assert_eq!(
                got,
                status,
                "{q}: {}",
                &text_of_v[..text_of_v.len().min(300)]
            );
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(msg.contains(text), "{q}: {msg}");
        }
    }

    #[tokio::test]
    async fn a_step_too_fine_is_widened_and_empty_parameters_are_the_defaults() {
        let r = recorder();
        let (status, v) =
            json(r.route(Some("series=cpu.busy_percent&range=400d&step=1s"), NOW)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(v["points"].as_array().unwrap().len() <= MAX_POINTS);
        assert!(v["step_seconds"].as_f64().unwrap() >= 400.0 * 86_400.0 / 10_000.0);
        let (status, v) = json(r.route(Some("series=cpu.busy_percent&range=&step="), NOW)).await;
        assert_eq!(status, StatusCode::OK);
        let span = v["to_seconds"].as_f64().unwrap() - v["from_seconds"].as_f64().unwrap();
        assert!(span <= 3600.0, "the default range is 1 h: {span}");
        assert_eq!(v["step_seconds"], 10.0, "1 h / 360");
    }

    #[test]
    fn spans_are_what_the_openapi_patterns_say() {
        let ok = |s: &str, days| parse_span(s, days);
        assert_eq!(ok("90m", false), Some(5400.0));
        assert_eq!(ok("7d", true), Some(604_800.0));
        assert_eq!(ok("500ms", false), Some(0.5));
        for bad in [
            "7d", "0s", "01h", "1h30m", "1234567s", "h", "", "1.5h", "-1s", "\u{84}",
        ] {
            assert_eq!(ok(bad, false), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_bad_step_is_refused_even_without_series() {
        let (status, v) = json(recorder().route(Some("step=%C2%84"), NOW)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    }

    #[test]
    fn a_damaged_snapshot_starts_an_empty_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.bin");
        std::fs::write(&path, b"KSHIST\0\0garbage").unwrap();
        let r = Recorder::new(
            HistoryConfig::new(Duration::from_secs(2)),
            Some(path.clone()),
        );
        assert_eq!(r.usage().0, 0);
        r.record("a", "percent", NOW, 1.0);
        r.save();
        let back = Recorder::new(HistoryConfig::new(Duration::from_secs(2)), Some(path));
        assert_eq!(back.usage().0, 1, "the next start restores what was saved");
    }
}
