//! Uptime ratios and incidents per probed service: ring buffers of fixed size (a bucket
//! per minute for 24 h, per hour for 7 d, per day for 30 d; memory fixed at start-up),
//! the last incidents (start, end, reason), a sibling of the history snapshot that keeps
//! them across restarts (`<[history] file>.uptime.json`, written the same atomic way),
//! and the SVG badge of `GET /api/status/{id}/badge.svg`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::checks::Reason;

/// The windows reported: name, bucket width in seconds, buckets.
pub const WINDOWS: [(&str, u64, usize); 3] =
    [("24h", 60, 1440), ("7d", 3600, 168), ("30d", 86_400, 30)];

/// How many incidents are kept per service.
pub const INCIDENTS: usize = 10;

/// The version of the file format.
const FORMAT: u32 = 1;

/// Checks in one bucket: `(slot, up, counted)`; `slot` is the bucket's start divided by
/// its width, so a stale bucket is recognised and reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Bucket(u64, u32, u32);

#[derive(Debug, Clone)]
struct Ring {
    width: u64,
    buckets: Vec<Bucket>,
}

impl Ring {
    fn new(width: u64, len: usize) -> Self {
        Self {
            width,
            buckets: vec![Bucket::default(); len],
        }
    }

    fn index(&self, slot: u64) -> usize {
        usize::try_from(slot % self.buckets.len() as u64).unwrap_or(0)
    }

    fn add(&mut self, t: u64, up: bool) {
        let slot = t / self.width;
        let i = self.index(slot);
        let b = &mut self.buckets[i];
        if b.0 != slot || b.2 == 0 {
            *b = Bucket(slot, 0, 0);
        }
        b.2 += 1;
        b.1 += u32::from(up);
    }

    /// `(up, counted)` over the window ending at `now`.
    fn sum(&self, now: u64) -> (u64, u64) {
        let cur = now / self.width;
        let first = (cur + 1).saturating_sub(self.buckets.len() as u64);
        self.buckets
            .iter()
            .filter(|b| b.2 > 0 && (first..=cur).contains(&b.0))
            .fold((0, 0), |(u, n), b| (u + u64::from(b.1), n + u64::from(b.2)))
    }

    fn restore(&mut self, saved: &[Bucket]) {
        for b in saved {
            let i = self.index(b.0);
            if b.2 > 0 && b.1 <= b.2 && b.0 > self.buckets[i].0 {
                self.buckets[i] = *b;
            }
        }
    }
}

/// An outage: from the first failure that made the service down to its next `up`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    /// When it began, seconds since the Unix epoch (the first failure).
    pub start_seconds: f64,
    /// When the service was up again; null while it lasts.
    pub end_seconds: Option<f64>,
    /// Why the service was down.
    pub reason: Reason,
}

/// The share of checks that found the service up, per window; null where no check was
/// counted (checks whose state was `unknown` are not).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UptimeRatios {
    /// The last 24 hours (minute buckets).
    #[serde(rename = "24h")]
    pub day: Option<f64>,
    /// The last 7 days (hour buckets).
    #[serde(rename = "7d")]
    pub week: Option<f64>,
    /// The last 30 days (day buckets).
    #[serde(rename = "30d")]
    pub month: Option<f64>,
}

/// One service's record.
#[derive(Debug, Clone)]
pub struct Record {
    rings: [Ring; 3],
    incidents: VecDeque<Incident>,
}

impl Default for Record {
    fn default() -> Self {
        Self {
            rings: WINDOWS.map(|(_, width, len)| Ring::new(width, len)),
            incidents: VecDeque::with_capacity(INCIDENTS),
        }
    }
}

impl Record {
    /// Counts a check at `t` (seconds) whose state was up (`true`) or down.
    pub fn count(&mut self, t: f64, up: bool) {
        let t = t.max(0.0) as u64;
        for ring in &mut self.rings {
            ring.add(t, up);
        }
    }

    /// The ratio over window `w` (an index into [`WINDOWS`]) at `now`.
    pub fn ratio(&self, w: usize, now: f64) -> Option<f64> {
        let (up, n) = self.rings[w].sum(now.max(0.0) as u64);
        (n > 0).then(|| up as f64 / n as f64)
    }

    /// Every window's ratio at `now`.
    pub fn ratios(&self, now: f64) -> UptimeRatios {
        UptimeRatios {
            day: self.ratio(0, now),
            week: self.ratio(1, now),
            month: self.ratio(2, now),
        }
    }

    /// An outage began at `start`.
    pub fn open(&mut self, start: f64, reason: Reason) {
        if self.incidents.len() == INCIDENTS {
            self.incidents.pop_front();
        }
        self.incidents.push_back(Incident {
            start_seconds: start,
            end_seconds: None,
            reason,
        });
    }

    /// The open outage, if any, ended at `end`.
    pub fn close(&mut self, end: f64) {
        if let Some(last) = self.incidents.back_mut()
            && last.end_seconds.is_none()
        {
            last.end_seconds = Some(end);
        }
    }

    /// The last incidents, newest first.
    pub fn incidents(&self) -> Vec<Incident> {
        self.incidents.iter().rev().cloned().collect()
    }
}

#[derive(Serialize, Deserialize)]
struct SavedService {
    id: String,
    buckets: [Vec<Bucket>; 3],
    incidents: Vec<Incident>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    services: Vec<SavedService>,
}

