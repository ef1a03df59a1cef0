//! The `ipvs` collector: IP Virtual Server totals from `<procfs>/net/ip_vs_stats`
//! (`node_ipvs_connections_total`, packet and byte counters) and per-backend connections
//! and weights from `<procfs>/net/ip_vs` (`node_ipvs_backend_*`, labelled by
//! `--collector.ipvs.backend-labels`), as node_exporter's `ipvs_linux.go` reads them.
//! No `ip_vs_stats` (no IPVS module) is no data.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::OrAbsent as _;
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "ipvs",
    default_enabled: true,
    families: &["node_ipvs_"],
    build,
};

/// The backend labels, in node_exporter's order.
const ALL_LABELS: [&str; 6] = [
    "local_address",
    "local_port",
    "remote_address",
    "remote_port",
    "proto",
    "local_mark",
];

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Ipvs {
        labels: backend_labels(&o.ipvs_backend_labels)?,
        stats: None,
        backends: None,
    }))
}

/// The chosen labels of a comma-separated list, in node_exporter's order (duplicates and
/// empty items dropped); an unknown label is an error.
fn backend_labels(list: &str) -> Result<Vec<&'static str>, Error> {
    let given: Vec<&str> = list.split(',').filter(|l| !l.is_empty()).collect();
    let mut unknown: Vec<&str> = given
        .iter()
        .copied()
        .filter(|l| !ALL_LABELS.contains(l))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        unknown.dedup();
        return Err(Error::Pattern {
            what: flag::IPVS_BACKEND_LABELS.name,
            pattern: list.to_owned(),
            message: format!("unknown IPVS backend labels: {:?}", unknown.join(", ")),
        });
    }
    Ok(ALL_LABELS
        .into_iter()
        .filter(|l| given.contains(l))
        .collect())
}

struct Ipvs {
    labels: Vec<&'static str>,
    stats: Option<TextFile>,
    backends: Option<TextFile>,
}

/// `/proc/net/ip_vs_stats`: connections, incoming and outgoing packets, incoming and
/// outgoing bytes.
#[derive(Debug, PartialEq, Eq)]
struct Totals([u64; 5]);

/// Parses `/proc/net/ip_vs_stats`: the third line holds the five hexadecimal totals (and
/// at least three newlines must be there, as procfs checks).
fn parse_stats(text: &str) -> Result<Totals, ParseError> {
    let mut lines = text.splitn(4, '\n');
    let third = lines.nth(2);
    let (Some(third), Some(_)) = (third, lines.next()) else {
        return Err(ParseError::new(1, "ip_vs_stats corrupt: too short"));
    };
    let fields: Vec<&str> = third.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(ParseError::new(
            3,
            format!("{} fields, want 5", fields.len()),
        ));
    }
    let mut out = [0; 5];
    for (o, f) in out.iter_mut().zip(&fields) {
        *o = hex_u64(f).ok_or_else(|| {
            ParseError::new(3, format!("{f:?} is not a hexadecimal unsigned integer"))
        })?;
    }
    Ok(Totals(out))
}

/// Go's `strconv.ParseUint(s, 16, 64)`: no sign, no prefix.
fn hex_u64(s: &str) -> Option<u64> {
    attr::go_parse_uint(s, 16)
}

/// An address as Go's `net.IP.String()` writes it (`""` for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ip {
    None,
    V4([u8; 4]),
    V6(Ipv6Addr),
}

impl Ip {
    fn write(self, out: &mut String) {
        match self {
            Ip::None => {}
            Ip::V4([a, b, c, d]) => {
                let _ = write!(out, "{a}.{b}.{c}.{d}");
            }
            Ip::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return Ip::V4(v4.octets()).write(out);
                }
                // netip's form: lowercase hex without leading zeros, the first longest run
                // of at least two zero groups as `::`.
                let g = v6.segments();
                let (mut start, mut end) = (8, 8);
                let mut i = 0;
                while i < 8 {
                    let j = (i..8).find(|&j| g[j] != 0).unwrap_or(8);
                    if j - i >= 2 && j - i > end - start {
                        (start, end) = (i, j);
                    }
                    i = j.max(i + 1);
                }
                let mut i = 0;
                while i < 8 {
                    if i == start {
                        out.push_str("::");
                        i = end;
                        if i >= 8 {
                            break;
                        }
                    } else if i > 0 {
                        out.push(':');
                    }
                    let _ = write!(out, "{:x}", g[i]);
                    i += 1;
                }
            }
        }
    }
}

