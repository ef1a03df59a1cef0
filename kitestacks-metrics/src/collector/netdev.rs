//! The `netdev` collector: `node_network_receive_*_total` and
//! `node_network_transmit_*_total` counters per interface from `<procfs>/1/net/dev`
//! (the host's network namespace when the host's `/proc` is mounted in a container),
//! else `<procfs>/net/dev`. This is node_exporter's `/proc/net/dev` path
//! (`--no-collector.netdev.netlink`); its default netlink path reports the same
//! counters plus `node_network_receive_nohandler_total`, which `/proc/net/dev` lacks.

use std::path::PathBuf;

use crate::collector::device_filter::DeviceFilter;
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;
use crate::net_dev::{self, NetDev};
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "netdev",
    default_enabled: true,
    families: &[
        "node_network_receive_bytes_total",
        "node_network_receive_compressed_total",
        "node_network_receive_drop_total",
        "node_network_receive_errs_total",
        "node_network_receive_fifo_total",
        "node_network_receive_frame_total",
        "node_network_receive_multicast_total",
        "node_network_receive_packets_total",
        "node_network_transmit_bytes_total",
        "node_network_transmit_carrier_total",
        "node_network_transmit_colls_total",
        "node_network_transmit_compressed_total",
        "node_network_transmit_drop_total",
        "node_network_transmit_errs_total",
        "node_network_transmit_fifo_total",
        "node_network_transmit_packets_total",
    ],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    // No default exclusion: giving both patterns is an error.
    let filter = DeviceFilter::exclusive_of(o, &flag::NETDEV_DEVICE_EXCLUDE)?;
    Ok(Box::new(NetDevCollector {
        filter,
        file: None,
        attrs: Default::default(),
    }))
}

struct NetDevCollector {
    filter: DeviceFilter,
    file: Option<TextFile>,
    /// The sysfs `rx_nohandler` files, kept open.
    attrs: crate::collector::attr::Attrs,
}

/// The counters: metric name, help (node_exporter names each after its statistic key),
/// value.
type Counter = (&'static str, &'static str, fn(&NetDev) -> u64);

const COUNTERS: [Counter; 16] = [
    (
        "node_network_receive_bytes_total",
        "Network device statistic receive_bytes.",
        |n| n.rx_bytes,
    ),
    (
        "node_network_receive_packets_total",
        "Network device statistic receive_packets.",
        |n| n.rx_packets,
    ),
    (
        "node_network_receive_errs_total",
        "Network device statistic receive_errs.",
        |n| n.rx_errs,
    ),
    (
        "node_network_receive_drop_total",
        "Network device statistic receive_drop.",
        |n| n.rx_drop,
    ),
    (
        "node_network_receive_fifo_total",
        "Network device statistic receive_fifo.",
        |n| n.rx_fifo,
    ),
    (
        "node_network_receive_frame_total",
        "Network device statistic receive_frame.",
        |n| n.rx_frame,
    ),
    (
        "node_network_receive_compressed_total",
        "Network device statistic receive_compressed.",
        |n| n.rx_compressed,
    ),
    (
        "node_network_receive_multicast_total",
        "Network device statistic receive_multicast.",
        |n| n.rx_multicast,
    ),
    (
        "node_network_transmit_bytes_total",
        "Network device statistic transmit_bytes.",
        |n| n.tx_bytes,
    ),
    (
        "node_network_transmit_packets_total",
        "Network device statistic transmit_packets.",
        |n| n.tx_packets,
    ),
    (
        "node_network_transmit_errs_total",
        "Network device statistic transmit_errs.",
        |n| n.tx_errs,
    ),
    (
        "node_network_transmit_drop_total",
        "Network device statistic transmit_drop.",
        |n| n.tx_drop,
    ),
    (
        "node_network_transmit_fifo_total",
        "Network device statistic transmit_fifo.",
        |n| n.tx_fifo,
    ),
    (
        "node_network_transmit_colls_total",
        "Network device statistic transmit_colls.",
        |n| n.tx_colls,
    ),
    (
        "node_network_transmit_carrier_total",
        "Network device statistic transmit_carrier.",
        |n| n.tx_carrier,
    ),
    (
        "node_network_transmit_compressed_total",
        "Network device statistic transmit_compressed.",
        |n| n.tx_compressed,
    ),
];

