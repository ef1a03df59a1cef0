//! The Prometheus text exposition format (0.0.4), written the way client_golang writes
//! it, so output compares line for line with node_exporter's: families sorted by name,
//! series sorted by label values (labels in name order), `# HELP` and `# TYPE` lines,
//! and Go's shortest float formatting (`8e+09`, `2.70553174016e+11`, `118821.284256`).
//! Summaries and histograms ([`Distribution`]) are written as client_golang flattens
//! them: quantile or `_bucket` lines, then `_sum` and `_count`.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Only goes up (resets on restart).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Type not known (textfile metrics without a `# TYPE`).
    Untyped,
    /// Quantiles, sum and count ([`Distribution`]s; textfile metrics).
    Summary,
    /// Cumulative buckets, sum and count ([`Distribution`]s; textfile metrics).
    Histogram,
}

impl MetricType {
    /// The word in the `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Untyped => "untyped",
            MetricType::Summary => "summary",
            MetricType::Histogram => "histogram",
        }
    }
}

/// A label name: static for nearly every collector, owned for textfile metrics.
pub type Name = Cow<'static, str>;

/// One series: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Label pairs, in any order (sorted by name when written).
    pub labels: Vec<(Name, String)>,
    /// The value.
    pub value: f64,
}

/// One summary or histogram series: its labels, `_sum`, `_count`, and its quantiles
/// (summary) or cumulative buckets (histogram).
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// Label pairs without `quantile` or `le`, in any order (sorted by name when
    /// written).
    pub labels: Vec<(Name, String)>,
    /// `(quantile, value)` for a summary, `(upper bound, cumulative count)` for a
    /// histogram, in any order (sorted by the first when written). A histogram without a
    /// `+Inf` bucket gets one holding `count` when written.
    pub points: Vec<(f64, f64)>,
    /// The sum of the observations (`_sum`).
    pub sum: f64,
    /// The number of observations (`_count`).
    pub count: f64,
}

/// A metric family: name, help, type and series.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The metric name.
    pub name: Name,
    /// The `# HELP` text.
    pub help: Name,
    /// The type.
    pub kind: MetricType,
    /// The series (counter, gauge, untyped).
    pub series: Vec<Series>,
    /// The series of a summary or histogram family (then `series` is empty).
    pub distributions: Vec<Distribution>,
}

/// Everything one scrape gathered: families in the order first added, found by name
/// through an index (rendered sorted by name).
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    families: Vec<Family>,
    index: Index,
    memo: Memo,
    /// Label vectors (with their value strings) of the series [`Scrape::clear`] removed,
    /// refilled by later series instead of allocating anew.
    spare: Vec<Vec<(Name, String)>>,
    /// The families' indices sorted by name, as of the last render (families are only
    /// ever appended, so it stays valid while their number does).
    order: Vec<u32>,
}

/// Files parsed once per scrape for every collector that reads them (`/proc/stat` for
/// the cpu and stat collectors), by path. Emptied by [`Scrape::clear`].
#[derive(Clone, Default)]
struct Memo(Vec<(PathBuf, Arc<dyn Any + Send + Sync>)>);

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(p, _)| p))
            .finish()
    }
}

/// Where each family sits in [`Scrape::families`]. Nearly every name is a `&'static
/// str`: those are found by their address first (an integer hash), the text compared
/// only the first time an address is seen. Owned names (textfile metrics) go by text.
#[derive(Debug, Clone, Default)]
struct Index {
    by_address: HashMap<(usize, usize), u32, BuildHasherDefault<AddressHasher>>,
    by_name: HashMap<Name, u32, BuildHasherDefault<NameHasher>>,
}

impl Index {
    fn find(&mut self, name: &Name) -> Option<usize> {
        if let Cow::Borrowed(s) = name {
            let key = (s.as_ptr() as usize, s.len());
            if let Some(&i) = self.by_address.get(&key) {
                return Some(i as usize);
            }
            let i = *self.by_name.get(name)?;
            // A static name's text never changes or goes away: safe to key by address.
            self.by_address.insert(key, i);
            return Some(i as usize);
        }
        self.by_name.get(name).map(|&i| i as usize)
    }

