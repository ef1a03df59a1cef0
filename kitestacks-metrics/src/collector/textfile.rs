//! The `textfile` collector: metrics from `*.prom` files in the
//! `--collector.textfile.directory` directories (read at scrape time, as node_exporter
//! does), `node_textfile_mtime_seconds{file}` for each file read, and
//! `node_textfile_scrape_error` (1 when a directory or file could not be read or
//! parsed; such a file is left out, the scrape goes on). Includes a sans-IO parser of the
//! Prometheus text format ([`parse`]).
//!
//! Counter, gauge, untyped, summary and histogram families are exported with their own
//! `# HELP` (or node_exporter's `Metric read from <files>`) and labels; a series lacking
//! a label other series of its family (in that file) have gets it with an empty value,
//! as upstream does. Summary and histogram samples are gathered into series by their
//! labels (without `quantile`/`le`) the way client_golang's text parser does.
//!
//! Across files, node_exporter's rules: a family whose HELP differs from an earlier
//! file's is left out and sets `node_textfile_scrape_error`. What client_golang's
//! registry then rejects is left out silently (upstream only logs it): a family whose
//! type or effective HELP differs from the first one of that name, a series whose name
//! and labels were already exported, and a family colliding with a summary's or
//! histogram's `_sum`/`_count`/`_bucket` name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::{Distribution, MetricType, Name, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "textfile",
    default_enabled: true,
    // The fixture's files hold `testmetric*` families.
    families: &["node_textfile_", "testmetric"],
    build,
};

fn build(options: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(TextFileCollector {
        patterns: options.textfile_directories.clone(),
        problems: Vec::new(),
    }))
}

struct TextFileCollector {
    patterns: Vec<String>,
    /// Why the last update set `node_textfile_scrape_error`: handed to the caller
    /// through [`Collector::warnings`], to be logged.
    problems: Vec<Error>,
}

/// The families of all files, in file order, after node_exporter's HELP checks.
#[derive(Default)]
struct Gathered {
    /// Per family name: the HELP text seen first, whether another one was seen since,
    /// and the files the name was read from.
    names: HashMap<String, NameInfo>,
    /// The families kept.
    families: Vec<ParsedFamily>,
}

#[derive(Default)]
struct NameInfo {
    help: Option<String>,
    help_conflict: bool,
    files: Vec<String>,
}

impl Collector for TextFileCollector {
    fn update(&mut self, _ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        self.problems.clear();
        let mut gathered = Gathered::default();
        let mut mtimes: BTreeMap<String, f64> = BTreeMap::new();

        let mut dirs = Vec::new();
        for pattern in &self.patterns {
            let found = glob(pattern);
            if found.is_empty() {
                dirs.push(PathBuf::from(pattern));
            } else {
                dirs.extend(found);
            }
        }
        for dir in &dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(source) => {
                    if !dir.as_os_str().is_empty() {
                        self.problems.push(Error::Read {
                            path: dir.clone(),
                            source,
                        });
                    }
                    continue;
                }
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".prom"))
                .collect();
            names.sort();
            for name in names {
                let display = join_clean(&dir.to_string_lossy(), &name);
                let path = dir.join(&name);
                match read_file(&path) {
                    Ok((families, mtime)) => {
                        if gathered.add_file(families, &display) {
                            self.problems.push(Error::Invalid {
                                path,
                                message: "a family's HELP differs from an earlier file's; \
                                          left out"
                                    .into(),
                            });
                        }
                        mtimes.insert(display, mtime);
                    }
                    Err(e) => self.problems.push(e),
                }
            }
        }

        gathered.export(out);
        for (file, mtime) in &mtimes {
            out.gauge(
                "node_textfile_mtime_seconds",
                "Unixtime mtime of textfiles successfully read.",
                &[("file", file)],
                *mtime,
            );
        }
        out.gauge(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
            &[],
            if self.problems.is_empty() { 0.0 } else { 1.0 },
        );
        Ok(())
    }

    fn warnings(&mut self, into: &mut Vec<Error>) {
        into.append(&mut self.problems);
    }
}

/// The most a textfile may hold: 16 MiB. node_exporter reads without a limit; a file
/// larger than this is left out (and sets `node_textfile_scrape_error`) rather than read
/// until memory runs out (a link to `/dev/zero`, a runaway script).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Reads and parses one file; a file with timestamps is refused, as upstream does. Only
/// a regular file (or a link to one) is read: it is opened without blocking (a FIFO
/// would wait for a writer forever) and refused unless `fstat` of the opened file says
/// it is regular, and at most [`MAX_FILE_BYTES`] are read. The mtime is that of the
/// opened file, taken after parsing, as upstream does.
fn read_file(path: &Path) -> Result<(Vec<ParsedFamily>, f64), Error> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(Error::Invalid {
            path: path.to_owned(),
            message: "not a regular file, left out".into(),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_FILE_BYTES) as usize + 1);
    (&file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::Invalid {
            path: path.to_owned(),
            message: format!("larger than {MAX_FILE_BYTES} bytes, left out"),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Error::parse(path, ParseError::new(line, "not UTF-8 text"))
    })?;
    let families = parse(&text).map_err(|e| Error::parse(path, e))?;
    if families
        .iter()
        .flat_map(|f| &f.samples)
        .any(|s| s.timestamp)
    {
        return Err(Error::Invalid {
            path: path.to_owned(),
            message: "client-side timestamps are not supported".into(),
        });
    }
    let meta = file.metadata().map_err(read_error)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs() as f64);
    Ok((families, mtime))
}

impl Gathered {
    /// Adds one file's families; returns whether one was left out for a HELP text that
    /// differs from an earlier file's (after such a conflict, node_exporter leaves out
    /// every later family of that name).
    fn add_file(&mut self, families: Vec<ParsedFamily>, file: &str) -> bool {
        let mut errored = false;
        for f in families {
            let info = self.names.entry(f.name.clone()).or_default();
            if let Some(first) = &info.help
                && (info.help_conflict || f.help.as_ref().is_some_and(|h| h != first))
            {
                info.help_conflict = true;
                errored = true;
                continue;
            }
            if f.help.is_some() {
                info.help.clone_from(&f.help);
            }
            info.files.push(file.to_owned());
            self.families.push(f);
        }
        errored
    }

