//! The history's costs: recording one sample's figures, and the queries `/api/history`
//! answers (the last hour from the raw tier, 24 hours at a 1-minute step, 30 days).
//!
//! Run with: `cargo bench -p kitestacks-benches --bench history`

#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kitestacks_metrics::history::{History, HistoryConfig};

#[path = "history_series.rs"]
mod history_series;
use history_series::series_names;

const T0: f64 = 1_800_000_000.0;

/// A history fed `seconds` of samples every 2 s, ending at `T0 + seconds`.
fn filled(names: &[String], seconds: u32) -> History {
    let mut h = History::new(HistoryConfig::new(Duration::from_secs(2)));
    for i in 0..seconds / 2 {
        let t = T0 + 2.0 * f64::from(i);
        for (k, n) in names.iter().enumerate() {
            h.record(n, "percent", t, f64::from((i + k as u32) % 100));
        }
    }
    h
}

fn history(c: &mut Criterion) {
    let names = series_names();
    let mut h = filled(&names, 48 * 3600);
    let end = T0 + f64::from(48 * 3600);
    let mut t = end;
    c.bench_function(
        &format!("history/record_one_sample_{}_series", names.len()),
        |b| {
            b.iter(|| {
                t += 2.0;
                for n in &names {
                    h.record(n, "percent", t, 42.0);
                }
            })
        },
    );
    let now = t;
    c.bench_function("history/query_1h_default_step", |b| {
        b.iter(|| {
            h.query("cpu.busy_percent", now - 3600.0, now, 10.0)
                .unwrap()
        })
    });
    c.bench_function("history/query_24h_1m_step", |b| {
        b.iter(|| {
            h.query("cpu.busy_percent", now - 86_400.0, now, 60.0)
                .unwrap()
        })
    });
    c.bench_function("history/query_30d_default_step", |b| {
        b.iter(|| {
            h.query("cpu.busy_percent", now - 30.0 * 86_400.0, now, 7200.0)
                .unwrap()
        })
    });
}

criterion_group!(benches, history);
criterion_main!(benches);
