//! Fixed-memory history of sampled figures: rings of min/max/sum/count buckets in tiers.
//!
//! A [`History`] keeps every figure it is given (a [`Sample`]'s through [`figures`], a
//! probe's latency, a container's CPU) in *tiers*: by default the raw sample interval for
//! one hour, one-minute buckets for 48 hours and fifteen-minute buckets for 30 days.
//! Each bucket keeps the minimum, maximum, sum and count of the values that fell in it,
//! so averages and peaks both survive downsampling: a one-second spike is still the
//! maximum of its 15-minute bucket in the 30-day view.
//!
//! Memory is bounded when the history is made: each series is a ring per tier, sized
//! from the tier's span and step ([`HistoryConfig::bytes_per_series`]), and there are at
//! most [`HistoryConfig::max_series`] series. A series beyond the cap is not kept: its
//! values are counted in [`History::dropped_values`], and memory does not grow.
//!
//! A query ([`History::query`]) answers `(t, min, avg, max)` points on a regular step,
//! with `None` where no value was recorded (the portal was down, a rate was unknown
//! after a counter reset): gaps are shown, never interpolated.
//!
//! A snapshot ([`History::encode`], [`History::decode`], [`History::save`],
//! [`History::load`]) keeps the history across restarts: a versioned, checksummed binary
//! file written atomically (temporary file, fsync, rename).
//!
//! ```
//! use std::time::Duration;
//! use kitestacks_metrics::history::{History, HistoryConfig};
//!
//! let mut history = History::new(HistoryConfig::new(Duration::from_secs(2)));
//! for i in 0..30 {
//!     history.record("cpu.busy_percent", "percent", 1_800_000_000.0 + 2.0 * f64::from(i), 50.0);
//! }
//! let points = history
//!     .query("cpu.busy_percent", 1_800_000_000.0, 1_800_000_060.0, 60.0)
//!     .unwrap()
//!     .points;
//! assert_eq!(points.len(), 1);
//! assert_eq!(points[0].avg, Some(50.0));
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::{Error, Sample};

/// One tier: buckets of `step` covering the last `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// The width of one bucket.
    pub step: Duration,
    /// How far back the tier reaches.
    pub span: Duration,
}

impl Tier {
    /// How many buckets the tier's ring holds.
    pub fn slots(&self) -> usize {
        let step = self.step.as_millis().max(1);
        self.span.as_millis().div_ceil(step) as usize
    }

    fn step_seconds(&self) -> f64 {
        self.step.as_secs_f64()
    }
}

/// How much history is kept: the tiers, finest first, and the cap on series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Finest first; each tier's step is longer than the previous one's.
    pub tiers: Vec<Tier>,
    /// At most this many series are kept (figures beyond it are counted and dropped).
    pub max_series: usize,
}

/// The default cap on series: a host with 32 cores, a dozen interfaces, disks and
/// filesystems, its sensors, two dozen containers and a few dozen services fits.
pub const DEFAULT_MAX_SERIES: usize = 384;

/// A query may answer at most this many points.
pub const MAX_POINTS: usize = 10_000;

impl HistoryConfig {
    /// The default tiers for a sampler running every `interval`: the raw interval for one
    /// hour, one minute for 48 hours, fifteen minutes for 30 days.
    pub fn new(interval: Duration) -> Self {
        let hour = Duration::from_secs(3600);
        Self {
            tiers: vec![
                Tier {
                    step: interval,
                    span: hour,
                },
                Tier {
                    step: Duration::from_secs(60),
                    span: 48 * hour,
                },
                Tier {
                    step: Duration::from_secs(15 * 60),
                    span: 30 * 24 * hour,
                },
            ],
            max_series: DEFAULT_MAX_SERIES,
        }
    }

