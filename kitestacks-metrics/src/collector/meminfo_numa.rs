//! The `meminfo_numa` collector: per NUMA node memory from
//! `<sysfs>/devices/system/node/node<N>/meminfo` (gauges `node_memory_numa_<Field>`, in
//! bytes where the kernel gives kB) and `numastat` (counters
//! `node_memory_numa_<field>_total`), labelled `node`. No node directory is no data.

use std::collections::{BTreeMap, HashMap};

use crate::collector::attr;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, OrAbsent as _, ParseError};
use crate::exposition::{self, MetricType, Name, Scrape};
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "meminfo_numa",
    default_enabled: false,
    families: &["node_memory_numa_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(MeminfoNuma {
        nodes: BTreeMap::new(),
        names: HashMap::new(),
    }))
}

struct MeminfoNuma {
    /// The `meminfo` and `numastat` files of each node directory seen, kept open.
    nodes: BTreeMap<String, (TextFile, TextFile)>,
    /// Family name and help per metric suffix seen so far (built once, not per scrape).
    names: HashMap<String, (Name, Name)>,
}

/// One value: the metric suffix (`Active_anon`, `numa_hit_total`), the `node` label and
/// the value.
#[derive(Debug, Clone, PartialEq)]
struct Value<'a> {
    metric: std::borrow::Cow<'a, str>,
    node: &'a str,
    value: f64,
}

/// Whether `s` can follow `node_memory_numa_` in a metric name.
fn valid_suffix(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `Active(anon)` -> `Active_anon`: upstream replaces `\((.*)\)` (greedy, so from the
/// first `(` to the last `)`) with `_` and what was inside.
fn unparenthesize(field: &str) -> std::borrow::Cow<'_, str> {
    match (field.find('('), field.rfind(')')) {
        (Some(open), Some(close)) if close > open => format!(
            "{}_{}{}",
            &field[..open],
            &field[open + 1..close],
            &field[close + 1..]
        )
        .into(),
        _ => field.into(),
    }
}

/// Parses a node's `meminfo`: `Node 0 Active(anon):     691324 kB`. The `node` label is
/// the line's own node number; values with a `kB` unit are turned into bytes.
fn parse_meminfo(text: &str) -> Result<Vec<Value<'_>>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.is_empty() {
            continue;
        }
        if parts.len() < 4 {
            return Err(ParseError::new(
                n,
                format!(
                    "{} fields, expected \"Node <n> <field>: <value> [kB]\"",
                    parts.len()
                ),
            ));
        }
        let mut value: f64 = parts[3]
            .parse()
            .map_err(|_| ParseError::new(n, format!("value {:?} is not a number", parts[3])))?;
        match parts.get(4) {
            None => {}
            Some(&"kB") if parts.len() == 5 => value *= 1024.0,
            Some(_) => {
                return Err(ParseError::new(
                    n,
                    format!("unexpected {:?} after the value", parts[4..].join(" ")),
                ));
            }
        }
        let metric = unparenthesize(parts[2].trim_end_matches(':'));
        if !valid_suffix(&metric) {
            return Err(ParseError::new(
                n,
                format!("field {:?} makes no metric name", parts[2]),
            ));
        }
        out.push(Value {
            metric,
            node: parts[1],
            value,
        });
    }
    Ok(out)
}

/// Parses a node's `numastat`: `numa_hit 26720946761` -> `numa_hit_total`.
fn parse_numastat<'a>(text: &'a str, node: &'a str) -> Result<Vec<Value<'a>>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts[..] {
            [] => continue,
            [field, value] => {
                let value: f64 = value
                    .parse()
                    .map_err(|_| ParseError::new(n, format!("value {value:?} is not a number")))?;
                if !valid_suffix(field) {
                    return Err(ParseError::new(
                        n,
                        format!("field {field:?} makes no metric name"),
                    ));
                }
                out.push(Value {
                    metric: format!("{field}_total").into(),
                    node,
                    value,
                });
            }
            _ => {
                return Err(ParseError::new(
                    n,
                    format!("{} fields, expected 2", parts.len()),
                ));
            }
        }
    }
    Ok(out)
}

