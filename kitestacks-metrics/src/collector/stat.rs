//! The `stat` collector: boot time, context switches, forks, interrupts, running and
//! blocked processes, and softirqs per vector (`--collector.stat.softirq`) from
//! `/proc/stat`.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;
use crate::source::TextFile;
use crate::stat;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "stat",
    default_enabled: true,
    families: &[
        "node_boot_time_seconds",
        "node_context_switches_total",
        "node_forks_total",
        "node_intr_total",
        "node_procs_blocked",
        "node_procs_running",
        "node_softirqs_total",
    ],
    build,
};

/// The softirq vectors, in the order of the `softirq` line (after its total).
const VECTORS: [&str; 10] = [
    "hi",
    "timer",
    "net_tx",
    "net_rx",
    "block",
    "block_iopoll",
    "tasklet",
    "sched",
    "hrtimer",
    "rcu",
];

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Stat {
        softirq: o.stat_softirq,
        file: None,
    }))
}

struct Stat {
    softirq: bool,
    file: Option<TextFile>,
}

impl Collector for Stat {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let path = ctx.roots.proc("stat");
        let file = self.file.get_or_insert_with(|| TextFile::new(path.clone()));
        // Read once per scrape for this collector and the cpu collector.
        let s = out.memo(&path, || file.parse(stat::parse))?;
        // A `softirq` line must have the total and every vector (node_exporter fails
        // otherwise); a kernel without the line reports zeros.
        if !s.softirqs.is_empty() && s.softirqs.len() < VECTORS.len() + 1 {
            return Err(Error::Invalid {
                path: ctx.roots.proc("stat"),
                message: format!(
                    "softirq line has {} numbers, expected at least {}",
                    s.softirqs.len(),
                    VECTORS.len() + 1
                ),
            });
        }
        out.counter(
            "node_intr_total",
            "Total number of interrupts serviced.",
            &[],
            s.interrupts as f64,
        );
        out.counter(
            "node_context_switches_total",
            "Total number of context switches.",
            &[],
            s.context_switches as f64,
        );
        out.counter(
            "node_forks_total",
            "Total number of forks.",
            &[],
            s.forks as f64,
        );
        out.gauge(
            "node_boot_time_seconds",
            "Node boot time, in unixtime.",
            &[],
            s.boot_time as f64,
        );
        out.gauge(
            "node_procs_running",
            "Number of processes in runnable state.",
            &[],
            s.procs_running as f64,
        );
        out.gauge(
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
            &[],
            s.procs_blocked as f64,
        );
        if self.softirq {
            for (i, vector) in VECTORS.iter().enumerate() {
                let n = s.softirqs.get(i + 1).copied().unwrap_or(0);
                out.counter(
                    "node_softirqs_total",
                    "Number of softirq calls.",
                    &[("vector", vector)],
                    n as f64,
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

    fn scrape(text: &str, softirq: bool) -> Result<String, Error> {
        let dir = tempfile::tempdir().unwrap();
        testing::write(dir.path(), "proc/stat", text);
        let options = Options {
            stat_softirq: softirq,
            ..Options::default()
        };
        testing::scrape_once(&mut *build(&options)?, dir.path())
    }

    const STAT: &str = "cpu  1 2 3 4\nintr 8885917 17 0\nctxt 38014093\nbtime 1418183276\n\
                        processes 26442\nprocs_running 2\nprocs_blocked 1\n\
                        softirq 5057579 250191 1481983 1647 211099 186066 0 1783454 622196 12499 508444\n";

    #[test]
    fn every_counter_and_the_softirq_vectors() {
        let text = scrape(STAT, true).unwrap();
        for line in [
            "node_boot_time_seconds 1.418183276e+09\n",
            "node_context_switches_total 3.8014093e+07\n",
            "node_forks_total 26442\n",
            "node_intr_total 8.885917e+06\n",
            "node_procs_blocked 1\n",
            "node_procs_running 2\n",
            "node_softirqs_total{vector=\"block_iopoll\"} 0\n",
            "node_softirqs_total{vector=\"hi\"} 250191\n",
            "node_softirqs_total{vector=\"rcu\"} 508444\n",
            "node_softirqs_total{vector=\"tasklet\"} 1.783454e+06\n",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert!(!scrape(STAT, false).unwrap().contains("softirqs"));
        // No softirq line: zeros.
        let text = scrape("cpu 1 2 3 4\nbtime 1\n", true).unwrap();
        assert!(text.contains("node_softirqs_total{vector=\"rcu\"} 0\n"));
    }

    #[test]
    fn malformed_and_truncated_input_is_an_error() {
        let err = scrape("cpu 1 2 3 4\nbtime 1\nsoftirq 5 1 2\n", true).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        let err = scrape("cpu 1 2 3 4\nbtime x\n", false).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 2, .. }), "{err}");
        assert!(scrape("cpu 1 2", false).is_err());
    }
}
