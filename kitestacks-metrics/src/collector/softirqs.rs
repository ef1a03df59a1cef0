//! The `softirqs` collector: `node_softirqs_functions_total{cpu,type}`, the softirq
//! counts per CPU and vector from `<procfs>/softirqs`, as node_exporter's
//! `softirqs_linux.go` reports them from prometheus/procfs's parser.

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "softirqs",
    default_enabled: false,
    // Precise: the stat collector owns node_softirqs_total.
    families: &["node_softirqs_functions_total"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Softirqs { file: None }))
}

struct Softirqs {
    file: Option<TextFile>,
}

/// The vectors procfs knows, in the order node_exporter reports them.
const VECTORS: [&str; 10] = [
    "HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
];

/// Per vector (in [`VECTORS`] order), the count of each CPU; empty for a vector the
/// file lacks.
#[derive(Debug, Default, PartialEq, Eq)]
struct PerVector([Vec<u64>; 10]);

/// Parses `/proc/softirqs`: a header line (the CPUs), then `NAME: count...` lines. Lines
/// without a count and unknown vectors are skipped; an empty file is an error.
fn parse(text: &str) -> Result<PerVector, ParseError> {
    let mut lines = text.lines().enumerate();
    if lines.next().is_none() {
        return Err(ParseError::new(1, "softirqs empty"));
    }
    let mut out = PerVector::default();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // At least one CPU's count.
        let [name, counts @ ..] = fields.as_slice() else {
            continue;
        };
        if counts.is_empty() {
            continue;
        }
        let Some(k) = name
            .strip_suffix(':')
            .and_then(|v| VECTORS.iter().position(|x| *x == v))
        else {
            continue;
        };
        let per_cpu = &mut out.0[k];
        per_cpu.clear();
        for (cpu, f) in counts.iter().enumerate() {
            per_cpu.push(attr::go_parse_uint(f, 10).ok_or_else(|| {
                ParseError::new(i + 1, format!("couldn't parse {f:?} ({}{cpu})", VECTORS[k]))
            })?);
        }
    }
    Ok(out)
}

impl Collector for Softirqs {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("softirqs")));
        let PerVector(per) = file.parse(parse)?;
        for (vector, counts) in VECTORS.iter().zip(&per) {
            for (cpu, v) in counts.iter().enumerate() {
                out.counter(
                    "node_softirqs_functions_total",
                    "Softirq counts per CPU.",
                    &[("cpu", &cpu.to_string()), ("type", vector)],
                    *v as f64,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const FIXTURE: &str = "                    CPU0       CPU1       \n          \
        HI:          7          1\n       \
        TIMER:     424191     108342\n    \
        IRQ_POLL:          0          0\n         \
        RCU:     155929     146631\n  \
        NEW_ONE:          3          4\n  \
        BLOCK:        5          6\n  \
        BLOCK:\n";

    #[test]
    fn counts_per_vector_and_cpu() {
        let PerVector(p) = parse(FIXTURE).unwrap();
        assert_eq!(p[0], [7, 1]);
        assert_eq!(p[1], [424191, 108342]);
        assert_eq!(p[5], [0, 0]);
        assert_eq!(p[9], [155929, 146631]);
        assert_eq!(p[4], [5, 6], "a line without counts is skipped");
        assert!(p[2].is_empty(), "absent");
        assert_eq!(parse("CPU0\n"), Ok(PerVector::default()));
    }

    #[test]
    fn malformed_and_empty() {
        assert_eq!(parse("").unwrap_err().message, "softirqs empty");
        let e = parse("CPU0 CPU1\nHI: 1 2\nNET_RX: 3 x\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("\"x\" (NET_RX1)"), "{e}");
        assert!(parse("CPU0\nHI: +1\n").is_err());
        assert!(parse("CPU0\nHI: -1\n").is_err());
    }

    #[test]
    fn series_per_cpu_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        assert!(
            c.update(&ctx, &mut Scrape::new())
                .unwrap_err()
                .is_not_found()
        );
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(dir.path().join("proc/softirqs"), FIXTURE).unwrap();
        let mut s = Scrape::new();
        c.update(&ctx, &mut s).unwrap();
        let f = s.family("node_softirqs_functions_total").unwrap();
        assert_eq!(f.series.len(), 10);
        let labels: Vec<&str> = f.series[3].labels.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            (labels.as_slice(), f.series[3].value),
            (&["1", "TIMER"][..], 108342.0)
        );
    }
}
