//! The `nvme` collector: `node_nvme_info` per controller of `<sysfs>/class/nvme/` and, per
//! namespace directory (`nvme0n1`), `node_nvme_namespace_info` and its size, used space,
//! capacity and logical block size in bytes.
//!
//! As in node_exporter, everything is read before anything is reported: a missing
//! attribute file anywhere means no data for the scrape, any other read error fails it.

use regex::Regex;

use crate::collector::attr::{self, Attrs, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::error::OrAbsent as _;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "nvme",
    default_enabled: true,
    families: &["node_nvme_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Nvme {
        namespace: Regex::new(r"nvme\d+n(\d+)").unwrap_or_else(|e| unreachable!("{e}")),
        attrs: Attrs::default(),
    }))
}

struct Nvme {
    /// A namespace directory's name; captures the namespace id.
    namespace: Regex,
    attrs: Attrs,
}

/// One controller.
#[derive(Debug, Default)]
struct Device {
    name: String,
    /// firmware_rev, model, serial, state, cntlid.
    text: [String; 5],
    namespaces: Vec<Namespace>,
}

/// One namespace; sizes in blocks (0 when not a number, as upstream).
#[derive(Debug)]
struct Namespace {
    id: String,
    ana_state: String,
    used_blocks: u64,
    size_blocks: u64,
    block_size: u64,
}

impl Nvme {
    fn read_device(&mut self, ctx: &Context, name: &str) -> Result<Device, Error> {
        let dir = ctx.roots.sys("class/nvme").join(name);
        let mut dev = Device {
            name: name.to_owned(),
            ..Device::default()
        };
        for (slot, file) in
            dev.text
                .iter_mut()
                .zip(["firmware_rev", "model", "serial", "state", "cntlid"])
        {
            *slot = read_trimmed(&dir.join(file), &mut self.attrs)?.to_owned();
        }
        for entry in attr::list_sorted(&dir)? {
            let Some(id) = self.namespace.captures(&entry).map(|c| c[1].to_owned()) else {
                continue;
            };
            let ns_dir = dir.join(&entry);
            let mut number = |file: &str| -> Result<u64, Error> {
                Ok(read_trimmed(&ns_dir.join(file), &mut self.attrs)?
                    .parse()
                    .unwrap_or(0))
            };
            let used_blocks = number("nuse")?;
            let size_blocks = number("size")?;
            let block_size = number("queue/logical_block_size")?;
            let ana_state = read_trimmed(&ns_dir.join("ana_state"), &mut self.attrs)
                .map_or_else(|_| "unknown".to_owned(), str::to_owned);
            dev.namespaces.push(Namespace {
                id,
                ana_state,
                used_blocks,
                size_blocks,
                block_size,
            });
        }
        Ok(dev)
    }

    fn read_all(&mut self, ctx: &Context) -> Result<Vec<Device>, Error> {
        let class = ctx.roots.sys("class/nvme");
        attr::list_sorted(&class)?
            .iter()
            .map(|n| self.read_device(ctx, n))
            .collect()
    }
}

impl Collector for Nvme {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let Some(devices) = self.read_all(ctx).or_absent()? else {
            return Ok(());
        };
        for d in &devices {
            let [firmware, model, serial, state, cntlid] = &d.text;
            out.gauge(
                "node_nvme_info",
                "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
                &[
                    ("device", &d.name),
                    ("firmware_revision", firmware),
                    ("model", model),
                    ("serial", serial),
                    ("state", state),
                    ("cntlid", cntlid),
                ],
                1.0,
            );
            for ns in &d.namespaces {
                let labels = [("device", d.name.as_str()), ("nsid", ns.id.as_str())];
                out.gauge(
                    "node_nvme_namespace_info",
                    "Information about NVMe namespaces. Value is always 1",
                    &[
                        ("device", &d.name),
                        ("nsid", &ns.id),
                        ("ana_state", &ns.ana_state),
                    ],
                    1.0,
                );
                let size = ns.size_blocks.wrapping_mul(ns.block_size) as f64;
                out.gauge(
                    "node_nvme_namespace_capacity_bytes",
                    "Capacity of the NVMe namespace in bytes. Computed as namespace_size * namespace_logical_block_size",
                    &labels,
                    size,
                );
                out.gauge(
                    "node_nvme_namespace_size_bytes",
                    "Size of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/size",
                    &labels,
                    size,
                );
                out.gauge(
                    "node_nvme_namespace_used_bytes",
                    "Used space of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/nuse",
                    &labels,
                    ns.used_blocks.wrapping_mul(ns.block_size) as f64,
                );
                out.gauge(
                    "node_nvme_namespace_logical_block_size_bytes",
                    "Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in /sys/class/nvme/<device>/<namespace>/queue/logical_block_size",
                    &labels,
                    ns.block_size as f64,
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
    use crate::collector::testing::write;

    use std::path::Path;

    fn scrape(c: &mut Box<dyn Collector>, root: &Path) -> Result<Scrape, Error> {
        testing::scrape_tree(&mut **c, root)
    }

    #[test]
    fn a_controller_with_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut c = build(&Options::default()).unwrap();
        assert!(scrape(&mut c, root).unwrap().families().next().is_none());
        for (f, v) in [
            ("firmware_rev", "1B2QEXP7\n"),
            ("model", "Samsung SSD 970 PRO 512GB               \n"),
            ("serial", "S680HF8N190894I\n"),
            ("state", "live\n"),
            ("cntlid", "1997\n"),
            ("nvme0n1/nuse", "488281250\n"),
            ("nvme0n1/size", "3906250000\n"),
            ("nvme0n1/queue/logical_block_size", "4096\n"),
            ("nvme0n2/nuse", "x\n"),
            ("nvme0n2/size", "8\n"),
            ("nvme0n2/queue/logical_block_size", "512\n"),
        ] {
            write(root, &format!("sys/class/nvme/nvme0/{f}"), v);
        }
        std::fs::create_dir_all(root.join("sys/class/nvme/nvme0/power")).unwrap();
        let s = scrape(&mut c, root).unwrap();
        let info = &s.family("node_nvme_info").unwrap().series[0];
        assert!(
            info.labels
                .iter()
                .any(|(k, v)| k == "model" && v == "Samsung SSD 970 PRO 512GB")
        );
        let ns = &s.family("node_nvme_namespace_info").unwrap().series;
        assert_eq!(ns.len(), 2);
        assert!(
            ns[0]
                .labels
                .iter()
                .any(|(k, v)| k == "ana_state" && v == "unknown")
        );
        let used = &s.family("node_nvme_namespace_used_bytes").unwrap().series;
        assert_eq!((used[0].value, used[1].value), (2e12, 0.0));
        let cap = &s
            .family("node_nvme_namespace_capacity_bytes")
            .unwrap()
            .series;
        assert_eq!((cap[0].value, cap[1].value), (1.6e13, 4096.0));
        // A controller missing an attribute: no data at all.
        std::fs::create_dir_all(root.join("sys/class/nvme/nvme1")).unwrap();
        let mut c = build(&Options::default()).unwrap();
        assert!(scrape(&mut c, root).unwrap().families().next().is_none());
    }
}
