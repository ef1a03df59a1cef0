//! The `kernel_hung` collector: `node_kernel_hung_tasks_total`, the number of tasks the
//! kernel's hung-task detector has reported since boot, from
//! `<procfs>/sys/kernel/hung_task_detect_count` (recent kernels built with
//! `CONFIG_DETECT_HUNG_TASK`). No file is no data.

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::OrAbsent as _;
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "kernel_hung",
    default_enabled: true,
    families: &["node_kernel_hung_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(KernelHung { file: None }))
}

struct KernelHung {
    /// `hung_task_detect_count`, kept open.
    file: Option<TextFile>,
}

/// Parses the file's text: one unsigned decimal number.
fn parse(text: &str) -> Result<u64, ParseError> {
    attr::parse_u64(text.trim())
}

impl Collector for KernelHung {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let Some(count) = self
            .file
            .get_or_insert_with(|| {
                TextFile::new(ctx.roots.proc("sys/kernel/hung_task_detect_count"))
            })
            .parse(parse)
            .or_absent()?
        else {
            return Ok(());
        };
        out.counter(
            "node_kernel_hung_tasks_total",
            "Total number of tasks that have been detected as hung since the system booted.",
            &[],
            count as f64,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn the_count_parses_as_upstream() {
        assert_eq!(parse("42\n"), Ok(42));
        assert_eq!(parse(" 0 "), Ok(0));
        let e = parse("-1\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(parse("").is_err());
        assert!(parse("1 2").is_err());
    }

    #[test]
    fn absent_is_no_data_and_garbage_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut out = Scrape::new();
        c.update(&ctx, &mut out).unwrap();
        assert!(out.families().next().is_none());
        let kernel = dir.path().join("proc/sys/kernel");
        std::fs::create_dir_all(&kernel).unwrap();
        std::fs::write(kernel.join("hung_task_detect_count"), "7\n").unwrap();
        let text = testing::text(&mut *c, &ctx).unwrap();
        assert!(text.contains("# TYPE node_kernel_hung_tasks_total counter\n"));
        assert!(text.contains("node_kernel_hung_tasks_total 7\n"), "{text}");
        std::fs::write(kernel.join("hung_task_detect_count"), "many\n").unwrap();
        let e = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("hung_task_detect_count"), "{e}");
    }
}
