//! The `btrfs` collector: `node_btrfs_*` for every filesystem under
//! `<sysfs>/fs/btrfs/<uuid>` — label, global reserve, commit statistics, per block group
//! type (data, metadata, system) the reserved bytes and per RAID profile the size, use
//! and allocation ratio, and each device's size.
//!
//! node_exporter additionally asks mounted btrfs filesystems over ioctls for per-device
//! unused bytes and error counters (`node_btrfs_device_unused_bytes`,
//! `node_btrfs_device_errors_total`, a `btrfs_dev_uuid` label); that needs the
//! filesystem mounted on this host and raw ioctls, and is not done here: device sizes
//! always come from sysfs, labelled by device only (upstream's fallback).

use std::path::Path;

use crate::collector::attr::{self, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "btrfs",
    default_enabled: true,
    families: &["node_btrfs_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Btrfs {
        attrs: attr::Attrs::default(),
    }))
}

struct Btrfs {
    attrs: attr::Attrs,
}

/// What `commit_stats` says.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommitStats {
    /// `commits`.
    pub commits: u64,
    /// `last_commit_ms`.
    pub last_ms: u64,
    /// `max_commit_ms`.
    pub max_ms: u64,
    /// `total_commit_ms`.
    pub total_ms: u64,
}

/// Parses `commit_stats`: lines of a name and an unsigned number; unknown names are
/// skipped.
pub(crate) fn parse_commit_stats(text: &str) -> Result<CommitStats, ParseError> {
    let mut s = CommitStats::default();
    for (i, line) in text.lines().enumerate() {
        let mut words = line.split_ascii_whitespace();
        let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
            return Err(ParseError::new(
                i + 1,
                format!("invalid commit_stats line {line:?}"),
            ));
        };
        let value: u64 = value
            .parse()
            .map_err(|_| ParseError::new(i + 1, format!("{value:?} is not an unsigned integer")))?;
        match name {
            "commits" => s.commits = value,
            "last_commit_ms" => s.last_ms = value,
            "max_commit_ms" => s.max_ms = value,
            "total_commit_ms" => s.total_ms = value,
            _ => {}
        }
    }
    Ok(s)
}

/// The allocation ratio of a RAID profile on `devices` devices (0 for unknown profiles).
pub(crate) fn ratio(profile: &str, devices: usize) -> f64 {
    let n = devices as f64;
    match profile {
        "single" | "raid0" => 1.0,
        "dup" | "raid1" | "raid10" => 2.0,
        "raid1c3" => 3.0,
        "raid1c4" => 4.0,
        "raid5" => n / (n - 1.0),
        "raid6" => n / (n - 2.0),
        _ => 0.0,
    }
}

/// A file's trimmed text; absent is empty.
fn text(path: &Path, attrs: &mut attr::Attrs) -> Result<String, Error> {
    match read_trimmed(path, attrs) {
        Ok(t) => Ok(t.to_owned()),
        Err(e) if e.is_not_found() => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// A file's number; absent or not a number is 0 (as prometheus/procfs reads them).
fn number(path: &Path, attrs: &mut attr::Attrs) -> Result<u64, Error> {
    Ok(text(path, attrs)?.parse().unwrap_or(0))
}

/// Names in a directory, sorted, optionally only subdirectories.
fn list(dir: &Path, dirs_only: bool) -> Result<Vec<String>, Error> {
    attr::list_sorted_where(dir, |e| {
        !dirs_only || e.file_type().is_ok_and(|t| t.is_dir())
    })
}

impl Collector for Btrfs {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let root = ctx.roots.sys("fs/btrfs");
        let Ok(entries) = std::fs::read_dir(&root) else {
            return Ok(());
        };
        let mut filesystems: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.contains('-'))
            .collect();
        filesystems.sort();
        // Everything is read before anything is added, so a failure adds nothing.
        let mut staged = Scrape::new();
        for name in &filesystems {
            filesystem(&root.join(name), name, &mut self.attrs, &mut staged)?;
        }
        out.merge(staged);
        Ok(())
    }
}