    /// Exports the families as client_golang's registry accepts them (see the module
    /// docs): the first family of a name fixes its type and HELP.
    fn export(self, out: &mut Scrape) {
        let mut exported: HashMap<String, Exported> = HashMap::new();
        for f in self.families {
            let help = match f.help {
                Some(h) => h,
                None => format!("Metric read from {}", self.names[&f.name].files.join(", ")),
            };
            if !exported.contains_key(&f.name) && collides(&f.name, f.kind, &exported) {
                continue;
            }
            let first = exported.entry(f.name.clone()).or_insert_with(|| Exported {
                kind: f.kind,
                help: help.clone(),
                seen: HashSet::new(),
            });
            if first.kind != f.kind || first.help != help {
                continue;
            }
            let seen = &mut first.seen;
            let all = label_names(&f.samples);
            match f.kind {
                Kind::Counter | Kind::Gauge | Kind::Untyped => {
                    let kind = match f.kind {
                        Kind::Counter => MetricType::Counter,
                        Kind::Gauge => MetricType::Gauge,
                        _ => MetricType::Untyped,
                    };
                    for s in &f.samples {
                        let labels = fill_labels(&s.labels, &all);
                        if seen.insert(labels.clone()) {
                            out.add(f.name.clone(), help.clone(), kind, labels, s.value);
                        }
                    }
                }
                Kind::Summary | Kind::Histogram => {
                    let kind = if f.kind == Kind::Summary {
                        MetricType::Summary
                    } else {
                        MetricType::Histogram
                    };
                    for d in distributions(f.kind, &f.samples, &all) {
                        if seen.insert(d.labels.clone()) {
                            out.add_distribution(f.name.clone(), help.clone(), kind, d);
                        }
                    }
                }
            }
        }
    }
}

/// An exported family: its type, its HELP, the label sets of its series.
struct Exported {
    kind: Kind,
    help: String,
    seen: HashSet<Vec<(Name, String)>>,
}

/// Whether a new family `name` of type `kind` collides with an exported one over the
/// names a summary's or histogram's samples take (`x_sum`, `x_count`, and a
/// histogram's `x_bucket`), as client_golang's registry checks.
fn collides(name: &str, kind: Kind, exported: &HashMap<String, Exported>) -> bool {
    let base = ["_count", "_sum", "_bucket"]
        .iter()
        .find_map(|suffix| Some((name.strip_suffix(suffix)?, *suffix)));
    if let Some((base, suffix)) = base {
        match exported.get(base).map(|e| e.kind) {
            Some(Kind::Summary) if suffix != "_bucket" => return true,
            Some(Kind::Histogram) => return true,
            _ => {}
        }
    }
    let suffixes: &[&str] = match kind {
        Kind::Summary => &["_count", "_sum"],
        Kind::Histogram => &["_count", "_sum", "_bucket"],
        _ => &[],
    };
    suffixes
        .iter()
        .any(|suffix| exported.contains_key(&format!("{name}{suffix}")))
}

/// Every label name used in the family's samples, in order of first use.
fn label_names(samples: &[ParsedSample]) -> Vec<&str> {
    let mut all: Vec<&str> = Vec::new();
    for s in samples {
        for (k, _) in &s.labels {
            if !all.contains(&k.as_str()) {
                all.push(k);
            }
        }
    }
    all
}

