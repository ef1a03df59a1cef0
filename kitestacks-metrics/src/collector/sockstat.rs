//! The `sockstat` collector: `node_sockstat_*` socket counts per protocol from
//! `/proc/net/sockstat` and `/proc/net/sockstat6`, as node_exporter's
//! `sockstat_linux.go` reads them (a missing file, e.g. with IPv6 disabled, is skipped).

use std::borrow::Cow;

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::{Error, ParseError};
use crate::exposition::{MetricType, Scrape};
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "sockstat",
    default_enabled: true,
    families: &["node_sockstat_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(SockStat {
        files: None,
        page_size: rustix::param::page_size() as i64,
    }))
}

struct SockStat {
    files: Option<[TextFile; 2]>,
    page_size: i64,
}

/// A parsed sockstat file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Sockstat<'a> {
    /// `sockets: used N` (IPv4 only).
    used: Option<i64>,
    protocols: Vec<Protocol<'a>>,
}

/// One protocol's line, e.g. `TCP: inuse 4 orphan 0 tw 4 alloc 17 mem 1`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Protocol<'a> {
    name: &'a str,
    inuse: i64,
    orphan: Option<i64>,
    tw: Option<i64>,
    alloc: Option<i64>,
    /// Pages.
    mem: Option<i64>,
    memory: Option<i64>,
}

/// Parses a sockstat file: `Proto: key value key value …` lines.
fn parse(text: &str) -> Result<Sockstat<'_>, ParseError> {
    let mut out = Sockstat::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() < 3 {
            return Err(ParseError::new(n, format!("malformed line {line:?}")));
        }
        if fields.len().is_multiple_of(2) {
            return Err(ParseError::new(
                n,
                "odd number of fields in key/value pairs",
            ));
        }
        let mut kvs = Vec::with_capacity(fields.len() / 2);
        for kv in fields[1..].chunks_exact(2) {
            let v = attr::go_parse_int(kv[1], 0).ok_or_else(|| {
                ParseError::new(n, format!("{}: {:?} is not an integer", kv[0], kv[1]))
            })?;
            kvs.push((kv[0], v));
        }
        let get = |key: &str| kvs.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let proto = fields[0].strip_suffix(':').unwrap_or(fields[0]);
        if proto == "sockets" {
            out.used = Some(get("used").unwrap_or(0));
        } else {
            out.protocols.push(Protocol {
                name: proto,
                inuse: get("inuse").unwrap_or(0),
                orphan: get("orphan"),
                tw: get("tw"),
                alloc: get("alloc"),
                mem: get("mem"),
                memory: get("memory"),
            });
        }
    }
    Ok(out)
}

impl Collector for SockStat {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let files = self.files.get_or_insert_with(|| {
            ["net/sockstat", "net/sockstat6"].map(|f| TextFile::new(ctx.roots.proc(f)))
        });
        let mut parsed = Vec::with_capacity(2);
        for (ipv6, file) in [false, true].into_iter().zip(files.iter_mut()) {
            let path = file.path().to_owned();
            match file.read() {
                Ok(text) => {
                    let s = parse(text).map_err(|e| Error::parse(path, e))?;
                    parsed.push((ipv6, s));
                }
                // IPv4 or IPv6 disabled on this kernel.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        for (ipv6, s) in &parsed {
            emit(*ipv6, s, self.page_size, out);
        }
        Ok(())
    }
}

fn emit(ipv6: bool, s: &Sockstat<'_>, page_size: i64, out: &mut Scrape) {
    if let (false, Some(used)) = (ipv6, s.used) {
        out.gauge(
            "node_sockstat_sockets_used",
            "Number of IPv4 sockets in use.",
            &[],
            used as f64,
        );
    }
    for p in &s.protocols {
        let pairs = [
            ("inuse", Some(p.inuse)),
            ("orphan", p.orphan),
            ("tw", p.tw),
            ("alloc", p.alloc),
            ("mem", p.mem),
            ("memory", p.memory),
            ("mem_bytes", p.mem.map(|m| m.wrapping_mul(page_size))),
        ];
        for (state, v) in pairs {
            let Some(v) = v else { continue };
            out.add(
                Cow::Owned(format!("node_sockstat_{}_{state}", p.name)),
                Cow::Owned(format!("Number of {} sockets in state {state}.", p.name)),
                MetricType::Gauge,
                Vec::new(),
                v as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::collector::testing;

    #[test]
    fn parses_protocol_lines() {
        let s = parse(
            "sockets: used 229\nTCP: inuse 4 orphan 0 tw 4 alloc 17 mem 1\nFRAG: inuse 0 memory 0\n",
        )
        .unwrap();
        assert_eq!(s.used, Some(229));
        assert_eq!(
            s.protocols,
            vec![
                Protocol {
                    name: "TCP",
                    inuse: 4,
                    orphan: Some(0),
                    tw: Some(4),
                    alloc: Some(17),
                    mem: Some(1),
                    memory: None,
                },
                Protocol {
                    name: "FRAG",
                    memory: Some(0),
                    ..Protocol::default()
                },
            ]
        );
        assert_eq!(parse("").unwrap(), Sockstat::default());
    }

    #[test]
    fn malformed_and_truncated() {
        assert_eq!(parse("TCP: inuse 4\nUDP:\n").unwrap_err().line, 2);
        let e = parse("TCP: inuse 4 orphan\n").unwrap_err();
        assert!(e.message.contains("odd"), "{}", e.message);
        let e = parse("TCP: inuse x\n").unwrap_err();
        assert!(e.message.contains("inuse: \"x\""), "{}", e.message);
    }

    #[test]
    fn families_with_mem_in_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("proc/net");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(
            net.join("sockstat"),
            "sockets: used 229\nTCP: inuse 4 mem 2\n",
        )
        .unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let text = testing::text(&mut *c, &ctx).unwrap();
        let page = rustix::param::page_size() * 2;
        assert_eq!(
            text,
            format!(
                "# HELP node_sockstat_TCP_inuse Number of TCP sockets in state inuse.\n\
                 # TYPE node_sockstat_TCP_inuse gauge\nnode_sockstat_TCP_inuse 4\n\
                 # HELP node_sockstat_TCP_mem Number of TCP sockets in state mem.\n\
                 # TYPE node_sockstat_TCP_mem gauge\nnode_sockstat_TCP_mem 2\n\
                 # HELP node_sockstat_TCP_mem_bytes Number of TCP sockets in state mem_bytes.\n\
                 # TYPE node_sockstat_TCP_mem_bytes gauge\nnode_sockstat_TCP_mem_bytes {page}\n\
                 # HELP node_sockstat_sockets_used Number of IPv4 sockets in use.\n\
                 # TYPE node_sockstat_sockets_used gauge\nnode_sockstat_sockets_used 229\n"
            )
        );
        std::fs::write(net.join("sockstat6"), "TCP6: inuse\n").unwrap();
        let e = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(e.to_string().contains("sockstat6:1"), "{e}");
    }
}
