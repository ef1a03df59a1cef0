//! Property tests: the /proc and /sys parsers, every collector and the `Sampler` never
//! panic on random or mutated input (seeded from node_exporter's fixture tree), their
//! output stays bounded by their input, and a parse error names a line of the input.
//! `PROPTEST_CASES=100000 cargo test --release props` runs them longer.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use kitestacks_metrics::collector::{COLLECTORS, Context, NodeCollector};
use kitestacks_metrics::history::{History, HistoryConfig, Tier};
use kitestacks_metrics::{
    Filters, ParseError, Sampler, cgroup, diskstats, loadavg, meminfo, mountinfo, net_dev,
    os_release, stat,
};
use proptest::prelude::*;
use std::time::Duration;

use crate::e2e::e2e_options;
use crate::fixture::{fixture_roots, unpack};
use crate::mutate::{self, Edit};

/// The seeds of one parser: fixture files and literal snippets.
fn seeds(files: &[&str], literals: &[&str]) -> Vec<String> {
    files
        .iter()
        .map(|f| mutate::node_exporter_fixture(f))
        .chain(literals.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// /proc/net/dev is not in the fixture tree.
const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  598602    1791    0    0    0     0          0         0   598602    1791    0    0    0     0       0          0
  eth0: 874354587 1036395    0    0    0     0          0         0 563352563  732147    0    0    0     0       0          0
";

/// An error names a line of the input (or the one past its end, for "truncated").
fn names_a_line(text: &str, e: &ParseError) -> Result<(), TestCaseError> {
    let lines = mutate::lines(text);
    prop_assert!(
        (1..=lines + 1).contains(&e.line),
        "error at line {} of a {lines}-line input: {e}",
        e.line
    );
    Ok(())
}

/// `Ok` output holds at most one entry per line; an error names a line.
fn bounded<T>(
    text: &str,
    r: &Result<T, ParseError>,
    entries: impl Fn(&T) -> usize,
) -> Result<(), TestCaseError> {
    match r {
        Ok(v) => {
            let n = entries(v);
            prop_assert!(
                n <= mutate::lines(text),
                "{n} entries from {} lines",
                mutate::lines(text)
            );
            Ok(())
        }
        Err(e) => names_a_line(text, e),
    }
}

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn stat_parse(text in mutate::input(seeds(&["proc/stat"], &["cpu 1 2 3 4\ncpu7 1 2 3 4\nbtime 5\n"]))) {
        let r = stat::parse(&text);
        if let Ok(s) = &r {
            // What the sampler computes from it must not overflow either.
            let _ = (s.total.total(), s.total.busy());
            for c in s.cores.iter().flatten() {
                let _ = (c.total(), c.busy());
            }
            // A core index is bounded (65,536), whatever the line says.
            prop_assert!(s.cores.len() <= 65_537);
            prop_assert!(s.softirqs.len() <= text.len());
        }
        bounded(&text, &r.map(|_| ()), |_| 0)?;
    }

    #[test]
    fn meminfo_parse(text in mutate::input(seeds(&["proc/meminfo"], &[]))) {
        bounded(&text, &meminfo::parse(&text), |_| 0)?;
        let mut n = 0;
        let r = meminfo::for_each(&text, |name, _, _| {
            assert!(text.contains(name));
            n += 1;
        });
        bounded(&text, &r.map(|()| n), |n| *n)?;
    }

    #[test]
    fn loadavg_parse(text in mutate::input(seeds(&["proc/loadavg"], &[]))) {
        let r = loadavg::parse(&text);
        if let Ok(l) = &r {
            prop_assert!(l.load1.is_finite() && l.load5.is_finite() && l.load15.is_finite());
        }
        bounded(&text, &r, |_| 0)?;
    }

    #[test]
    fn diskstats_parse(text in mutate::input(seeds(&["proc/diskstats"], &[]))) {
        let r = diskstats::parse(&text);
        if let Ok(d) = &r {
            for disk in d {
                let _ = (disk.read_bytes(), disk.written_bytes());
            }
        }
        bounded(&text, &r, Vec::len)?;
    }

    #[test]
    fn net_dev_parse(text in mutate::input(seeds(&[], &[NET_DEV]))) {
        bounded(&text, &net_dev::parse(&text), Vec::len)?;
    }

    #[test]
    fn mountinfo_parse(text in mutate::input(seeds(&["proc/1/mountinfo", "proc/10/mountinfo"], &[]))) {
        let r = mountinfo::parse(&text);
        if let Ok(mounts) = &r {
            for m in mounts {
                // Unescaping only shortens (four bytes to one, or lossy replacement of a
                // byte by three).
                prop_assert!(m.mount_point.len() <= 3 * text.len());
                let _ = m.read_only();
            }
        }
        bounded(&text, &r, Vec::len)?;
    }

    #[test]
    fn os_release_parse(text in mutate::input(seeds(&["usr/lib/os-release"], &[]))) {
        let o = os_release::parse(&text);
        for v in [&o.name, &o.id, &o.version, &o.pretty_name].into_iter().flatten() {
            prop_assert!(v.len() <= text.len());
        }
    }
}

/// The fixture tree unpacked once per property, with the regular files the collectors
/// may read, and a way to put them back after a case.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    files: Vec<(PathBuf, Vec<u8>)>,
    /// The indexes of the files under `proc/`, where most of the text formats are (most
    /// files under `sys/` hold one value).
    procfs: Vec<usize>,
}