/// One virtual/real server pair of `/proc/net/ip_vs`.
#[derive(Debug, PartialEq, Eq)]
struct Backend<'a> {
    local_address: Ip,
    local_port: u16,
    remote_address: Ip,
    remote_port: u16,
    proto: &'a str,
    local_mark: &'a str,
    weight: u64,
    active: u64,
    inactive: u64,
}

/// An `ADDR:PORT` of `/proc/net/ip_vs`: 13 characters for IPv4 (`C0A80016:0CEA`), 46 for
/// IPv6 (`[2620:0000:...:0001]:0050`), the port in hexadecimal.
fn parse_ip_port(s: &str, n: usize) -> Result<(Ip, u16), ParseError> {
    let bad = || ParseError::new(n, format!("unexpected IP:Port {s:?}"));
    let b = s.as_bytes();
    let ip = match b.len() {
        13 => {
            let mut ip = [0u8; 4];
            for (k, o) in ip.iter_mut().enumerate() {
                let pair = s.get(2 * k..2 * k + 2).ok_or_else(bad)?;
                *o = attr::go_parse_uint(pair, 16)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or_else(bad)?;
            }
            Ip::V4(ip)
        }
        46 => Ip::V6(
            s.get(1..40)
                .and_then(|a| a.parse::<Ipv6Addr>().ok())
                .ok_or_else(|| ParseError::new(n, format!("invalid IPv6 address in {s:?}")))?,
        ),
        _ => return Err(bad()),
    };
    let port = s
        .get(b.len() - 4..)
        .and_then(hex_u64)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(bad)?;
    Ok((ip, port))
}

