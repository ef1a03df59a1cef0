//! The cost of one container pass over 60 Docker containers on a cgroup v2 fixture tree
//! (the portal's `Tracker`, the exporter's collector), against the physical floor:
//! reading the same files with nothing else. `containers/cpu_tracker_60` is the
//! process's CPU time per pass (the goal is 2 ms of CPU), the others wall time.
//!
//! Run with: `cargo bench -p kitestacks-benches --bench containers`

#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::hint::black_box;
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use kitestacks_metrics::Roots;
use kitestacks_metrics::cgroup::fixture::{self, Figures};
use kitestacks_metrics::cgroup::{Reader, Tracker};
use kitestacks_metrics::collector::{Context, NodeCollector, Options};
use kitestacks_metrics::exposition::Scrape;

mod cpu_time;
use cpu_time::cpu_time;

const CONTAINERS: u32 = 60;

/// The cgroup files a pass reads per container (v2).
const FILES: [&str; 14] = [
    "cpu.stat",
    "cpu.max",
    "memory.current",
    "memory.stat",
    "memory.max",
    "memory.swap.current",
    "memory.events",
    "io.stat",
    "pids.current",
    "pids.max",
    "cgroup.procs",
    "cpu.pressure",
    "memory.pressure",
    "io.pressure",
];

/// Writes 60 containers, each with a Docker config and a process in a network namespace
/// of its own; returns their cgroup directories and their processes.
fn tree(root: &Path) -> Vec<(PathBuf, u32)> {
    (0..CONTAINERS)
        .map(|i| {
            let id = format!("{:064x}", 0xc0de_0000_u64 + u64::from(i));
            let cgroup = format!("/system.slice/docker-{id}.scope");
            let pid = 1000 + i;
            fixture::write_v2(
                root,
                &cgroup,
                &Figures {
                    pids: vec![pid],
                    memory_max: Some(1 << 30),
                    ..Figures::default()
                },
            );
            fixture::write_docker_config(root, &id, &format!("app-{i}"), "example/app:1");
            fixture::write_netns(root, pid, 100, 200);
            (root.join(format!("sys/fs/cgroup{cgroup}")), pid)
        })
        .collect()
}

fn containers(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cgroups = tree(root);
    // Written back before measuring: else the first benches share the core with the
    // tree's writeback (a real cgroup filesystem has none).
    rustix::fs::sync();
    let roots = Roots::under(root);

    let mut tracker = Tracker::new(roots.clone());
    assert_eq!(tracker.sample().containers.len(), CONTAINERS as usize);
    c.bench_function("containers/tracker_60", |b| {
        b.iter(|| black_box(tracker.sample()))
    });
    c.bench_function("containers/cpu_tracker_60", |b| {
        b.iter_custom(|n| {
            let start = cpu_time();
            for _ in 0..n {
                black_box(tracker.sample());
            }
            cpu_time() - start
        })
    });

    let mut reader = Reader::new(roots.clone());
    reader.read();
    c.bench_function("containers/reader_60", |b| {
        b.iter(|| black_box(reader.read()))
    });

    let context = Context {
        roots: roots.clone(),
        ..Context::default()
    };
    let mut node = NodeCollector::new(context, &["containers"], &Options::default()).unwrap();
    let mut scrape = Scrape::new();
    node.scrape_into(&mut scrape, |_| true);
    c.bench_function("containers/scrape_60", |b| {
        b.iter(|| {
            scrape.clear();
            black_box(node.scrape_into(&mut scrape, |_| true));
            let mut text = String::new();
            scrape.render(&mut text);
            black_box(text)
        })
    });

    // The floor: the same cgroup files, the walk's directory listing, each process's
    // ns/net link and net/dev; no parsing, no names.
    let slice = root.join("sys/fs/cgroup/system.slice");
    let mut buf = Vec::with_capacity(4096);
    c.bench_function("containers/floor_open_60", |b| {
        b.iter(|| {
            let mut n = std::fs::read_dir(&slice).unwrap().count();
            for (dir, pid) in &cgroups {
                for f in FILES {
                    buf.clear();
                    n += std::fs::File::open(dir.join(f))
                        .and_then(|mut f| f.read_to_end(&mut buf))
                        .unwrap_or(0);
                }
                let proc = root.join(format!("proc/{pid}"));
                n += std::fs::read_link(proc.join("ns/net")).map_or(0, |l| l.as_os_str().len());
                buf.clear();
                n += std::fs::File::open(proc.join("net/dev"))
                    .and_then(|mut f| f.read_to_end(&mut buf))
                    .unwrap_or(0);
            }
            black_box(n)
        })
    });

    // The floor with every file kept open and re-read with pread, as the reader does.
    let open: Vec<std::fs::File> = cgroups
        .iter()
        .flat_map(|(dir, pid)| {
            FILES
                .iter()
                .map(|f| dir.join(f))
                .chain([root.join(format!("proc/{pid}/net/dev"))])
                .collect::<Vec<_>>()
        })
        .map(|p| std::fs::File::open(p).unwrap())
        .collect();
    let mut chunk = vec![0u8; 4096];
    c.bench_function("containers/floor_pread_60", |b| {
        b.iter(|| {
            let mut n = std::fs::read_dir(&slice).unwrap().count();
            for f in &open {
                n += f.read_at(&mut chunk, 0).unwrap_or(0);
            }
            for (_, pid) in &cgroups {
                let link = root.join(format!("proc/{pid}/ns/net"));
                n += std::fs::read_link(link).map_or(0, |l| l.as_os_str().len());
            }
            black_box(n)
        })
    });

    // The same, each file read to a 0-byte `pread`, as `TextFile` reads (a kernel file
    // may come in more than one read, so a short read is not taken as its end).
    c.bench_function("containers/floor_pread_to_eof_60", |b| {
        b.iter(|| {
            let mut n = std::fs::read_dir(&slice).unwrap().count();
            for f in &open {
                let mut at = 0;
                while let Ok(got @ 1..) = f.read_at(&mut chunk, at) {
                    at += got as u64;
                }
                n += at as usize;
            }
            for (_, pid) in &cgroups {
                let link = root.join(format!("proc/{pid}/ns/net"));
                n += std::fs::read_link(link).map_or(0, |l| l.as_os_str().len());
            }
            black_box(n)
        })
    });
}

criterion_group!(benches, containers);
criterion_main!(benches);