fn filesystem(
    dir: &Path,
    dir_name: &str,
    attrs: &mut attr::Attrs,
    out: &mut Scrape,
) -> Result<(), Error> {
    let devices = list(&dir.join("devices"), false)?;
    let label = text(&dir.join("label"), attrs)?;
    let mut uuid = text(&dir.join("metadata_uuid"), attrs)?;
    if uuid.is_empty() {
        uuid = dir_name.to_owned();
    }
    let u = uuid.as_str();
    let commit_path = dir.join("commit_stats");
    let commits = match crate::source::read_to_string(&commit_path) {
        Ok(t) => parse_commit_stats(&t).map_err(|e| Error::parse(&commit_path, e))?,
        Err(e) if e.is_not_found() => CommitStats::default(),
        Err(e) => return Err(e),
    };
    let global_rsv = number(&dir.join("allocation/global_rsv_size"), attrs)?;

    out.gauge(
        "node_btrfs_info",
        "Filesystem information",
        &[("uuid", u), ("label", &label)],
        1.0,
    );
    out.gauge(
        "node_btrfs_global_rsv_size_bytes",
        "Size of global reserve.",
        &[("uuid", u)],
        global_rsv as f64,
    );
    out.counter(
        "node_btrfs_commits_total",
        "The total number of commits that have occurred.",
        &[("uuid", u)],
        commits.commits as f64,
    );
    out.gauge(
        "node_btrfs_last_commit_seconds",
        "Duration of the most recent commit, in seconds.",
        &[("uuid", u)],
        commits.last_ms as f64 / 1000.0,
    );
    out.gauge(
        "node_btrfs_max_commit_seconds",
        "Duration of the slowest commit, in seconds.",
        &[("uuid", u)],
        commits.max_ms as f64 / 1000.0,
    );
    out.counter(
        "node_btrfs_commit_seconds_total",
        "Sum of the duration of all commits, in seconds.",
        &[("uuid", u)],
        commits.total_ms as f64 / 1000.0,
    );
    for kind in ["data", "metadata", "system"] {
        let adir = dir.join("allocation").join(kind);
        let reserved = number(&adir.join("bytes_reserved"), attrs)?;
        out.gauge(
            "node_btrfs_reserved_bytes",
            "Amount of space reserved for a data type",
            &[("uuid", u), ("block_group_type", kind)],
            reserved as f64,
        );
        for profile in list(&adir, true)? {
            let pdir = adir.join(&profile);
            let total = number(&pdir.join("total_bytes"), attrs)?;
            let used = number(&pdir.join("used_bytes"), attrs)?;
            let l = [("uuid", u), ("block_group_type", kind), ("mode", &profile)];
            out.gauge(
                "node_btrfs_used_bytes",
                "Amount of used space by a layout/data type",
                &l,
                used as f64,
            );
            out.gauge(
                "node_btrfs_size_bytes",
                "Amount of space allocated for a layout/data type",
                &l,
                total as f64,
            );
            out.gauge(
                "node_btrfs_allocation_ratio",
                "Data allocation ratio for a layout/data type",
                &l,
                ratio(&profile, devices.len()),
            );
        }
    }
    for device in &devices {
        let sectors = number(&dir.join("devices").join(device).join("size"), attrs)?;
        out.gauge(
            "node_btrfs_device_size_bytes",
            "Size of a device that is part of the filesystem.",
            &[("uuid", u), ("device", device)],
            (sectors * 512) as f64,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn commit_stats_and_ratios() {
        let s = parse_commit_stats(
            "commits 258051\nlast_commit_ms 1000\nmax_commit_ms 51462\ntotal_commit_ms 47836090\nnew 1\n",
        )
        .unwrap();
        assert_eq!(
            s,
            CommitStats {
                commits: 258_051,
                last_ms: 1000,
                max_ms: 51_462,
                total_ms: 47_836_090
            }
        );
        assert_eq!(parse_commit_stats("commits\n").unwrap_err().line, 1);
        assert_eq!(parse_commit_stats("a 1\ncommits -1\n").unwrap_err().line, 2);
        assert_eq!(ratio("raid5", 4), 4.0 / 3.0);
        assert_eq!(ratio("raid6", 4), 2.0);
        assert_eq!(ratio("dup", 1), 2.0);
        assert_eq!(ratio("weird", 3), 0.0);
    }

    #[test]
    fn a_tree_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let fs = dir.path().join("fs/btrfs/aaaa-bbbb");
        let write = |rel: &str, text: &str| {
            let p = fs.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("label", "disk\n");
        write("devices/sda/size", "20\n");
        write("allocation/global_rsv_size", "4096\n");
        write("allocation/data/raid1/total_bytes", "100\n");
        write("allocation/data/raid1/used_bytes", "bogus\n");
        std::fs::create_dir_all(fs.join("allocation/metadata")).unwrap();
        let ctx = testing::sysfs(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        let err = c.update(&ctx, &mut s).unwrap_err();
        assert!(err.to_string().contains("allocation/system"), "{err}");
        assert!(s.families().next().is_none());
        std::fs::create_dir_all(fs.join("allocation/system")).unwrap();
        c.update(&ctx, &mut s).unwrap();
        let mut out = String::new();
        s.render(&mut out);
        for line in [
            "node_btrfs_info{label=\"disk\",uuid=\"aaaa-bbbb\"} 1\n",
            "node_btrfs_device_size_bytes{device=\"sda\",uuid=\"aaaa-bbbb\"} 10240\n",
            "node_btrfs_allocation_ratio{block_group_type=\"data\",mode=\"raid1\",uuid=\"aaaa-bbbb\"} 2\n",
            "node_btrfs_used_bytes{block_group_type=\"data\",mode=\"raid1\",uuid=\"aaaa-bbbb\"} 0\n",
            "node_btrfs_global_rsv_size_bytes{uuid=\"aaaa-bbbb\"} 4096\n",
            "node_btrfs_commits_total{uuid=\"aaaa-bbbb\"} 0\n",
        ] {
            assert!(out.contains(line), "{line} not in {out}");
        }
    }
}
