//! The `pressure` collector: pressure stall totals (PSI) for CPU, I/O, memory and IRQ
//! from `/proc/pressure/*`, in seconds.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "pressure",
    default_enabled: true,
    families: &["node_pressure_"],
    build,
};

/// The resources, in node_exporter's order.
const RESOURCES: [&str; 4] = ["cpu", "io", "memory", "irq"];

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Pressure {
        files: Default::default(),
    }))
}

struct Pressure {
    files: [Option<TextFile>; 4],
}

impl Collector for Pressure {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        for (resource, file) in RESOURCES.iter().zip(&mut self.files) {
            let file = file.get_or_insert_with(|| {
                TextFile::new(ctx.roots.proc(&format!("pressure/{resource}")))
            });
            let psi = match file.parse(parse) {
                Ok(p) => p,
                // Kernel before 4.20 (6.1 for irq) or without CONFIG_PSI.
                Err(e) if e.is_not_found() => continue,
                // PSI compiled in but disabled (`psi=0`): the read fails with EOPNOTSUPP.
                // Nothing to report, which is not a failure.
                Err(Error::Read { source, .. })
                    if source.raw_os_error() == Some(rustix::io::Errno::NOTSUP.raw_os_error()) =>
                {
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            // IRQ pressure has only a `full` line, and old kernels' CPU pressure only
            // `some`; any other gap means there is no usable data (as node_exporter).
            let some = match psi.some {
                Some(s) => s,
                None if *resource == "irq" => 0,
                None => return Ok(()),
            };
            let full = match psi.full {
                Some(f) => f,
                None if *resource == "cpu" => 0,
                None => return Ok(()),
            };
            let secs = |micros: u64| micros as f64 / 1000.0 / 1000.0;
            match *resource {
                "cpu" => out.counter(
                    "node_pressure_cpu_waiting_seconds_total",
                    "Total time in seconds that processes have waited for CPU time",
                    &[],
                    secs(some),
                ),
                "io" => {
                    out.counter(
                        "node_pressure_io_waiting_seconds_total",
                        "Total time in seconds that processes have waited due to IO congestion",
                        &[],
                        secs(some),
                    );
                    out.counter(
                        "node_pressure_io_stalled_seconds_total",
                        "Total time in seconds no process could make progress due to IO congestion",
                        &[],
                        secs(full),
                    );
                }
                "memory" => {
                    out.counter(
                        "node_pressure_memory_waiting_seconds_total",
                        "Total time in seconds that processes have waited for memory",
                        &[],
                        secs(some),
                    );
                    out.counter(
                        "node_pressure_memory_stalled_seconds_total",
                        "Total time in seconds no process could make progress due to memory congestion",
                        &[],
                        secs(full),
                    );
                }
                _ => out.counter(
                    "node_pressure_irq_stalled_seconds_total",
                    "Total time in seconds no process could make progress due to IRQ congestion",
                    &[],
                    secs(full),
                ),
            }
        }
        // No resource at all: nothing to report, which is not a failure.
        Ok(())
    }
}

/// The `total=` figures (microseconds) of a pressure file's `some` and `full` lines, for
/// a cgroup's `*.pressure` files, which have the same format.
pub(crate) fn parse_psi(text: &str) -> Result<(Option<u64>, Option<u64>), ParseError> {
    parse(text).map(|p| (p.some, p.full))
}

/// The `total=` figures (microseconds) of a pressure file's `some` and `full` lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Psi {
    some: Option<u64>,
    full: Option<u64>,
}