    fn insert(&mut self, name: &Name, i: usize) {
        if let Cow::Borrowed(s) = name {
            self.by_address
                .insert((s.as_ptr() as usize, s.len()), i as u32);
        }
        self.by_name.insert(name.clone(), i as u32);
    }
}

/// Hashes a (address, length) key: addresses are distinct and aligned enough that a
/// multiply spreads them well.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// FNV-1a over a metric name: short ASCII keys from our own code and the operator's
/// textfiles, where SipHash's flood resistance buys nothing.
struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl PartialEq for Scrape {
    /// The same families with the same series, whatever order they were added in.
    fn eq(&self, other: &Self) -> bool {
        self.live().count() == other.live().count()
            && self.live().all(|f| other.family(&f.name) == Some(f))
    }
}

/// Where a scrape stood, to undo what was added since ([`Scrape::rollback`]).
#[derive(Debug)]
pub(crate) struct Checkpoint {
    /// Series and distributions of each family that existed.
    lengths: Vec<(u32, u32)>,
}

impl Family {
    fn is_empty(&self) -> bool {
        self.series.is_empty() && self.distributions.is_empty()
    }
}

impl Scrape {
    /// An empty scrape.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties every family but keeps the families, their index and their buffers, so
    /// that a scrape object reused from one scrape to the next finds each family by an
    /// integer lookup and allocates no index. Families left without series are not
    /// written and not listed.
    pub fn clear(&mut self) {
        for f in &mut self.families {
            self.spare.extend(
                f.series
                    .drain(..)
                    .map(|s| s.labels)
                    .filter(|l| l.capacity() > 0),
            );
            f.distributions.clear();
        }
        self.memo.0.clear();
    }

    /// `labels` as owned pairs, in a recycled vector when there is one.
    pub(crate) fn labels(&mut self, labels: &[(&'static str, &str)]) -> Vec<(Name, String)> {
        if labels.is_empty() {
            return Vec::new();
        }
        let Some(mut v) = self.spare.pop() else {
            return own(labels);
        };
        v.truncate(labels.len());
        for (i, (k, value)) in labels.iter().enumerate() {
            match v.get_mut(i) {
                Some(slot) => {
                    slot.0 = Cow::Borrowed(k);
                    slot.1.clear();
                    slot.1.push_str(value);
                }
                None => v.push((Cow::Borrowed(k), (*value).to_owned())),
            }
        }
        v
    }

    /// `path` parsed by `read`, once per scrape: the first collector to ask reads it,
    /// later ones in the same scrape get the same value (and see the same snapshot).
    pub(crate) fn memo<T: Any + Send + Sync>(
        &mut self,
        path: &Path,
        read: impl FnOnce() -> Result<T, crate::error::Error>,
    ) -> Result<Arc<T>, crate::error::Error> {
        if let Some(v) = self
            .memo
            .0
            .iter()
            .find(|(p, _)| p == path)
            .and_then(|(_, v)| v.clone().downcast::<T>().ok())
        {
            return Ok(v);
        }
        let v = Arc::new(read()?);
        self.memo.0.push((path.to_owned(), v.clone()));
        Ok(v)
    }

    /// Marks where the scrape stands.
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            lengths: self
                .families
                .iter()
                .map(|f| (f.series.len() as u32, f.distributions.len() as u32))
                .collect(),
        }
    }

    /// Removes every series added since `checkpoint` (families created since stay,
    /// empty, for the next scrape to reuse).
    pub(crate) fn rollback(&mut self, checkpoint: &Checkpoint) {
        for (i, f) in self.families.iter_mut().enumerate() {
            let (series, distributions) = checkpoint.lengths.get(i).copied().unwrap_or((0, 0));
            f.series.truncate(series as usize);
            f.distributions.truncate(distributions as usize);
        }
    }

    /// The families with at least one series.
    fn live(&self) -> impl Iterator<Item = &Family> {
        self.families.iter().filter(|f| !f.is_empty())
    }