/// Parses `/proc/net/ip_vs` as procfs does: a `TCP`/`UDP` line (address:port) or an `FWM`
/// line (firewall mark) opens a virtual server; each `->` line with at least six fields
/// is one of its real servers. Other lines are skipped.
fn parse_backends(text: &str) -> Result<Vec<Backend<'_>>, ParseError> {
    let mut out = Vec::new();
    let (mut proto, mut local_mark) = ("", "");
    let (mut local_address, mut local_port) = (Ip::None, 0);
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            [] | ["IP" | "Prot", ..] | [_, "RemoteAddress:Port", ..] => {}
            // procfs indexes a second field here and would panic.
            [one] => {
                return Err(ParseError::new(n, format!("a line of one field {one:?}")));
            }
            [p @ ("TCP" | "UDP"), addr, ..] => {
                proto = p;
                local_mark = "";
                (local_address, local_port) = parse_ip_port(addr, n)?;
            }
            ["FWM", mark, ..] => {
                proto = "FWM";
                local_mark = mark;
                (local_address, local_port) = (Ip::None, 0);
            }
            ["->", remote, _, weight, active, inactive, ..] => {
                let (remote_address, remote_port) = parse_ip_port(remote, n)?;
                let num = |s: &str, what: &str| {
                    attr::go_parse_uint(s, 10).ok_or_else(|| {
                        ParseError::new(n, format!("{what} {s:?} is not an unsigned integer"))
                    })
                };
                out.push(Backend {
                    local_address,
                    local_port,
                    remote_address,
                    remote_port,
                    proto,
                    local_mark,
                    weight: num(weight, "weight")?,
                    active: num(active, "active connections")?,
                    inactive: num(inactive, "inactive connections")?,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

impl Collector for Ipvs {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let stats = self
            .stats
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("net/ip_vs_stats")));
        let Some(Totals(t)) = stats.parse(parse_stats).or_absent()? else {
            return Ok(());
        };
        let totals = [
            (
                "node_ipvs_connections_total",
                "The total number of connections made.",
            ),
            (
                "node_ipvs_incoming_packets_total",
                "The total number of incoming packets.",
            ),
            (
                "node_ipvs_outgoing_packets_total",
                "The total number of outgoing packets.",
            ),
            (
                "node_ipvs_incoming_bytes_total",
                "The total amount of incoming data.",
            ),
            (
                "node_ipvs_outgoing_bytes_total",
                "The total amount of outgoing data.",
            ),
        ];
        for ((name, help), v) in totals.into_iter().zip(t) {
            out.counter(name, help, &[], v as f64);
        }

        let file = self
            .backends
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("net/ip_vs")));
        let text = file.read()?;
        let backends =
            parse_backends(text).map_err(|e| Error::parse(ctx.roots.proc("net/ip_vs"), e))?;
        // Backends with the same values of the chosen labels are summed (upstream keys
        // them by the values joined with '-').
        let mut sums: HashMap<String, (Vec<String>, [u64; 3])> = HashMap::new();
        for b in &backends {
            let values: Vec<String> = self
                .labels
                .iter()
                .map(|l| {
                    let mut v = String::new();
                    match *l {
                        "local_address" => b.local_address.write(&mut v),
                        "local_port" => v = b.local_port.to_string(),
                        "remote_address" => b.remote_address.write(&mut v),
                        "remote_port" => v = b.remote_port.to_string(),
                        "proto" => v.push_str(b.proto),
                        _ => v.push_str(b.local_mark),
                    }
                    v
                })
                .collect();
            let entry = sums
                .entry(values.join("-"))
                .or_insert_with(|| (Vec::new(), [0; 3]));
            entry.1[0] = entry.1[0].wrapping_add(b.active);
            entry.1[1] = entry.1[1].wrapping_add(b.inactive);
            entry.1[2] = entry.1[2].wrapping_add(b.weight);
            entry.0 = values;
        }
        for (values, [active, inactive, weight]) in sums.into_values() {
            let labels: Vec<(&'static str, &str)> = self
                .labels
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            out.gauge(
                "node_ipvs_backend_connections_active",
                "The current active connections by local and remote address.",
                &labels,
                active as f64,
            );
            out.gauge(
                "node_ipvs_backend_connections_inactive",
                "The current inactive connections by local and remote address.",
                &labels,
                inactive as f64,
            );
            out.gauge(
                "node_ipvs_backend_weight",
                "The current backend weight by local and remote address.",
                &labels,
                weight as f64,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::IPVS_BACKEND_LABELS;
    use crate::collector::testing;

    const STATS: &str = "   Total Incoming Outgoing         Incoming         Outgoing\n   \
        Conns  Packets  Packets            Bytes            Bytes\n \
        16AA370 E33656E5        0     51D8C8883AB3                0\n\n \
        Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n       \
        4    1FB3C        0          1282A8F                0\n";

    const BACKENDS: &str = "IP Virtual Server version 1.2.1 (size=4096)\n\
        Prot LocalAddress:Port Scheduler Flags\n  \
        -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n\
        TCP  C0A80016:0CEA wlc  \n  \
        -> C0A85216:0CEA      Tunnel  100    248        2         \n  \
        -> C0A85318:0CEA      Tunnel  100    248        2         \n\
        UDP  [2620:0000:0000:0000:0000:0000:0000:0001]:0035 rr\n  \
        -> [0000:0000:0000:0000:0000:ffff:c0a8:0101]:0035      Masq  1    0        0\n\
        FWM  10001000 wlc   \n  \
        -> C0A8321A:0CEA      Tunnel  20     64         1         \n  \
        -> C0A8321A:0CEA      Tunnel  5      6          7         \n";

    #[test]
    fn totals_are_the_third_line_in_hex() {
        assert_eq!(
            parse_stats(STATS).unwrap(),
            Totals([0x16AA370, 0xE33656E5, 0, 0x51D8C8883AB3, 0])
        );
        assert_eq!(parse_stats("a\nb\n").unwrap_err().line, 1);
        assert!(
            parse_stats("a\nb\n1 2 3 4\n")
                .unwrap_err()
                .message
                .contains("4 fields")
        );
        assert!(
            parse_stats("a\nb\n1 2 3 4 g\n")
                .unwrap_err()
                .message
                .contains("\"g\"")
        );
        assert!(parse_stats("a\nb\n1 2 3 4 +5\n").is_err());
    }

    #[test]
    fn backends_carry_their_virtual_server() {
        let b = parse_backends(BACKENDS).unwrap();
        assert_eq!(b.len(), 5);
        assert_eq!(b[0].local_address, Ip::V4([192, 168, 0, 22]));
        assert_eq!((b[0].local_port, b[0].remote_port), (3306, 3306));
        assert_eq!((b[0].weight, b[0].active, b[0].inactive), (100, 248, 2));
        assert_eq!((b[2].proto, b[2].local_port), ("UDP", 53));
        assert_eq!((b[3].proto, b[3].local_mark), ("FWM", "10001000"));
        assert_eq!((b[3].local_address, b[3].local_port), (Ip::None, 0));
        let s = |ip: Ip| {
            let mut v = String::new();
            ip.write(&mut v);
            v
        };
        assert_eq!(s(b[2].local_address), "2620::1");
        assert_eq!(
            s(b[2].remote_address),
            "192.168.1.1",
            "v4-mapped as Go writes it"
        );
        assert_eq!(
            s(Ip::V6("1:0:2:0:0:3:0:0".parse().unwrap())),
            "1:0:2::3:0:0"
        );
        assert_eq!(
            s(Ip::V6("1:0:0:2:0:0:3:4".parse().unwrap())),
            "1::2:0:0:3:4"
        );
        assert_eq!(
            s(Ip::V6("1:0:2:3:4:5:6:7".parse().unwrap())),
            "1:0:2:3:4:5:6:7"
        );
        assert_eq!(s(Ip::V6("::".parse().unwrap())), "::");
        assert_eq!(s(Ip::V6("::1.2.3.4".parse().unwrap())), "::102:304");
    }

    #[test]
    fn malformed_backends_are_errors_with_their_line() {
        for (text, line, needle) in [
            ("TCP  C0A8001:0CEA wlc\n", 1, "IP:Port"),
            ("TCP  C0A8001G:0CEA wlc\n", 1, "IP:Port"),
            ("TCP  C0A80016:0CEX wlc\n", 1, "IP:Port"),
            (
                "UDP  [2620:0000:0000:0000:0000:0000:0000:000g]:0035 rr\n",
                1,
                "IPv6",
            ),
            ("x y\n  -> C0A8321A:0CEA Tunnel x 1 1\n", 2, "weight"),
            ("  -> C0A8321A:0CEA Tunnel 1 -1 1\n", 1, "active"),
            ("  -> C0A8321A:0CEA Tunnel 1 1 +1\n", 1, "inactive"),
            ("TCP\n", 1, "one field"),
        ] {
            let e = parse_backends(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
        // Short real-server lines and unknown protocols are skipped, as in procfs.
        assert_eq!(
            parse_backends("SCTP x\n  -> C0A8321A:0CEA 1\n").unwrap(),
            []
        );
    }

    #[test]
    fn labels_are_chosen_and_checked() {
        assert_eq!(backend_labels(IPVS_BACKEND_LABELS).unwrap(), ALL_LABELS);
        assert_eq!(
            backend_labels("proto,,local_port,proto").unwrap(),
            ["local_port", "proto"]
        );
        assert!(backend_labels("").unwrap().is_empty());
        let e = backend_labels("b,proto,a,b").unwrap_err();
        assert!(e.to_string().contains(r#"labels: "a, b""#), "{e}");
    }

    fn scrape(dir: &std::path::Path, labels: &str) -> Result<Scrape, Error> {
        let options = Options {
            ipvs_backend_labels: labels.to_owned(),
            ..Options::default()
        };
        testing::scrape_tree(&mut *build(&options)?, dir)
    }

    #[test]
    fn backends_are_summed_over_the_chosen_labels() {
        let dir = tempfile::tempdir().unwrap();
        let s = scrape(dir.path(), IPVS_BACKEND_LABELS).unwrap();
        assert_eq!(s.families().count(), 0, "no IPVS: no data");
        let net = dir.path().join("proc/net");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(net.join("ip_vs_stats"), STATS).unwrap();
        assert!(
            scrape(dir.path(), IPVS_BACKEND_LABELS)
                .unwrap_err()
                .is_not_found(),
            "ip_vs_stats without ip_vs"
        );
        std::fs::write(net.join("ip_vs"), BACKENDS).unwrap();
        let s = scrape(dir.path(), IPVS_BACKEND_LABELS).unwrap();
        assert_eq!(
            s.family("node_ipvs_incoming_bytes_total").unwrap().series[0].value,
            0x51D8C8883AB3u64 as f64
        );
        let w = s.family("node_ipvs_backend_weight").unwrap();
        assert_eq!(w.series.len(), 4, "the two equal FWM backends are summed");
        let fwm = w
            .series
            .iter()
            .find(|x| x.labels.iter().any(|(_, v)| v == "10001000"))
            .unwrap();
        assert_eq!(fwm.value, 25.0);
        let s = scrape(dir.path(), "proto").unwrap();
        let a = s.family("node_ipvs_backend_connections_active").unwrap();
        let mut got: Vec<(String, f64)> = a
            .series
            .iter()
            .map(|x| (x.labels[0].1.clone(), x.value))
            .collect();
        got.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            got,
            [
                ("FWM".to_owned(), 70.0),
                ("TCP".to_owned(), 496.0),
                ("UDP".to_owned(), 0.0)
            ]
        );
        std::fs::write(net.join("ip_vs"), "TCP zz\n").unwrap();
        let e = scrape(dir.path(), "").unwrap_err();
        assert!(e.to_string().contains("ip_vs:1"), "{e}");
    }
}
