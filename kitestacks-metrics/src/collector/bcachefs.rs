//! The `bcachefs` collector: `node_bcachefs_*` for every filesystem under
//! `<sysfs>/fs/bcachefs/<uuid>/` — `btree_cache_size`, `compression_stats`, `errors`,
//! `btree_write_stats`, one `node_bcachefs_<counter>_total` per file of `counters/`, and
//! per member device (`dev-<N>/`) its label, state, bucket size and count, durability,
//! `io_done` and `io_errors` — as node_exporter's `bcachefs_linux.go` with
//! prometheus/procfs' `bcachefs` parser (v0.21.1) reports them.
//!
//! bcachefs writes sizes "human readable" (`2.05G`, `28.2k`): a decimal number with an
//! optional `k`/`M`/`G`/`T`/`P`/`E` suffix (either case, powers of 1024), multiplied out
//! and truncated to an integer, as procfs does. No `fs/bcachefs` directory, or no
//! filesystem in it, is nothing to report; an absent attribute or stats file counts as
//! 0 / no series (the label and state of a device as empty); a malformed one fails the
//! scrape, as upstream.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::collector::attr::{self, Attrs, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, OrAbsent as _, ParseError};
use crate::exposition::{self, MetricType, Name, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "bcachefs",
    default_enabled: true,
    families: &["node_bcachefs_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Bcachefs {
        attrs: Attrs::default(),
        counters: HashMap::new(),
        label: String::new(),
        state: String::new(),
    }))
}

struct Bcachefs {
    /// The attribute and stats files, kept open.
    attrs: Attrs,
    /// Counter file name -> family name and help, made once per name (the kernel's
    /// counter list is fixed per version).
    counters: HashMap<String, (Name, Name)>,
    /// A device's label and state, reused across scrapes.
    label: String,
    state: String,
}

/// Parses a bcachefs human-readable size as procfs' `parseHumanReadableBytes`: trimmed,
/// an optional last-character suffix `k`/`M`/`G`/`T`/`P`/`E` (either case, powers of
/// 1024), a float before it; the product truncated to an integer.
pub(crate) fn human_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let last = *text.as_bytes().last()?;
    let power = match last.to_ascii_lowercase() {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        b'e' => 6,
        _ => 0,
    };
    let number = if power == 0 {
        text
    } else {
        text[..text.len() - 1].trim()
    };
    let value: f64 = number.parse().ok()?;
    Some((value * 1024f64.powi(power)) as u64)
}

/// An unsigned decimal as Go's `strconv.ParseUint(s, 10, 64)` takes it (no sign).
fn uint(text: &str) -> Option<u64> {
    attr::go_parse_uint(text, 10)
}

fn not_size(line: usize, text: &str) -> ParseError {
    ParseError::new(line, format!("{text:?} is not a size"))
}

fn not_uint(line: usize, text: &str) -> ParseError {
    ParseError::new(line, format!("{text:?} is not an unsigned integer"))
}

/// Keeps the last entry of each key (the Go parser fills a map), sorted by key.
fn last_wins<T, K: Ord>(mut v: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    v.reverse();
    v.sort_by_key(&key);
    v.dedup_by(|a, b| key(a) == key(b));
    v
}

/// One line of `compression_stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Compression<'a> {
    /// The algorithm (`lz4`, `zstd`, `incompressible`, ...).
    pub algorithm: &'a str,
    /// Compressed size in bytes.
    pub compressed: u64,
    /// Uncompressed size in bytes.
    pub uncompressed: u64,
}

/// Parses `compression_stats`: a header line, then `<algorithm>[:] <compressed>
/// <uncompressed> [<average extent size>]` (sizes human-readable); lines of fewer than
/// three fields are skipped.
pub(crate) fn parse_compression(text: &str) -> Result<Vec<Compression<'_>>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let mut f = line.split_whitespace();
        let (Some(algorithm), Some(c), Some(u)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let compressed = human_bytes(c).ok_or_else(|| not_size(i + 1, c))?;
        let uncompressed = human_bytes(u).ok_or_else(|| not_size(i + 1, u))?;
        if let Some(avg) = f.next() {
            human_bytes(avg).ok_or_else(|| not_size(i + 1, avg))?;
        }
        out.push(Compression {
            algorithm: algorithm.strip_suffix(':').unwrap_or(algorithm),
            compressed,
            uncompressed,
        });
    }
    Ok(last_wins(out, |c| c.algorithm))
}