    /// Checks the tiers: at least one, steps of at least 100 ms, growing, each spanning
    /// at least one step.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::History(m));
        if self.tiers.is_empty() {
            return bad("history needs at least one tier".into());
        }
        for (i, t) in self.tiers.iter().enumerate() {
            if t.step < Duration::from_millis(100) {
                return bad(format!("tier {}: step {:?} is under 100ms", i + 1, t.step));
            }
            if t.span < t.step {
                return bad(format!(
                    "tier {}: span {:?} is shorter than its step",
                    i + 1,
                    t.span
                ));
            }
            if i > 0 && t.step <= self.tiers[i - 1].step {
                return bad(format!(
                    "tier {}: step {:?} is not longer than the previous tier's",
                    i + 1,
                    t.step
                ));
            }
        }
        Ok(())
    }

    /// Bytes one series holds: a bucket per slot of every tier.
    pub fn bytes_per_series(&self) -> usize {
        self.tiers.iter().map(Tier::slots).sum::<usize>() * std::mem::size_of::<Bucket>()
    }

    /// The most the rings can hold: [`Self::bytes_per_series`] × [`Self::max_series`].
    pub fn budget_bytes(&self) -> usize {
        self.bytes_per_series() * self.max_series
    }
}

/// One bucket. `tag` is the bucket's number + 1 (0: empty), so a slot reused by a later
/// lap of the ring is told from the one it replaces.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    tag: u32,
    count: u32,
    min: f32,
    max: f32,
    sum: f32,
}

impl Bucket {
    const EMPTY: Bucket = Bucket {
        tag: 0,
        count: 0,
        min: 0.0,
        max: 0.0,
        sum: 0.0,
    };
}

/// A series: its name, unit, and one ring per tier.
#[derive(Debug, Clone)]
struct Series {
    name: String,
    unit: String,
    rings: Vec<Box<[Bucket]>>,
}

/// One point of a query: `min`, `avg` and `max` are `None` where nothing was recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Start of the point's step, seconds since the Unix epoch.
    pub t: f64,
    /// The smallest value in the step.
    pub min: Option<f64>,
    /// The mean of the values in the step.
    pub avg: Option<f64>,
    /// The largest value in the step.
    pub max: Option<f64>,
}

/// A query's answer: the step it was answered at (the one asked for, rounded to whole
/// buckets of the tier that answers) and the points.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    /// Seconds between two points.
    pub step: f64,
    /// From the step holding `from` to the one holding `to`.
    pub points: Vec<Point>,
}

/// A series' name and unit, as listed by [`History::series`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesInfo {
    /// E.g. `network.receive_bytes_per_second[eth0]`.
    pub name: String,
    /// E.g. `bytes_per_second`, `percent`, `celsius`, `milliseconds`.
    pub unit: String,
}

/// The history: fixed-size rings per series and tier.
#[derive(Debug, Clone)]
pub struct History {
    config: HistoryConfig,
    series: Vec<Series>,
    index: HashMap<String, usize>,
    /// Bucket numbers count from this time (seconds since the epoch), so they fit u32.
    base: f64,
    latest: f64,
    dropped: u64,
}

/// Bucket numbers are counted from 2020-01-01, so that a u32 tag lasts centuries at 1 s.
const BASE_EPOCH: f64 = 1_577_836_800.0;

impl History {
    /// An empty history. Panics if `config` does not [`HistoryConfig::validate`]; check
    /// it first where it comes from a user.
    pub fn new(config: HistoryConfig) -> Self {
        if let Err(e) = config.validate() {
            panic!("invalid history configuration: {e}");
        }
        Self {
            config,
            series: Vec::new(),
            index: HashMap::new(),
            base: BASE_EPOCH,
            latest: f64::NEG_INFINITY,
            dropped: 0,
        }
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &HistoryConfig {
        &self.config
    }

    /// How many series it holds.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Values not kept because their series would have passed the cap.
    pub fn dropped_values(&self) -> u64 {
        self.dropped
    }

    /// Bytes the rings of the series held now take.
    pub fn bytes_used(&self) -> usize {
        self.series.len() * self.config.bytes_per_series()
    }

    /// The series held, in the order they were first recorded.
    pub fn series(&self) -> impl Iterator<Item = SeriesInfo> + '_ {
        self.series.iter().map(|s| SeriesInfo {
            name: s.name.clone(),
            unit: s.unit.clone(),
        })
    }

