//! The `xfs` collector: per mounted XFS filesystem, the counters of
//! `<sysfs>/fs/xfs/<device>/stats/stats` as node_exporter's `xfs_linux.go` reports them
//! (`node_xfs_*_total{device}`: extent allocation, allocation and block-map B-trees,
//! block mapping, directory and inode operations, read/write calls, vnodes), parsed
//! with prometheus/procfs' `xfs.ParseStats` rules.
//!
//! No XFS filesystem means nothing to report; a stats file that cannot be read or parsed
//! fails the scrape, as upstream.

use crate::collector::attr::{Attrs, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "xfs",
    default_enabled: true,
    families: &["node_xfs_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Xfs {
        attrs: Attrs::default(),
    }))
}

struct Xfs {
    /// The stats files, kept open.
    attrs: Attrs,
}

/// `(metric name, help)`, in the order of [`Stats::values`].
const METRICS: [(&str, &str); 39] = [
    (
        "node_xfs_extent_allocation_extents_allocated_total",
        "Number of extents allocated for a filesystem.",
    ),
    (
        "node_xfs_extent_allocation_blocks_allocated_total",
        "Number of blocks allocated for a filesystem.",
    ),
    (
        "node_xfs_extent_allocation_extents_freed_total",
        "Number of extents freed for a filesystem.",
    ),
    (
        "node_xfs_extent_allocation_blocks_freed_total",
        "Number of blocks freed for a filesystem.",
    ),
    (
        "node_xfs_allocation_btree_lookups_total",
        "Number of allocation B-tree lookups for a filesystem.",
    ),
    (
        "node_xfs_allocation_btree_compares_total",
        "Number of allocation B-tree compares for a filesystem.",
    ),
    (
        "node_xfs_allocation_btree_records_inserted_total",
        "Number of allocation B-tree records inserted for a filesystem.",
    ),
    (
        "node_xfs_allocation_btree_records_deleted_total",
        "Number of allocation B-tree records deleted for a filesystem.",
    ),
    (
        "node_xfs_block_mapping_reads_total",
        "Number of block map for read operations for a filesystem.",
    ),
    (
        "node_xfs_block_mapping_writes_total",
        "Number of block map for write operations for a filesystem.",
    ),
    (
        "node_xfs_block_mapping_unmaps_total",
        "Number of block unmaps (deletes) for a filesystem.",
    ),
    (
        "node_xfs_block_mapping_extent_list_insertions_total",
        "Number of extent list insertions for a filesystem.",
    ),
    (
        "node_xfs_block_mapping_extent_list_deletions_total",
        "Number of extent list deletions for a filesystem.",
    ),
    (
        "node_xfs_block_mapping_extent_list_lookups_total",
        "Number of extent list lookups for a filesystem.",
    ),
    (
        "node_xfs_block_mapping_extent_list_compares_total",
        "Number of extent list compares for a filesystem.",
    ),
    (
        "node_xfs_block_map_btree_lookups_total",
        "Number of block map B-tree lookups for a filesystem.",
    ),
    (
        "node_xfs_block_map_btree_compares_total",
        "Number of block map B-tree compares for a filesystem.",
    ),
    (
        "node_xfs_block_map_btree_records_inserted_total",
        "Number of block map B-tree records inserted for a filesystem.",
    ),
    (
        "node_xfs_block_map_btree_records_deleted_total",
        "Number of block map B-tree records deleted for a filesystem.",
    ),
    (
        "node_xfs_directory_operation_lookup_total",
        "Number of file name directory lookups which miss the operating systems directory name lookup cache.",
    ),
    (
        "node_xfs_directory_operation_create_total",
        "Number of times a new directory entry was created for a filesystem.",
    ),
    (
        "node_xfs_directory_operation_remove_total",
        "Number of times an existing directory entry was created for a filesystem.",
    ),
    (
        "node_xfs_directory_operation_getdents_total",
        "Number of times the directory getdents operation was performed for a filesystem.",
    ),
    (
        "node_xfs_inode_operation_attempts_total",
        "Number of times the OS looked for an XFS inode in the inode cache.",
    ),
    (
        "node_xfs_inode_operation_found_total",
        "Number of times the OS looked for and found an XFS inode in the inode cache.",
    ),
    (
        "node_xfs_inode_operation_recycled_total",
        "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled.",
    ),
    (
        "node_xfs_inode_operation_missed_total",
        "Number of times the OS looked for an XFS inode in the cache, but did not find it.",
    ),
    (
        "node_xfs_inode_operation_duplicates_total",
        "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process.",
    ),
    (
        "node_xfs_inode_operation_reclaims_total",
        "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose.",
    ),
    (
        "node_xfs_inode_operation_attribute_changes_total",
        "Number of times the OS explicitly changed the attributes of an XFS inode.",
    ),
    (
        "node_xfs_write_calls_total",
        "Number of write(2) system calls made to files in a filesystem.",
    ),
    (
        "node_xfs_read_calls_total",
        "Number of read(2) system calls made to files in a filesystem.",
    ),
    (
        "node_xfs_vnode_active_total",
        "Number of vnodes not on free lists for a filesystem.",
    ),
    (
        "node_xfs_vnode_allocate_total",
        "Number of times vn_alloc called for a filesystem.",
    ),
    (
        "node_xfs_vnode_get_total",
        "Number of times vn_get called for a filesystem.",
    ),
    (
        "node_xfs_vnode_hold_total",
        "Number of times vn_hold called for a filesystem.",
    ),
    (
        "node_xfs_vnode_release_total",
        "Number of times vn_rele called for a filesystem.",
    ),
    (
        "node_xfs_vnode_reclaim_total",
        "Number of times vn_reclaim called for a filesystem.",
    ),
    (
        "node_xfs_vnode_remove_total",
        "Number of times vn_remove called for a filesystem.",
    ),
];

