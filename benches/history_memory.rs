//! Whether the history's memory stays flat: the resident set after a simulated hour of
//! samples, then after a simulated 30 days (fed through the library as fast as it goes,
//! not by waiting), for a homelab host's series (the `history` bench's list).
//!
//! Run with: `cargo bench -p kitestacks-benches --bench history_memory`

use std::time::Duration;

use kitestacks_metrics::history::{History, HistoryConfig};

#[path = "history_series.rs"]
mod history_series;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let names = history_series::series_names();
    let config = HistoryConfig::new(Duration::from_secs(2));
    println!(
        "{} series, budget {} KiB per series, {} KiB for the cap of {}",
        names.len(),
        config.bytes_per_series() / 1024,
        config.budget_bytes() / 1024,
        config.max_series
    );
    let base = rss_kib();
    let mut h = History::new(config);
    let t0 = 1_800_000_000.0;
    let mut fed = 0u64;
    let report = |h: &History, label: &str, fed: u64| {
        println!(
            "after {label:>8} ({fed:>9} samples): RSS {:>7} KiB (+{:>6} KiB over the empty process), {} KiB of rings",
            rss_kib(),
            rss_kib().saturating_sub(base),
            h.bytes_used() / 1024
        );
    };
    for (label, until) in [
        ("1 hour", 3600u64),
        ("1 day", 86_400),
        ("7 days", 7 * 86_400),
        ("30 days", 30 * 86_400),
    ] {
        while fed * 2 < until {
            let t = t0 + 2.0 * fed as f64;
            for (k, n) in names.iter().enumerate() {
                h.record(n, "percent", t, ((fed + k as u64) % 100) as f64);
            }
            fed += 1;
        }
        report(&h, label, fed);
    }
}
