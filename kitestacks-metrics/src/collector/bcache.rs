//! The `bcache` collector: `node_bcache_*` for every cache set under
//! `<sysfs>/fs/bcache/<uuid>` — the set's own attributes and `internal/` counters, each
//! backing device's (`bdev<N>`) dirty data, `writeback_rate_debug` and `stats_total/`, and
//! each cache device's (`cache<N>`) error and write counters, plus its `priority_stats`
//! with `--collector.bcache.priorityStats`.
//!
//! bcache writes sizes "humanized" (`20.4G`, `1.1M/sec`); they are read back as
//! prometheus/procfs does: the digits after the point count in 1/10.24ths, and the
//! result is truncated to an integer. An absent attribute counts as 0.

use std::path::Path;

use crate::collector::attr::{self, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "bcache",
    default_enabled: true,
    // `node_bcache_` does not catch bcachefs's `node_bcachefs_` families.
    families: &["node_bcache_"],
    build,
};

fn build(options: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Bcache {
        priority_stats: options.bcache_priority_stats,
        attrs: attr::Attrs::default(),
    }))
}

struct Bcache {
    priority_stats: bool,
    attrs: attr::Attrs,
}

/// Parses a bcache "humanized" number: digits with an optional fraction and a
/// `k`/`M`/`G`/`T`/`P`/`E`/`Z`/`Y` suffix (powers of 1024). As in prometheus/procfs, the
/// fraction of a suffixed number is read as tenths of 1/1.024 (bcache prints
/// `value / 1024 * 10` there), an unknown suffix multiplies by 0, and the result is
/// truncated to an integer.
pub(crate) fn dehumanize(text: &str) -> Option<u64> {
    let last = *text.as_bytes().last()?;
    if last > b'9' {
        let mantissa = &text[..text.len() - 1];
        let mul = match last {
            b'k' => 1u64 << 10,
            b'M' => 1 << 20,
            b'G' => 1 << 30,
            b'T' => 1 << 40,
            b'P' => 1 << 50,
            b'E' => 1 << 60,
            _ => 0,
        } as f64;
        let mul = match last {
            b'Z' => 1024f64.powi(7),
            b'Y' => 1024f64.powi(8),
            _ => mul,
        };
        let mut parts = mantissa.split('.');
        let int: f64 = parts.next()?.parse().ok()?;
        let value = match parts.next() {
            None => int,
            Some(frac) => int + frac.parse::<f64>().ok()? / 10.24,
        };
        Some((value * mul) as u64)
    } else {
        Some(text.parse::<f64>().ok()? as u64)
    }
}

/// [`dehumanize`] with an optional leading `-`.
fn dehumanize_signed(text: &str) -> Option<i64> {
    match text.strip_prefix('-') {
        Some(rest) => Some((dehumanize(rest)? as i64).wrapping_neg()),
        None => Some(dehumanize(text)? as i64),
    }
}

/// What a backing device's `writeback_rate_debug` says.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WritebackRateDebug {
    /// `rate:` (bytes per second).
    pub rate: u64,
    /// `target:` (bytes).
    pub target: u64,
    /// `proportional:`.
    pub proportional: i64,
    /// `integral:`.
    pub integral: i64,
    /// `change:` (per second).
    pub change: i64,
}

/// Parses `writeback_rate_debug` (`rate:  1.1M/sec`, `target:  20.4G`, ...): the last
/// word of each known line.
pub(crate) fn parse_writeback_rate_debug(text: &str) -> Result<WritebackRateDebug, ParseError> {
    let mut w = WritebackRateDebug::default();
    for (i, line) in text.lines().enumerate() {
        let last = line.split_ascii_whitespace().last().unwrap_or("");
        let bad = || ParseError::new(i + 1, format!("{last:?} is not a bcache number"));
        if line.starts_with("rate:") {
            w.rate = dehumanize(last.trim_end_matches("/sec")).ok_or_else(bad)?;
        } else if line.starts_with("dirty:") {
            dehumanize(last).ok_or_else(bad)?;
        } else if line.starts_with("target:") {
            w.target = dehumanize(last).ok_or_else(bad)?;
        } else if line.starts_with("proportional:") {
            w.proportional = dehumanize_signed(last).ok_or_else(bad)?;
        } else if line.starts_with("integral:") {
            w.integral = dehumanize_signed(last).ok_or_else(bad)?;
        } else if line.starts_with("change:") {
            w.change = dehumanize_signed(last.trim_end_matches("/sec")).ok_or_else(bad)?;
        } else if line.starts_with("next io:") {
            last.trim_end_matches("ms")
                .parse::<i64>()
                .map_err(|_| bad())?;
        }
    }
    Ok(w)
}

