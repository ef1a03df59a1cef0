//! The `zfs` collector: OpenZFS kstats from `<procfs>/spl/kstat/zfs/` as node_exporter's
//! `zfs_linux.go` reads them: untyped `node_zfs_<subsystem>_<name>` for every int64/uint64
//! line of the named kstat files (`arcstats`, `abdstats`, `zil`, ...), and per pool
//! `node_zfs_zpool_<field>{zpool}` from `<pool>/io`,
//! `node_zfs_zpool_dataset_<name>{zpool,dataset}` from `<pool>/objset-*` and the gauge
//! `node_zfs_zpool_state{zpool,state}` from `<pool>/state`.
//!
//! No `spl/kstat/zfs` directory (no zfs module) means nothing to report; a kstat file
//! that is absent (older or newer OpenZFS) is skipped; a malformed file, or a pool file
//! listed but unreadable, fails the scrape, as upstream.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use crate::collector::attr::{Attrs, is_absent, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::{self, MetricType, Name, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "zfs",
    default_enabled: true,
    families: &["node_zfs_"],
    build,
};

/// `(metric subsystem, kstat file)`: upstream's `linuxPathMap`.
const SUBSYSTEMS: [(&str, &str); 11] = [
    ("zfs_abd", "abdstats"),
    ("zfs_arc", "arcstats"),
    ("zfs_dbuf", "dbufstats"),
    ("zfs_dmu_tx", "dmu_tx"),
    ("zfs_dnode", "dnodestats"),
    ("zfs_fm", "fm"),
    ("zfs_vdev_cache", "vdev_cache_stats"),
    ("zfs_vdev_mirror", "vdev_mirror_stats"),
    ("zfs_xuio", "xuio_stats"),
    ("zfs_zfetch", "zfetchstats"),
    ("zfs_zil", "zil"),
];
/// Name-table slots after the [`SUBSYSTEMS`]: pool `io` files, then `objset-*` files.
const IO: usize = SUBSYSTEMS.len();
const OBJSET: usize = IO + 1;

/// The pool states upstream reports, one series each (1 for the current one).
const POOL_STATES: [&str; 7] = [
    "online",
    "degraded",
    "faulted",
    "offline",
    "removed",
    "unavail",
    "suspended",
];

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Zfs {
        attrs: Attrs::default(),
        names: vec![HashMap::new(); OBJSET + 1],
    }))
}

struct Zfs {
    /// The kstat files, kept open (at most a few hundred; absent ones remembered).
    attrs: Attrs,
    /// Per source (each subsystem, pool io, objset): kstat name -> family name and help,
    /// built once per name (kstat names are a fixed set per module version).
    names: Vec<HashMap<String, (Name, Name)>>,
}

/// The family name and help of kstat `name` of source `slot` (a table of `names`), whose
/// metric subsystem is `subsystem` and whose file is called `file` in the help text.
fn family(
    names: &mut [HashMap<String, (Name, Name)>],
    slot: usize,
    subsystem: &str,
    file: &str,
    name: &str,
) -> (Name, Name) {
    let table = &mut names[slot];
    if let Some((n, h)) = table.get(name) {
        return (n.clone(), h.clone());
    }
    let help = format!("kstat.zfs.misc.{file}.{name}");
    let metric = format!("node_{subsystem}_{}", metric_suffix(&help));
    let pair: (Name, Name) = (
        Cow::Borrowed(exposition::intern(&metric)),
        Cow::Borrowed(exposition::intern(&help)),
    );
    table.insert(name.to_owned(), pair.clone());
    pair
}

/// Upstream's `zfsSysctl.metricName`: the last dot-separated part of the key, with `-`
/// made `_`.
fn metric_suffix(key: &str) -> String {
    key.rsplit('.').next().unwrap_or(key).replace('-', "_")
}

/// The files of one pool directory.
#[derive(Debug, Default)]
struct PoolFiles {
    name: String,
    io: bool,
    state: bool,
    objsets: Vec<String>,
}