/// Parses `errors`: `<error type> <count> [<timestamp>]` per line; lines of fewer than
/// two fields are skipped. Returns (type, count).
pub(crate) fn parse_errors(text: &str) -> Result<Vec<(&str, u64)>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut f = line.split_whitespace();
        let (Some(kind), Some(count)) = (f.next(), f.next()) else {
            continue;
        };
        let count = uint(count).ok_or_else(|| not_uint(i + 1, count))?;
        if let Some(ts) = f.next() {
            uint(ts).ok_or_else(|| not_uint(i + 1, ts))?;
        }
        out.push((kind, count));
    }
    Ok(last_wins(out, |e| e.0))
}

/// Parses one file of `counters/` (`since mount: <n>` / `since filesystem creation:
/// <n>`, human-readable) and returns the count since filesystem creation (0 if only the
/// mount figure is there); a file with neither line is an error.
pub(crate) fn parse_counter(text: &str) -> Result<u64, ParseError> {
    let (mut creation, mut seen) = (0, false);
    for (i, line) in text.lines().enumerate() {
        if let Some(v) = line.strip_prefix("since mount:") {
            human_bytes(v).ok_or_else(|| not_size(i + 1, v.trim()))?;
            seen = true;
        } else if let Some(v) = line.strip_prefix("since filesystem creation:") {
            creation = human_bytes(v).ok_or_else(|| not_size(i + 1, v.trim()))?;
            seen = true;
        }
    }
    if !seen {
        return Err(ParseError::new(1, "counter file format not recognized"));
    }
    Ok(creation)
}

/// Parses `btree_write_stats`: a header line, then `<type>: <count> <average size>`;
/// lines of fewer than three fields are skipped. Returns (type, count, size in bytes).
pub(crate) fn parse_btree_writes(text: &str) -> Result<Vec<(&str, u64, u64)>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let mut f = line.split_whitespace();
        let (Some(kind), Some(count), Some(size)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let count = uint(count).ok_or_else(|| not_uint(i + 1, count))?;
        let size = human_bytes(size).ok_or_else(|| not_size(i + 1, size))?;
        out.push((kind.strip_suffix(':').unwrap_or(kind), count, size));
    }
    Ok(last_wins(out, |w| w.0))
}

/// Parses a device's `io_done`: `read:` and `write:` sections of `<data type> : <bytes>`
/// lines (lines before the first section or without a colon skipped). Returns
/// (operation, data type, bytes).
pub(crate) fn parse_io_done(text: &str) -> Result<Vec<(&str, &str, u64)>, ParseError> {
    let mut out = Vec::new();
    let mut op = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line == "read:" || line == "write:" {
            op = Some(&line[..line.len() - 1]);
            continue;
        }
        let Some(op) = op else { continue };
        let Some((kind, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let value = uint(value).ok_or_else(|| not_uint(i + 1, value))?;
        out.push((op, kind.trim(), value));
    }
    Ok(last_wins(out, |d| (d.0, d.1)))
}

/// Parses a device's `io_errors`: the `<type>: <count>` lines of its "IO errors since
/// filesystem creation" section (up to the next "IO errors since ..." heading).
pub(crate) fn parse_io_errors(text: &str) -> Result<Vec<(&str, u64)>, ParseError> {
    let mut out = Vec::new();
    let mut in_creation = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("IO errors since filesystem creation") {
            in_creation = true;
            continue;
        }
        if line.starts_with("IO errors since ") {
            break;
        }
        if !in_creation {
            continue;
        }
        let Some((kind, value)) = line.trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        let value = uint(value).ok_or_else(|| not_uint(i + 1, value))?;
        out.push((kind.trim(), value));
    }
    Ok(last_wins(out, |e| e.0))
}