impl Tree {
    fn new() -> Self {
        let (dir, root) = unpack();
        std::fs::create_dir_all(root.join("proc/net")).unwrap();
        std::fs::write(root.join("proc/net/dev"), NET_DEV).unwrap();
        let mut files = Vec::new();
        // What the collectors read (not the expected outputs beside them).
        let mut stack: Vec<PathBuf> = ["proc", "sys", "udev", "usr", "textfile"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let t = e.file_type().unwrap();
                if t.is_dir() {
                    stack.push(e.path());
                } else if t.is_file() {
                    // Many fixture files are read-only; the owner may write them (the
                    // read bits, which a collector may depend on, stay as they are).
                    let mut mode = e.metadata().unwrap().permissions();
                    mode.set_mode(mode.mode() | 0o200);
                    std::fs::set_permissions(e.path(), mode).unwrap();
                    files.push((e.path(), std::fs::read(e.path()).unwrap()));
                }
            }
        }
        files.sort();
        let procfs = (0..files.len())
            .filter(|&i| files[i].0.starts_with(root.join("proc")))
            .collect();
        Self {
            _dir: dir,
            root,
            files,
            procfs,
        }
    }

    /// A sampler that has sampled the tree as it is now.
    fn sampler(&self) -> Sampler {
        let mut sampler = Sampler::new(fixture_roots(&self.root), Filters::default());
        sampler.sample();
        sampler
    }

    /// Every collector (node_exporter's e2e options) and `sampler` over the tree: the
    /// rendered `/metrics` text and the sample.
    fn scrape(&self, sampler: &mut Sampler) -> String {
        let context = Context {
            roots: fixture_roots(&self.root),
            udev_data: self.root.join("udev/data"),
        };
        let names: Vec<&str> = COLLECTORS.iter().map(|d| d.name).collect();
        let mut node = NodeCollector::new(context, &names, &e2e_options(&self.root)).unwrap();
        let (mut scrape, _failures) = node.scrape(|_| true);
        let mut text = String::new();
        scrape.render(&mut text);
        let sample = sampler.sample();
        text.push_str(&format!("{sample:?}"));
        text
    }
}

/// Writes mutated files into the tree; puts the originals back when dropped (also when
/// the case panicked).
struct Mutated<'a> {
    tree: &'a Tree,
    touched: BTreeSet<usize>,
}

impl<'a> Mutated<'a> {
    /// Applies each `(in procfs, index, edits)` to a file: one under `proc/` or any.
    fn new(tree: &'a Tree, edits: &[(bool, usize, Vec<Edit>)]) -> (Self, usize) {
        let mut touched = BTreeSet::new();
        let mut grown = 0;
        for (procfs, i, e) in edits {
            let i = match *procfs {
                true => tree.procfs[i % tree.procfs.len()],
                false => i % tree.files.len(),
            };
            let (path, original) = &tree.files[i];
            let text = mutate::apply(original, e, &[]);
            grown += text.len().saturating_sub(original.len());
            std::fs::write(path, text).unwrap();
            touched.insert(i);
        }
        (Self { tree, touched }, grown)
    }
}

impl Drop for Mutated<'_> {
    fn drop(&mut self) {
        for &i in &self.touched {
            let (path, original) = &self.tree.files[i];
            std::fs::write(path, original).unwrap();
        }
    }
}

#[test]
fn every_collector_and_the_sampler_survive_mutated_fixture_files() {
    let tree = Tree::new();
    let baseline = tree.scrape(&mut tree.sampler());
    let strategy = prop::collection::vec((any::<bool>(), any::<usize>(), mutate::edits()), 1..12);
    // Each case scrapes the whole tree: a longer run (PROPTEST_CASES) takes a fiftieth.
    let mut config = mutate::config(32);
    if std::env::var_os("PROPTEST_CASES").is_some() {
        config.cases = (config.cases / 50).max(32);
    }
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&strategy, |edits| {
            // The sampler saw the good tree first: its rates compare the two.
            let mut sampler = tree.sampler();
            let (_mutated, grown) = Mutated::new(&tree, &edits);
            let text = tree.scrape(&mut sampler);
            // Every collector still reports (a panicking one would have ended the scrape),
            // and the output grows at most in proportion to the input.
            for d in COLLECTORS.iter() {
                let line = format!("node_scrape_collector_success{{collector=\"{}\"}}", d.name);
                prop_assert!(text.contains(&line), "no {line}");
            }
            prop_assert!(
                text.len() <= 2 * baseline.len() + 1000 * grown,
                "{} bytes of output from {grown} bytes more input (baseline {})",
                text.len(),
                baseline.len()
            );
            Ok(())
        })
        .unwrap();
}

