//! The keys of a configuration file, read before its values: every unknown key at once
//! (with a "did you mean" from the valid keys), `[services]` written for `[[services]]`,
//! and where each key is, so that every problem names its line.
//!
//! The valid keys are the raw serde structs' own field lists ([`fields`]), so they cannot
//! drift from what deserialisation accepts.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::Problem;

/// The field names of a struct deriving `Deserialize`, as serde knows them.
pub(crate) fn fields<T: Deserialize<'static>>() -> &'static [&'static str] {
    let mut names = FieldNames(&[]);
    // It always fails: `FieldNames` only answers the one question.
    let _ = T::deserialize(&mut names);
    names.0
}

struct FieldNames(&'static [&'static str]);

impl<'de> de::Deserializer<'de> for &mut FieldNames {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(de::Error::custom("field names only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

/// The shape of one table: its valid keys, and which of them hold a table of their own.
pub(crate) struct Schema {
    pub keys: &'static [&'static str],
    pub nested: &'static [Nested],
}

/// A key holding a table, and that table's shape.
pub(crate) type Nested = (&'static str, fn() -> Schema);

/// Which top-level key holds what.
pub(crate) enum Section {
    /// `[name]`: one table.
    Table(fn() -> Schema),
    /// `[[name]]`: a list of tables; entries are named by `entry_name(index, table)`.
    List(fn() -> Schema, fn(usize, &DeTable<'_>) -> String),
}

/// What reading the keys found.
#[derive(Default)]
pub(crate) struct Keys {
    /// Where the value of each key path is (paths as the validator names keys:
    /// `server.listen`, `services[2] (id "ai").probe.url`, `server.cors_allow_origins[1]`).
    pub spans: HashMap<String, Range<usize>>,
    /// Unknown keys and misshapen sections, each with where it is. They are removed from
    /// the tree, so the values around them are still checked.
    pub problems: Vec<(Problem, Range<usize>)>,
    /// (table path, key) for each key suggested for an unknown one: the table misses
    /// that key because of the typo, which is a problem already.
    pub meant: Vec<(String, &'static str)>,
}

impl Keys {
    /// Where `key` is, or else its nearest enclosing table.
    pub fn span_of(&self, key: &str) -> Option<Range<usize>> {
        let mut key = key;
        loop {
            if let Some(span) = self.spans.get(key) {
                return Some(span.clone());
            }
            key = &key[..key.rfind(['.', '['])?];
        }
    }

    /// Checks every key of `root` against `sections`; unknown keys and sections of the
    /// wrong shape are reported and removed.
    pub fn read(root: &mut DeTable<'_>, sections: &[(&'static str, Section)]) -> Self {
        let mut keys = Self::default();
        let names: Vec<&str> = sections.iter().map(|(n, _)| *n).collect();
        let mut remove = Vec::new();
        for (key, value) in root.iter_mut() {
            let name: &str = key.get_ref();
            let key_span = key.span();
            let Some((_, section)) = sections.iter().find(|(n, _)| *n == name) else {
                let message = match suggest(name, &names) {
                    Some(s) => format!("unknown section `{name}`, did you mean `{s}`?"),
                    None => match sections.iter().find_map(|(n, s)| {
                        let Section::Table(schema) = s else {
                            return None;
                        };
                        schema().keys.contains(&name).then_some(*n)
                    }) {
                        Some(section) => format!(
                            "unknown top-level key `{name}`: it belongs in `[{section}]` (write it below that line)"
                        ),
                        None => format!(
                            "unknown section `{name}`, expected one of {}",
                            quoted(&names)
                        ),
                    },
                };
                keys.problems.push((Problem::new(name, message), key_span));
                remove.push(name.to_owned());
                continue;
            };
            keys.spans.insert(name.to_owned(), key_span.clone());
            let span = value.span();
            match (section, value.get_mut()) {
                (Section::Table(schema), DeValue::Table(table)) => {
                    keys.table(name, table, &schema())
                }
                (Section::List(schema, entry_name), DeValue::Array(entries)) => {
                    for (i, entry) in entries.iter_mut().enumerate() {
                        let entry_span = entry.span();
                        if let DeValue::Table(table) = entry.get_mut() {
                            let path = entry_name(i, table);
                            keys.spans.insert(path.clone(), entry_span);
                            keys.table(&path, table, &schema());
                        }
                    }
                }
                (Section::Table(_), DeValue::Array(_)) => {
                    keys.problems.push((
                        Problem::new(
                            name,
                            format!(
                                "`[[{name}]]` is a list of tables: write `[{name}]` (single brackets), once"
                            ),
                        ),
                        key_span,
                    ));
                    remove.push(name.to_owned());
                }
                (Section::List(..), DeValue::Table(_)) => {
                    keys.problems
                        .push((Problem::new(name, list_hint(name)), key_span));
                    remove.push(name.to_owned());
                }
                (Section::Table(_), other) => {
                    keys.problems.push((
                        Problem::new(
                            name,
                            format!("must be a table (`[{name}]`), not {}", other.type_str()),
                        ),
                        span,
                    ));
                    remove.push(name.to_owned());
                }
                (Section::List(..), other) => {
                    keys.problems.push((
                        Problem::new(
                            name,
                            format!(
                                "must be a list of tables (`[[{name}]]`), not {}",
                                other.type_str()
                            ),
                        ),
                        span,
                    ));
                    remove.push(name.to_owned());
                }
            }
        }
        for name in &remove {
            root.remove(name.as_str());
        }
        keys
    }

    fn table(&mut self, path: &str, table: &mut DeTable<'_>, schema: &Schema) {
        let mut unknown = Vec::new();
        for (key, value) in table.iter_mut() {
            let name: &str = key.get_ref();
            if !schema.keys.contains(&name) {
                let message = match suggest(name, schema.keys) {
                    Some(s) => {
                        self.meant.push((path.to_owned(), s));
                        format!("unknown key `{name}`, did you mean `{s}`?")
                    }
                    None => format!(
                        "unknown key `{name}`, expected one of {}",
                        quoted(schema.keys)
                    ),
                };
                self.problems
                    .push((Problem::new(path, message), key.span()));
                unknown.push(name.to_owned());
                continue;
            }
            let key_path = format!("{path}.{name}");
            self.spans.insert(key_path.clone(), value.span());
            match value.get_mut() {
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.spans.insert(format!("{key_path}[{i}]"), item.span());
                    }
                }
                DeValue::Table(inner) => {
                    if let Some((_, nested)) = schema.nested.iter().find(|(n, _)| *n == name) {
                        self.table(&key_path, inner, &nested());
                    }
                }
                _ => {}
            }
        }
        for name in &unknown {
            table.remove(name.as_str());
        }
    }
}

/// The hint for `[services]` written where `[[services]]` was meant.
pub(crate) fn list_hint(name: &str) -> String {
    format!("`[{name}]` is a single table: write `[[{name}]]` (double brackets) above each entry")
}

/// The lines that open `[name]` for one of `lists` (a list of tables), as (byte offset
/// of the line, name), and the text with each written `[[name]]`.
pub(crate) fn single_bracket_lists(text: &str, lists: &[&str]) -> (Vec<(usize, String)>, String) {
    let mut found = Vec::new();
    let mut fixed = String::with_capacity(text.len() + 8);
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let header = trimmed
            .strip_prefix('[')
            .filter(|rest| !rest.starts_with('['))
            .and_then(|rest| rest.split_once(']'))
            .filter(|(_, after)| {
                let after = after.trim();
                after.is_empty() || after.starts_with('#')
            })
            .map(|(name, _)| name.trim())
            .filter(|name| lists.contains(name));
        match header {
            Some(name) => {
                let indent = line.len() - trimmed.len();
                found.push((offset + indent, name.to_owned()));
                let close = trimmed.find(']').unwrap_or(0);
                fixed.push_str(&line[..indent]);
                fixed.push('[');
                fixed.push_str(&trimmed[..=close]);
                fixed.push(']');
                fixed.push_str(&trimmed[close + 1..]);
            }
            None => fixed.push_str(line),
        }
        offset += line.len();
    }
    (found, fixed)
}

/// The valid key closest to `typo`, if one is close enough to be what was meant.
pub(crate) fn suggest<'a>(typo: &str, valid: &[&'a str]) -> Option<&'a str> {
    let typo = typo.to_ascii_lowercase().replace('-', "_");
    valid
        .iter()
        .map(|v| (edit_distance(&typo, v), *v))
        .filter(|(d, v)| *d <= (v.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// Edit distance with adjacent transpositions (optimal string alignment): insertions,
/// deletions, substitutions and swaps of two neighbours each cost 1, so `roel` is one
/// edit from `role`. The "did you mean" of configuration keys, and of the exporter's
/// flags.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: the distance between a[..i] and b[..j].
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key path inside `table` whose value holds byte `at` (`probe.timeout`,
/// `accept_status[2]`), for errors the deserialiser places by value only.
pub(crate) fn key_at(table: &DeTable<'_>, at: usize) -> Option<String> {
    let holds = |s: &Spanned<DeValue<'_>>| s.span().contains(&at);
    let (key, value) = table.iter().find(|(_, v)| holds(v))?;
    let name: &str = key.get_ref();
    Some(match value.get_ref() {
        DeValue::Table(inner) => match key_at(inner, at) {
            Some(sub) => format!("{name}.{sub}"),
            None => name.to_owned(),
        },
        DeValue::Array(items) => match items.iter().position(holds) {
            Some(i) => format!("{name}[{i}]"),
            None => name.to_owned(),
        },
        _ => name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Two {
        listen: String,
        #[serde(default)]
        static_dir: Option<String>,
    }

    #[test]
    fn fields_are_serdes_own() {
        assert_eq!(fields::<Two>(), ["listen", "static_dir"]);
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("lisen", "listen"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("roel", "role"), 1);
    }

    #[test]
    fn suggestions_are_close_or_none() {
        let valid = ["listen", "static_dir", "idle_timeout", "base_domain"];
        assert_eq!(suggest("lisen", &valid), Some("listen"));
        assert_eq!(suggest("static-dir", &valid), Some("static_dir"));
        assert_eq!(suggest("basedomain", &valid), Some("base_domain"));
        assert_eq!(suggest("colour", &valid), None);
        assert_eq!(suggest("roel", &["name", "role"]), Some("role"));
        assert_eq!(suggest("x", &valid), None);
    }

    #[test]
    fn single_bracket_lists_are_found_and_doubled() {
        let text = "[server]\n  [services] # one\nid = 1\n[[services]]\n[hosts]\n";
        let (found, fixed) = single_bracket_lists(text, &["services", "hosts"]);
        assert_eq!(
            found,
            [(11, "services".to_owned()), (48, "hosts".to_owned())]
        );
        assert_eq!(
            fixed,
            "[server]\n  [[services]] # one\nid = 1\n[[services]]\n[[hosts]]\n"
        );
    }
}
