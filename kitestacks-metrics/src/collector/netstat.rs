//! The `netstat` collector: `node_netstat_<Protocol>_<Name>` (untyped) from
//! `/proc/net/netstat`, `/proc/net/snmp` and `/proc/net/snmp6`, the fields chosen by
//! `--collector.netstat.fields`, as node_exporter's `netstat_linux.go` reads them.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::Regex;

use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::{MetricType, Scrape};
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "netstat",
    default_enabled: true,
    families: &["node_netstat_"],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(NetStat {
        fields: flag::NETSTAT_FIELDS.regex(o)?,
        wanted: HashMap::new(),
        files: None,
    }))
}

struct NetStat {
    fields: Regex,
    /// Whether `fields` matches `<Protocol>_<Name>`, remembered per key.
    wanted: HashMap<String, bool>,
    files: Option<[TextFile; 3]>,
}

/// One protocol's statistics: `Protocol` and its `(Name, value)` pairs, borrowed from the
/// file's text.
type Section<'a> = (&'a str, Vec<(&'a str, f64)>);

/// Parses `/proc/net/netstat` or `/proc/net/snmp`: pairs of lines, `Proto: Name1 Name2 …`
/// then `Proto: value1 value2 …`. A protocol that appears twice keeps its last pair.
fn parse_pairs(text: &str) -> Result<Vec<Section<'_>>, ParseError> {
    let mut out: Vec<Section<'_>> = Vec::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.is_empty());
    while let Some((i, names)) = lines.next() {
        let n = i + 1;
        let (j, values) = lines
            .next()
            .ok_or_else(|| ParseError::new(n, "header line without a value line"))?;
        let mut names = names.split(' ');
        let mut values = values.split(' ');
        let proto = names
            .next()
            .and_then(|p| p.strip_suffix(':'))
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ParseError::new(n, "no 'Protocol:' at the start of the line"))?;
        values.next();
        let names: Vec<&str> = names.collect();
        let values: Vec<&str> = values.collect();
        if names.len() != values.len() {
            return Err(ParseError::new(
                j + 1,
                format!("{proto}: {} names but {} values", names.len(), values.len()),
            ));
        }
        let mut stats = Vec::with_capacity(names.len());
        for (name, v) in names.into_iter().zip(values) {
            stats.push((name, number(v, j + 1, proto, name)?));
        }
        out.retain(|(p, _)| *p != proto);
        out.push((proto, stats));
    }
    Ok(out)
}

/// Parses `/proc/net/snmp6`: `Ip6InReceives  7` lines, the protocol being the name up to
/// and including its first `6`. Lines without a `6` or without a value are skipped.
fn parse_snmp6(text: &str) -> Result<Vec<Section<'_>>, ParseError> {
    let mut out: Vec<Section<'_>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut f = line.split_ascii_whitespace();
        let (Some(key), Some(v)) = (f.next(), f.next()) else {
            continue;
        };
        let Some(six) = key.find('6') else { continue };
        let (proto, name) = key.split_at(six + 1);
        let v = number(v, i + 1, proto, name)?;
        match out.iter_mut().find(|(p, _)| *p == proto) {
            Some((_, stats)) => stats.push((name, v)),
            None => out.push((proto, vec![(name, v)])),
        }
    }
    Ok(out)
}

fn number(v: &str, line: usize, proto: &str, name: &str) -> Result<f64, ParseError> {
    v.parse()
        .map_err(|_| ParseError::new(line, format!("{proto}{name}: {v:?} is not a number")))
}

