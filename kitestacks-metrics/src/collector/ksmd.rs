//! The `ksmd` collector: kernel samepage merging figures from `<sysfs>/kernel/mm/ksm/`
//! (`node_ksmd_full_scans_total`, `node_ksmd_pages_*`, `node_ksmd_run`,
//! `node_ksmd_sleep_seconds`, ...), one number per file, as node_exporter's
//! `ksmd_linux.go` reads them. A file the kernel lacks is skipped; one that is not a
//! number fails the scrape.

use crate::collector::attr::{Attrs, read_u64};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::{MetricType, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "ksmd",
    default_enabled: false,
    families: &["node_ksmd_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Ksmd {
        attrs: Attrs::default(),
    }))
}

struct Ksmd {
    /// The ksm files, kept open.
    attrs: Attrs,
}

/// `(file, metric, help, type, divisor)`; help text from the kernel's ksm documentation,
/// as upstream has it.
const FILES: [(&str, &str, &str, MetricType, f64); 10] = [
    (
        "full_scans",
        "node_ksmd_full_scans_total",
        "How many times all mergeable areas have been scanned.",
        MetricType::Counter,
        1.0,
    ),
    (
        "general_profit",
        "node_ksmd_general_profit_bytes",
        "How effective is KSM. ksm_saved_pages * sizeof(page) - (all_rmap_items) * sizeof(rmap_item)",
        MetricType::Gauge,
        1.0,
    ),
    (
        "merge_across_nodes",
        "node_ksmd_merge_across_nodes",
        "Specifies if pages from different NUMA nodes can be merged.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "pages_shared",
        "node_ksmd_pages_shared",
        "How many shared pages are being used.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "pages_sharing",
        "node_ksmd_pages_sharing",
        "How many more sites are sharing them i.e. how much saved.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "pages_to_scan",
        "node_ksmd_pages_to_scan",
        "How many pages to scan before ksmd goes to sleep.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "pages_unshared",
        "node_ksmd_pages_unshared",
        "How many pages unique but repeatedly checked for merging.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "pages_volatile",
        "node_ksmd_pages_volatile",
        "How many pages changing too fast to be placed in a tree.",
        MetricType::Gauge,
        1.0,
    ),
    (
        "run",
        "node_ksmd_run",
        "The status of ksmd. stopped = 0, running = 1",
        MetricType::Gauge,
        1.0,
    ),
    (
        "sleep_millisecs",
        "node_ksmd_sleep_seconds",
        "How many seconds ksmd should sleep before next scan.",
        MetricType::Gauge,
        1000.0,
    ),
];

impl Collector for Ksmd {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let dir = ctx.roots.sys("kernel/mm/ksm");
        for (file, name, help, kind, divisor) in FILES {
            let value = match read_u64(&dir.join(file), &mut self.attrs) {
                Ok(v) => v,
                // Older kernels lack general_profit, merge_across_nodes, ...
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            out.add(name, help, kind, Vec::new(), value as f64 / divisor);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn present_files_are_reported_and_bad_numbers_fail() {
        let dir = tempfile::tempdir().unwrap();
        let ksm = dir.path().join("sys/kernel/mm/ksm");
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut out = Scrape::new();
        c.update(&ctx, &mut out).unwrap();
        assert!(out.families().next().is_none(), "no ksm: nothing");
        std::fs::create_dir_all(&ksm).unwrap();
        std::fs::write(ksm.join("full_scans"), "323\n").unwrap();
        std::fs::write(ksm.join("sleep_millisecs"), "20\n").unwrap();
        // (Files found missing are taken to stay missing for a while: a fresh collector.)
        let mut c = build(&Options::default()).unwrap();
        let text = testing::text(&mut *c, &ctx).unwrap();
        assert_eq!(
            text,
            "# HELP node_ksmd_full_scans_total How many times all mergeable areas have been scanned.\n\
             # TYPE node_ksmd_full_scans_total counter\nnode_ksmd_full_scans_total 323\n\
             # HELP node_ksmd_sleep_seconds How many seconds ksmd should sleep before next scan.\n\
             # TYPE node_ksmd_sleep_seconds gauge\nnode_ksmd_sleep_seconds 0.02\n"
        );
        std::fs::write(ksm.join("sleep_millisecs"), "-1\n").unwrap();
        let e = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("sleep_millisecs"), "{e}");
    }
}
