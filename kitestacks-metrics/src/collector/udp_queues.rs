//! The `udp_queues` collector: `node_udp_queues{queue="tx"|"rx",ip="v4"|"v6"}`, the bytes
//! queued in all UDP sockets, summed over the socket lines of `<procfs>/net/udp` and
//! `<procfs>/net/udp6` (a missing file, e.g. with IPv6 disabled, is skipped).

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "udp_queues",
    default_enabled: true,
    families: &["node_udp_queues"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(UdpQueues { files: None }))
}

struct UdpQueues {
    /// `net/udp` and `net/udp6`, kept open.
    files: Option<[TextFile; 2]>,
}

const HELP: &str = "Number of allocated memory in the kernel for UDP datagrams in bytes.";

impl Collector for UdpQueues {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let files = self.files.get_or_insert_with(|| {
            [
                TextFile::new(ctx.roots.proc("net/udp")),
                TextFile::new(ctx.roots.proc("net/udp6")),
            ]
        });
        for (file, ip) in files.iter_mut().zip(["v4", "v6"]) {
            let q = match file.parse(parse) {
                Ok(q) => q,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            out.gauge(
                "node_udp_queues",
                HELP,
                &[("queue", "tx"), ("ip", ip)],
                q.tx as f64,
            );
            out.gauge(
                "node_udp_queues",
                HELP,
                &[("queue", "rx"), ("ip", ip)],
                q.rx as f64,
            );
        }
        Ok(())
    }
}

/// The summed queues of one socket table.
#[derive(Debug, Default, PartialEq, Eq)]
struct Queues {
    /// Sum of `tx_queue`.
    tx: u64,
    /// Sum of `rx_queue`.
    rx: u64,
}

/// Parses `/proc/net/udp{,6}`: a header line, then one line per socket whose fifth field
/// is `tx_queue:rx_queue` in hex. Like prometheus/procfs, a socket line needs at least 13
/// fields (the thirteenth is `drops`, checked to be a number).
fn parse(text: &str) -> Result<Queues, ParseError> {
    let mut q = Queues::default();
    for (i, line) in text.lines().enumerate().skip(1) {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split_ascii_whitespace();
        let queues = fields
            .nth(4)
            .ok_or_else(|| ParseError::new(n, "fewer than 13 fields"))?;
        if fields.nth(7).is_none() {
            return Err(ParseError::new(n, "fewer than 13 fields"));
        }
        let (tx, rx) = queues
            .split_once(':')
            .ok_or_else(|| ParseError::new(n, format!("queues {queues:?}: no colon")))?;
        let hex = |s: &str| {
            attr::go_parse_uint(s, 16)
                .ok_or_else(|| ParseError::new(n, format!("queue {s:?} is not hexadecimal")))
        };
        q.tx += hex(tx)?;
        q.rx += hex(rx)?;
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";

    #[test]
    fn queues_are_summed_over_sockets() {
        let text = format!(
            "{HEADER}   0: 00000000:0016 00000000:0000 0A 00000015:00000000 00:00000000 00000000     0        0 2740 1 ffff88003d3af3c0 100 0 0 10 0\n\
             1: 0100007F:0035 00000000:0000 07 00000001:000000A0 00:00000000 00000000   101        0 1234 2 ffff88003d3af3c1 0\n"
        );
        assert_eq!(parse(&text), Ok(Queues { tx: 0x16, rx: 0xa0 }));
        assert_eq!(parse(HEADER), Ok(Queues::default()));
        assert_eq!(parse(""), Ok(Queues::default()));
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line() {
        let short = format!("{HEADER}   0: 00000000:0016 00000000:0000 0A 00000015:00000000\n");
        assert_eq!(parse(&short).unwrap_err().line, 2);
        let bad = format!(
            "{HEADER}   0: 00000000:0016 00000000:0000 0A 0000001x:00000000 00:00000000 00000000 0 0 2740 1 ffff 0\n"
        );
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("0000001x"), "{e}");
        let nocolon = format!(
            "{HEADER}   0: 00000000:0016 00000000:0000 0A 00000015 00:00000000 00000000 0 0 2740 1 ffff 0\n"
        );
        assert!(parse(&nocolon).is_err());
    }

    #[test]
    fn a_missing_udp6_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        c.update(&ctx, &mut s).unwrap();
        assert!(s.families().next().is_none(), "no files: no data");
        std::fs::write(
            dir.path().join("proc/net/udp"),
            format!("{HEADER}   0: 00000000:0016 00000000:0000 0A 00000002:00000003 00:00000000 00000000 0 0 2740 1 ffff 0\n"),
        )
        .unwrap();
        let text = testing::text(&mut *c, &ctx).unwrap();
        assert_eq!(
            text,
            format!(
                "# HELP node_udp_queues {HELP}\n# TYPE node_udp_queues gauge\n\
                 node_udp_queues{{ip=\"v4\",queue=\"rx\"}} 3\n\
                 node_udp_queues{{ip=\"v4\",queue=\"tx\"}} 2\n"
            )
        );
    }
}