/// A history snapshot with a few series, as the portal writes it.
fn snapshot() -> (Vec<u8>, HistoryConfig) {
    let config = HistoryConfig {
        tiers: vec![
            Tier {
                step: Duration::from_secs(2),
                span: Duration::from_secs(20),
            },
            Tier {
                step: Duration::from_secs(60),
                span: Duration::from_secs(600),
            },
        ],
        max_series: 3,
    };
    let mut h = History::new(config.clone());
    for i in 0..12 {
        let t = 1_800_000_000.0 + 2.0 * f64::from(i);
        h.record("cpu.busy_percent", "percent", t, f64::from(i));
        h.record("filesystem.used_percent[/]", "percent", t, 40.0);
    }
    (h.encode(), config)
}

proptest! {
    #![proptest_config(mutate::config(256))]

    /// A damaged snapshot (flipped bytes, cut short, grown) is an error or a history
    /// within the configured cap, never a panic or an allocation beyond the file.
    #[test]
    fn history_snapshot_decode(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        grow in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let (mut bytes, config) = snapshot();
        for (i, b) in &flips {
            let i = i.index(bytes.len());
            bytes[i] ^= b;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(bytes.len() / 2));
        bytes.extend_from_slice(&grow);
        if let Ok(h) = History::decode(&bytes, config.clone()) {
            prop_assert!(h.series_count() <= config.max_series);
            prop_assert!(h.bytes_used() <= bytes.len() * 2);
        }
    }
}

/// Seeds of the cgroup files: v2 and v1 as the kernel writes them.
const CGROUP_FLAT: &[&str] = &[
    "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 2\nthrottled_usec 5000\n",
    "anon 52428800\nfile 26214400\ninactive_file 20971520\n",
    "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n",
    "user 200\nsystem 100\n",
    "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
];
const CGROUP_IO: &str = "8:0 rbytes=1048576 wbytes=4096 rios=12 wios=1 dbytes=0 dios=0\n253:1 rbytes=5 wbytes=6 rios=7 wios=8\n";
const CGROUP_BLKIO: &str =
    "8:16 Read 1000\n8:16 Write 2000\n8:16 Sync 0\n8:16 Async 3000\n8:16 Total 3000\nTotal 3000\n";

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn cgroup_flat_keyed(text in mutate::input(seeds(&[], CGROUP_FLAT))) {
        let mut n = 0;
        let r = cgroup::parse::flat_keyed(&text, |k, _| {
            assert!(text.contains(k));
            n += 1;
        });
        bounded(&text, &r.map(|()| n), |n| *n)?;
    }

    #[test]
    fn cgroup_single_values(text in mutate::input(seeds(&[], &["max\n", "536870912\n", "-1\n", "max 100000\n", "50000 100000\n"]))) {
        for r in [cgroup::parse::single(&text).map(|_| ()), cgroup::parse::signed(&text).map(|_| ())] {
            bounded(&text, &r, |_| 0)?;
        }
        let r = cgroup::parse::cpu_max(&text);
        if let Ok(Some(m)) = &r {
            let _ = m.cores();
        }
        bounded(&text, &r, |_| 0)?;
    }

    #[test]
    fn cgroup_io(text in mutate::input(seeds(&[], &[CGROUP_IO, CGROUP_BLKIO, "41\n42\n"]))) {
        bounded(&text, &cgroup::parse::io_stat(&text), Vec::len)?;
        let mut v = Vec::new();
        let r = cgroup::parse::blkio(&text, cgroup::parse::BlkioKind::Bytes, &mut v);
        bounded(&text, &r.map(|()| v.len()), |n| *n)?;
        bounded(&text, &cgroup::parse::procs(&text), |_| 0)?;
    }

    #[test]
    fn container_runtime_files(text in mutate::input(seeds(&[], &[
        r#"{"Name":"/forgejo","RestartCount":3,"Config":{"Image":"codeberg.org/forgejo/forgejo:9"},"State":{"Running":true,"Health":{"Status":"healthy"}}}"#,
        r#"[{"id":"aa","names":["web"],"metadata":"{\"image-name\":\"docker.io/library/nginx:latest\"}"}]"#,
    ]))) {
        if let Some(m) = cgroup::runtime::parse_docker(&text) {
            prop_assert!(m.name.map_or(0, |n| n.len()) <= text.len());
        }
        prop_assert!(cgroup::runtime::parse_podman(&text).len() <= text.len());
    }
}