/// How many values a line must have.
#[derive(Debug, Clone, Copy)]
enum Count {
    Exactly(usize),
    /// Either (an older and a newer kernel's count).
    Either(usize, usize),
    AtLeast(usize),
}

/// The reported lines: `(label, first slot in Stats::values, values reported)`. The
/// kernel's `rw` line is write calls, then read calls; `vnodes` may carry an eighth
/// (free) value, not reported.
const REPORTED: [(&str, usize, usize); 8] = [
    ("extent_alloc", 0, 4),
    ("abt", 4, 4),
    ("blk_map", 8, 7),
    ("bmbt", 15, 4),
    ("dir", 19, 4),
    ("ig", 23, 7),
    ("rw", 30, 2),
    ("vnodes", 32, 7),
];

/// The value count procfs checks for each line it knows (any other line only needs
/// 32-bit numbers).
fn expected_count(label: &str) -> Option<Count> {
    use Count::*;
    Some(match label {
        "extent_alloc" | "abt" | "bmbt" | "dir" | "attr" => Exactly(4),
        "blk_map" | "ig" => Exactly(7),
        "trans" | "icluster" => Exactly(3),
        "log" => Exactly(5),
        "rw" | "xstrat" => Exactly(2),
        "vnodes" => Either(7, 8),
        "buf" => Exactly(9),
        "push_ail" => Exactly(10),
        "qm" => Either(8, 9),
        "debug" => Exactly(1),
        "abtb2" | "abtc2" | "bmbt2" | "ibt2" | "fibt2" | "rmapbt" | "refcntbt" | "rmapbt_mem"
        | "rcbagbt" | "rtrmapbt" | "rtrmapbt_mem" | "rtrefcntbt" => Exactly(15),
        "zoned" => AtLeast(3),
        "metafile" => AtLeast(1),
        _ => return None,
    })
}

/// The reported counters of one filesystem; lines the file lacks are 0.
#[derive(Debug, PartialEq, Eq)]
struct Stats {
    values: [u32; 39],
}

/// Parses a `stats` file (`label v1 v2 ...` lines) as procfs does: lines of fewer than
/// two fields are skipped; `xpc`, `defer_relog` and `gc xpc` hold 64-bit values, every
/// other line 32-bit ones; known lines must have their number of values.
fn parse(text: &str) -> Result<Stats, ParseError> {
    let mut stats = Stats { values: [0; 39] };
    let mut us: Vec<u32> = Vec::with_capacity(16);
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() < 2 {
            continue;
        }
        let label = fields[0];
        let wide = |values: &[&str], want: usize| -> Result<(), ParseError> {
            for v in values {
                v.parse::<u64>().map_err(|_| {
                    ParseError::new(n, format!("{label}: {v:?} is not an unsigned integer"))
                })?;
            }
            if values.len() != want {
                return Err(ParseError::new(
                    n,
                    format!("{label}: {} values, expected {want}", values.len()),
                ));
            }
            Ok(())
        };
        match label {
            "gc" if fields.len() >= 3 && fields[1] == "xpc" => {
                wide(&fields[2..], 1)?;
                continue;
            }
            "xpc" => {
                wide(&fields[1..], 3)?;
                continue;
            }
            "defer_relog" => {
                wide(&fields[1..], 1)?;
                continue;
            }
            _ => {}
        }
        us.clear();
        for v in &fields[1..] {
            us.push(v.parse().map_err(|_| {
                ParseError::new(
                    n,
                    format!("{label}: {v:?} is not a 32-bit unsigned integer"),
                )
            })?);
        }
        let Some(count) = expected_count(label) else {
            continue;
        };
        let ok = match count {
            Count::Exactly(k) => us.len() == k,
            Count::Either(a, b) => us.len() == a || us.len() == b,
            Count::AtLeast(k) => us.len() >= k,
        };
        if !ok {
            return Err(ParseError::new(
                n,
                format!("{label}: {} values, expected {count:?}", us.len()),
            ));
        }
        if let Some(&(_, slot, k)) = REPORTED.iter().find(|(l, _, _)| *l == label) {
            stats.values[slot..slot + k].copy_from_slice(&us[..k]);
        }
    }
    Ok(stats)
}