/// `name` made fit for a metric name as node_exporter's `SanitizeMetricName` (the
/// regex `_*[^0-9A-Za-z_]+_*` replaced by `_`): each run of other characters, with the
/// underscores right around it, becomes one `_`.
pub(crate) fn sanitize(name: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(name.len());
    let mut pending = 0; // underscores not yet known to stay
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            pending += 1;
        } else if valid(c) {
            out.extend(std::iter::repeat_n('_', pending));
            pending = 0;
            out.push(c);
        } else {
            pending = 0;
            while chars.next_if(|&c| !valid(c)).is_some() {}
            while chars.next_if_eq(&'_').is_some() {}
            out.push('_');
        }
    }
    out.extend(std::iter::repeat_n('_', pending));
    out
}

/// The names of the entries of `dir` that are (or are not) directories, sorted.
fn list(dir: &Path, dirs: bool) -> Result<Vec<String>, Error> {
    attr::list_sorted_where(dir, |e| e.file_type().is_ok_and(|t| t.is_dir() == dirs))
}

/// Reads `path` and parses it with `parse`; an absent file is `None`.
fn parse_file<'a, T>(
    path: &Path,
    attrs: &'a mut Attrs,
    parse: impl FnOnce(&'a str) -> Result<T, ParseError>,
) -> Result<Option<T>, Error> {
    match read_trimmed(path, attrs).or_absent()? {
        Some(text) => parse(text).map(Some).map_err(|e| Error::parse(path, e)),
        None => Ok(None),
    }
}

/// A one-number attribute (`nbuckets`, `durability`): absent is 0, any other read error
/// or a non-number is an error.
fn read_uint(path: &Path, attrs: &mut Attrs) -> Result<u64, Error> {
    parse_file(path, attrs, |t| uint(t).ok_or_else(|| not_uint(1, t)))
        .map(Option::unwrap_or_default)
}

/// Reads a text attribute into `into` (emptied; left empty on any error, as procfs).
fn read_text(path: &Path, attrs: &mut Attrs, into: &mut String) {
    into.clear();
    if let Ok(t) = read_trimmed(path, attrs) {
        into.push_str(t);
    }
}

impl Collector for Bcachefs {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let root = ctx.roots.sys("fs/bcachefs");
        let Some(uuids) = list(&root, true).or_absent()? else {
            return Ok(());
        };
        let mut dir = root;
        for uuid in &uuids {
            dir.push(uuid);
            self.filesystem(&dir, uuid, out)?;
            dir.pop();
        }
        Ok(())
    }
}

