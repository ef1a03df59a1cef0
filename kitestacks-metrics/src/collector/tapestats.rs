//! The `tapestats` collector: SCSI tape drive statistics from
//! `<sysfs>/class/scsi_tape/st<N>/stats/` (`node_tape_*`), for the drives not matching
//! `--collector.tapestats.ignored-devices`. No `scsi_tape` class is no data.

use regex::Regex;

use crate::collector::attr::{self, Attrs};
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::error::OrAbsent as _;
use crate::exposition::{MetricType, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "tapestats",
    default_enabled: true,
    families: &["node_tape_"],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(TapeStats {
        ignored: flag::TAPESTATS_IGNORED_DEVICES.regex(o)?,
        attrs: Attrs::default(),
    }))
}

struct TapeStats {
    ignored: Regex,
    attrs: Attrs,
}

/// A statistics file: name, metric, help, type, scale.
type Stat = (&'static str, &'static str, &'static str, MetricType, f64);

const STATS: [Stat; 10] = [
    (
        "in_flight",
        "node_tape_io_now",
        "The number of I/Os currently outstanding to this device.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "io_ns",
        "node_tape_io_time_seconds_total",
        "The amount of time spent waiting for all I/O to complete (including read and write). This includes tape movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on close tape devices are used.",
        MetricType::Counter,
        1e-9,
    ),
    (
        "other_cnt",
        "node_tape_io_others_total",
        "The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-write_time_seconds_total",
        MetricType::Counter,
        1.0,
    ),
    (
        "read_byte_cnt",
        "node_tape_read_bytes_total",
        "The number of bytes read from the tape drive.",
        MetricType::Counter,
        1.0,
    ),
    (
        "read_cnt",
        "node_tape_reads_completed_total",
        "The number of read requests issued to the tape drive.",
        MetricType::Counter,
        1.0,
    ),
    (
        "read_ns",
        "node_tape_read_time_seconds_total",
        "The amount of time spent waiting for read requests to complete.",
        MetricType::Counter,
        1e-9,
    ),
    (
        "resid_cnt",
        "node_tape_residual_total",
        "The number of times during a read or write we found the residual amount to be non-zero. This should mean that a program is issuing a read larger thean the block size on tape. For write not all data made it to tape.",
        MetricType::Counter,
        1.0,
    ),
    (
        "write_byte_cnt",
        "node_tape_written_bytes_total",
        "The number of bytes written to the tape drive.",
        MetricType::Counter,
        1.0,
    ),
    (
        "write_cnt",
        "node_tape_writes_completed_total",
        "The number of write requests issued to the tape drive.",
        MetricType::Counter,
        1.0,
    ),
    (
        "write_ns",
        "node_tape_write_time_seconds_total",
        "The amount of time spent waiting for write requests to complete.",
        MetricType::Counter,
        1e-9,
    ),
];

/// `st0`, `st12` (not `nst0`, `st0a`).
fn is_tape(name: &str) -> bool {
    name.strip_prefix("st")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl TapeStats {
    /// Every tape's counters (a missing statistics file counts 0, as upstream).
    fn read(&mut self, ctx: &Context) -> Result<Vec<(String, [u64; 10])>, Error> {
        let class = ctx.roots.sys("class/scsi_tape");
        let mut names = attr::list_sorted(&class)?;
        names.retain(|n| is_tape(n));
        let mut tapes = Vec::with_capacity(names.len());
        for name in names {
            let stats = class.join(&name).join("stats");
            if !stats.is_dir() {
                return Err(Error::Read {
                    path: stats,
                    source: std::io::ErrorKind::NotFound.into(),
                });
            }
            let mut values = [0; 10];
            for (v, (file, ..)) in values.iter_mut().zip(&STATS) {
                *v = match attr::read_u64(&stats.join(file), &mut self.attrs) {
                    Ok(v) => v,
                    Err(e) if e.is_not_found() => 0,
                    Err(e) => return Err(e),
                };
            }
            tapes.push((name, values));
        }
        Ok(tapes)
    }
}

impl Collector for TapeStats {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let Some(tapes) = self.read(ctx).or_absent()? else {
            return Ok(());
        };
        for (name, values) in tapes.iter().filter(|(n, _)| !self.ignored.is_match(n)) {
            for ((_, metric, help, kind, scale), v) in STATS.iter().zip(values) {
                let labels = vec![("device".into(), name.clone())];
                out.add(*metric, *help, *kind, labels, *v as f64 * scale);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;
    use crate::collector::testing::write;

    use std::path::Path;

    fn scrape(root: &Path, o: &Options) -> Result<Scrape, Error> {
        testing::scrape_tree(&mut *build(o)?, root)
    }

    #[test]
    fn tape_names() {
        assert!(is_tape("st0") && is_tape("st12"));
        assert!(!is_tape("nst0") && !is_tape("st0a") && !is_tape("st"));
    }

    #[test]
    fn a_tape_drive() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let o = Options::default();
        assert!(scrape(root, &o).unwrap().families().next().is_none());
        write(
            root,
            "sys/class/scsi_tape/st0/stats/io_ns",
            "9247011087720\n",
        );
        write(root, "sys/class/scsi_tape/st0/stats/in_flight", "1\n");
        std::fs::create_dir_all(root.join("sys/class/scsi_tape/nst0/stats")).unwrap();
        let s = scrape(root, &o).unwrap();
        let io = &s.family("node_tape_io_time_seconds_total").unwrap().series;
        assert_eq!(io.len(), 1);
        assert!((io[0].value - 9247.01108772).abs() < 1e-6);
        assert_eq!(
            s.family("node_tape_read_bytes_total").unwrap().series[0].value,
            0.0
        );
        let ignoring = Options {
            tapestats_ignored_devices: "^st0$".into(),
            ..Options::default()
        };
        assert!(scrape(root, &ignoring).unwrap().families().next().is_none());
        write(root, "sys/class/scsi_tape/st0/stats/read_cnt", "-3\n");
        let e = scrape(root, &o).unwrap_err();
        assert!(e.to_string().contains("st0/stats/read_cnt"), "{e}");
    }
}