/// Parses a cache device's `priority_stats`: the `Unused:` and `Metadata:` percentages.
pub(crate) fn parse_priority_stats(text: &str) -> Result<(u64, u64), ParseError> {
    let (mut unused, mut metadata) = (0, 0);
    for (i, line) in text.lines().enumerate() {
        let target = if line.starts_with("Unused:") {
            &mut unused
        } else if line.starts_with("Metadata:") {
            &mut metadata
        } else {
            continue;
        };
        let last = line.split_ascii_whitespace().last().unwrap_or("");
        *target = last
            .trim_end_matches('%')
            .parse()
            .map_err(|_| ParseError::new(i + 1, format!("{last:?} is not a percentage")))?;
    }
    Ok((unused, metadata))
}

/// Reads a humanized attribute; absent is 0.
fn value(path: &Path, attrs: &mut attr::Attrs) -> Result<u64, Error> {
    match read_trimmed(path, attrs) {
        Ok(text) => dehumanize(text).ok_or_else(|| {
            Error::parse(
                path,
                ParseError::new(1, format!("{text:?} is not a bcache number")),
            )
        }),
        Err(e) if e.is_not_found() => Ok(0),
        Err(e) => Err(e),
    }
}

/// The names in `dir` that start with `prefix` and a digit, sorted.
fn numbered(dir: &Path, prefix: &str) -> Result<Vec<String>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.strip_prefix(prefix)
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    names.sort();
    Ok(names)
}

/// The cache set's own gauges: (file, metric suffix, help).
const SET: [(&str, &str, &str); 6] = [
    (
        "average_key_size",
        "node_bcache_average_key_size_sectors",
        "Average data per key in the btree (sectors).",
    ),
    (
        "btree_cache_size",
        "node_bcache_btree_cache_size_bytes",
        "Amount of memory currently used by the btree cache.",
    ),
    (
        "cache_available_percent",
        "node_bcache_cache_available_percent",
        "Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).",
    ),
    ("congested", "node_bcache_congested", "Congestion."),
    (
        "root_usage_percent",
        "node_bcache_root_usage_percent",
        "Percentage of the root btree node in use (tree depth increases if too high).",
    ),
    (
        "tree_depth",
        "node_bcache_tree_depth",
        "Depth of the btree.",
    ),
];

/// A backing device's `stats_total/` counters: (file, metric, help).
const PERIOD: [(&str, &str, &str); 6] = [
    (
        "bypassed",
        "node_bcache_bypassed_bytes_total",
        "Amount of IO (both reads and writes) that has bypassed the cache.",
    ),
    (
        "cache_hits",
        "node_bcache_cache_hits_total",
        "Hits counted per individual IO as bcache sees them.",
    ),
    (
        "cache_misses",
        "node_bcache_cache_misses_total",
        "Misses counted per individual IO as bcache sees them.",
    ),
    (
        "cache_bypass_hits",
        "node_bcache_cache_bypass_hits_total",
        "Hits for IO intended to skip the cache.",
    ),
    (
        "cache_bypass_misses",
        "node_bcache_cache_bypass_misses_total",
        "Misses for IO intended to skip the cache.",
    ),
    (
        "cache_miss_collisions",
        "node_bcache_cache_miss_collisions_total",
        "Instances where data insertion from cache miss raced with write (data already present).",
    ),
];

impl Collector for Bcache {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let root = ctx.roots.sys("fs/bcache");
        let Ok(entries) = std::fs::read_dir(&root) else {
            return Ok(());
        };
        let mut sets: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.contains('-'))
            .collect();
        sets.sort();
        for uuid in &sets {
            self.set(&root.join(uuid), uuid, out)?;
        }
        Ok(())
    }
}