/// `labels` plus every name of `all` it lacks (with an empty value), sorted by name.
fn fill_labels(labels: &[(String, String)], all: &[&str]) -> Vec<(Name, String)> {
    let mut out: Vec<(Name, String)> = labels
        .iter()
        .map(|(k, v)| (Name::Owned(k.clone()), v.clone()))
        .collect();
    for k in all {
        if !labels.iter().any(|(n, _)| n == k) {
            out.push((Name::Owned((*k).to_owned()), String::new()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A summary's or histogram's samples gathered into series by their labels, as
/// client_golang's text parser does: a quantile or bucket seen twice keeps the last
/// value, a series without `_sum` or `_count` has 0, a summary's count drops its
/// fraction (it is an integer there). Labels are filled in with [`fill_labels`].
fn distributions(kind: Kind, samples: &[ParsedSample], all: &[&str]) -> Vec<Distribution> {
    let mut out: Vec<Distribution> = Vec::new();
    let mut index: HashMap<Vec<(Name, String)>, usize> = HashMap::new();
    for s in samples {
        // Samples that differ only in the order of their labels are one series.
        let mut key: Vec<(Name, String)> = s
            .labels
            .iter()
            .map(|(k, v)| (Name::Owned(k.clone()), v.clone()))
            .collect();
        key.sort_by(|a, b| a.0.cmp(&b.0));
        let i = *index.entry(key).or_insert_with(|| {
            out.push(Distribution {
                labels: fill_labels(&s.labels, all),
                points: Vec::new(),
                sum: 0.0,
                count: 0.0,
            });
            out.len() - 1
        });
        let d = &mut out[i];
        match s.part {
            Part::Value | Part::Bare => {}
            Part::Sum => d.sum = s.value,
            Part::Count if kind == Kind::Summary => d.count = s.value.trunc(),
            Part::Count => d.count = s.value,
            Part::Bound(b) => match d.points.iter_mut().find(|p| p.0 == b) {
                Some(p) => p.1 = s.value,
                None => d.points.push((b, s.value)),
            },
        }
    }
    out
}

/// Go's `filepath.Join(dir, name)`: joined with one `/` and cleaned of `.` and empty
/// components (the HELP text and the `file` label show this form).
fn join_clean(dir: &str, name: &str) -> String {
    let joined = format!("{dir}/{name}");
    let absolute = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            p => parts.push(p),
        }
    }
    let body = parts.join("/");
    if absolute {
        format!("/{body}")
    } else if body.is_empty() {
        ".".to_owned()
    } else {
        body
    }
}

/// Expands a glob pattern (`*`, `?`, `[...]` in any component) to the existing paths
/// it matches, sorted; a pattern without meta characters is returned as is if it exists.
fn glob(pattern: &str) -> Vec<PathBuf> {
    if pattern.is_empty() {
        return Vec::new();
    }
    let absolute = pattern.starts_with('/');
    let mut current = vec![PathBuf::from(if absolute { "/" } else { "" })];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &current {
            if !comp.contains(['*', '?', '[']) {
                next.push(base.join(comp));
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| glob_match(comp, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        current = next;
    }
    current.retain(|p| p.exists());
    current
}

/// Whether `name` matches one glob component (Go's `filepath.Match` syntax, without
/// escapes): `*` any run, `?` one character, `[a-z]` / `[^a-z]` a class.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, length consumed including ']').
        let mut i = 0;
        let negate = p.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == ']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                if p[i] <= c && c <= p[i + 2] {
                    matched = true;
                }
                i += 3;
            } else {
                if p[i] == c {
                    matched = true;
                }
                i += 1;
            }
        }
        None
    }
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|k| go(&p[1..], &n[k..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => match (n.first(), class(&p[1..], *n.first().unwrap_or(&'\0'))) {
                (Some(_), Some((true, len))) => go(&p[1 + len..], &n[1..]),
                _ => false,
            },
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

// ---------------------------------------------------------------------------------
// The Prometheus text format parser.

/// A family's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// No `# TYPE`, or `untyped`.
    Untyped,
    /// `summary` (samples `name{quantile}`, `name_sum`, `name_count`).
    Summary,
    /// `histogram` (samples `name_bucket{le}`, `name_sum`, `name_count`).
    Histogram,
}

/// What a sample line is to its family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Part {
    /// The value of a counter, gauge or untyped series.
    Value,
    /// A summary's quantile or a histogram's bucket: the `quantile` or `le` label value.
    Bound(f64),
    /// A summary's or histogram's `_sum`.
    Sum,
    /// A summary's or histogram's `_count`.
    Count,
    /// A summary or histogram sample that is none of those (no `quantile`/`le` label,
    /// or one that is NaN): its value is ignored, its series exists.
    Bare,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedSample {
    /// The sample's own name (`x_sum` for a summary `x`).
    pub name: String,
    /// Label pairs, in the order written; a summary's `quantile` and a histogram's `le`
    /// label are taken out (into `part`).
    pub labels: Vec<(String, String)>,
    /// What the line is to its family.
    pub part: Part,
    /// The value.
    pub value: f64,
    /// Whether the line had a timestamp.
    pub timestamp: bool,
}

/// One metric family of a file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedFamily {
    /// The family name.
    pub name: String,
    /// Its `# HELP` text, unescaped.
    pub help: Option<String>,
    /// Its `# TYPE` (untyped if none).
    pub kind: Kind,
    /// Its samples, in file order.
    pub samples: Vec<ParsedSample>,
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a float as Go's `strconv.ParseFloat` does for the text format (`NaN`,
/// `+Inf`, `-Inf`, decimal and exponent forms).
fn parse_value(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return s.parse().ok();
    }
    if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    s.parse().ok()
}

/// Splits the text after the metric name into labels and the rest of the line.
/// Label pairs in the order written.
type Labels = Vec<(String, String)>;

fn parse_labels(mut rest: &str, line: usize) -> Result<(Labels, &str), ParseError> {
    let err = |m: &str| ParseError::new(line, m.to_owned());
    let mut labels: Vec<(String, String)> = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| err("unterminated label set"))?;
        let name = &rest[..end];
        if !is_label_name(name) {
            return Err(err(&format!("invalid label name {name:?}")));
        }
        if name == "__name__" {
            return Err(err("label name \"__name__\" is reserved"));
        }
        rest = rest[end..].trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| err(&format!("expected '=' after label name {name:?}")))?;
        rest = rest.trim_start_matches([' ', '\t']);
        rest = rest.strip_prefix('"').ok_or_else(|| {
            err(&format!(
                "expected '\"' to open the value of label {name:?}"
            ))
        })?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let after = loop {
            match chars.next() {
                None => return Err(err(&format!("unterminated value of label {name:?}"))),
                Some((i, '"')) => break i + 1,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    _ => {
                        return Err(err(&format!(
                            "invalid escape in the value of label {name:?}"
                        )));
                    }
                },
                Some((_, c)) => value.push(c),
            }
        };
        rest = &rest[after..];
        if labels.iter().any(|(n, _)| n == name) {
            return Err(err(&format!("duplicate label name {name:?}")));
        }
        labels.push((name.to_owned(), value));
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err(err("expected ',' or '}' after a label value"));
        }
    }
}