impl Collector for NetDevCollector {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self.file.get_or_insert_with(|| {
            let host: PathBuf = ctx.roots.proc("1/net/dev");
            TextFile::new(if host.exists() {
                host
            } else {
                ctx.roots.proc("net/dev")
            })
        });
        let result = file.parse(net_dev::parse);
        if result.is_err() {
            // Choose the file again next time (PID 1's entry may have become visible).
            self.file = None;
        }
        for n in result? {
            if self.filter.ignored(&n.name) {
                continue;
            }
            for (name, help, value) in COUNTERS {
                out.counter(name, help, &[("device", &n.name)], value(&n) as f64);
            }
            // node_exporter's default (netlink) path also reports packets no protocol
            // handled; /proc/net/dev lacks them, sysfs has them (same namespace when the
            // exporter runs in the host's network namespace, as it should).
            let nohandler = ctx
                .roots
                .sys("class/net")
                .join(&n.name)
                .join("statistics/rx_nohandler");
            if let Ok(v) = crate::collector::attr::read_u64(&nohandler, &mut self.attrs) {
                out.counter(
                    "node_network_receive_nohandler_total",
                    "Network device statistic receive_nohandler.",
                    &[("device", &n.name)],
                    v as f64,
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

    const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit\n \
        face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
        lo:  598602    1791    0    0    0     0          0         0   598602    1791    0    0    0     0       0          0\n  \
        eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";

    fn scrape(root: &std::path::Path, options: &Options) -> Result<String, Error> {
        testing::scrape_once(&mut *build(options)?, root)
    }

    #[test]
    fn counters_per_interface_from_pid_1_or_self() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        std::fs::write(dir.path().join("proc/net/dev"), NET_DEV).unwrap();
        let text = scrape(dir.path(), &Options::default()).unwrap();
        assert!(
            text.contains(
                "# HELP node_network_receive_drop_total Network device statistic receive_drop.\n\
             # TYPE node_network_receive_drop_total counter\n\
             node_network_receive_drop_total{device=\"eth0\"} 4\n\
             node_network_receive_drop_total{device=\"lo\"} 0\n"
            ),
            "{text}"
        );
        assert!(text.contains("node_network_transmit_carrier_total{device=\"eth0\"} 15\n"));
        assert!(text.contains("node_network_receive_bytes_total{device=\"lo\"} 598602\n"));
        assert_eq!(text.matches("# TYPE").count(), 16);

        let only_lo = Options {
            netdev_device_include: Some("^lo$".into()),
            ..Options::default()
        };
        assert!(!scrape(dir.path(), &only_lo).unwrap().contains("eth0"));
        let no_lo = Options {
            netdev_device_exclude: Some("^lo$".into()),
            ..Options::default()
        };
        assert!(!scrape(dir.path(), &no_lo).unwrap().contains("\"lo\""));

        std::fs::create_dir_all(dir.path().join("proc/1/net")).unwrap();
        std::fs::write(
            dir.path().join("proc/1/net/dev"),
            NET_DEV.replace("eth0", "host0"),
        )
        .unwrap();
        let text = scrape(dir.path(), &Options::default()).unwrap();
        assert!(text.contains("host0") && !text.contains("eth0"), "{text}");
    }

    #[test]
    fn errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            scrape(dir.path(), &Options::default())
                .unwrap_err()
                .is_not_found()
        );
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        std::fs::write(
            dir.path().join("proc/net/dev"),
            &NET_DEV[..NET_DEV.len() - 10],
        )
        .unwrap();
        let e = scrape(dir.path(), &Options::default()).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 4, .. }), "{e}");
        let both = Options {
            netdev_device_include: Some("a".into()),
            netdev_device_exclude: Some("b".into()),
            ..Options::default()
        };
        assert!(build(&both).is_err());
    }
}
