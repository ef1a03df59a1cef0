//! The cost of one host sample (live host and node_exporter's fixture tree), of each
//! parser alone, and of rendering the `/api/metrics` JSON.
//!
//! Run with: `cargo bench -p kitestacks-benches --bench sample`

#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use kitestacks_metrics::{
    Filters, Roots, Sampler, diskstats, loadavg, meminfo, mountinfo, net_dev, stat,
};

fn sample(c: &mut Criterion) {
    let mut live = Sampler::new(Roots::default(), Filters::default());
    live.sample();
    c.bench_function("sample/live_host", |b| b.iter(|| black_box(live.sample())));

    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/node_exporter/fixtures.tar.gz");
    let dir = std::env::temp_dir().join(format!("kitestacks-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ok = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .status();
    if ok.is_ok_and(|s| s.success()) {
        let root = dir.join("collector/fixtures");
        let roots = Roots {
            procfs: root.join("proc"),
            sysfs: root.join("sys"),
            rootfs: root.clone(),
        };
        let mut fixture = Sampler::new(roots, Filters::default());
        fixture.sample();
        c.bench_function("sample/fixture_tree", |b| {
            b.iter(|| black_box(fixture.sample()))
        });
    } else {
        eprintln!(
            "skipping sample/fixture_tree: cannot unpack {}",
            tarball.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);

    let s = live.sample();
    c.bench_function("render/api_metrics_json", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&s))))
    });
}

fn parsers(c: &mut Criterion) {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let (st, mem, load, disk, net, mounts) = (
        read("/proc/stat"),
        read("/proc/meminfo"),
        read("/proc/loadavg"),
        read("/proc/diskstats"),
        read("/proc/net/dev"),
        read("/proc/self/mountinfo"),
    );
    c.bench_function("parse/stat", |b| {
        b.iter(|| black_box(stat::parse(black_box(&st))))
    });
    c.bench_function("parse/meminfo", |b| {
        b.iter(|| black_box(meminfo::parse(black_box(&mem))))
    });
    c.bench_function("parse/loadavg", |b| {
        b.iter(|| black_box(loadavg::parse(black_box(&load))))
    });
    c.bench_function("parse/diskstats", |b| {
        b.iter(|| black_box(diskstats::parse(black_box(&disk))))
    });
    c.bench_function("parse/net_dev", |b| {
        b.iter(|| black_box(net_dev::parse(black_box(&net))))
    });
    c.bench_function("parse/mountinfo", |b| {
        b.iter(|| black_box(mountinfo::parse(black_box(&mounts))))
    });
}

criterion_group!(benches, sample, parsers);
criterion_main!(benches);
