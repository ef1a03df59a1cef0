//! The cost of one exporter scrape rendered from node_exporter's fixture tree (every
//! collector, upstream's e2e options) and from the live host (node_exporter's core set,
//! and the default collectors), the way the exporter does it: one `Scrape` reused,
//! emptied before each scrape. `_deadline` runs the core set as the exporter does, on
//! the collectors' worker thread under the default deadline (one hand-over per scrape);
//! `scrape/cpu_*` report the process's CPU time per scrape instead of the wall time
//! (what BENCHMARKS.md's exporter figures count; a hand-over's wait for a busy core is
//! wall time, not CPU).
//!
//! Run with: `cargo bench -p kitestacks-benches --bench scrape`

#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use kitestacks_metrics::Roots;
use kitestacks_metrics::collector::{
    COLLECTORS, CORE_SET, Context, DEFAULT_DEADLINE, NodeCollector, Options,
};
use kitestacks_metrics::exposition::Scrape;

mod cpu_time;
use cpu_time::cpu_time;

fn scrape(c: &mut Criterion) {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/node_exporter/fixtures.tar.gz");
    let dir = std::env::temp_dir().join(format!("kitestacks-scrape-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unpacked = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .status();
    if unpacked.is_ok_and(|s| s.success()) {
        let root = dir.join("collector/fixtures");
        let context = Context {
            roots: Roots {
                procfs: root.join("proc"),
                sysfs: root.join("sys"),
                rootfs: root.clone(),
            },
            udev_data: root.join("udev/data"),
        };
        let options = Options {
            cpu_info: true,
            netdev_device_include: Some("lo".into()),
            netclass_ignored_devices: "(dmz|int)".into(),
            netclass_ignore_invalid_speed: true,
            stat_softirq: true,
            ..Options::default()
        };
        let names: Vec<&str> = COLLECTORS.iter().map(|d| d.name).collect();
        let mut node = NodeCollector::new(context, &names, &options).unwrap();
        let mut s = Scrape::new();
        c.bench_function("scrape/fixture_tree_render", |b| {
            b.iter(|| render(&mut node, &mut s))
        });
    } else {
        eprintln!(
            "skipping scrape/fixture_tree_render: cannot unpack {}",
            tarball.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);

    let defaults: Vec<&str> = COLLECTORS
        .iter()
        .filter(|d| d.default_enabled)
        .map(|d| d.name)
        .collect();
    for (bench, names) in [
        ("scrape/live_host_core_set_render", CORE_SET.to_vec()),
        ("scrape/live_host_default_collectors_render", defaults),
    ] {
        let mut live = NodeCollector::new(Context::default(), &names, &Options::default()).unwrap();
        let mut s = Scrape::new();
        c.bench_function(bench, |b| b.iter(|| render(&mut live, &mut s)));
    }
    for (bench, deadline) in [
        ("core_set_render", None),
        ("core_set_render_deadline", Some(DEFAULT_DEADLINE)),
    ] {
        let mut node = NodeCollector::new(Context::default(), CORE_SET, &Options::default())
            .unwrap()
            .with_deadline(deadline);
        let mut s = Scrape::new();
        if deadline.is_some() {
            c.bench_function(&format!("scrape/live_host_{bench}"), |b| {
                b.iter(|| render(&mut node, &mut s))
            });
        }
        c.bench_function(&format!("scrape/cpu_{bench}"), |b| {
            b.iter_custom(|n| {
                let start = cpu_time();
                for _ in 0..n {
                    render(&mut node, &mut s);
                }
                cpu_time() - start
            })
        });
    }
}

/// One scrape into the reused `s`, rendered.
fn render(node: &mut NodeCollector, s: &mut Scrape) -> String {
    s.clear();
    node.scrape_into(s, |_| true);
    let mut text = String::with_capacity(128 * 1024);
    s.render(&mut text);
    black_box(text)
}

criterion_group!(benches, scrape);
criterion_main!(benches);