impl Collector for NetStat {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let [netstat, snmp, snmp6] = self.files.get_or_insert_with(|| {
            ["net/netstat", "net/snmp", "net/snmp6"].map(|f| TextFile::new(ctx.roots.proc(f)))
        });
        let (netstat_path, snmp_path, snmp6_path) = (
            netstat.path().to_owned(),
            snmp.path().to_owned(),
            snmp6.path().to_owned(),
        );
        let mut sections =
            parse_pairs(netstat.read()?).map_err(|e| Error::parse(netstat_path, e))?;
        let more = parse_pairs(snmp.read()?).map_err(|e| Error::parse(snmp_path, e))?;
        merge(&mut sections, more);
        // On systems with IPv6 disabled there is no snmp6.
        match snmp6.read() {
            Ok(text) => {
                let more = parse_snmp6(text).map_err(|e| Error::parse(snmp6_path, e))?;
                merge(&mut sections, more);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let mut key = String::new();
        for (proto, stats) in &sections {
            for (name, v) in stats {
                key.clear();
                key.push_str(proto);
                key.push('_');
                key.push_str(name);
                let wanted = match self.wanted.get(key.as_str()) {
                    Some(w) => *w,
                    None => {
                        let w = self.fields.is_match(&key);
                        self.wanted.insert(key.clone(), w);
                        w
                    }
                };
                if wanted {
                    out.add(
                        Cow::Owned(format!("node_netstat_{key}")),
                        Cow::Owned(format!("Statistic {proto}{name}.")),
                        MetricType::Untyped,
                        Vec::new(),
                        *v,
                    );
                }
            }
        }
        Ok(())
    }
}

/// Adds `more`'s protocols, replacing those already there (node_exporter's map copy).
fn merge<'a>(sections: &mut Vec<Section<'a>>, more: Vec<Section<'a>>) {
    for (proto, stats) in more {
        sections.retain(|(p, _)| *p != proto);
        sections.push((proto, stats));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::collector::testing;

    #[test]
    fn pairs_of_lines() {
        let s = parse_pairs(
            "TcpExt: SyncookiesSent ListenDrops\nTcpExt: 0 7\n\
             Tcp: RtoAlgorithm MaxConn\nTcp: 1 -1\n\
             TcpExt: SyncookiesSent\nTcpExt: 3\n",
        )
        .unwrap();
        assert_eq!(
            s,
            vec![
                ("Tcp", vec![("RtoAlgorithm", 1.0), ("MaxConn", -1.0)]),
                ("TcpExt", vec![("SyncookiesSent", 3.0)]),
            ]
        );
        assert!(parse_pairs("").unwrap().is_empty());
    }

    #[test]
    fn malformed_pairs() {
        let e = parse_pairs("Ip: A B\nIp: 1\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("2 names but 1 values"), "{}", e.message);
        assert_eq!(parse_pairs("Ip: A B\n").unwrap_err().line, 1, "truncated");
        assert_eq!(parse_pairs("Ip A\nIp 1\n").unwrap_err().line, 1);
        let e = parse_pairs("Ip: A\nIp: x\n").unwrap_err();
        assert!(e.message.contains("IpA: \"x\""), "{}", e.message);
    }

    #[test]
    fn snmp6_lines() {
        let s = parse_snmp6(
            "Ip6InReceives                   \t7\nIcmp6InMsgs 1\nIcmp6OutMsgs 2\nUdpLite6InErrors 0\n\
             NoSix 4\nIp6Lonely\n",
        )
        .unwrap();
        assert_eq!(
            s,
            vec![
                ("Ip6", vec![("InReceives", 7.0)]),
                ("Icmp6", vec![("InMsgs", 1.0), ("OutMsgs", 2.0)]),
                ("UdpLite6", vec![("InErrors", 0.0)]),
            ]
        );
        assert_eq!(parse_snmp6("Ip6A 1\nIp6B z\n").unwrap_err().line, 2);
    }

    #[test]
    fn fields_are_filtered_and_snmp6_is_optional() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("proc/net");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(
            net.join("netstat"),
            "IpExt: InOctets OutOctets InNoRoutes\nIpExt: 6286396970 2 0\n",
        )
        .unwrap();
        std::fs::write(net.join("snmp"), "Tcp: ActiveOpens MaxConn\nTcp: 3556 -1\n").unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        for _ in 0..2 {
            let text = testing::text(&mut *c, &ctx).unwrap();
            assert_eq!(
                text,
                "# HELP node_netstat_IpExt_InOctets Statistic IpExtInOctets.\n\
                 # TYPE node_netstat_IpExt_InOctets untyped\n\
                 node_netstat_IpExt_InOctets 6.28639697e+09\n\
                 # HELP node_netstat_IpExt_OutOctets Statistic IpExtOutOctets.\n\
                 # TYPE node_netstat_IpExt_OutOctets untyped\n\
                 node_netstat_IpExt_OutOctets 2\n\
                 # HELP node_netstat_Tcp_ActiveOpens Statistic TcpActiveOpens.\n\
                 # TYPE node_netstat_Tcp_ActiveOpens untyped\n\
                 node_netstat_Tcp_ActiveOpens 3556\n"
            );
        }
        std::fs::write(net.join("snmp"), "Tcp: ActiveOpens\n").unwrap();
        let e = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        std::fs::remove_file(net.join("snmp")).unwrap();
        let mut fresh = build(&Options::default()).unwrap();
        let e = fresh.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(e.is_not_found() && e.to_string().contains("snmp"), "{e}");
    }
}