fn unescape_help(s: &str, line: usize) -> Result<String, ParseError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                _ => return Err(ParseError::new(line, "invalid escape sequence in HELP")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// The index of the family `name`, created if new.
fn family_of(
    name: &str,
    families: &mut Vec<ParsedFamily>,
    typed: &mut Vec<bool>,
    index: &mut BTreeMap<String, usize>,
) -> usize {
    if let Some(&i) = index.get(name) {
        return i;
    }
    families.push(ParsedFamily {
        name: name.to_owned(),
        help: None,
        kind: Kind::Untyped,
        samples: Vec::new(),
    });
    typed.push(false);
    index.insert(name.to_owned(), families.len() - 1);
    families.len() - 1
}

/// Parses Prometheus text-format (0.0.4) exposition: `# HELP` and `# TYPE` lines,
/// comments, and samples `name{label="value",...} value [timestamp]`. Families appear in
/// the order first seen; a family with no samples is dropped. Errors, as
/// client_golang's parser reports them: bad names or values, a second HELP or TYPE
/// line for a name, a TYPE after the family's samples, duplicate label names, a
/// `quantile` or `le` label that is not a float, a negative histogram count.
pub(crate) fn parse(text: &str) -> Result<Vec<ParsedFamily>, ParseError> {
    let mut families: Vec<ParsedFamily> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut typed: Vec<bool> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim_start_matches([' ', '\t']);
        if l.is_empty() {
            continue;
        }
        if let Some(comment) = l.strip_prefix('#') {
            let comment = comment.trim_start_matches([' ', '\t']);
            let (keyword, rest) = comment.split_once([' ', '\t']).unwrap_or((comment, ""));
            if keyword != "HELP" && keyword != "TYPE" {
                continue;
            }
            let rest = rest.trim_start_matches([' ', '\t']);
            let (name, arg) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
            // A line that ends before the name or the text says nothing (client_golang).
            if name.is_empty() {
                continue;
            }
            if !is_metric_name(name) {
                return Err(ParseError::new(
                    line,
                    format!("invalid metric name {name:?}"),
                ));
            }
            let f = family_of(name, &mut families, &mut typed, &mut index);
            let arg = arg.trim_start_matches([' ', '\t']);
            if arg.is_empty() {
                continue;
            }
            if keyword == "HELP" {
                if families[f].help.is_some() {
                    return Err(ParseError::new(
                        line,
                        format!("second HELP line for metric name {name:?}"),
                    ));
                }
                families[f].help = Some(unescape_help(arg, line)?);
            } else {
                if typed[f] || !families[f].samples.is_empty() {
                    return Err(ParseError::new(
                        line,
                        format!(
                            "second TYPE line for metric name {name:?}, or TYPE reported after samples"
                        ),
                    ));
                }
                families[f].kind = match arg.trim().to_ascii_lowercase().as_str() {
                    "counter" => Kind::Counter,
                    "gauge" => Kind::Gauge,
                    "untyped" => Kind::Untyped,
                    "summary" => Kind::Summary,
                    "histogram" => Kind::Histogram,
                    other => {
                        return Err(ParseError::new(
                            line,
                            format!("unknown metric type {other:?}"),
                        ));
                    }
                };
                typed[f] = true;
            }
            continue;
        }
        // A sample.
        let end = l
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(l.len());
        let name = &l[..end];
        if !is_metric_name(name) {
            return Err(ParseError::new(
                line,
                format!("invalid metric name in {raw:?}"),
            ));
        }
        let mut rest = l[end..].trim_start_matches([' ', '\t']);
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            let (ls, r) = parse_labels(r, line)?;
            labels = ls;
            rest = r;
        }
        let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
        let value_text = fields
            .next()
            .ok_or_else(|| ParseError::new(line, format!("missing value for {name:?}")))?;
        let value = parse_value(value_text).ok_or_else(|| {
            ParseError::new(
                line,
                format!("expected a float as value, got {value_text:?}"),
            )
        })?;
        let timestamp = match fields.next() {
            None => false,
            Some(t) => {
                t.parse::<i64>().map_err(|_| {
                    ParseError::new(line, format!("expected an integer as timestamp, got {t:?}"))
                })?;
                true
            }
        };
        if let Some(extra) = fields.next() {
            return Err(ParseError::new(
                line,
                format!("spurious text {extra:?} after the sample"),
            ));
        }
        // `x_sum`, `x_count`, `x_bucket` belong to a summary or histogram `x`, unless a
        // family of that very name exists.
        let base = ["_sum", "_count", "_bucket"].iter().find_map(|suffix| {
            let base = name.strip_suffix(suffix)?;
            let &f = index.get(base)?;
            let ok = match families[f].kind {
                Kind::Summary => *suffix != "_bucket",
                Kind::Histogram => true,
                _ => false,
            };
            ok.then_some(f)
        });
        let f = match (index.get(name), base) {
            (Some(&f), _) | (None, Some(f)) => f,
            (None, None) => family_of(name, &mut families, &mut typed, &mut index),
        };
        let part = sample_part(&families[f], name, &mut labels, value, line)?;
        families[f].samples.push(ParsedSample {
            name: name.to_owned(),
            labels,
            part,
            value,
            timestamp,
        });
    }
    families.retain(|f| !f.samples.is_empty());
    Ok(families)
}