/// The file beside the history snapshot: `<file>.uptime.json`.
pub fn sibling(history_file: &Path) -> PathBuf {
    let mut name = history_file.as_os_str().to_owned();
    name.push(".uptime.json");
    PathBuf::from(name)
}

/// The records of `ids` as the file's bytes (only buckets holding checks).
pub fn encode(records: &[(&str, &Record)]) -> Vec<u8> {
    let saved = Saved {
        format: FORMAT,
        services: records
            .iter()
            .map(|(id, r)| SavedService {
                id: (*id).to_owned(),
                buckets: [0, 1, 2].map(|w| {
                    r.rings[w]
                        .buckets
                        .iter()
                        .filter(|b| b.2 > 0)
                        .copied()
                        .collect()
                }),
                incidents: r.incidents.iter().cloned().collect(),
            })
            .collect(),
    };
    serde_json::to_vec(&saved).unwrap_or_default()
}

/// Restores the records of `ids` (in that order) from the file's bytes; services not in
/// the file (or a file of another format) start empty. Never more than the fixed buckets.
pub fn decode(bytes: &[u8], ids: &[&str]) -> Result<Vec<Record>, String> {
    let saved: Saved =
        serde_json::from_slice(bytes).map_err(|e| format!("not an uptime file: {e}"))?;
    if saved.format != FORMAT {
        return Err(format!(
            "uptime file format {} (this version reads {FORMAT})",
            saved.format
        ));
    }
    Ok(ids
        .iter()
        .map(|id| {
            let mut r = Record::default();
            if let Some(s) = saved.services.iter().find(|s| s.id == *id) {
                for (ring, buckets) in r.rings.iter_mut().zip(&s.buckets) {
                    ring.restore(buckets);
                }
                for i in s.incidents.iter().rev().take(INCIDENTS).rev() {
                    r.incidents.push_back(i.clone());
                }
            }
            r
        })
        .collect())
}

/// Approximate text width in Verdana 11px, as badges are drawn.
fn text_width(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | '.' | ':' | '!' | '|' | '\'' => 4,
            'm' | 'w' | 'M' | 'W' | '%' => 10,
            _ => 7,
        })
        .sum()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A flat two-part badge: `label` on grey, `value` on `color` (a `#rrggbb`).
pub fn badge(label: &str, value: &str, color: &str) -> String {
    let (lw, vw) = (text_width(label) + 10, text_width(value) + 10);
    let w = lw + vw;
    let (label, value) = (escape(label), escape(value));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"20\" role=\"img\" aria-label=\"{label}: {value}\">\
<title>{label}: {value}</title>\
<rect width=\"{lw}\" height=\"20\" fill=\"#555\"/>\
<rect x=\"{lw}\" width=\"{vw}\" height=\"20\" fill=\"{color}\"/>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\">\
<text x=\"{lx}\" y=\"14\">{label}</text><text x=\"{vx}\" y=\"14\">{value}</text></g></svg>",
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_count_checks_inside_each_window_only() {
        let mut r = Record::default();
        let day = 86_400.0;
        let now = 100.0 * day;
        // 40 days ago: outside every window.
        r.count(now - 40.0 * day, false);
        // 3 days ago: in 7d and 30d.
        r.count(now - 3.0 * day, false);
        // The last hour: 3 up, 1 down.
        for (i, up) in [true, true, false, true].into_iter().enumerate() {
            r.count(now - 600.0 + i as f64 * 60.0, up);
        }
        let ratios = r.ratios(now);
        assert_eq!(ratios.day, Some(0.75));
        assert_eq!(ratios.week, Some(0.6));
        assert_eq!(ratios.month, Some(0.6));
        assert_eq!(Record::default().ratios(now).day, None);
    }

    #[test]
    fn the_file_round_trips_and_keeps_at_most_the_fixed_buckets() {
        let mut r = Record::default();
        for minute in 0..3000u32 {
            r.count(f64::from(minute) * 60.0, minute % 2 == 0);
        }
        for i in 0..12 {
            r.open(f64::from(i), Reason::Timeout);
            r.close(f64::from(i) + 0.5);
        }
        r.open(99.0, Reason::ConnectRefused);
        let bytes = encode(&[("a", &r)]);
        let back = decode(&bytes, &["b", "a"]).unwrap();
        assert_eq!(back[0].ratios(180_000.0).day, None, "b was not in the file");
        let now = 2999.0 * 60.0;
        assert_eq!(back[1].ratios(now), r.ratios(now));
        assert_eq!(back[1].rings[0].buckets.len(), 1440);
        let incidents = back[1].incidents();
        assert_eq!(incidents.len(), INCIDENTS);
        assert_eq!(incidents[0].reason, Reason::ConnectRefused);
        assert_eq!(incidents[0].end_seconds, None);
        assert!(
            decode(b"{\"format\":9,\"services\":[]}", &["a"])
                .unwrap_err()
                .contains("format 9")
        );
        assert!(decode(b"garbage", &["a"]).is_err());
    }

    #[test]
    fn badges_escape_their_text() {
        let svg = badge("uptime 30d", "99.9%", "#4c1");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title>uptime 30d: 99.9%</title>"));
        assert!(badge("a<b", "x", "#555").contains("a&lt;b"));
    }
}