impl Collector for Xfs {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let dir = ctx.roots.sys("fs/xfs");
        // Upstream globs `fs/xfs/*/stats/stats`: no directory, no match.
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        let mut devices: Vec<String> = entries
            .flatten()
            .filter(|e| !e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        devices.sort_unstable();
        for device in &devices {
            let path = dir.join(device).join("stats/stats");
            let text = match read_trimmed(&path, &mut self.attrs) {
                Ok(text) => text,
                // Not a match of the glob: `fs/xfs/stats/stats` (the global stats) is a
                // file, `fs/xfs/extra` has no stats.
                Err(Error::Read { source, .. })
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let stats = parse(text).map_err(|e| Error::parse(&path, e))?;
            for ((name, help), v) in METRICS.iter().zip(stats.values) {
                out.counter(name, help, &[("device", device)], f64::from(v));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const FIXTURE: &str = "extent_alloc 1 872 0 0\nabt 0 0 0 0\nblk_map 61 29 1 1 1 91 0\n\
        bmbt 0 0 0 0\ndir 3 2 1 52\ntrans 4 40 0\nig 5 1 0 4 0 0 1\nlog 8 21 0 5821 4\n\
        push_ail 44 0 1102 15 0 2 0 2 0 2\nxstrat 1 0\nrw 28 0\nattr 0 0 0 0\n\
        icluster 2 2 2\nvnodes 4 0 0 0 1 1 1 0\nbuf 22 25 14 0 0 8 0 8 8\n\
        abtb2 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0\nqm 0 0 0 0 0 0 0 0\n\
        xpc 3571712 3568056 0\ndebug 0\ndefer_relog 5\ngc xpc 18446744073709551615\n\
        zoned 1 2 3 4\nmetafile 9\nnewline_from_a_future_kernel 1 2\n";

    #[test]
    fn reported_lines_land_in_their_slots() {
        let s = parse(FIXTURE).unwrap();
        assert_eq!(s.values[..4], [1, 872, 0, 0]);
        assert_eq!(s.values[8..15], [61, 29, 1, 1, 1, 91, 0]);
        assert_eq!(s.values[19..23], [3, 2, 1, 52]);
        assert_eq!(s.values[30..32], [28, 0], "write, then read");
        assert_eq!(s.values[32..], [4, 0, 0, 0, 1, 1, 1]);
        assert_eq!(parse("").unwrap().values, [0; 39]);
        assert_eq!(parse("vnodes 1 2 3 4 5 6 7\n").unwrap().values[32], 1);
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line() {
        let e = parse("abt 0 0 0 0\nrw 1 2 3\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("rw"), "{e}");
        assert!(parse("unknown 4294967296\n").is_err(), "over 32 bits");
        assert!(parse("xpc 1 2\n").is_err());
        assert!(parse("xpc 1 2 x\n").is_err());
        assert!(parse("zoned 1 2\n").is_err());
        assert!(parse("gc 1\n").is_ok(), "an unknown line of numbers");
        assert!(parse("gc xpc\n").is_err(), "two-word label without a value");
        assert!(parse("abtb2 1 1 0\n").is_err());
        assert!(parse("dir 1 2 3 -4\n").is_err());
    }

    #[test]
    fn one_series_set_per_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut out = Scrape::new();
        c.update(&ctx, &mut out).unwrap();
        assert!(out.families().next().is_none(), "no XFS: nothing");
        let xfs = dir.path().join("sys/fs/xfs");
        std::fs::create_dir_all(xfs.join("sda1/stats")).unwrap();
        std::fs::create_dir_all(xfs.join("stats")).unwrap();
        std::fs::write(xfs.join("stats/stats"), "rw 5 5\n").unwrap();
        std::fs::write(xfs.join("sda1/stats/stats"), FIXTURE).unwrap();
        let text = testing::text(&mut *c, &ctx).unwrap();
        assert_eq!(text.matches("# TYPE").count(), 39);
        assert_eq!(text.matches("{device=\"sda1\"}").count(), 39);
        assert!(text.contains(
            "# HELP node_xfs_read_calls_total Number of read(2) system calls made to files in a filesystem.\n\
             # TYPE node_xfs_read_calls_total counter\nnode_xfs_read_calls_total{device=\"sda1\"} 0\n"
        ), "{text}");
        std::fs::write(xfs.join("sda1/stats/stats"), "dir 1\n").unwrap();
        let e = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(e.to_string().contains("sda1/stats/stats"), "{e}");
    }
}