    /// The unit of a series, if it is held.
    pub fn unit(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.series[i].unit.as_str())
    }

    /// Records `value` of series `name` (with `unit`) at `t` seconds since the epoch.
    /// A non-finite value, or a time before 2020, is ignored; a new series past the cap
    /// is counted in [`Self::dropped_values`] and not kept.
    pub fn record(&mut self, name: &str, unit: &str, t: f64, value: f64) {
        if !value.is_finite() || !t.is_finite() || t < self.base {
            return;
        }
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                if self.series.len() >= self.config.max_series {
                    self.dropped += 1;
                    return;
                }
                let rings = self
                    .config
                    .tiers
                    .iter()
                    .map(|t| vec![Bucket::EMPTY; t.slots()].into_boxed_slice())
                    .collect();
                self.series.push(Series {
                    name: name.to_owned(),
                    unit: unit.to_owned(),
                    rings,
                });
                self.index.insert(name.to_owned(), self.series.len() - 1);
                self.series.len() - 1
            }
        };
        self.latest = self.latest.max(t);
        let v = value as f32;
        for (tier, ring) in self
            .config
            .tiers
            .iter()
            .zip(self.series[i].rings.iter_mut())
        {
            let n = ((t - self.base) / tier.step_seconds()).floor() as u64;
            let newest = ((self.latest - self.base) / tier.step_seconds()).floor() as u64;
            if newest - n >= ring.len() as u64 {
                continue; // older than the tier reaches
            }
            let tag = (n + 1) as u32;
            let b = &mut ring[(n % ring.len() as u64) as usize];
            if b.tag != tag {
                *b = Bucket {
                    tag,
                    count: 1,
                    min: v,
                    max: v,
                    sum: v,
                };
            } else {
                b.count = b.count.saturating_add(1);
                b.min = b.min.min(v);
                b.max = b.max.max(v);
                b.sum += v;
            }
        }
    }

    /// Records every figure of a sample at its timestamp (see [`figures`]).
    pub fn record_sample(&mut self, sample: &Sample) {
        let t = sample.timestamp_seconds;
        figures(sample, |name, unit, v| self.record(name, unit, t, v));
    }

    /// Points of `name` from `from` to `to` (seconds since the epoch) every `step`
    /// seconds: the finest tier that reaches back to `from` with a step no longer than
    /// `step` answers (a coarser one when none does; then `step` becomes its step).
    /// Each point is the min, mean and max of the buckets in it, `None` where empty.
    pub fn query(&self, name: &str, from: f64, to: f64, step: f64) -> Result<Points, Error> {
        let &i = self
            .index
            .get(name)
            .ok_or_else(|| Error::History(format!("no series {name:?}")))?;
        if !(from.is_finite() && to.is_finite() && step.is_finite()) || step <= 0.0 || to < from {
            return Err(Error::History(format!(
                "bad range: from {from} to {to} step {step}"
            )));
        }
        let newest = if self.latest.is_finite() {
            self.latest.max(to)
        } else {
            to
        };
        let tiers = &self.config.tiers;
        let reaches = |k: usize| newest - tiers[k].span.as_secs_f64() <= from;
        let k = (0..tiers.len())
            .find(|&k| reaches(k) && tiers[k].step_seconds() <= step + 1e-9)
            .or_else(|| (0..tiers.len()).find(|&k| reaches(k)))
            .unwrap_or(tiers.len() - 1);
        let tier = tiers[k];
        let tstep = tier.step_seconds();
        // The output step is a whole number of the tier's buckets.
        let per = (step / tstep).round().max(1.0) as u64;
        let ostep = per as f64 * tstep;
        let first = ((from - self.base) / ostep).floor() as i64;
        let last = ((to - self.base) / ostep).ceil() as i64;
        let n = (last - first).max(1) as usize;
        if n > MAX_POINTS {
            return Err(Error::History(format!(
                "{n} points asked for, at most {MAX_POINTS}: use a longer step"
            )));
        }
        let ring = &self.series[i].rings[k];
        let len = ring.len() as i64;
        let newest_bucket = ((newest - self.base) / tstep).floor() as i64;
        let mut out = Vec::with_capacity(n);
        for p in 0..n as i64 {
            let start = (first + p) * per as i64; // in tier buckets
            let (mut min, mut max, mut sum, mut count) =
                (f32::INFINITY, f32::NEG_INFINITY, 0f64, 0u64);
            for b in start..start + per as i64 {
                if b < 0 || b > newest_bucket || newest_bucket - b >= len {
                    continue;
                }
                let bucket = ring[(b % len) as usize];
                if bucket.tag != (b + 1) as u32 || bucket.count == 0 {
                    continue;
                }
                min = min.min(bucket.min);
                max = max.max(bucket.max);
                sum += f64::from(bucket.sum);
                count += u64::from(bucket.count);
            }
            let t = self.base + (first + p) as f64 * ostep;
            out.push(if count == 0 {
                Point {
                    t,
                    min: None,
                    avg: None,
                    max: None,
                }
            } else {
                Point {
                    t,
                    min: Some(f64::from(min)),
                    avg: Some(sum / count as f64),
                    max: Some(f64::from(max)),
                }
            });
        }
        Ok(Points {
            step: ostep,
            points: out,
        })
    }

    /// The snapshot's bytes: magic, version, the tiers, every series' rings, a checksum.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(64 + self.bytes_used());
        w.extend_from_slice(MAGIC);
        w.extend_from_slice(&VERSION.to_le_bytes());
        w.extend_from_slice(&self.base.to_le_bytes());
        w.extend_from_slice(&self.latest.to_le_bytes());
        w.extend_from_slice(&(self.config.tiers.len() as u32).to_le_bytes());
        for t in &self.config.tiers {
            w.extend_from_slice(&(t.step.as_millis() as u64).to_le_bytes());
            w.extend_from_slice(&(t.slots() as u64).to_le_bytes());
        }
        w.extend_from_slice(&(self.series.len() as u32).to_le_bytes());
        for s in &self.series {
            for text in [&s.name, &s.unit] {
                w.extend_from_slice(&(text.len() as u32).to_le_bytes());
                w.extend_from_slice(text.as_bytes());
            }
            for ring in &s.rings {
                for b in ring.iter() {
                    w.extend_from_slice(&b.tag.to_le_bytes());
                    w.extend_from_slice(&b.count.to_le_bytes());
                    w.extend_from_slice(&b.min.to_le_bytes());
                    w.extend_from_slice(&b.max.to_le_bytes());
                    w.extend_from_slice(&b.sum.to_le_bytes());
                }
            }
        }
        let sum = fnv1a(&w);
        w.extend_from_slice(&sum.to_le_bytes());
        w
    }

    /// A history from a snapshot made with the same tiers. A truncated, corrupt or
    /// foreign file (another version, other tiers) is an error saying which; series past
    /// `config.max_series` are left out.
    pub fn decode(bytes: &[u8], config: HistoryConfig) -> Result<Self, Error> {
        let bad = |m: &str| Error::History(format!("history snapshot: {m}"));
        if bytes.len() < MAGIC.len() + 4 + 8 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not a kitestacks history snapshot"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        let mut r = Reader {
            bytes: &body[MAGIC.len()..],
        };
        let version = r.u32().ok_or_else(|| bad("truncated"))?;
        if version != VERSION {
            return Err(bad(&format!(
                "version {version}, this build reads {VERSION}"
            )));
        }
        let truncated = || bad("truncated");
        let base = r.f64().ok_or_else(truncated)?;
        let latest = r.f64().ok_or_else(truncated)?;
        let tiers = r.u32().ok_or_else(truncated)? as usize;
        let mut layout = Vec::new();
        for _ in 0..tiers.min(64) {
            layout.push((
                r.u64().ok_or_else(truncated)?,
                r.u64().ok_or_else(truncated)?,
            ));
        }
        let want: Vec<(u64, u64)> = config
            .tiers
            .iter()
            .map(|t| (t.step.as_millis() as u64, t.slots() as u64))
            .collect();
        if layout != want || base != BASE_EPOCH {
            return Err(bad(
                "made with other tiers (the sample interval or history settings changed)",
            ));
        }
        let mut history = History::new(config);
        history.latest = latest;
        let count = r.u32().ok_or_else(truncated)? as usize;
        for _ in 0..count {
            let name = r.text().ok_or_else(truncated)?;
            let unit = r.text().ok_or_else(truncated)?;
            let mut rings = Vec::with_capacity(want.len());
            for &(_, slots) in &want {
                let mut ring = Vec::with_capacity(slots as usize);
                for _ in 0..slots {
                    ring.push(Bucket {
                        tag: r.u32().ok_or_else(truncated)?,
                        count: r.u32().ok_or_else(truncated)?,
                        min: f32::from_bits(r.u32().ok_or_else(truncated)?),
                        max: f32::from_bits(r.u32().ok_or_else(truncated)?),
                        sum: f32::from_bits(r.u32().ok_or_else(truncated)?),
                    });
                }
                rings.push(ring.into_boxed_slice());
            }
            if history.series.len() < history.config.max_series
                && !history.index.contains_key(&name)
            {
                history.index.insert(name.clone(), history.series.len());
                history.series.push(Series { name, unit, rings });
            }
        }
        if !r.bytes.is_empty() {
            return Err(bad("trailing bytes"));
        }
        // Checked last, so that the structure is parsed (and fuzzed) whatever the sum.
        if fnv1a(body).to_le_bytes() != sum {
            return Err(bad("checksum mismatch (corrupt)"));
        }
        Ok(history)
    }

    /// Writes the snapshot atomically ([`write_atomic`]).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        write_atomic(path, &self.encode())
    }

    /// Reads a snapshot written by [`Self::save`] (see [`Self::decode`]).
    pub fn load(path: &Path, config: HistoryConfig) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::decode(&bytes, config)
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync
/// of the directory. A crash leaves the old file or the new one, whole.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