/// What the sample `name` (with `labels`) is to `family`; takes a summary's `quantile` or
/// a histogram's `le` label out of `labels`. As client_golang's text parser: that label
/// must hold a float, and a histogram's counts must not be negative.
fn sample_part(
    family: &ParsedFamily,
    name: &str,
    labels: &mut Vec<(String, String)>,
    value: f64,
    line: usize,
) -> Result<Part, ParseError> {
    let bound_label = match family.kind {
        Kind::Counter | Kind::Gauge | Kind::Untyped => return Ok(Part::Value),
        Kind::Summary => "quantile",
        Kind::Histogram => "le",
    };
    let mut bound = None;
    if let Some(i) = labels.iter().position(|(n, _)| n == bound_label) {
        let (_, text) = labels.remove(i);
        let b = parse_value(&text).ok_or_else(|| {
            ParseError::new(
                line,
                format!("expected float as value for {bound_label:?} label, got {text:?}"),
            )
        })?;
        bound = Some(b).filter(|b| !b.is_nan());
    }
    let part = match &name[family.name.len()..] {
        "_sum" => Part::Sum,
        "_count" => Part::Count,
        _ => bound.map_or(Part::Bare, Part::Bound),
    };
    if family.kind == Kind::Histogram && value < 0.0 && matches!(part, Part::Count | Part::Bound(_))
    {
        return Err(ParseError::new(
            line,
            format!("negative count for histogram {:?}", family.name),
        ));
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn samples_help_type_and_labels_are_parsed() {
        let text = "# HELP a_total Things \\\\ seen\\nso far.\n# TYPE a_total COUNTER\n\
                    a_total{x=\"1\",y=\"q\\\"\\n\\\\\",} 3 1700000000\n\
                    # a comment\n  \n\
                    b 1e3\nb{z=\"\"} +Inf\nc NaN\n# TYPE empty gauge\n";
        let f = parse(text).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].name, "a_total");
        assert_eq!(f[0].help.as_deref(), Some("Things \\ seen\nso far."));
        assert_eq!(f[0].kind, Kind::Counter);
        let s = &f[0].samples[0];
        assert_eq!(
            s.labels,
            vec![("x".into(), "1".into()), ("y".into(), "q\"\n\\".into())]
        );
        assert_eq!(s.value, 3.0);
        assert!(s.timestamp);
        assert_eq!(f[1].kind, Kind::Untyped);
        assert_eq!(f[1].samples.len(), 2);
        assert_eq!(f[1].samples[1].value, f64::INFINITY);
        assert!(f[2].samples[0].value.is_nan());
    }

    #[test]
    fn summaries_and_histograms_gather_their_suffixed_samples() {
        let text = "# TYPE s summary\ns{quantile=\"0.5\",a=\"x\"} 1\ns_sum{a=\"x\"} 2\ns_count 3\n\
                    # TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\nother_sum 4\n\
                    s_bucket 5\nh_bucket{quantile=\"x\",le=\"1e3\"} 0\n";
        let f = parse(text).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!((f[0].kind, f[0].samples.len()), (Kind::Summary, 3));
        let parts: Vec<Part> = f[0].samples.iter().map(|s| s.part).collect();
        assert_eq!(parts, [Part::Bound(0.5), Part::Sum, Part::Count]);
        assert_eq!(f[0].samples[0].labels, [("a".into(), "x".into())]);
        assert_eq!((f[1].kind, f[1].samples.len()), (Kind::Histogram, 4));
        let parts: Vec<Part> = f[1].samples.iter().map(|s| s.part).collect();
        let inf = Part::Bound(f64::INFINITY);
        assert_eq!(parts, [inf, Part::Sum, Part::Count, Part::Bound(1000.0)]);
        // `quantile` is an ordinary label of a histogram.
        assert_eq!(f[1].samples[3].labels, [("quantile".into(), "x".into())]);
        assert_eq!(f[2].name, "other_sum");
        // A summary has no buckets.
        assert_eq!((f[3].name.as_str(), f[3].kind), ("s_bucket", Kind::Untyped));
    }

    #[test]
    fn summary_and_histogram_lines_without_their_label_only_make_a_series() {
        // client_golang keeps these: the series exists, the value is ignored.
        for text in [
            "# TYPE s summary\ns 1\n",
            "# TYPE s summary\ns{quantile=\"NaN\"} 1\n",
            "# TYPE h histogram\nh 1\n",
            "# TYPE h histogram\nh_bucket 1\n",
        ] {
            let f = parse(text).unwrap();
            assert_eq!(f[0].samples[0].part, Part::Bare, "{text:?}");
        }
        // A family of the very name wins over the summary's `_sum`.
        let f = parse("x_sum 1\n# TYPE x summary\nx_sum 2\n").unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].name.as_str(), f[0].samples.len()), ("x_sum", 2));
    }

    #[test]
    fn empty_help_and_type_lines_say_nothing() {
        let f = parse("# HELP\n# TYPE \n# HELP a \n# TYPE a\n# HELP b \t spaced  out\na 1\nb 2\n")
            .unwrap();
        assert_eq!((f[0].help.as_deref(), f[0].kind), (None, Kind::Untyped));
        assert_eq!(f[1].help.as_deref(), Some("spaced  out"));
        // So a later HELP or TYPE line is no second one.
        let f = parse("# HELP a \n# HELP a real\n# TYPE a\n# TYPE a gauge\na 1\n").unwrap();
        assert_eq!(
            (f[0].help.as_deref(), f[0].kind),
            (Some("real"), Kind::Gauge)
        );
    }

    #[test]
    fn malformed_input_is_an_error_with_its_line() {
        for (text, line) in [
            ("ok 1\n1bad 2\n", 2),
            ("a{x=\"1\" 2\n", 1),
            ("a{x=\"1\"\n", 1),
            ("a{x=1} 2\n", 1),
            ("a{x=\"1\",x=\"2\"} 2\n", 1),
            ("a{x=\"\\t\"} 2\n", 1),
            ("a{__name__=\"b\"} 2\n", 1),
            ("a\n", 1),
            ("a abc\n", 1),
            ("a 1 2 3\n", 1),
            ("a 1 1.5\n", 1),
            ("\n\na 1\n# TYPE a gauge\n", 4),
            ("# TYPE a gauge\n# TYPE a counter\n", 2),
            ("# HELP a x\n# HELP a y\n", 2),
            ("# TYPE a bogus\n", 1),
            ("# HELP 9a x\n", 1),
            ("# HELP a bad \\escape\n", 1),
            ("# TYPE s summary\ns{quantile=\"x\"} 1\n", 2),
            ("# TYPE s summary\ns_sum{quantile=\"\"} 1\n", 2),
            ("# TYPE h histogram\nh_bucket{le=\"1_000\"} 1\n", 2),
            (
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} -1\n",
                3,
            ),
            ("# TYPE h histogram\nh_count -2\n", 2),
            ("a{x=\"1\"", 1),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
        }
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("# just a comment\n#\n").unwrap(), vec![]);
    }

    #[test]
    fn paths_are_cleaned_like_go_and_globs_match() {
        assert_eq!(join_clean("a/b/", "c.prom"), "a/b/c.prom");
        assert_eq!(join_clean("./a//b/../c", "d"), "a/c/d");
        assert_eq!(join_clean("/x/", "y"), "/x/y");
        assert!(glob_match("*.prom", "a.prom"));
        assert!(!glob_match("*.prom", "a.txt"));
        assert!(glob_match("d[0-9]?", "d1x"));
        assert!(!glob_match("d[^0-9]", "d1"));
        assert!(glob_match("d[^0-9]", "dx"));
    }

    fn scrape(dirs: Vec<String>) -> String {
        let mut c = build(&Options {
            textfile_directories: dirs,
            ..Options::default()
        })
        .unwrap();
        let mut s = testing::update(&mut *c, &Context::default()).unwrap();
        s.retain(|f| f.name != "node_textfile_mtime_seconds");
        testing::render(&mut s)
    }

    #[test]
    fn files_are_merged_and_bad_files_only_set_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("a.prom"),
            "# HELP m Help.\n# TYPE m gauge\nm{x=\"1\"} 1\nm{y=\"2\"} 2\nu 5\n",
        )
        .unwrap();
        std::fs::write(
            d.join("b.prom"),
            "# HELP m Help.\n# TYPE m gauge\nm{x=\"3\"} 3\nu{f=\"b\"} 6\n",
        )
        .unwrap();
        std::fs::write(d.join("ignored.txt"), "garbage").unwrap();
        let good = scrape(vec![d.display().to_string()]);
        let a = format!("{}/a.prom", d.display());
        let b = format!("{}/b.prom", d.display());
        assert_eq!(
            good,
            format!(
                // client_golang sorts series with fewer labels first (b.prom's m has
                // one label; a.prom's were filled to two).
                "# HELP m Help.\n# TYPE m gauge\nm{{x=\"3\"}} 3\nm{{x=\"\",y=\"2\"}} 2\nm{{x=\"1\",y=\"\"}} 1\n\
                 # HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n\
                 # TYPE node_textfile_scrape_error gauge\nnode_textfile_scrape_error 0\n\
                 # HELP u Metric read from {a}, {b}\n# TYPE u untyped\nu 5\nu{{f=\"b\"}} 6\n"
            )
        );
        std::fs::write(d.join("c.prom"), "bad line here\n").unwrap();
        std::fs::write(d.join("d.prom"), "t 1 123\n").unwrap();
        let with_bad = scrape(vec![d.display().to_string()]);
        assert!(
            with_bad.contains("node_textfile_scrape_error 1"),
            "{with_bad}"
        );
        assert!(!with_bad.contains("\nt "), "{with_bad}");
        assert!(with_bad.contains("u{f=\"b\"} 6"), "{with_bad}");
        // A missing directory is an error; no directory at all is not.
        assert!(scrape(vec![d.join("nope").display().to_string()]).contains("error 1"));
        assert!(scrape(vec![]).contains("error 0"));
        // Globs select directories.
        let pattern = format!("{}/*", dir.path().parent().unwrap().display());
        assert!(!glob(&pattern).is_empty());
    }

    /// Runs the collector over `dir` on a thread of its own and returns the text and the
    /// problems it reported; a scrape that has not completed after 10 s (it hangs) fails
    /// the test instead of hanging it.
    fn scrape_with_problems(dir: &Path) -> (String, Vec<String>) {
        let dirs = vec![dir.display().to_string()];
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut c = build(&Options {
                textfile_directories: dirs,
                ..Options::default()
            })
            .unwrap();
            let text = testing::text(&mut *c, &Context::default()).unwrap();
            let mut problems = Vec::new();
            c.warnings(&mut problems);
            let _ = tx.send((text, problems.iter().map(ToString::to_string).collect()));
        });
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the textfile scrape did not complete")
    }

    #[test]
    fn fifos_devices_and_oversized_files_are_left_out_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("good.prom"), "# TYPE g gauge\ng 1\n").unwrap();
        // A FIFO without a writer: opening it to read would wait forever.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            d.join("fifo.prom"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        // Endless: reading it whole would fill memory.
        std::os::unix::fs::symlink("/dev/zero", d.join("zero.prom")).unwrap();
        // A regular file one byte over the cap (sparse: no disk used).
        std::fs::File::create(d.join("huge.prom"))
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        // A link to a regular file is read, as upstream does.
        std::os::unix::fs::symlink(d.join("good.prom.txt"), d.join("linked.prom")).unwrap();
        std::fs::write(d.join("good.prom.txt"), "# TYPE l gauge\nl 2\n").unwrap();

        let (text, problems) = scrape_with_problems(d);
        let file = |name: &str| format!("{}/{name}", d.display());
        assert!(
            text.contains("\ng 1\n") && text.contains("\nl 2\n"),
            "{text}"
        );
        assert!(text.contains("node_textfile_scrape_error 1"), "{text}");
        for good in ["good.prom", "linked.prom"] {
            let mtime = format!("node_textfile_mtime_seconds{{file=\"{}\"}}", file(good));
            assert!(text.contains(&mtime), "{text}");
        }
        for bad in ["fifo.prom", "zero.prom", "huge.prom"] {
            assert!(!text.contains(&file(bad)), "{text}");
        }
        assert_eq!(problems.len(), 3, "{problems:?}");
        for (bad, why) in [
            ("fifo.prom", "not a regular file"),
            ("huge.prom", "larger than 16777216 bytes"),
            ("zero.prom", "not a regular file"),
        ] {
            assert!(
                problems
                    .iter()
                    .any(|p| p.contains(&file(bad)) && p.contains(why)),
                "{bad}: {problems:?}"
            );
        }
        // Without the bad files: no error, nothing reported.
        for bad in ["fifo.prom", "zero.prom", "huge.prom"] {
            std::fs::remove_file(d.join(bad)).unwrap();
        }
        let (text, problems) = scrape_with_problems(d);
        assert!(text.contains("node_textfile_scrape_error 0"), "{text}");
        assert_eq!(problems, Vec::<String>::new());
    }

    const SCRAPE_OK: &str = "# HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n\
                             # TYPE node_textfile_scrape_error gauge\nnode_textfile_scrape_error 0\n";

    // node_exporter's fixture collector/fixtures/textfile/summary_extra_dimension/ and
    // its expected output (the mtime lines left out).
    const SUMMARY_EXTRA_DIMENSION: &str = r#"# HELP prometheus_rule_evaluation_duration_seconds The duration for a rule to execute.
