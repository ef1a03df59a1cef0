//! The `softnet` collector: `node_softnet_*` per-CPU packet processing counters from
//! `/proc/net/softnet_stat` (one line of hexadecimal columns per CPU), as
//! node_exporter's `softnet_linux.go` reads them.

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "softnet",
    default_enabled: true,
    families: &["node_softnet_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Softnet { file: None }))
}

struct Softnet {
    file: Option<TextFile>,
}

/// One CPU's line. Columns that older kernels lack are 0.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct SoftnetStat {
    processed: u32,
    dropped: u32,
    time_squeezed: u32,
    cpu_collision: u32,
    received_rps: u32,
    flow_limit_count: u32,
    backlog_len: u32,
    /// The CPU (column 13 since Linux 5.14, else the line's position).
    index: u32,
}

/// Parses `/proc/net/softnet_stat`: at least 9 columns (2.6.23), the 10th since 2.6.39,
/// the 11th since 4.18, the 12th and 13th since 5.14.
fn parse(text: &str) -> Result<Vec<SoftnetStat>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let cols: Vec<&str> = line.split_ascii_whitespace().collect();
        if cols.len() < 9 {
            return Err(ParseError::new(
                n,
                format!("{} columns, expected at least 9", cols.len()),
            ));
        }
        let hex = |k: usize| -> Result<u32, ParseError> {
            let c = cols[k];
            attr::go_parse_uint(c, 16)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    ParseError::new(
                        n,
                        format!("column {}: {c:?} is not a 32-bit hexadecimal number", k + 1),
                    )
                })
        };
        // All of the first nine are checked, though only four are used.
        let mut first = [0u32; 9];
        for (k, slot) in first.iter_mut().enumerate() {
            *slot = hex(k)?;
        }
        let mut s = SoftnetStat {
            processed: first[0],
            dropped: first[1],
            time_squeezed: first[2],
            cpu_collision: first[8],
            index: u32::try_from(i).unwrap_or(u32::MAX),
            ..SoftnetStat::default()
        };
        if cols.len() >= 10 {
            s.received_rps = hex(9)?;
        }
        if cols.len() >= 11 {
            s.flow_limit_count = hex(10)?;
        }
        if cols.len() >= 13 {
            s.backlog_len = hex(11)?;
            s.index = hex(12)?;
        }
        out.push(s);
    }
    Ok(out)
}

impl Collector for Softnet {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("net/softnet_stat")));
        for s in file.parse(parse)? {
            let cpu = s.index.to_string();
            let cpu = [("cpu", cpu.as_str())];
            let counters = [
                (
                    "node_softnet_processed_total",
                    "Number of processed packets",
                    s.processed,
                ),
                (
                    "node_softnet_dropped_total",
                    "Number of dropped packets",
                    s.dropped,
                ),
                (
                    "node_softnet_times_squeezed_total",
                    "Number of times processing packets ran out of quota",
                    s.time_squeezed,
                ),
                (
                    "node_softnet_cpu_collision_total",
                    "Number of collision occur while obtaining device lock while transmitting",
                    s.cpu_collision,
                ),
                (
                    "node_softnet_received_rps_total",
                    "Number of times cpu woken up received_rps",
                    s.received_rps,
                ),
                (
                    "node_softnet_flow_limit_count_total",
                    "Number of times flow limit has been reached",
                    s.flow_limit_count,
                ),
            ];
            for (name, help, v) in counters {
                out.counter(name, help, &cpu, f64::from(v));
            }
            out.gauge(
                "node_softnet_backlog_len",
                "Softnet backlog status",
                &cpu,
                f64::from(s.backlog_len),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::collector::testing;

    #[test]
    fn old_and_new_kernels() {
        let s = parse(
            "00049279 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n\
             000dfb82 00000029 0000000a 00000000 00000000 00000000 00000000 00000000 00000007\n\
             00000010 00000001 00000002 0 0 0 0 0 00000003 00000004 00000005 00000006 0000000b\n",
        )
        .unwrap();
        assert_eq!(
            s[0],
            SoftnetStat {
                processed: 0x49279,
                time_squeezed: 1,
                ..SoftnetStat::default()
            }
        );
        assert_eq!((s[1].dropped, s[1].cpu_collision, s[1].index), (0x29, 7, 1));
        assert_eq!(
            s[2],
            SoftnetStat {
                processed: 16,
                dropped: 1,
                time_squeezed: 2,
                cpu_collision: 3,
                received_rps: 4,
                flow_limit_count: 5,
                backlog_len: 6,
                index: 11,
            }
        );
    }

    #[test]
    fn malformed_and_truncated() {
        assert_eq!(parse("0 0 0 0 0 0 0 0 0\n0 0 0\n").unwrap_err().line, 2);
        let e = parse("0 0 0 0 0 0 0 0 zz\n").unwrap_err();
        assert!(e.message.contains("column 9"), "{}", e.message);
        assert!(
            parse("0 0 0 0 0 0 0 0 100000000\n").is_err(),
            "over 32 bits"
        );
        assert!(parse("+1 0 0 0 0 0 0 0 0\n").is_err());
    }

    #[test]
    fn series_per_cpu() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        std::fs::write(
            dir.path().join("proc/net/softnet_stat"),
            "00551c3f 00000000 00000055 0 0 0 0 0 0 0 0\n",
        )
        .unwrap();
        let ctx = testing::context(dir.path());
        let mut out = Scrape::new();
        build(&Options::default())
            .unwrap()
            .update(&ctx, &mut out)
            .unwrap();
        let mut text = String::new();
        out.render(&mut text);
        assert!(
            text.contains("node_softnet_processed_total{cpu=\"0\"} 5.577791e+06\n"),
            "{text}"
        );
        assert!(text.contains(
            "# TYPE node_softnet_backlog_len gauge\nnode_softnet_backlog_len{cpu=\"0\"} 0\n"
        ));
        assert_eq!(text.matches("# TYPE").count(), 7);
        std::fs::remove_file(dir.path().join("proc/net/softnet_stat")).unwrap();
        let e = build(&Options::default())
            .unwrap()
            .update(&ctx, &mut Scrape::new())
            .unwrap_err();
        assert!(e.is_not_found(), "{e}");
    }
}