impl Bcachefs {
    fn filesystem(&mut self, dir: &Path, uuid: &str, out: &mut Scrape) -> Result<(), Error> {
        let attrs = &mut self.attrs;
        let u = [("uuid", uuid)];
        out.gauge("node_bcachefs_info", "Filesystem information.", &u, 1.0);

        let cache = parse_file(&dir.join("btree_cache_size"), attrs, |t| {
            if t.is_empty() {
                return Ok(0);
            }
            human_bytes(t).ok_or_else(|| not_size(1, t))
        })?;
        out.gauge(
            "node_bcachefs_btree_cache_size_bytes",
            "Btree cache memory usage in bytes.",
            &u,
            cache.unwrap_or_default() as f64,
        );

        let compression = parse_file(&dir.join("compression_stats"), attrs, parse_compression)?;
        for c in compression.unwrap_or_default() {
            let l = [("uuid", uuid), ("algorithm", c.algorithm)];
            out.gauge(
                "node_bcachefs_compression_compressed_bytes",
                "Compressed size by algorithm.",
                &l,
                c.compressed as f64,
            );
            out.gauge(
                "node_bcachefs_compression_uncompressed_bytes",
                "Uncompressed size by algorithm.",
                &l,
                c.uncompressed as f64,
            );
        }

        let errors = parse_file(&dir.join("errors"), attrs, parse_errors)?;
        for (kind, count) in errors.unwrap_or_default() {
            out.counter(
                "node_bcachefs_errors_total",
                "Error count by error type.",
                &[("uuid", uuid), ("error_type", kind)],
                count as f64,
            );
        }

        self.counters(&dir.join("counters"), uuid, out)?;
        let attrs = &mut self.attrs;

        let writes = parse_file(&dir.join("btree_write_stats"), attrs, parse_btree_writes)?;
        for (kind, count, size) in writes.unwrap_or_default() {
            let l = [("uuid", uuid), ("type", kind)];
            out.counter(
                "node_bcachefs_btree_writes_total",
                "Number of btree writes by type.",
                &l,
                count as f64,
            );
            out.gauge(
                "node_bcachefs_btree_write_average_size_bytes",
                "Average btree write size by type.",
                &l,
                size as f64,
            );
        }

        let mut dev_dir = dir.to_owned();
        for name in list(dir, true)? {
            let Some(device) = name.strip_prefix("dev-") else {
                continue;
            };
            dev_dir.push(&name);
            self.device(&dev_dir, uuid, device, out)?;
            dev_dir.pop();
        }
        Ok(())
    }

    /// One `node_bcachefs_<counter>_total` per file of `counters/` (none if absent).
    fn counters(&mut self, dir: &Path, uuid: &str, out: &mut Scrape) -> Result<(), Error> {
        let Some(names) = list(dir, false).or_absent()? else {
            return Ok(());
        };
        let mut path = PathBuf::from(dir);
        for name in &names {
            path.push(name);
            let value = parse_file(&path, &mut self.attrs, parse_counter)?;
            path.pop();
            let (metric, help) = match self.counters.get(name.as_str()) {
                Some(f) => f.clone(),
                None => {
                    let f: (Name, Name) = (
                        Cow::Borrowed(exposition::intern(&format!(
                            "node_bcachefs_{}_total",
                            sanitize(name)
                        ))),
                        Cow::Borrowed(exposition::intern(&format!(
                            "Bcachefs counter {name} since filesystem creation."
                        ))),
                    );
                    self.counters.insert(name.clone(), f.clone());
                    f
                }
            };
            let labels = out.labels(&[("uuid", uuid)]);
            out.add(
                metric,
                help,
                MetricType::Counter,
                labels,
                value.unwrap_or_default() as f64,
            );
        }
        Ok(())
    }