    /// The family `name`, created with `help` and `kind` if it is new.
    fn family_mut(&mut self, name: Name, help: impl Into<Name>, kind: MetricType) -> &mut Family {
        let i = match self.index.find(&name) {
            Some(i) => i,
            None => {
                let i = self.families.len();
                self.index.insert(&name, i);
                self.families.push(Family {
                    name,
                    help: help.into(),
                    kind,
                    series: Vec::new(),
                    distributions: Vec::new(),
                });
                i
            }
        };
        &mut self.families[i]
    }

    /// Adds one series of a counter, gauge or untyped family (summaries and histograms
    /// go through [`Scrape::add_distribution`]). The first call for a name fixes the
    /// family's help and type.
    pub fn add(
        &mut self,
        name: impl Into<Name>,
        help: impl Into<Name>,
        kind: MetricType,
        labels: Vec<(Name, String)>,
        value: f64,
    ) {
        self.family_mut(name.into(), help, kind)
            .series
            .push(Series { labels, value });
    }

    /// Adds one series of a summary or histogram family (`kind` says which). The first
    /// call for a name fixes the family's help and type.
    pub fn add_distribution(
        &mut self,
        name: impl Into<Name>,
        help: impl Into<Name>,
        kind: MetricType,
        distribution: Distribution,
    ) {
        debug_assert!(matches!(kind, MetricType::Summary | MetricType::Histogram));
        self.family_mut(name.into(), help, kind)
            .distributions
            .push(distribution);
    }

    /// Adds a gauge series with static label names.
    pub fn gauge(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        let labels = self.labels(labels);
        self.add(name, help, MetricType::Gauge, labels, value);
    }

    /// Adds a counter series with static label names.
    pub fn counter(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        let labels = self.labels(labels);
        self.add(name, help, MetricType::Counter, labels, value);
    }

    /// The family with this name, if any series was added.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.live().find(|f| f.name == name)
    }

    /// The families, sorted by name.
    pub fn families(&self) -> impl Iterator<Item = &Family> {
        let mut sorted: Vec<&Family> = self.live().collect();
        sorted.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        sorted.into_iter()
    }

    /// Removes families for which `keep` is false.
    pub fn retain(&mut self, mut keep: impl FnMut(&Family) -> bool) {
        self.families.retain(|f| !f.is_empty() && keep(f));
        self.order.clear();
        self.index = Index::default();
        for i in 0..self.families.len() {
            let name = self.families[i].name.clone();
            self.index.insert(&name, i);
        }
    }

    /// Moves every family of `other` into this scrape (series of a family already here
    /// are appended).
    pub fn merge(&mut self, other: Scrape) {
        if self.families.is_empty() {
            *self = other;
            return;
        }
        for mut family in other.families.into_iter().filter(|f| !f.is_empty()) {
            match self.index.find(&family.name) {
                Some(i) => {
                    let f = &mut self.families[i];
                    f.series.append(&mut family.series);
                    f.distributions.append(&mut family.distributions);
                }
                None => {
                    self.index.insert(&family.name, self.families.len());
                    self.families.push(family);
                }
            }
        }
    }

    /// Writes the text format. Families without series are skipped, as client_golang does.
    pub fn render(&mut self, out: &mut String) {
        if self.order.len() != self.families.len() {
            let families = &self.families;
            self.order = (0..families.len() as u32).collect();
            self.order.sort_unstable_by(|&a, &b| {
                families[a as usize].name.cmp(&families[b as usize].name)
            });
        }
        for &i in &self.order {
            let family = &mut self.families[i as usize];
            if family.series.is_empty() {
                if !family.distributions.is_empty() {
                    render_distributions(family, out);
                }
                continue;
            }
            for s in &mut family.series {
                if s.labels.len() > 1 && !s.labels.is_sorted_by(|a, b| a.0 <= b.0) {
                    s.labels.sort_by(|a, b| a.0.cmp(&b.0));
                }
            }
            if !family
                .series
                .is_sorted_by(|a, b| series_order(&a.labels, &b.labels).is_le())
            {
                family
                    .series
                    .sort_by(|a, b| series_order(&a.labels, &b.labels));
            }
            write_header(family, out);
            for s in &family.series {
                write_sample(out, &family.name, "", &s.labels, None, s.value);
            }
        }
    }
}

