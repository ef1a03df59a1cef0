//! The `textfile` collector: metrics from `*.prom` files in the
//! `--collector.textfile.directory` directories (read at scrape time, as node_exporter
//! does), `node_textfile_mtime_seconds{file}` for each file read, and
//! `node_textfile_scrape_error` (1 when a directory or file could not be read or
//! parsed; such a file is left out, the scrape goes on). Includes a sans-IO parser of the
//! Prometheus text format ([`parse`]).
//!
//! Counter, gauge and untyped families are exported with their own `# HELP` (or
//! node_exporter's `Metric read from <files>`) and labels; a series lacking a label
//! other series of its family have gets it with an empty value, as upstream does.
//! Summary and histogram families are parsed but not exported (the exposition writer
//! has no such types): they set `node_textfile_scrape_error`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::{MetricType, Name, Scrape};

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
    }))
}

struct TextFileCollector {
    patterns: Vec<String>,
}

/// The families of all files, merged by name.
#[derive(Default)]
struct Merged {
    help: Option<String>,
    kind: Option<MetricType>,
    files: Vec<String>,
    series: Vec<(Vec<(Name, String)>, f64)>,
}

impl Collector for TextFileCollector {
    fn update(&mut self, _ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let mut errored = false;
        let mut merged: BTreeMap<String, Merged> = BTreeMap::new();
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
                Err(_) => {
                    errored |= !dir.as_os_str().is_empty();
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
                        errored |= add_families(&mut merged, families, &display);
                        mtimes.insert(display, mtime);
                    }
                    Err(_) => errored = true,
                }
            }
        }

        for (name, fam) in merged {
            let Some(kind) = fam.kind else { continue };
            let help = fam
                .help
                .unwrap_or_else(|| format!("Metric read from {}", fam.files.join(", ")));
            for (labels, value) in fam.series {
                out.add(name.clone(), help.clone(), kind, labels, value);
            }
        }
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
            if errored { 1.0 } else { 0.0 },
        );
        Ok(())
    }
}

/// Reads and parses one file; a file with timestamps is refused, as upstream does.
fn read_file(path: &Path) -> Result<(Vec<ParsedFamily>, f64), Error> {
    let text = crate::source::read_to_string(path)?;
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
    let meta = std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs() as f64);
    Ok((families, mtime))
}

/// Adds one file's families; returns whether something was wrong (a HELP text that
/// differs from another file's, a summary or histogram).
fn add_families(
    merged: &mut BTreeMap<String, Merged>,
    families: Vec<ParsedFamily>,
    file: &str,
) -> bool {
    let mut errored = false;
    for f in families {
        let entry = merged.entry(f.name).or_default();
        if let (Some(old), Some(new)) = (&entry.help, &f.help)
            && old != new
        {
            errored = true;
            continue;
        }
        let kind = match f.kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge => MetricType::Gauge,
            Kind::Untyped => MetricType::Untyped,
            Kind::Summary | Kind::Histogram => {
                errored = true;
                continue;
            }
        };
        if entry.help.is_none() {
            entry.help = f.help;
        }
        entry.kind.get_or_insert(kind);
        entry.files.push(file.to_owned());
        // Every series gets every label name used in the family (empty if absent).
        let mut all: Vec<&str> = Vec::new();
        for s in &f.samples {
            for (k, _) in &s.labels {
                if !all.contains(&k.as_str()) {
                    all.push(k);
                }
            }
        }
        for s in &f.samples {
            let mut labels: Vec<(Name, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (Name::Owned(k.clone()), v.clone()))
                .collect();
            for k in &all {
                if !s.labels.iter().any(|(n, _)| n == k) {
                    labels.push((Name::Owned((*k).to_owned()), String::new()));
                }
            }
            entry.series.push((labels, s.value));
        }
    }
    errored
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

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedSample {
    /// The sample's own name (`x_sum` for a summary `x`).
    pub name: String,
    /// Label pairs, in the order written.
    pub labels: Vec<(String, String)>,
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
/// line for a name, a TYPE after the family's samples, duplicate label names.
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
            if !is_metric_name(name) {
                return Err(ParseError::new(
                    line,
                    format!("invalid metric name {name:?}"),
                ));
            }
            let f = family_of(name, &mut families, &mut typed, &mut index);
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
        // `x_sum`, `x_count`, `x_bucket` belong to a summary or histogram `x`.
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
        let f = match base {
            Some(f) => f,
            None => family_of(name, &mut families, &mut typed, &mut index),
        };
        let kind = families[f].kind;
        let is_base = families[f].name == name;
        if is_base && kind == Kind::Summary && !labels.iter().any(|(n, _)| n == "quantile") {
            return Err(ParseError::new(
                line,
                format!("summary {name:?} sample without a quantile label"),
            ));
        }
        if kind == Kind::Histogram && is_base {
            return Err(ParseError::new(
                line,
                format!("histogram {name:?} sample without a _bucket, _sum or _count suffix"),
            ));
        }
        if kind == Kind::Histogram
            && name.ends_with("_bucket")
            && !labels.iter().any(|(n, _)| n == "le")
        {
            return Err(ParseError::new(
                line,
                format!("histogram bucket {name:?} without an le label"),
            ));
        }
        families[f].samples.push(ParsedSample {
            name: name.to_owned(),
            labels,
            value,
            timestamp,
        });
    }
    families.retain(|f| !f.samples.is_empty());
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let text = "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n\
                    # TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\nother_sum 4\n";
        let f = parse(text).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!((f[0].kind, f[0].samples.len()), (Kind::Summary, 3));
        assert_eq!((f[1].kind, f[1].samples.len()), (Kind::Histogram, 3));
        assert_eq!(f[2].name, "other_sum");
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
            ("# TYPE s summary\ns 1\n", 2),
            ("# TYPE h histogram\nh 1\n", 2),
            ("# TYPE h histogram\nh_bucket 1\n", 2),
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
        let mut s = Scrape::new();
        c.update(&Context::default(), &mut s).unwrap();
        s.retain(|f| f.name != "node_textfile_mtime_seconds");
        let mut out = String::new();
        s.render(&mut out);
        out
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
        std::fs::write(d.join("b.prom"), "m{x=\"3\"} 3\nu 6\n").unwrap();
        std::fs::write(d.join("ignored.txt"), "garbage").unwrap();
        let good = scrape(vec![d.display().to_string()]);
        let a = format!("{}/a.prom", d.display());
        let b = format!("{}/b.prom", d.display());
        assert_eq!(
            good,
            format!(
                "# HELP m Help.\n# TYPE m gauge\nm{{x=\"\",y=\"2\"}} 2\nm{{x=\"1\",y=\"\"}} 1\nm{{x=\"3\"}} 3\n\
                 # HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n\
                 # TYPE node_textfile_scrape_error gauge\nnode_textfile_scrape_error 0\n\
                 # HELP u Metric read from {a}, {b}\n# TYPE u untyped\nu 5\nu 6\n"
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
        assert!(with_bad.contains("u 6"), "{with_bad}");
        // A missing directory is an error; no directory at all is not.
        assert!(scrape(vec![d.join("nope").display().to_string()]).contains("error 1"));
        assert!(scrape(vec![]).contains("error 0"));
        // Globs select directories.
        let pattern = format!("{}/*", dir.path().parent().unwrap().display());
        assert!(!glob(&pattern).is_empty());
    }
}