# TYPE prometheus_rule_evaluation_duration_seconds summary
prometheus_rule_evaluation_duration_seconds{rule_type="alerting",quantile="0.5", handler="foo"} 0.000571464
prometheus_rule_evaluation_duration_seconds{rule_type="alerting",quantile="0.9"} 0.001765451
prometheus_rule_evaluation_duration_seconds{rule_type="alerting",quantile="0.99"} 0.018672076
prometheus_rule_evaluation_duration_seconds_sum{rule_type="alerting"} 214.85081044700146
prometheus_rule_evaluation_duration_seconds_count{rule_type="alerting"} 185209
prometheus_rule_evaluation_duration_seconds{rule_type="recording",quantile="0.5"} 4.3132e-05
prometheus_rule_evaluation_duration_seconds{rule_type="recording",quantile="0.9"} 8.9295e-05
prometheus_rule_evaluation_duration_seconds{rule_type="recording",quantile="0.99"} 0.000193657
prometheus_rule_evaluation_duration_seconds_sum{rule_type="recording"} 185091.01317759082
prometheus_rule_evaluation_duration_seconds_count{rule_type="recording"} 1.0020195e+08
"#;
    const SUMMARY_EXTRA_DIMENSION_OUT: &str = r#"# HELP prometheus_rule_evaluation_duration_seconds The duration for a rule to execute.