/// client_golang's order of series: fewer labels first, then by label values in label
/// name order.
fn series_order(a: &[(Name, String)], b: &[(Name, String)]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        a.iter()
            .map(|l| l.1.as_str())
            .cmp(b.iter().map(|l| l.1.as_str()))
    })
}

/// Writes a summary or histogram family as client_golang does: per series (sorted by
/// label values) its quantile lines `x{..,quantile="q"}` or buckets
/// `x_bucket{..,le="b"}` (ending with `le="+Inf"`), then `x_sum` and `x_count`; the
/// `quantile` or `le` label comes after the others.
fn render_distributions(family: &mut Family, out: &mut String) {
    for d in &mut family.distributions {
        if d.labels.len() > 1 {
            d.labels.sort_by(|a, b| a.0.cmp(&b.0));
        }
        d.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    family
        .distributions
        .sort_by(|a, b| series_order(&a.labels, &b.labels));
    write_header(family, out);
    let histogram = family.kind == MetricType::Histogram;
    let (suffix, bound) = if histogram {
        ("_bucket", "le")
    } else {
        ("", "quantile")
    };
    let name = &family.name;
    for d in &family.distributions {
        for &(b, v) in &d.points {
            write_sample(out, name, suffix, &d.labels, Some((bound, b)), v);
        }
        if histogram && !d.points.iter().any(|p| p.0 == f64::INFINITY) {
            write_sample(
                out,
                name,
                suffix,
                &d.labels,
                Some((bound, f64::INFINITY)),
                d.count,
            );
        }
        write_sample(out, name, "_sum", &d.labels, None, d.sum);
        write_sample(out, name, "_count", &d.labels, None, d.count);
    }
}

/// A family's `# HELP` and `# TYPE` lines.
fn write_header(family: &Family, out: &mut String) {
    out.push_str("# HELP ");
    out.push_str(&family.name);
    out.push(' ');
    escape_help(&family.help, out);
    out.push_str("\n# TYPE ");
    out.push_str(&family.name);
    out.push(' ');
    out.push_str(family.kind.as_str());
    out.push('\n');
}

/// One line `name+suffix{labels,extra="v"} value` (labels already sorted).
fn write_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(Name, String)],
    extra: Option<(&str, f64)>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || extra.is_some() {
        let mut sep = '{';
        for (k, v) in labels {
            out.push(sep);
            out.push_str(k);
            out.push_str("=\"");
            escape_label_value(v, out);
            out.push('"');
            sep = ',';
        }
        if let Some((k, v)) = extra {
            out.push(sep);
            out.push_str(k);
            out.push_str("=\"");
            write_go_float(v, out);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    write_go_float(value, out);
    out.push('\n');
}

/// A `&'static str` for `s`, allocated once per distinct text for the life of the
/// process. For names from a small fixed set generated at run time (meminfo's field
/// names): cloning a [`Name`] made from it costs nothing, where an owned name would
/// allocate on every scrape. Do not use it for unbounded input (label values).
pub fn intern(s: &str) -> &'static str {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.iter().find(|n| **n == s) {
        return n;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.push(leaked);
    leaked
}

fn own(labels: &[(&'static str, &str)]) -> Vec<(Name, String)> {
    labels
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), (*v).to_owned()))
        .collect()
}

