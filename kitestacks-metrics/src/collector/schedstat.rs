//! The `schedstat` collector: per-CPU time running and waiting, and timeslices, from
//! `/proc/schedstat`.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::OrAbsent as _;
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "schedstat",
    default_enabled: true,
    families: &["node_schedstat_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Schedstat { file: None }))
}

struct Schedstat {
    file: Option<TextFile>,
}

impl Collector for Schedstat {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("schedstat")));
        // No CONFIG_SCHEDSTATS: nothing to report.
        let Some(text) = file.read().or_absent()? else {
            return Ok(());
        };
        for_each_cpu(text, |cpu, running_ns, waiting_ns, timeslices| {
            let labels = [("cpu", cpu)];
            out.counter(
                "node_schedstat_running_seconds_total",
                "Number of seconds CPU spent running a process.",
                &labels,
                running_ns as f64 / 1e9,
            );
            out.counter(
                "node_schedstat_waiting_seconds_total",
                "Number of seconds spent by processing waiting for this CPU.",
                &labels,
                waiting_ns as f64 / 1e9,
            );
            out.counter(
                "node_schedstat_timeslices_total",
                "Number of timeslices executed by CPU.",
                &labels,
                timeslices as f64,
            );
        })
        .map_err(|e| Error::parse(ctx.roots.proc("schedstat"), e))
    }
}

/// Calls `f(cpu number, running ns, waiting ns, timeslices)` for each `cpuN` line of
/// `/proc/schedstat` (fields 7 to 9 of its nine numbers). Lines that are not a `cpuN`
/// line with nine numbers are skipped, as node_exporter does; the file must at least
/// start with its `version` line.
fn for_each_cpu(text: &str, mut f: impl FnMut(&str, u64, u64, u64)) -> Result<(), ParseError> {
    if !text.starts_with("version ") {
        return Err(ParseError::new(1, "no `version` line (truncated?)"));
    }
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(cpu) = fields
            .next()
            .and_then(|k| k.strip_prefix("cpu"))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let mut nums = [0u64; 9];
        let mut ok = true;
        for slot in &mut nums {
            match fields.next().and_then(|v| v.parse().ok()) {
                Some(v) => *slot = v,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            f(cpu, nums[6], nums[7], nums[8]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> Result<Vec<(String, u64, u64, u64)>, ParseError> {
        let mut v = Vec::new();
        for_each_cpu(text, |c, r, w, t| v.push((c.to_owned(), r, w, t)))?;
        Ok(v)
    }

    #[test]
    fn cpu_lines_give_running_waiting_and_timeslices() {
        let text = "version 15\ntimestamp 15819019232\n\
                    cpu0 498494191 0 3533438552 2553969831 3853684107 2465731542 2045936778163039 343796328169361 4767485306\n\
                    domain0 00000000,00000003 212499247 210112015\n\
                    cpu1 1 2 3\n\
                    cpu2 0 0 0 0 0 0 5 6 7 8\n";
        assert_eq!(
            collect(text).unwrap(),
            vec![
                (
                    "0".into(),
                    2_045_936_778_163_039,
                    343_796_328_169_361,
                    4_767_485_306
                ),
                ("2".into(), 5, 6, 7)
            ]
        );
    }

    #[test]
    fn a_file_without_its_version_line_is_an_error() {
        assert_eq!(collect("").unwrap_err().line, 1);
        assert_eq!(collect("cpu0 1 2 3 4 5 6 7 8 9\n").unwrap_err().line, 1);
    }
}