/// The pool directories below `base` (what upstream's globs `*/io`, `*/objset-*` and
/// `*/state` find). `None` when `base` cannot be listed: no ZFS.
fn list_pools(base: &Path) -> Option<Vec<PoolFiles>> {
    let entries = std::fs::read_dir(base).ok()?;
    let mut pools = Vec::new();
    for entry in entries.flatten() {
        // Kstat files sit beside the pool directories.
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        // A pool exported meanwhile lists as nothing.
        let Ok(files) = std::fs::read_dir(entry.path()) else {
            continue;
        };
        let mut pool = PoolFiles {
            name,
            ..PoolFiles::default()
        };
        for file in files.flatten() {
            let Ok(f) = file.file_name().into_string() else {
                continue;
            };
            match f.as_str() {
                "io" => pool.io = true,
                "state" => pool.state = true,
                _ if f.starts_with("objset-") => pool.objsets.push(f),
                _ => {}
            }
        }
        pools.push(pool);
    }
    pools.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Some(pools)
}

impl Collector for Zfs {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let base = ctx.roots.proc("spl/kstat/zfs");
        let Some(pools) = list_pools(&base) else {
            return Ok(());
        };
        for (slot, (subsystem, file)) in SUBSYSTEMS.iter().enumerate() {
            let path = base.join(file);
            let values = match read_trimmed(&path, &mut self.attrs) {
                Ok(text) => parse_kstat(text).map_err(|e| Error::parse(&path, e))?,
                // Files come and go with OpenZFS versions.
                Err(e) if is_absent(&e) => continue,
                Err(e) => return Err(e),
            };
            for (name, value) in values {
                let (metric, help) = family(&mut self.names, slot, subsystem, file, name);
                out.add(metric, help, MetricType::Untyped, Vec::new(), value);
            }
        }
        for pool in &pools {
            let dir = base.join(&pool.name);
            if pool.io {
                let path = dir.join("io");
                let text = read_trimmed(&path, &mut self.attrs)?;
                let values = parse_io(text).map_err(|e| Error::parse(&path, e))?;
                for (name, value) in values {
                    let (metric, help) = family(&mut self.names, IO, "zfs_zpool", "io", name);
                    let labels = vec![(Cow::Borrowed("zpool"), pool.name.clone())];
                    out.add(metric, help, MetricType::Untyped, labels, value as f64);
                }
            }
            for objset in &pool.objsets {
                let path = dir.join(objset);
                let text = read_trimmed(&path, &mut self.attrs)?;
                let values = parse_objset(text).map_err(|e| Error::parse(&path, e))?;
                for v in values {
                    let (metric, help) = family(
                        &mut self.names,
                        OBJSET,
                        "zfs_zpool_dataset",
                        "objset",
                        v.name,
                    );
                    // Values before the dataset_name line have empty labels, as upstream.
                    let (zpool, dataset) = match v.dataset {
                        Some(d) => (pool.name.clone(), d.to_owned()),
                        None => (String::new(), String::new()),
                    };
                    let labels = vec![
                        (Cow::Borrowed("zpool"), zpool),
                        (Cow::Borrowed("dataset"), dataset),
                    ];
                    out.add(metric, help, MetricType::Untyped, labels, v.value as f64);
                }
            }
            if pool.state {
                let path = dir.join("state");
                let state = parse_state(read_trimmed(&path, &mut self.attrs)?);
                for s in POOL_STATES {
                    out.gauge(
                        "node_zfs_zpool_state",
                        "kstat.zfs.misc.state",
                        &[("zpool", &pool.name), ("state", s)],
                        if state == s { 1.0 } else { 0.0 },
                    );
                }
            }
        }
        Ok(())
    }
}

/// Parses a named kstat file: lines before the `name type data` header are skipped,
/// then every `name type data` line of type 3 (int64) or 4 (uint64) gives a value;
/// other types (strings, ...) and short lines are skipped. No header is an error.
fn parse_kstat(text: &str) -> Result<Vec<(&str, f64)>, ParseError> {
    let mut values = Vec::with_capacity(128);
    let mut header = false;
    for (i, line) in text.lines().enumerate() {
        let Some((name, kind, data, more)) = three_fields(line) else {
            continue;
        };
        if !header {
            header = (name, kind, data, more) == ("name", "type", "data", false);
            continue;
        }
        let value = match kind {
            "4" => data.parse::<u64>().map(|v| v as f64).map_err(|_| ()),
            "3" => data.parse::<i64>().map(|v| v as f64).map_err(|_| ()),
            _ => continue,
        };
        let value = value.map_err(|()| {
            ParseError::new(
                i + 1,
                format!("{name}: {data:?} is not a type {kind} integer"),
            )
        })?;
        values.push((name, value));
    }
    if !header {
        return Err(ParseError::new(1, "no \"name type data\" header"));
    }
    Ok(values)
}