/// Parses a `/proc/pressure/<resource>` file:
/// `some avg10=0.00 avg60=0.00 avg300=0.00 total=14036781`, then a `full` line. Lines
/// of other kinds are ignored.
fn parse(text: &str) -> Result<Psi, ParseError> {
    let mut psi = Psi::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        let slot = match kind {
            "some" => &mut psi.some,
            "full" => &mut psi.full,
            _ => continue,
        };
        let mut fields = rest.split_ascii_whitespace();
        for key in ["avg10=", "avg60=", "avg300="] {
            // Checked, not parsed: only the totals are used, and a float parse of each
            // was a sixth of a container pass (callgrind).
            let avg = fields.next().and_then(|f| f.strip_prefix(key));
            if !avg.is_some_and(is_decimal) {
                return Err(ParseError::new(n, format!("{kind}: bad or missing {key}")));
            }
        }
        let total = fields
            .next()
            .and_then(|f| f.strip_prefix("total="))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| ParseError::new(n, format!("{kind}: bad or missing total=")))?;
        *slot = Some(total);
    }
    Ok(psi)
}

/// A percentage as the kernel writes it: digits, a point, digits (`12.34`).
fn is_decimal(v: &str) -> bool {
    let v = v.as_bytes();
    let (whole, fraction) = match v.iter().position(|&b| b == b'.') {
        Some(dot) => (&v[..dot], &v[dot + 1..]),
        None => (v, &b"0"[..]),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    digits(whole) && digits(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn some_and_full_totals() {
        let p = parse(
            "some avg10=0.18 avg60=0.34 avg300=0.10 total=159886802\n\
             full avg10=0.18 avg60=0.34 avg300=0.10 total=159229614\n",
        )
        .unwrap();
        assert_eq!(
            p,
            Psi {
                some: Some(159_886_802),
                full: Some(159_229_614)
            }
        );
        assert_eq!(
            parse("full avg10=0.00 avg60=0.00 avg300=0.00 total=8494").unwrap(),
            Psi {
                some: None,
                full: Some(8494)
            }
        );
        assert_eq!(parse("other 1\n").unwrap(), Psi::default());
    }

    #[test]
    fn malformed_and_truncated_input_is_an_error_with_a_line() {
        let ok = "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n";
        assert_eq!(
            parse(&format!(
                "{ok}full avg10=0.00 avg60=0.00 avg300=0.00 total=x\n"
            ))
            .unwrap_err()
            .line,
            2
        );
        assert_eq!(parse("some avg10=0.00 avg60=0.00").unwrap_err().line, 1);
        assert_eq!(
            parse("some avg10=x avg60=0 avg300=0 total=1")
                .unwrap_err()
                .line,
            1
        );
        assert_eq!(parse("some").unwrap_err().line, 1);
        for avg in ["", ".5", "1.", "1.2.3", "-1.0", "1e3", "nan"] {
            let line = format!("some avg10={avg} avg60=0.00 avg300=0.00 total=1");
            assert_eq!(parse(&line).unwrap_err().line, 1, "{avg:?}");
        }
        let fine = parse("some avg10=100.00 avg60=7 avg300=0.10 total=3").unwrap();
        assert_eq!(fine.some, Some(3));
    }

    fn scrape(files: &[(&str, &str)]) -> Result<String, Error> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/pressure")).unwrap();
        for (name, text) in files {
            testing::write(dir.path(), &format!("proc/pressure/{name}"), text);
        }
        testing::scrape_once(&mut *build(&Options::default())?, dir.path())
    }

    #[test]
    fn seconds_per_resource_and_gaps_mean_no_data() {
        let some = "some avg10=0.00 avg60=0.00 avg300=0.00 total=14036781\n";
        let full = "full avg10=0.00 avg60=0.00 avg300=0.00 total=8494\n";
        let text = scrape(&[("cpu", some), ("irq", full)]).unwrap();
        assert!(text.contains("node_pressure_cpu_waiting_seconds_total 14.036781000000001\n"));
        assert!(text.contains("node_pressure_irq_stalled_seconds_total 0.008494\n"));
        // Memory without a `full` line: stop there, keeping what was gathered.
        let text = scrape(&[("cpu", some), ("memory", some), ("irq", full)]).unwrap();
        assert!(text.contains("cpu_waiting") && !text.contains("memory") && !text.contains("irq"));
        assert_eq!(scrape(&[]).unwrap(), "");
        assert!(matches!(
            scrape(&[("io", "some avg10=1\n")]).unwrap_err(),
            Error::Parse { line: 1, .. }
        ));
    }
}