    fn device(
        &mut self,
        dir: &Path,
        uuid: &str,
        device: &str,
        out: &mut Scrape,
    ) -> Result<(), Error> {
        let attrs = &mut self.attrs;
        read_text(&dir.join("label"), attrs, &mut self.label);
        read_text(&dir.join("state"), attrs, &mut self.state);
        let bucket_size = match read_trimmed(&dir.join("bucket_size"), attrs) {
            Ok(t) if !t.is_empty() => human_bytes(t)
                .ok_or_else(|| Error::parse(dir.join("bucket_size"), not_size(1, t)))?,
            _ => 0,
        };
        let buckets = read_uint(&dir.join("nbuckets"), attrs)?;
        let durability = read_uint(&dir.join("durability"), attrs)?;

        let l = [("uuid", uuid), ("device", device)];
        out.gauge(
            "node_bcachefs_device_info",
            "Device information.",
            &[
                ("uuid", uuid),
                ("device", device),
                ("label", &self.label),
                ("state", &self.state),
            ],
            1.0,
        );
        out.gauge(
            "node_bcachefs_device_bucket_size_bytes",
            "Bucket size in bytes.",
            &l,
            bucket_size as f64,
        );
        out.gauge(
            "node_bcachefs_device_buckets",
            "Total number of buckets.",
            &l,
            buckets as f64,
        );
        out.gauge(
            "node_bcachefs_device_durability",
            "Device durability setting.",
            &l,
            durability as f64,
        );

        let done = parse_file(&dir.join("io_done"), attrs, parse_io_done)?;
        for (op, kind, bytes) in done.unwrap_or_default() {
            out.counter(
                "node_bcachefs_device_io_done_bytes_total",
                "IO bytes by operation type and data type.",
                &[
                    ("uuid", uuid),
                    ("device", device),
                    ("operation", op),
                    ("data_type", kind),
                ],
                bytes as f64,
            );
        }
        let errors = parse_file(&dir.join("io_errors"), attrs, parse_io_errors)?;
        for (kind, count) in errors.unwrap_or_default() {
            out.counter(
                "node_bcachefs_device_io_errors_total",
                "IO errors by error type.",
                &[("uuid", uuid), ("device", device), ("type", kind)],
                count as f64,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn human_sizes_are_multiplied_out_and_truncated() {
        assert_eq!(human_bytes("2.05G"), Some(2_201_170_739));
        assert_eq!(human_bytes("28.2k"), Some(28_876));
        assert_eq!(human_bytes("1.26K"), Some(1_290));
        assert_eq!(human_bytes(" 720 "), Some(720));
        assert_eq!(human_bytes("2.00M"), Some(2_097_152));
        assert_eq!(human_bytes("1 e"), Some(1 << 60));
        assert_eq!(human_bytes(""), None);
        assert_eq!(human_bytes("G"), None);
        assert_eq!(human_bytes("12x"), None);
    }

    #[test]
    fn compression_stats_skip_the_header_and_short_lines() {
        let text = "typetype          compressed    uncompressed     average extent size\n\
                    lz4_old                    0               0                       0\n\
                    lz4                    48.9G           71.2G                   62.5k\n\
                    short 1\n\
                    zstd:                   226G            603G\n";
        let c = parse_compression(text).unwrap();
        assert_eq!(
            c.iter()
                .map(|c| (c.algorithm, c.compressed, c.uncompressed))
                .collect::<Vec<_>>(),
            [
                ("lz4", 52_505_975_193, 76_450_417_868),
                ("lz4_old", 0, 0),
                ("zstd", 242_665_652_224, 647_466_319_872),
            ]
        );
        let err = parse_compression("header\nlz4 1k 2k bad\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("\"bad\""), "{err}");
        assert!(parse_compression("header\nlz4 x 2k\n").is_err());
    }

    #[test]
    fn errors_have_a_count_and_maybe_a_timestamp_and_the_last_line_wins() {
        let text = "bset_bad_csum    2   1767112063\n\
                    extent_io_opts_not_set  11299659571772285102\n\
                    lonely\n\
                    bset_bad_csum    3   1767112064\n";
        assert_eq!(
            parse_errors(text).unwrap(),
            [
                ("bset_bad_csum", 3),
                ("extent_io_opts_not_set", 11_299_659_571_772_285_102)
            ]
        );
        assert_eq!(parse_errors("a -1 2\n").unwrap_err().line, 1);
        assert_eq!(parse_errors("a 1\nb 1 x\n").unwrap_err().line, 2);
        assert!(parse_errors("a +1\n").is_err());
    }

    #[test]
    fn a_counter_is_its_count_since_creation() {
        let text = "since mount:                   39816825\n\
                    since filesystem creation:     2.05G\n";
        assert_eq!(parse_counter(text), Ok(2_201_170_739));
        assert_eq!(parse_counter("since mount: 5\n"), Ok(0));
        assert_eq!(
            parse_counter("something else\n").unwrap_err().message,
            "counter file format not recognized"
        );
        assert_eq!(parse_counter("").unwrap_err().line, 1);
        let err = parse_counter("since mount: 1\nsince filesystem creation: lots\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn btree_write_stats_are_counts_and_sizes() {
        let text = "                   nr        size\n\
                    initial:           3298401   100k\n\
                    cache_reclaim:     14401     720\n\
                    short: 1\n";
        assert_eq!(
            parse_btree_writes(text).unwrap(),
            [
                ("cache_reclaim", 14_401, 720),
                ("initial", 3_298_401, 102_400)
            ]
        );
        assert_eq!(parse_btree_writes("h\nx: 1.5 2k\n").unwrap_err().line, 2);
        assert_eq!(parse_btree_writes("h\nx: 1 ?\n").unwrap_err().line, 2);
    }

    #[test]
    fn io_done_has_read_and_write_sections() {
        let text = "before : 1\nread:\nsb          :       86016\nuser        :102313054208\n\
                    nonsense\n\nwrite:\nsb          :      645120\n";
        assert_eq!(
            parse_io_done(text).unwrap(),
            [
                ("read", "sb", 86_016),
                ("read", "user", 102_313_054_208),
                ("write", "sb", 645_120),
            ]
        );
        let err = parse_io_done("read:\nsb : 1\nuser : many\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("\"many\""), "{err}");
    }

    #[test]
    fn io_errors_are_those_since_creation() {
        let text = "IO errors since filesystem creation\n  read:    197416\n  write:   205\n\
                    \n  checksum:0\nIO errors since 8 y ago\n  read:    1\n";
        assert_eq!(
            parse_io_errors(text).unwrap(),
            [("checksum", 0), ("read", 197_416), ("write", 205)]
        );
        assert_eq!(parse_io_errors("read: 1\n").unwrap(), []);
        assert_eq!(
            parse_io_errors("IO errors since filesystem creation\n  read: -1\n")
                .unwrap_err()
                .line,
            2
        );
    }

    #[test]
    fn names_are_sanitized_as_node_exporter() {
        assert_eq!(sanitize("data_read"), "data_read");
        assert_eq!(sanitize("a.b"), "a_b");
        assert_eq!(sanitize("a__.__b"), "a_b");
        assert_eq!(sanitize("a._.b"), "a__b");
        assert_eq!(sanitize("_a-"), "_a_");
        assert_eq!(sanitize("a__"), "a__");
        assert_eq!(sanitize("é-x"), "_x");
    }

    /// Writes `files` (relative path, content) under a temporary sysfs.
    fn sysfs(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let p = dir.path().join("fs/bcachefs").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        dir
    }

    fn scrape(sys: &Path) -> Result<Scrape, Error> {
        testing::update(&mut *build(&Options::default())?, &testing::sysfs(sys))
    }

    #[test]
    fn absent_files_are_zero_or_nothing_and_malformed_ones_fail() {
        let none = tempfile::tempdir().unwrap();
        assert_eq!(scrape(none.path()).unwrap().families().count(), 0);

        let dir = sysfs(&[
            ("u-1/counters/fsync", "since filesystem creation: 3\n"),
            ("u-1/dev-0/nbuckets", "10\n"),
            ("not-a-dir", ""),
        ]);
        let s = scrape(dir.path()).unwrap();
        let names: Vec<&str> = s.families().map(|f| &*f.name).collect();
        assert_eq!(
            names,
            [
                "node_bcachefs_btree_cache_size_bytes",
                "node_bcachefs_device_bucket_size_bytes",
                "node_bcachefs_device_buckets",
                "node_bcachefs_device_durability",
                "node_bcachefs_device_info",
                "node_bcachefs_fsync_total",
                "node_bcachefs_info",
            ]
        );
        let info = &s.family("node_bcachefs_device_info").unwrap().series[0];
        assert_eq!(info.labels[2].1, "");
        assert_eq!(
            s.family("node_bcachefs_device_buckets").unwrap().series[0].value,
            10.0
        );
        assert_eq!(
            s.family("node_bcachefs_fsync_total").unwrap().help,
            "Bcachefs counter fsync since filesystem creation."
        );

        let bad = sysfs(&[("u-1/dev-0/durability", "one\n")]);
        let err = scrape(bad.path()).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 1, .. }), "{err}");
        assert!(err.to_string().contains("durability"), "{err}");
        let bad = sysfs(&[("u-1/counters/fsync", "nothing\n")]);
        assert!(scrape(bad.path()).is_err());
    }
}