impl Bcache {
    fn set(&mut self, dir: &Path, uuid: &str, out: &mut Scrape) -> Result<(), Error> {
        let attrs = &mut self.attrs;
        let u = [("uuid", uuid)];
        // Read everything of the set before emitting, so that a bad file adds nothing.
        let mut own = Vec::with_capacity(SET.len());
        for (file, name, help) in SET {
            own.push((name, help, value(&dir.join(file), attrs)?));
        }
        let internal = dir.join("internal");
        let journal = value(&internal.join("active_journal_entries"), attrs)?;
        let nodes = value(&internal.join("btree_nodes"), attrs)?;
        let read_avg = value(&internal.join("btree_read_average_duration_us"), attrs)?;
        let races = value(&internal.join("cache_read_races"), attrs)?;
        for (name, help, v) in own {
            out.gauge(name, help, &u, v as f64);
        }
        out.gauge(
            "node_bcache_active_journal_entries",
            "Number of journal entries that are newer than the index.",
            &u,
            journal as f64,
        );
        out.gauge(
            "node_bcache_btree_nodes",
            "Total nodes in the btree.",
            &u,
            nodes as f64,
        );
        // node_exporter scales this microsecond figure by 1e-9 (as if nanoseconds);
        // kept for identical output.
        out.gauge(
            "node_bcache_btree_read_average_duration_seconds",
            "Average btree read duration.",
            &u,
            read_avg as f64 * 1e-9,
        );
        out.counter(
            "node_bcache_cache_read_races_total",
            "Counts instances where while data was being read from the cache, the bucket was reused and invalidated - i.e. where the pointer was stale after the read completed.",
            &u,
            races as f64,
        );

        for bdev in numbered(dir, "bdev")? {
            let bdir = dir.join(&bdev);
            let dirty = value(&bdir.join("dirty_data"), attrs)?;
            let debug_path = bdir.join("writeback_rate_debug");
            let debug = crate::source::read_to_string(&debug_path)?;
            let w = parse_writeback_rate_debug(&debug).map_err(|e| Error::parse(&debug_path, e))?;
            let total = bdir.join("stats_total");
            let mut period = Vec::with_capacity(PERIOD.len());
            for (file, name, help) in PERIOD {
                period.push((name, help, value(&total.join(file), attrs)?));
            }
            let readaheads = value(&total.join("cache_readaheads"), attrs)?;
            let l = [("uuid", uuid), ("backing_device", bdev.as_str())];
            let gauges: [(&'static str, &'static str, f64); 6] = [
                (
                    "node_bcache_dirty_data_bytes",
                    "Amount of dirty data for this backing device in the cache.",
                    dirty as f64,
                ),
                (
                    "node_bcache_dirty_target_bytes",
                    "Current dirty data target threshold for this backing device in bytes.",
                    w.target as f64,
                ),
                (
                    "node_bcache_writeback_rate",
                    "Current writeback rate for this backing device in bytes.",
                    w.rate as f64,
                ),
                (
                    "node_bcache_writeback_rate_proportional_term",
                    "Current result of proportional controller, part of writeback rate",
                    w.proportional as f64,
                ),
                (
                    "node_bcache_writeback_rate_integral_term",
                    "Current result of integral controller, part of writeback rate",
                    w.integral as f64,
                ),
                (
                    "node_bcache_writeback_change",
                    "Last writeback rate change step for this backing device.",
                    w.change as f64,
                ),
            ];
            for (name, help, v) in gauges {
                out.gauge(name, help, &l, v);
            }
            for (name, help, v) in period {
                out.counter(name, help, &l, v as f64);
            }
            if readaheads != 0 {
                out.counter(
                    "node_bcache_cache_readaheads_total",
                    "Count of times readahead occurred.",
                    &l,
                    readaheads as f64,
                );
            }
        }

        for cache in numbered(dir, "cache")? {
            let cdir = dir.join(&cache);
            let errors = value(&cdir.join("io_errors"), attrs)?;
            let metadata = value(&cdir.join("metadata_written"), attrs)?;
            let written = value(&cdir.join("written"), attrs)?;
            let priority = if self.priority_stats {
                let path = cdir.join("priority_stats");
                let text = crate::source::read_to_string(&path)?;
                Some(parse_priority_stats(&text).map_err(|e| Error::parse(&path, e))?)
            } else {
                None
            };
            let l = [("uuid", uuid), ("cache_device", cache.as_str())];
            out.gauge(
                "node_bcache_io_errors",
                "Number of errors that have occurred, decayed by io_error_halflife.",
                &l,
                errors as f64,
            );
            out.counter(
                "node_bcache_metadata_written_bytes_total",
                "Sum of all non data writes (btree writes and all other metadata).",
                &l,
                metadata as f64,
            );
            out.counter(
                "node_bcache_written_bytes_total",
                "Sum of all data that has been written to the cache.",
                &l,
                written as f64,
            );
            if let Some((unused, meta)) = priority {
                out.gauge(
                    "node_bcache_priority_stats_unused_percent",
                    "The percentage of the cache that doesn't contain any data.",
                    &l,
                    unused as f64,
                );
                out.gauge(
                    "node_bcache_priority_stats_metadata_percent",
                    "Bcache's metadata overhead.",
                    &l,
                    meta as f64,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn humanized_numbers_are_read_like_procfs() {
        assert_eq!(dehumanize("1305"), Some(1305));
        assert_eq!(dehumanize("20.4G"), Some(21_894_266_880));
        assert_eq!(dehumanize("1.1M"), Some(1_150_976));
        assert_eq!(dehumanize("512"), Some(512));
        assert_eq!(dehumanize("2k"), Some(2048));
        assert_eq!(dehumanize("3x"), Some(0), "unknown suffix multiplies by 0");
        assert_eq!(dehumanize(""), None);
        assert_eq!(dehumanize("a.bk"), None);
        assert_eq!(dehumanize_signed("-427.5k"), Some(-437_748));
    }

    #[test]
    fn debug_and_priority_files_are_parsed() {
        let w = parse_writeback_rate_debug(
            "rate:           1.1M/sec\ndirty:          20.4G\ntarget:         20.4G\n\
             proportional:   427.5k\nintegral:       790.0k\nchange:         -321.5k/sec\nnext io:        17ms\n",
        )
        .unwrap();
        assert_eq!(
            w,
            WritebackRateDebug {
                rate: 1_150_976,
                target: 21_894_266_880,
                proportional: 437_748,
                integral: 808_960,
                change: -329_204,
            }
        );
        let e = parse_writeback_rate_debug("rate: 1M/sec\nnext io: soon\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(
            parse_priority_stats("Unused:\t\t99%\nMetadata:\t0%\nAverage:\t10473\n").unwrap(),
            (99, 0)
        );
        assert_eq!(parse_priority_stats("Unused: x%\n").unwrap_err().line, 1);
    }

    #[test]
    fn a_tree_is_read_and_bad_values_fail() {
        let dir = tempfile::tempdir().unwrap();
        let set = dir.path().join("fs/bcache/aaaa-bbbb");
        let write = |rel: &str, text: &str| {
            let p = set.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("tree_depth", "2\n");
        write("bdev0/writeback_rate_debug", "rate: 1k/sec\n");
        write("bdev0/stats_total/cache_hits", "7\n");
        write("cache0/priority_stats", "Unused: 50%\n");
        let ctx = testing::sysfs(dir.path());
        let mut c = build(&Options {
            bcache_priority_stats: true,
            ..Options::default()
        })
        .unwrap();
        let out = testing::text(&mut *c, &ctx).unwrap();
        for line in [
            "node_bcache_tree_depth{uuid=\"aaaa-bbbb\"} 2\n",
            "node_bcache_writeback_rate{backing_device=\"bdev0\",uuid=\"aaaa-bbbb\"} 1024\n",
            "node_bcache_cache_hits_total{backing_device=\"bdev0\",uuid=\"aaaa-bbbb\"} 7\n",
            "node_bcache_priority_stats_unused_percent{cache_device=\"cache0\",uuid=\"aaaa-bbbb\"} 50\n",
        ] {
            assert!(out.contains(line), "{line} not in {out}");
        }
        assert!(!out.contains("readaheads"), "zero readaheads are left out");
        write("tree_depth", "x.yk\n");
        let err = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(err.to_string().contains("tree_depth"), "{err}");
    }
}