# TYPE prometheus_rule_evaluation_duration_seconds summary
prometheus_rule_evaluation_duration_seconds{handler="",rule_type="alerting",quantile="0.9"} 0.001765451
prometheus_rule_evaluation_duration_seconds{handler="",rule_type="alerting",quantile="0.99"} 0.018672076
prometheus_rule_evaluation_duration_seconds_sum{handler="",rule_type="alerting"} 214.85081044700146
prometheus_rule_evaluation_duration_seconds_count{handler="",rule_type="alerting"} 185209
prometheus_rule_evaluation_duration_seconds{handler="",rule_type="recording",quantile="0.5"} 4.3132e-05
prometheus_rule_evaluation_duration_seconds{handler="",rule_type="recording",quantile="0.9"} 8.9295e-05
prometheus_rule_evaluation_duration_seconds{handler="",rule_type="recording",quantile="0.99"} 0.000193657
prometheus_rule_evaluation_duration_seconds_sum{handler="",rule_type="recording"} 185091.01317759082
prometheus_rule_evaluation_duration_seconds_count{handler="",rule_type="recording"} 1.0020195e+08
prometheus_rule_evaluation_duration_seconds{handler="foo",rule_type="alerting",quantile="0.5"} 0.000571464
prometheus_rule_evaluation_duration_seconds_sum{handler="foo",rule_type="alerting"} 0
prometheus_rule_evaluation_duration_seconds_count{handler="foo",rule_type="alerting"} 0
"#;

    // From collector/fixtures/textfile/histogram_extra_dimension/ (some buckets left
    // out); upstream's expected output is the input, in this order.
    const HISTOGRAM_EXTRA_DIMENSION: &str = r#"# HELP prometheus_tsdb_compaction_chunk_range Final time range of chunks on their first compaction