/// Parses a pool's `io` file: lines up to a header of at least 12 fields starting with
/// `nread` are skipped; every line after it gives one unsigned value per header field.
/// A line with fewer values than the header is an error (upstream panics). No header
/// means no values.
fn parse_io(text: &str) -> Result<Vec<(&str, u64)>, ParseError> {
    let mut header: Vec<&str> = Vec::new();
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split_ascii_whitespace().collect();
        if header.is_empty() {
            if parts.len() >= 12 && parts[0] == "nread" {
                header = parts;
            }
            continue;
        }
        if parts.len() < header.len() {
            return Err(ParseError::new(
                i + 1,
                format!("{} values for {} fields", parts.len(), header.len()),
            ));
        }
        for (field, raw) in header.iter().zip(parts) {
            let v = raw.parse().map_err(|_| {
                ParseError::new(
                    i + 1,
                    format!("{field}: {raw:?} is not an unsigned integer"),
                )
            })?;
            values.push((*field, v));
        }
    }
    Ok(values)
}

/// One uint64 value of an `objset-*` file, with the dataset named before it (if any).
#[derive(Debug, PartialEq, Eq)]
struct ObjsetValue<'a> {
    dataset: Option<&'a str>,
    name: &'a str,
    value: u64,
}

/// Parses a pool's `objset-*` file: a `name type data` header, a `dataset_name` line
/// whose data (the rest of the line, spaces and all) names the dataset, and
/// `name 4 value` lines. Other types and short lines are skipped; no header is an error.
fn parse_objset(text: &str) -> Result<Vec<ObjsetValue<'_>>, ParseError> {
    let mut values = Vec::with_capacity(8);
    let mut header = false;
    let mut dataset = None;
    for (i, line) in text.lines().enumerate() {
        let Some((name, kind, data, more)) = three_fields(line) else {
            continue;
        };
        if !header {
            header = (name, kind, data, more) == ("name", "type", "data", false);
            continue;
        }
        if name == "dataset_name" {
            dataset = Some(third_field_on(line));
            continue;
        }
        if kind == "4" {
            let value = data.parse().map_err(|_| {
                ParseError::new(
                    i + 1,
                    format!("{name}: {data:?} is not an unsigned integer"),
                )
            })?;
            values.push(ObjsetValue {
                dataset,
                name,
                value,
            });
        }
    }
    if !header {
        return Err(ParseError::new(1, "no \"name type data\" header"));
    }
    Ok(values)
}

/// The first three whitespace-separated fields of a line and whether more follow; `None`
/// for a line of fewer fields.
fn three_fields(line: &str) -> Option<(&str, &str, &str, bool)> {
    let mut it = line.split_ascii_whitespace();
    Some((it.next()?, it.next()?, it.next()?, it.next().is_some()))
}

/// The line from its third whitespace-separated field to the end.
fn third_field_on(line: &str) -> &str {
    let mut rest = line;
    for _ in 0..2 {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        rest = rest.trim_start_matches(|c: char| !c.is_ascii_whitespace());
    }
    rest.trim_start_matches(|c: char| c.is_ascii_whitespace())
}

