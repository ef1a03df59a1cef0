//! Inputs for the parsers' property tests: random text and mutations of a seed corpus
//! (byte flips, truncations, line duplications, numbers swapped for huge ones, splices).
//!
//! One file for every crate: the other crates' `tests/it/main.rs` (and kitestacks-metrics'
//! `collector::props`) include it with `#[path]`, so it stays one copy without a crate.
//! Each includer uses part of it.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The configuration of one property: `default_cases` cases (kept small so `cargo test`
/// stays quick), or as many as `PROPTEST_CASES` says for a longer run. Failures are not
/// persisted to files: a failure found becomes a regular unit test instead.
pub fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Number-like texts a parser may choke on: past `u64`/`i64`, negative, not finite,
/// other radixes, long runs of zeros.
const NUMBERS: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "4294967295",
    "4294967296",
    "65536",
    "999999999999999999999999999999999999999",
    "-1",
    "0",
    "1e308",
    "1e309",
    "-1e309",
    "NaN",
    "+Inf",
    "-Inf",
    "0x10",
    "00000000000000000000000000000000001",
    "1.5",
    "",
];

/// One edit of a text. Positions are taken modulo the text's length when applied, so any
/// edit applies to any text.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Replaces one byte.
    Flip(usize, u8),
    /// Cuts the text short.
    Truncate(usize),
    /// Repeats one line this many more times.
    DuplicateLine(usize, u8),
    /// Swaps one run of digits for another number.
    Number(usize, String),
    /// Inserts a slice of a seed (by index, start, length) at a position.
    Splice(usize, usize, usize, usize),
    /// Inserts text at a position.
    Insert(usize, String),
    /// Removes a range (start, length).
    Delete(usize, usize),
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(NUMBERS).prop_map(str::to_owned),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{20,60}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        3 => (at, any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        1 => at.prop_map(Edit::Truncate),
        2 => (at, 1..64u8).prop_map(|(i, n)| Edit::DuplicateLine(i, n)),
        3 => (at, number()).prop_map(|(i, n)| Edit::Number(i, n)),
        1 => (at, at, at, 0..512usize)
            .prop_map(|(s, from, at, len)| Edit::Splice(s, from, len, at)),
        2 => (at, text()).prop_map(|(i, t)| Edit::Insert(i, t)),
        1 => (at, 0..256usize).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

/// Short text drawn from what the parsed formats are made of (punctuation, digits, keys,
/// separators, newlines), or any Unicode at all.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => r#"[ -~\t\n]{0,64}"#,
        1 => "[\\-:={}\\[\\],\"'\\\\# \\n0-9a-z]{0,64}",
        1 => any::<String>(),
    ]
}

/// Random input with no seed: printable ASCII, any Unicode, or arbitrary bytes read
/// lossily, up to a few hundred characters.
pub fn noise() -> impl Strategy<Value = String> {
    prop_oneof![
        r#"[ -~\t\n]{0,400}"#,
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..400)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Applies `edits` in order to `text`; `seeds` are the splice sources (may be empty).
pub fn apply(text: &[u8], edits: &[Edit], seeds: &[String]) -> Vec<u8> {
    let mut t = text.to_vec();
    for e in edits {
        let len = t.len();
        match e {
            Edit::Flip(i, b) if len > 0 => t[i % len] = *b,
            Edit::Flip(..) => {}
            Edit::Truncate(i) => t.truncate(i % (len + 1)),
            Edit::DuplicateLine(i, n) => {
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(
                        t.iter()
                            .enumerate()
                            .filter(|(_, b)| **b == b'\n')
                            .map(|(k, _)| k + 1),
                    )
                    .filter(|&k| k < len)
                    .collect();
                if let Some(&start) = starts.get(i % starts.len().max(1)) {
                    let end = t[start..]
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(len, |p| start + p + 1);
                    let mut line = t[start..end].to_vec();
                    if line.last() != Some(&b'\n') {
                        line.push(b'\n');
                    }
                    let copies = line.repeat(usize::from(*n));
                    t.splice(start..start, copies);
                }
            }
            Edit::Number(i, n) => {
                let runs = digit_runs(&t);
                if let Some(&(s, e)) = runs.get(i % runs.len().max(1)) {
                    t.splice(s..e, n.bytes());
                }
            }
            Edit::Splice(s, from, n, at) => {
                if let Some(seed) = seeds.get(s % seeds.len().max(1)) {
                    let b = seed.as_bytes();
                    let from = from % (b.len() + 1);
                    let piece = &b[from..(from + n).min(b.len())];
                    let at = at % (len + 1);
                    t.splice(at..at, piece.iter().copied());
                }
            }
            Edit::Insert(at, s) => {
                let at = at % (len + 1);
                t.splice(at..at, s.bytes());
            }
            Edit::Delete(at, n) => {
                let at = at % (len + 1);
                t.drain(at..(at + n).min(len));
            }
        }
    }
    t
}

fn digit_runs(t: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut k = 0;
    while k < t.len() {
        if t[k].is_ascii_digit() {
            let s = k;
            while k < t.len() && t[k].is_ascii_digit() {
                k += 1;
            }
            runs.push((s, k));
        } else {
            k += 1;
        }
    }
    runs
}

/// A list of edits, one to eight.
pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..8)
}

/// One of `seeds`, mutated by one to eight edits (splices taking from the other seeds).
pub fn mutated(seeds: Vec<String>) -> impl Strategy<Value = String> {
    assert!(!seeds.is_empty(), "a mutation needs a seed");
    let seeds = std::sync::Arc::new(seeds);
    (0..seeds.len(), edits()).prop_map(move |(i, edits)| {
        String::from_utf8_lossy(&apply(seeds[i].as_bytes(), &edits, &seeds)).into_owned()
    })
}

/// What a parser is fed: mostly mutated seeds, sometimes the seeds as they are, sometimes
/// noise.
pub fn input(seeds: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => prop::sample::select(seeds.clone()),
        6 => mutated(seeds),
        2 => noise(),
    ]
}

/// The fixtures shared beside the repository (`../shared/fixtures`): the directory of
/// every crate is one level below the repository's root.
fn shared_fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// The text of `rel` under the shared fixtures (`forgejo/version.json`).
pub fn shared_fixture(rel: &str) -> String {
    let path = shared_fixtures().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (shared/ must sit beside the repository)",
            path.display()
        )
    })
}

/// One file of node_exporter's fixture tarball (`proc/stat`), read without unpacking the
/// rest.
pub fn node_exporter_fixture(rel: &str) -> String {
    let out = std::process::Command::new("tar")
        .arg("-xzOf")
        .arg(shared_fixtures().join("node_exporter/fixtures.tar.gz"))
        .arg(format!("collector/fixtures/{rel}"))
        .output()
        .expect("tar runs");
    assert!(out.status.success(), "{rel} is in the fixture tarball");
    String::from_utf8(out.stdout).unwrap()
}

/// The number of lines of `text` as `str::lines` counts them: a parse error must name a
/// line in `1..=lines(text) + 1` (one past the end for "truncated: no X line").
pub fn lines(text: &str) -> usize {
    text.lines().count()
}