# TYPE prometheus_tsdb_compaction_chunk_range histogram
prometheus_tsdb_compaction_chunk_range_bucket{foo="bar",le="100"} 0
prometheus_tsdb_compaction_chunk_range_bucket{foo="bar",le="25600"} 7
prometheus_tsdb_compaction_chunk_range_bucket{foo="bar",le="409600"} 1.412839e+06
prometheus_tsdb_compaction_chunk_range_bucket{foo="bar",le="1.6384e+06"} 1.69185e+06
prometheus_tsdb_compaction_chunk_range_bucket{foo="bar",le="+Inf"} 1.691853e+06
prometheus_tsdb_compaction_chunk_range_sum{foo="bar"} 6.71393432189e+11
prometheus_tsdb_compaction_chunk_range_count{foo="bar"} 1.691853e+06
prometheus_tsdb_compaction_chunk_range_bucket{foo="baz",le="100"} 0
prometheus_tsdb_compaction_chunk_range_bucket{foo="baz",le="25600"} 7
prometheus_tsdb_compaction_chunk_range_bucket{foo="baz",le="409600"} 1.412839e+06
prometheus_tsdb_compaction_chunk_range_bucket{foo="baz",le="1.6384e+06"} 1.69185e+06
prometheus_tsdb_compaction_chunk_range_bucket{foo="baz",le="+Inf"} 1.691853e+06
prometheus_tsdb_compaction_chunk_range_sum{foo="baz"} 6.71393432189e+11
prometheus_tsdb_compaction_chunk_range_count{foo="baz"} 1.691853e+06
"#;

    /// Writes `files` (name, text) into a new directory under `parent`.
    fn write_dir(parent: &Path, dir: &str, files: &[(&str, &str)]) -> String {
        let d = parent.join(dir);
        std::fs::create_dir(&d).unwrap();
        for (name, text) in files {
            std::fs::write(d.join(name), text).unwrap();
        }
        d.display().to_string()
    }

    #[test]
    fn summaries_and_histograms_are_exported_as_node_exporter_does() {
        let tmp = tempfile::tempdir().unwrap();
        let summary = write_dir(
            tmp.path(),
            "summary_extra_dimension",
            &[("metrics.prom", SUMMARY_EXTRA_DIMENSION)],
        );
        assert_eq!(
            scrape(vec![summary]),
            format!("{SCRAPE_OK}{SUMMARY_EXTRA_DIMENSION_OUT}")
        );
        let histogram = write_dir(
            tmp.path(),
            "histogram_extra_dimension",
            &[("metrics.prom", HISTOGRAM_EXTRA_DIMENSION)],
        );
        assert_eq!(
            scrape(vec![histogram]),
            format!("{SCRAPE_OK}{HISTOGRAM_EXTRA_DIMENSION}")
        );
        // Upstream's glob_extra_dimension: both directories through one pattern.
        let pattern = format!("{}/*_extra_dimension", tmp.path().display());
        assert_eq!(
            scrape(vec![pattern]),
            format!("{SCRAPE_OK}{SUMMARY_EXTRA_DIMENSION_OUT}{HISTOGRAM_EXTRA_DIMENSION}")
        );
    }

    #[test]
    fn summary_lines_in_any_order_and_histograms_without_inf_are_normalised() {
        // From collector/fixtures/textfile/different_metric_types/ (shortened), shuffled:
        // quantiles sorted, `_sum`/`_count` after them, float formatting as Go's.
        let tmp = tempfile::tempdir().unwrap();
        let text = "# TYPE events_total counter\nevents_total{foo=\"bar\"} 10\n\
            # HELP event_duration_seconds_total Query timings\n\
            # TYPE event_duration_seconds_total summary\n\
            event_duration_seconds_total_count{baz=\"inner_eval\"} 1.492355615e+09\n\
            event_duration_seconds_total{baz=\"inner_eval\",quantile=\"0.99\"} 4.35e-06\n\
            event_duration_seconds_total{quantile=\"0.50\",baz=\"inner_eval\"} 1.073e-06\n\
            event_duration_seconds_total_sum{baz=\"inner_eval\"} 1.8652166505091474e+06\n\
            event_duration_seconds_total_sum{baz=\"prepare_time\"} 840923.7919437207\n\
            event_duration_seconds_total_count{baz=\"prepare_time\"} 2.7\n\
            # TYPE h histogram\nh_bucket{le=\"10\"} 2\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"10\"} 3\n\
            h_count 4\nh_sum 7.5\n\
            # TYPE e histogram\ne_bucket 1\n";
        let dir = write_dir(tmp.path(), "d", &[("m.prom", text)]);
        let help = format!("Metric read from {dir}/m.prom");
        assert_eq!(
            scrape(vec![dir]),
            format!(
                "# HELP e {help}\n# TYPE e histogram\ne_bucket{{le=\"+Inf\"}} 0\ne_sum 0\ne_count 0\n\
                 # HELP event_duration_seconds_total Query timings\n\
                 # TYPE event_duration_seconds_total summary\n\
                 event_duration_seconds_total{{baz=\"inner_eval\",quantile=\"0.5\"}} 1.073e-06\n\
                 event_duration_seconds_total{{baz=\"inner_eval\",quantile=\"0.99\"}} 4.35e-06\n\
                 event_duration_seconds_total_sum{{baz=\"inner_eval\"}} 1.8652166505091474e+06\n\
                 event_duration_seconds_total_count{{baz=\"inner_eval\"}} 1.492355615e+09\n\
                 event_duration_seconds_total_sum{{baz=\"prepare_time\"}} 840923.7919437207\n\
                 event_duration_seconds_total_count{{baz=\"prepare_time\"}} 2\n\
                 # HELP events_total {help}\n# TYPE events_total counter\nevents_total{{foo=\"bar\"}} 10\n\
                 # HELP h {help}\n# TYPE h histogram\n\
                 h_bucket{{le=\"0.5\"}} 1\nh_bucket{{le=\"10\"}} 3\nh_bucket{{le=\"+Inf\"}} 4\nh_sum 7.5\nh_count 4\n\
                 {SCRAPE_OK}"
            )
        );
    }

    #[test]
    fn families_that_clash_across_files_are_left_out_like_upstream() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_dir(
            tmp.path(),
            "d",
            &[
                (
                    "a.prom",
                    "# HELP s S.\n# TYPE s summary\ns_sum 1\n# TYPE h histogram\nh_sum 1\n\
                     # HELP g G.\ng{x=\"1\"} 1\nn 1\n# HELP c First.\nc 1\n# HELP e \ne 1\n",
                ),
                // A summary's sample name, another type, a duplicate series (`n 1` and
                // `n{y=""}` differ for client_golang), HELP given where the first had
                // none (the registry refuses all these silently), and a family with the
                // name of the histogram's bucket.
                (
                    "b.prom",
                    "# HELP s S.\ns 2\ns_count 3\nh_bucket 4\n# HELP g G.\n# TYPE g gauge\ng 5\n\
                     n 6\nn{y=\"\"} 7\n# HELP e Now some help.\ne 8\n",
                ),
                // A HELP conflict: left out, and after it also the same HELP again.
                ("c.prom", "# HELP c Second.\nc 9\n"),
                ("d.prom", "# HELP c First.\nc 10\n"),
            ],
        );
        let help = |name: &str| format!("Metric read from {dir}/{name}");
        let (a, b) = (help("a.prom"), help("a.prom, ") + &format!("{dir}/b.prom"));
        let got = scrape(vec![dir.clone()]);
        assert_eq!(
            got,
            format!(
                "# HELP c First.\n# TYPE c untyped\nc 1\n\
                 # HELP e {b}\n# TYPE e untyped\ne 1\n\
                 # HELP g G.\n# TYPE g untyped\ng{{x=\"1\"}} 1\n\
                 # HELP h {a}\n# TYPE h histogram\nh_bucket{{le=\"+Inf\"}} 0\nh_sum 1\nh_count 0\n\
                 # HELP n {b}\n# TYPE n untyped\nn 1\nn{{y=\"\"}} 6\n\
                 # HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n\
                 # TYPE node_textfile_scrape_error gauge\nnode_textfile_scrape_error 1\n\
                 # HELP s S.\n# TYPE s summary\ns_sum 1\ns_count 0\n"
            )
        );
    }
}