fn escape_help(s: &str, out: &mut String) {
    if !s.bytes().any(|b| b == b'\\' || b == b'\n') {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_label_value(s: &str, out: &mut String) {
    if !s.bytes().any(|b| b == b'\\' || b == b'\n' || b == b'"') {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// A small stack buffer that `write!` can format into without allocating.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes a non-negative integer below 2^53 in decimal.
fn write_uint(mut n: u64, out: &mut String) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits only
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or("0"));
}

/// Writes `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does (what client_golang
/// uses): the shortest digits that round-trip, in exponent form (`d.ddde±XX`, at least
/// two exponent digits) when the decimal exponent is below -4 or at least 6, plain
/// decimal otherwise.
pub fn write_go_float(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if v < 0.0 {
        out.push('-');
    }
    let a = v.abs();
    // Fast path: integers below 1e6 print as themselves in both languages (and zero,
    // either sign, is "0", as client_golang's writer special-cases it).
    if a.fract() == 0.0 && a < 1e6 {
        write_uint(a as u64, out);
        return;
    }
    // Rust's `{:e}` gives the same shortest round-trip digits: "d.dddde-x".
    let mut buf = StackBuf {
        buf: [0; 40],
        len: 0,
    };
    let _ = write!(buf, "{a:e}");
    let text = &buf.buf[..buf.len];
    let e = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let exp: i32 = std::str::from_utf8(&text[(e + 1).min(text.len())..])
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut nd = 0;
    for &b in &text[..e] {
        if b.is_ascii_digit() && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    // ASCII digits only
    let digits = std::str::from_utf8(&digits[..nd]).unwrap_or("0");
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        if exp.abs() < 10 {
            out.push('0');
        }
        write_uint(u64::from(exp.unsigned_abs()), out);
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(v: f64) -> String {
        let mut s = String::new();
        write_go_float(v, &mut s);
        s
    }

    #[test]
    fn floats_are_written_like_go() {
        // Cases taken from node_exporter's expected output and Go's strconv behaviour.
        assert_eq!(go(8e9), "8e+09");
        assert_eq!(go(2.70553174016e11), "2.70553174016e+11");
        assert_eq!(go(118821.284256), "118821.284256");
        assert_eq!(go(3.831959552e9), "3.831959552e+09");
        assert_eq!(go(1_418_183_276.0), "1.418183276e+09");
        assert_eq!(go(10870.69), "10870.69");
        assert_eq!(go(0.21), "0.21");
        assert_eq!(go(719.0), "719");
        assert_eq!(go(999_999.0), "999999");
        assert_eq!(go(1_000_000.0), "1e+06");
        assert_eq!(go(1_234_567.0), "1.234567e+06");
        assert_eq!(go(123_456.5), "123456.5");
        assert_eq!(go(0.0001), "0.0001");
        assert_eq!(go(0.00001), "1e-05");
        assert_eq!(go(1.5e-7), "1.5e-07");
        assert_eq!(go(-2.5), "-2.5");
        assert_eq!(go(-3e10), "-3e+10");
        assert_eq!(go(1e21), "1e+21");
        assert_eq!(go(1e100), "1e+100");
        assert_eq!(go(0.0), "0");
        assert_eq!(go(-0.0), "0", "client_golang writes any zero as 0");
        assert_eq!(go(-999_999.0), "-999999");
        assert_eq!(go(123_456_789_012_345.0), "1.23456789012345e+14");
        assert_eq!(go(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(go(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(go(5e-324), "5e-324");
        assert_eq!(go(f64::NAN), "NaN");
        assert_eq!(go(f64::INFINITY), "+Inf");
        assert_eq!(go(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go(1.8446744073709552e19), "1.8446744073709552e+19");
    }

    #[test]
    fn families_and_series_are_sorted_and_escaped() {
        let mut s = Scrape::new();
        s.gauge("b_metric", "B help", &[("z", "1"), ("a", "x")], 2.0);
        s.gauge("b_metric", "ignored", &[("z", "0"), ("a", "x")], 1.0);
        s.counter(
            "a_total",
            "A \\ help\nline",
            &[("path", "C:\\ \"q\"\n")],
            3.5,
        );
        s.add("empty_family", "none", MetricType::Gauge, Vec::new(), 0.0);
        s.retain(|f| f.name != "empty_family");
        let mut out = String::new();
        s.render(&mut out);
        assert_eq!(
            out,
            "# HELP a_total A \\\\ help\\nline\n# TYPE a_total counter\na_total{path=\"C:\\\\ \\\"q\\\"\\n\"} 3.5\n\
             # HELP b_metric B help\n# TYPE b_metric gauge\nb_metric{a=\"x\",z=\"0\"} 1\nb_metric{a=\"x\",z=\"1\"} 2\n"
        );
    }

    fn dist(
        labels: &[(&'static str, &str)],
        points: &[(f64, f64)],
        sum: f64,
        count: f64,
    ) -> Distribution {
        Distribution {
            labels: own(labels),
            points: points.to_vec(),
            sum,
            count,
        }
    }

    #[test]
    fn summaries_and_histograms_are_flattened_like_client_golang() {
        let mut s = Scrape::new();
        let summary = MetricType::Summary;
        let d = dist(
            &[("z", "1"), ("a", "q\"")],
            &[(0.99, 4.35e-6), (0.5, 1.0)],
            2.5,
            3.0,
        );
        s.add_distribution("lat", "Latency.", summary, d);
        s.add_distribution(
            "lat",
            "ignored",
            summary,
            dist(&[("z", "0"), ("a", "q\"")], &[], 0.0, 0.0),
        );
        let mut other = Scrape::new();
        let h = MetricType::Histogram;
        other.add_distribution(
            "h",
            "H.",
            h,
            dist(&[], &[(1.6384e6, 2.0), (100.0, 1.0)], 7e11, 3.0),
        );
        other.add_distribution(
            "h",
            "H.",
            h,
            dist(&[("le_not", "x")], &[(f64::INFINITY, 5.0)], 1.0, 5.0),
        );
        s.merge(other);
        let mut out = String::new();
        s.render(&mut out);
        assert_eq!(
            out,
            "# HELP h H.\n# TYPE h histogram\n\
             h_bucket{le=\"100\"} 1\nh_bucket{le=\"1.6384e+06\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 7e+11\nh_count 3\n\
             h_bucket{le_not=\"x\",le=\"+Inf\"} 5\nh_sum{le_not=\"x\"} 1\nh_count{le_not=\"x\"} 5\n\
             # HELP lat Latency.\n# TYPE lat summary\n\
             lat_sum{a=\"q\\\"\",z=\"0\"} 0\nlat_count{a=\"q\\\"\",z=\"0\"} 0\n\
             lat{a=\"q\\\"\",z=\"1\",quantile=\"0.5\"} 1\nlat{a=\"q\\\"\",z=\"1\",quantile=\"0.99\"} 4.35e-06\n\
             lat_sum{a=\"q\\\"\",z=\"1\"} 2.5\nlat_count{a=\"q\\\"\",z=\"1\"} 3\n"
        );
    }

    #[test]
    fn a_reused_scrape_forgets_the_last_one_and_rolls_back_a_failed_collector() {
        let mut s = Scrape::new();
        s.gauge("a", "A.", &[("x", "1")], 1.0);
        s.counter("b_total", "B.", &[], 2.0);
        s.clear();
        assert!(s.families().next().is_none());
        assert_eq!(s, Scrape::new());
        s.gauge("a", "A.", &[("x", "2")], 3.0);
        let before = s.checkpoint();
        s.gauge("a", "A.", &[("x", "3")], 4.0);
        s.gauge("c", "C.", &[], 5.0);
        s.rollback(&before);
        let mut out = String::new();
        s.render(&mut out);
        assert_eq!(out, "# HELP a A.\n# TYPE a gauge\na{x=\"2\"} 3\n");
        assert!(s.family("c").is_none() && s.family("b_total").is_none());
        // Recycled label vectors take the new labels exactly (fewer, more, none).
        s.clear();
        s.gauge(
            "a",
            "A.",
            &[("device", "sda"), ("mode", "long-old-value")],
            1.0,
        );
        s.gauge("a", "A.", &[("x", "y")], 1.0);
        s.clear();
        s.gauge("a", "A.", &[("p", "q"), ("r", "s"), ("t", "u")], 1.0);
        s.gauge("a", "A.", &[], 2.0);
        s.gauge("a", "A.", &[("z", "")], 3.0);
        let mut out = String::new();
        s.render(&mut out);
        assert_eq!(
            out,
            "# HELP a A.\n# TYPE a gauge\na 2\na{z=\"\"} 3\na{p=\"q\",r=\"s\",t=\"u\"} 1\n"
        );
        s.clear();
        s.gauge("a", "A.", &[("x", "2")], 3.0);
        // The same text under another address is the same family.
        let owned: Name = Cow::Owned("a".to_owned());
        s.add(owned, "ignored", MetricType::Gauge, vec![], 6.0);
        assert_eq!(s.families().count(), 1);
        assert_eq!(s.family("a").unwrap().series.len(), 2);
    }
}