/// A pool's `state` file: its first line, lower-cased (`ONLINE` -> `online`).
fn parse_state(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    first.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn kstat_values_after_the_header() {
        let text = "6 1 0x01 91 4368 5266997922 97951858082072\n\
                    name                            type data\n\
                    hits                            4    8772612\n\
                    memory_available_bytes          3    -922337203685477580\n\
                    erpt-dropped                    4    18\n\
                    some_string                     7    hello\n\
                    short 4\n";
        assert_eq!(
            parse_kstat(text).unwrap(),
            vec![
                ("hits", 8_772_612.0),
                ("memory_available_bytes", -922_337_203_685_477_580.0),
                ("erpt-dropped", 18.0)
            ]
        );
        assert_eq!(parse_kstat("name type data\n").unwrap(), vec![]);
    }

    #[test]
    fn malformed_kstat_files() {
        let e = parse_kstat("1 2 3\nhits 4 1\n").unwrap_err();
        assert!(e.message.contains("header"), "{e}");
        let e = parse_kstat("x\nname type data\nhits 4 -1\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("hits"), "{e}");
        assert!(parse_kstat("name type data\nx 3 1.5\n").is_err());
        assert!(parse_kstat("name type data\nx 4 18446744073709551616\n").is_err());
    }

    #[test]
    fn pool_io_fields_by_header() {
        let text = "12 3 0x00 1 80 79205351707403 395818011156865\n\
                    nread    nwritten reads    writes   wtime    wlentime wupdate  rtime    rlentime rupdate  wcnt     rcnt    \n\
                    1884160  3206144  22       132      7155162  104112268 79210489694949 24168078 104112268 79210489849220 0        0       \n";
        let v = parse_io(text).unwrap();
        assert_eq!(v.len(), 12);
        assert_eq!(v[0], ("nread", 1_884_160));
        assert_eq!(v[11], ("rcnt", 0));
        assert_eq!(parse_io("no header here\n").unwrap(), vec![]);
        let short = "nread a b c d e f g h i j k\n1 2 3\n";
        assert_eq!(parse_io(short).unwrap_err().line, 2);
        let bad = "nread a b c d e f g h i j k\n1 2 3 4 5 6 7 8 9 10 11 x\n";
        assert!(parse_io(bad).unwrap_err().message.contains("k:"));
    }

    #[test]
    fn objset_dataset_names_keep_their_spaces() {
        let text = "24 1 0x01 7 2160 221611904716 7145015038451\n\
                    name                            type data\n\
                    dataset_name                    7    pool3/dataset with  space\n\
                    writes                          4    4\n\
                    nunlinked                       4    3";
        assert_eq!(
            parse_objset(text).unwrap(),
            vec![
                ObjsetValue {
                    dataset: Some("pool3/dataset with  space"),
                    name: "writes",
                    value: 4
                },
                ObjsetValue {
                    dataset: Some("pool3/dataset with  space"),
                    name: "nunlinked",
                    value: 3
                },
            ]
        );
        // A root dataset whose name is part of "dataset_name" (upstream's substring
        // search would label it with the whole line).
        let data = parse_objset("name type data\ndataset_name 7 data\nreads 4 1\n").unwrap();
        assert_eq!(data[0].dataset, Some("data"));
        let early = parse_objset("name type data\nreads 4 1\n").unwrap();
        assert_eq!(early[0].dataset, None);
        assert!(parse_objset("dataset_name 7 x\n").is_err());
        assert_eq!(
            parse_objset("name type data\nreads 4 x\n")
                .unwrap_err()
                .line,
            2
        );
    }

    #[test]
    fn state_is_the_lowercased_first_line() {
        assert_eq!(parse_state("ONLINE\n"), "online");
        assert_eq!(parse_state(""), "");
        assert_eq!(parse_state("SUSPENDED\nextra\n"), "suspended");
    }

    fn scrape(dir: &Path) -> Result<String, Error> {
        testing::scrape_once(&mut *build(&Options::default())?, dir)
    }

    #[test]
    fn a_host_without_zfs_reports_nothing_and_broken_files_fail() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(scrape(dir.path()).unwrap(), "");
        let base = dir.path().join("proc/spl/kstat/zfs");
        std::fs::create_dir_all(base.join("tank")).unwrap();
        std::fs::write(base.join("fm"), "0 1\nname type data\nerpt-dropped 4 18\n").unwrap();
        std::fs::write(base.join("tank/state"), "DEGRADED\n").unwrap();
        let text = scrape(dir.path()).unwrap();
        assert!(
            text.contains(
                "# HELP node_zfs_fm_erpt_dropped kstat.zfs.misc.fm.erpt-dropped\n\
                 # TYPE node_zfs_fm_erpt_dropped untyped\nnode_zfs_fm_erpt_dropped 18\n"
            ),
            "{text}"
        );
        assert!(text.contains("node_zfs_zpool_state{state=\"degraded\",zpool=\"tank\"} 1\n"));
        assert_eq!(text.matches("node_zfs_zpool_state{").count(), 7);
        std::fs::write(base.join("zil"), "no header\n").unwrap();
        let e = scrape(dir.path()).unwrap_err();
        assert!(e.to_string().contains("zil"), "{e}");
    }
}