const MAGIC: &[u8; 8] = b"KSHIST\0\0";
const VERSION: u32 = 1;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }
    fn text(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        if len > self.bytes.len() || len > 4096 {
            return None;
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        String::from_utf8(head.to_vec()).ok()
    }
}

/// Every figure of a sample as `(series name, unit, value)`: CPU (total and per core),
/// memory, swap, load, network (total and per interface), disks, filesystems,
/// temperatures and containers (`container.cpu_percent[<name>]` of one core,
/// `container.memory_bytes[<name>]` of its working set, `container.memory_percent[<name>]`
/// of its limit). Unknown values (a rate on the first sample or after a counter reset)
/// are left out, which [`History::query`] shows as gaps.
///
/// Names are `group.figure`, with the instance in brackets where there are several:
/// `cpu.busy_percent`, `cpu.busy_percent[3]`, `network.receive_bytes_per_second[eth0]`,
/// `filesystem.used_percent[/home]`, `temperature.celsius[coretemp/Package id 0]`.
pub fn figures(sample: &Sample, mut f: impl FnMut(&str, &str, f64)) {
    const PCT: &str = "percent";
    const BPS: &str = "bytes_per_second";
    let mut name = String::new();
    let mut each =
        |f: &mut dyn FnMut(&str, &str, f64), figure: &str, instance: &str, unit: &str, v: f64| {
            name.clear();
            name.push_str(figure);
            name.push('[');
            name.push_str(instance);
            name.push(']');
            f(&name, unit, v);
        };
    if let Some(cpu) = &sample.cpu {
        if let Some(v) = cpu.busy_percent {
            f("cpu.busy_percent", PCT, v);
        }
        for (i, v) in cpu.per_core_busy_percent.iter().enumerate() {
            if let Some(v) = v {
                each(&mut f, "cpu.busy_percent", &i.to_string(), PCT, *v);
            }
        }
    }
    if let Some(m) = &sample.memory {
        f("memory.used_percent", PCT, m.used_percent);
        f("memory.used_bytes", "bytes", m.used_bytes as f64);
    }
    if let Some(s) = &sample.swap {
        f("swap.used_percent", PCT, s.used_percent);
    }
    if let Some(l) = &sample.load {
        f("load.load1", "tasks", l.load1);
        f("load.load5", "tasks", l.load5);
        f("load.load15", "tasks", l.load15);
    }
    let net = &sample.network;
    if let Some(v) = net.receive_bytes_per_second {
        f("network.receive_bytes_per_second", BPS, v);
    }
    if let Some(v) = net.transmit_bytes_per_second {
        f("network.transmit_bytes_per_second", BPS, v);
    }
    for i in &net.interfaces {
        if let Some(v) = i.receive_bytes_per_second {
            each(&mut f, "network.receive_bytes_per_second", &i.name, BPS, v);
        }
        if let Some(v) = i.transmit_bytes_per_second {
            each(&mut f, "network.transmit_bytes_per_second", &i.name, BPS, v);
        }
    }
    for d in &sample.disks {
        if let Some(v) = d.read_bytes_per_second {
            each(&mut f, "disk.read_bytes_per_second", &d.name, BPS, v);
        }
        if let Some(v) = d.write_bytes_per_second {
            each(&mut f, "disk.write_bytes_per_second", &d.name, BPS, v);
        }
        if let Some(v) = d.io_time_percent {
            each(&mut f, "disk.io_time_percent", &d.name, PCT, v);
        }
    }
    for fs in &sample.filesystems {
        each(
            &mut f,
            "filesystem.used_percent",
            &fs.mount_point,
            PCT,
            fs.used_percent,
        );
    }
    for t in &sample.temperatures {
        let instance = format!("{}/{}", t.chip, t.label);
        each(
            &mut f,
            "temperature.celsius",
            &instance,
            "celsius",
            t.celsius,
        );
    }
    for c in sample.containers.iter().flat_map(|c| &c.containers) {
        if let Some(v) = c.cpu.as_ref().and_then(|c| c.percent_of_one_core) {
            each(&mut f, "container.cpu_percent", &c.name, PCT, v);
        }
        if let Some(m) = &c.memory {
            let bytes = m.working_set_bytes as f64;
            each(&mut f, "container.memory_bytes", &c.name, "bytes", bytes);
            if let Some(v) = m.percent_of_limit {
                each(&mut f, "container.memory_percent", &c.name, PCT, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_800_000_000.0; // a multiple of 900 s and 60 s after BASE_EPOCH

    fn small() -> HistoryConfig {
        HistoryConfig {
            tiers: vec![
                Tier {
                    step: Duration::from_secs(2),
                    span: Duration::from_secs(60),
                },
                Tier {
                    step: Duration::from_secs(60),
                    span: Duration::from_secs(3600),
                },
            ],
            max_series: 2,
        }
    }

    #[test]
    fn raw_points_come_back_and_missing_ones_are_gaps() {
        let mut h = History::new(small());
        h.record("a", "percent", T0, 10.0);
        h.record("a", "percent", T0 + 2.0, 20.0);
        h.record("a", "percent", T0 + 6.0, 40.0); // T0 + 4 missing
        let p = h.query("a", T0, T0 + 8.0, 2.0).unwrap().points;
        let avgs: Vec<_> = p.iter().map(|p| p.avg).collect();
        assert_eq!(avgs, [Some(10.0), Some(20.0), None, Some(40.0)]);
        assert_eq!(p[0].t, T0);
        assert_eq!(p[3].t, T0 + 6.0);
    }

    #[test]
    fn a_spike_survives_as_the_max_of_the_coarse_bucket() {
        let mut h = History::new(small());
        for i in 0..30 {
            let v = if i == 7 { 99.0 } else { 10.0 };
            h.record("a", "percent", T0 + 2.0 * f64::from(i), v);
        }
        // 10 minutes later the raw tier no longer reaches T0: the minute tier answers.
        h.record("a", "percent", T0 + 600.0, 10.0);
        let p = h.query("a", T0, T0 + 60.0, 60.0).unwrap().points;
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].max, Some(99.0));
        assert_eq!(p[0].min, Some(10.0));
        let avg = p[0].avg.unwrap();
        assert!((avg - (29.0 * 10.0 + 99.0) / 30.0).abs() < 1e-4, "{avg}");
    }

    #[test]
    fn the_ring_forgets_what_is_older_than_its_span() {
        let mut h = History::new(small());
        h.record("a", "percent", T0, 1.0);
        h.record("a", "percent", T0 + 7200.0, 2.0); // past both tiers' spans
        // the slot T0 used is reused for nothing; T0 is gone, not aliased
        let p = h
            .query("a", T0 + 3600.0 * 2.0 - 3000.0, T0 + 7200.0 + 60.0, 60.0)
            .unwrap();
        let known: Vec<_> = p.points.iter().filter_map(|p| p.avg).collect();
        assert_eq!(known, [2.0]);
        // A lap later, the same slot with an old tag reads as empty.
        let p = h
            .query("a", T0 + 3600.0 * 2.0 - 3600.0, T0 + 7200.0 - 3540.0, 60.0)
            .unwrap();
        assert!(p.points.iter().all(|p| p.avg.is_none()), "{p:?}");
    }

    #[test]
    fn series_past_the_cap_are_counted_not_kept() {
        let mut h = History::new(small());
        let before = h.config().budget_bytes();
        for name in ["a", "b", "c", "d"] {
            h.record(name, "percent", T0, 1.0);
        }
        h.record("c", "percent", T0 + 2.0, 1.0);
        assert_eq!(h.series_count(), 2);
        assert_eq!(h.dropped_values(), 3);
        assert_eq!(
            h.bytes_used(),
            before,
            "two series of two = the whole budget"
        );
        assert!(matches!(
            h.query("c", T0, T0 + 2.0, 2.0),
            Err(Error::History(_))
        ));
    }

    #[test]
    fn budget_is_the_slots_of_every_tier() {
        let c = HistoryConfig::new(Duration::from_secs(2));
        assert_eq!(
            c.tiers.iter().map(Tier::slots).collect::<Vec<_>>(),
            [1800, 2880, 2880]
        );
        assert_eq!(c.bytes_per_series(), 7560 * 20);
    }

    #[test]
    fn a_query_with_too_many_points_or_a_bad_range_is_an_error() {
        let mut h = History::new(small());
        h.record("a", "percent", T0, 1.0);
        let e = h
            .query("a", T0 - 86_400.0 * 365.0, T0, 2.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 10000"), "{e}");
        assert!(h.query("a", T0, T0 - 1.0, 2.0).is_err());
        assert!(h.query("a", T0, T0 + 1.0, 0.0).is_err());
        assert!(h.query("a", f64::NAN, T0, 2.0).is_err());
    }

    #[test]
    fn snapshot_round_trips_and_rejects_damage() {
        let mut h = History::new(small());
        for i in 0..20 {
            h.record("a", "percent", T0 + 2.0 * f64::from(i), f64::from(i));
            h.record("b", "bytes", T0 + 2.0 * f64::from(i), 5.0);
        }
        let bytes = h.encode();
        let back = History::decode(&bytes, small()).unwrap();
        for name in ["a", "b"] {
            assert_eq!(
                back.query(name, T0, T0 + 40.0, 2.0).unwrap().points,
                h.query(name, T0, T0 + 40.0, 2.0).unwrap().points
            );
        }
        assert_eq!(
            back.series().map(|s| s.unit).collect::<Vec<_>>(),
            ["percent", "bytes"]
        );
        let msg = |b: &[u8], c: HistoryConfig| History::decode(b, c).unwrap_err().to_string();
        assert!(msg(&bytes[..bytes.len() - 100], small()).contains("truncated"));
        let mut flipped = bytes.clone();
        flipped[200] ^= 1;
        assert!(msg(&flipped, small()).contains("checksum"));
        assert!(msg(b"hello", small()).contains("not a kitestacks history snapshot"));
        let mut other = bytes.clone();
        other[8] = 9; // version
        assert!(msg(&other, small()).contains("version 9"));
        assert!(msg(&bytes, HistoryConfig::new(Duration::from_secs(2))).contains("other tiers"));
    }

    #[test]
    fn save_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.bin");
        let mut h = History::new(small());
        h.record("a", "percent", T0, 3.0);
        h.save(&path).unwrap();
        h.record("a", "percent", T0 + 2.0, 4.0);
        h.save(&path).unwrap();
        let back = History::load(&path, small()).unwrap();
        let avgs: Vec<_> = back
            .query("a", T0, T0 + 4.0, 2.0)
            .unwrap()
            .points
            .iter()
            .map(|p| p.avg)
            .collect();
        assert_eq!(avgs, [Some(3.0), Some(4.0)]);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(matches!(
            History::load(&dir.path().join("missing"), small()),
            Err(Error::Read { .. })
        ));
    }
}