/// `node12` -> `12`; `None` for entries that are not node directories (upstream's glob
/// `node[0-9]*`, whose number is the leading digits).
fn node_number(entry: &str) -> Option<&str> {
    let rest = entry.strip_prefix("node")?;
    let end = rest
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

impl MeminfoNuma {
    fn add(&mut self, out: &mut Scrape, v: &Value<'_>, kind: MetricType) {
        let (name, help) = match self.names.get(v.metric.as_ref()) {
            Some(n) => n.clone(),
            None => {
                // A kernel has a few dozen such fields: interned once, free to clone.
                let name = exposition::intern(&format!("node_memory_numa_{}", v.metric));
                let help = exposition::intern(&format!("Memory information field {}.", v.metric));
                let names = (Name::Borrowed(name), Name::Borrowed(help));
                self.names.insert(v.metric.to_string(), names.clone());
                names
            }
        };
        out.add(
            name,
            help,
            kind,
            vec![("node".into(), v.node.to_owned())],
            v.value,
        );
    }
}

impl Collector for MeminfoNuma {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let dir = ctx.roots.sys("devices/system/node");
        let Some(mut entries) = attr::list_sorted(&dir).or_absent()? else {
            return Ok(());
        };
        entries.retain(|n| node_number(n).is_some());
        // Nodes come and go only with memory hot-plug: forget the files of those gone.
        self.nodes.retain(|name, _| entries.contains(name));
        for name in &entries {
            if !self.nodes.contains_key(name) {
                let files = (
                    TextFile::new(dir.join(name).join("meminfo")),
                    TextFile::new(dir.join(name).join("numastat")),
                );
                self.nodes.insert(name.clone(), files);
            }
        }
        let mut nodes = std::mem::take(&mut self.nodes);
        let result = (|| {
            for (name, (meminfo, numastat)) in &mut nodes {
                let values = match parse_meminfo(meminfo.read()?) {
                    Ok(v) => v,
                    Err(e) => return Err(Error::parse(meminfo.path(), e)),
                };
                for v in &values {
                    self.add(out, v, MetricType::Gauge);
                }
                let number = node_number(name).unwrap_or_default();
                let values = match parse_numastat(numastat.read()?, number) {
                    Ok(v) => v,
                    Err(e) => return Err(Error::parse(numastat.path(), e)),
                };
                for v in &values {
                    self.add(out, v, MetricType::Counter);
                }
            }
            Ok(())
        })();
        self.nodes = nodes;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing::{self, write};

    #[test]
    fn meminfo_lines() {
        let v = parse_meminfo(
            "Node 1 MemTotal:       134217728 kB\n\
             Node 1 Active(anon):     604624 kB\n\
             \n\
             Node 1 HugePages_Total:     0\n",
        )
        .unwrap();
        assert_eq!(
            v,
            [
                Value {
                    metric: "MemTotal".into(),
                    node: "1",
                    value: 134217728.0 * 1024.0
                },
                Value {
                    metric: "Active_anon".into(),
                    node: "1",
                    value: 604624.0 * 1024.0
                },
                Value {
                    metric: "HugePages_Total".into(),
                    node: "1",
                    value: 0.0
                },
            ]
        );
        assert_eq!(unparenthesize("a(b)c(d)"), "a_b)c(d");
        assert_eq!(unparenthesize("a)b(c"), "a)b(c");
        for (bad, line) in [
            ("Node 0 MemTotal:\n", 1),
            ("Node 0 MemTotal: 1 kB\nNode 0 MemFree: lots kB\n", 2),
            ("Node 0 MemTotal: 1 MB\n", 1),
            ("Node 0 MemTotal: 1 kB extra\n", 1),
            ("Node 0 Mem-Total: 1 kB\n", 1),
        ] {
            let e = parse_meminfo(bad).unwrap_err();
            assert_eq!(e.line, line, "{bad:?}: {e}");
        }
    }

    #[test]
    fn numastat_lines() {
        let v = parse_numastat("numa_hit 26720946761\n\nother_node 9860526920\n", "2").unwrap();
        assert_eq!(v[0].metric, "numa_hit_total");
        assert_eq!((v[1].node, v[1].value), ("2", 9860526920.0));
        assert_eq!(parse_numastat("numa_hit\n", "0").unwrap_err().line, 1);
        assert_eq!(parse_numastat("a 1\nb 1 2\n", "0").unwrap_err().line, 2);
        assert_eq!(parse_numastat("a x\n", "0").unwrap_err().line, 1);
    }

    #[test]
    fn node_directories() {
        assert_eq!(node_number("node0"), Some("0"));
        assert_eq!(node_number("node12x"), Some("12"));
        assert_eq!(node_number("node"), None);
        assert_eq!(node_number("possible"), None);
    }

    #[test]
    fn nodes_are_read_and_a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut c = build(&Options::default()).unwrap();
        let ctx = testing::context(root);
        let scrape = |c: &mut Box<dyn Collector>| {
            let mut s = Scrape::new();
            c.update(&ctx, &mut s).map(|()| {
                let mut text = String::new();
                s.render(&mut text);
                text
            })
        };
        assert_eq!(scrape(&mut c).unwrap(), "", "no node directory: no data");
        let node = "sys/devices/system/node/node1";
        write(
            root,
            &format!("{node}/meminfo"),
            "Node 1 Active(file): 2 kB\n",
        );
        write(root, &format!("{node}/numastat"), "numa_hit 5\n");
        write(root, "sys/devices/system/node/possible", "0-1\n");
        assert_eq!(
            scrape(&mut c).unwrap(),
            "# HELP node_memory_numa_Active_file Memory information field Active_file.\n\
             # TYPE node_memory_numa_Active_file gauge\n\
             node_memory_numa_Active_file{node=\"1\"} 2048\n\
             # HELP node_memory_numa_numa_hit_total Memory information field numa_hit_total.\n\
             # TYPE node_memory_numa_numa_hit_total counter\n\
             node_memory_numa_numa_hit_total{node=\"1\"} 5\n"
        );
        // A node without its numastat fails the collector, as upstream.
        write(root, "sys/devices/system/node/node2/meminfo", "");
        let e = scrape(&mut c).unwrap_err();
        assert!(
            e.is_not_found() && e.to_string().contains("node2/numastat"),
            "{e}"
        );
    }
}
