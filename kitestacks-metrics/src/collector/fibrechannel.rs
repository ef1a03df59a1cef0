//! The `fibrechannel` collector: Fibre Channel host adapters from
//! `<sysfs>/class/fc_host/<host>/` — `node_fibrechannel_info` with the port's text
//! attributes as labels, and one `node_fibrechannel_*_total` counter per
//! `statistics/<counter>` file (hexadecimal in sysfs). No `fc_host` class is no data.

use crate::collector::attr::{self, Attrs, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, OrAbsent as _, ParseError};
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "fibrechannel",
    default_enabled: true,
    families: &["node_fibrechannel_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(FibreChannel {
        attrs: Attrs::default(),
    }))
}

struct FibreChannel {
    attrs: Attrs,
}

/// The text attributes of `node_fibrechannel_info`, in upstream's label order (after
/// `fc_host`): file name (= label name) and whether sysfs prefixes the value with `0x`,
/// which upstream strips.
const INFO: [(&str, bool); 10] = [
    ("speed", false),
    ("port_state", false),
    ("port_type", false),
    ("port_id", true),
    ("port_name", true),
    ("fabric_name", true),
    ("symbolic_name", false),
    ("supported_classes", false),
    ("supported_speeds", false),
    ("dev_loss_tmo", false),
];

/// Index of `port_state` in [`INFO`].
const PORT_STATE: usize = 1;

/// `statistics/<file>`, metric and help.
const COUNTERS: [(&str, &str, &str); 14] = [
    (
        "dumped_frames",
        "node_fibrechannel_dumped_frames_total",
        "Number of dumped frames",
    ),
    (
        "error_frames",
        "node_fibrechannel_error_frames_total",
        "Number of errors in frames",
    ),
    (
        "invalid_crc_count",
        "node_fibrechannel_invalid_crc_total",
        "Invalid Cyclic Redundancy Check count",
    ),
    (
        "rx_frames",
        "node_fibrechannel_rx_frames_total",
        "Number of frames received",
    ),
    (
        "rx_words",
        "node_fibrechannel_rx_words_total",
        "Number of words received by host port",
    ),
    (
        "tx_frames",
        "node_fibrechannel_tx_frames_total",
        "Number of frames transmitted by host port",
    ),
    (
        "tx_words",
        "node_fibrechannel_tx_words_total",
        "Number of words transmitted by host port",
    ),
    (
        "seconds_since_last_reset",
        "node_fibrechannel_seconds_since_last_reset_total",
        "Number of seconds since last host port reset",
    ),
    (
        "invalid_tx_word_count",
        "node_fibrechannel_invalid_tx_words_total",
        "Number of invalid words transmitted by host port",
    ),
    (
        "link_failure_count",
        "node_fibrechannel_link_failure_total",
        "Number of times the host port link has failed",
    ),
    (
        "loss_of_sync_count",
        "node_fibrechannel_loss_of_sync_total",
        "Number of failures on either bit or transmission word boundaries",
    ),
    (
        "loss_of_signal_count",
        "node_fibrechannel_loss_of_signal_total",
        "Number of times signal has been lost",
    ),
    (
        "nos_count",
        "node_fibrechannel_nos_total",
        "Number Not_Operational Primitive Sequence received by host port",
    ),
    (
        "fcp_packet_aborts",
        "node_fibrechannel_fcp_packet_aborts_total",
        "Number of aborted packets",
    ),
];

/// Parses one statistics file's (trimmed) text.
fn parse_counter(text: &str) -> Result<u64, ParseError> {
    attr::go_parse_uint(text, 0)
        .ok_or_else(|| ParseError::new(1, format!("{text:?} is not an unsigned integer")))
}

/// `0x000002` -> `000002`, as upstream cuts the first two bytes of longer values.
fn strip_0x(value: &str) -> &str {
    match value.get(2..) {
        Some(rest) if !rest.is_empty() => rest,
        _ => value,
    }
}

/// Read errors that mean "the driver does not offer this attribute": absent, or refused
/// (`EOPNOTSUPP`), as procfs skips them.
fn not_offered(e: &Error) -> bool {
    let Error::Read { source, .. } = e else {
        return false;
    };
    source.kind() == std::io::ErrorKind::NotFound
        || source.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error())
}

/// One host's attributes and counters.
#[derive(Debug, Default)]
struct Host {
    info: [Option<String>; 10],
    counters: [Option<u64>; 14],
}

impl FibreChannel {
    fn read_host(&mut self, dir: &std::path::Path) -> Result<Host, Error> {
        let mut host = Host::default();
        for (slot, (file, hex)) in host.info.iter_mut().zip(INFO) {
            match read_trimmed(&dir.join(file), &mut self.attrs) {
                Ok(v) => *slot = Some(if hex { strip_0x(v) } else { v }.to_owned()),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        // A host whose state is unknown (disabled) has no statistics: upstream reports
        // zeros.
        if matches!(host.info[PORT_STATE].as_deref(), None | Some("Unknown")) {
            host.counters = [Some(0); 14];
            return Ok(host);
        }
        let stats = dir.join("statistics");
        for (slot, (file, ..)) in host.counters.iter_mut().zip(COUNTERS) {
            let path = stats.join(file);
            match read_trimmed(&path, &mut self.attrs) {
                Ok(text) => *slot = Some(parse_counter(text).map_err(|e| Error::parse(&path, e))?),
                Err(e) if not_offered(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(host)
    }
}

impl Collector for FibreChannel {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let class = ctx.roots.sys("class/fc_host");
        let Some(names) = attr::list_sorted(&class).or_absent()? else {
            return Ok(());
        };
        for name in &names {
            let host = self.read_host(&class.join(name))?;
            let mut labels: Vec<(&'static str, &str)> = vec![("fc_host", name)];
            for ((label, _), value) in INFO.iter().zip(&host.info) {
                labels.push((label, value.as_deref().unwrap_or("")));
            }
            out.gauge(
                "node_fibrechannel_info",
                "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
                &labels,
                1.0,
            );
            for ((_, metric, help), value) in COUNTERS.iter().zip(host.counters) {
                // All ones: a counter the HBA firmware does not implement.
                if let Some(v) = value.filter(|v| *v != u64::MAX) {
                    out.counter(metric, help, &[("fc_host", name)], v as f64);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing::{scrape_once, write};
    use std::path::Path;

    fn scrape(root: &Path) -> Result<String, Error> {
        scrape_once(&mut *build(&Options::default())?, root)
    }

    #[test]
    fn counters_read_like_go_with_base_zero() {
        assert_eq!(parse_counter("0x13"), Ok(19));
        assert!(parse_counter("N/A").is_err());
    }

    #[test]
    fn hex_prefixes_are_cut_from_longer_values() {
        assert_eq!(strip_0x("0x000002"), "000002");
        assert_eq!(strip_0x("0x0"), "0");
        assert_eq!(strip_0x("0x"), "0x");
        assert_eq!(strip_0x("7"), "7");
    }

    #[test]
    fn hosts_info_and_counters() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(scrape(root).unwrap(), "", "no class: no data");
        write(root, "sys/class/fc_host/host0/port_state", "Online\n");
        write(root, "sys/class/fc_host/host0/port_id", "0x000002\n");
        write(root, "sys/class/fc_host/host0/speed", "16 Gbit\n");
        write(
            root,
            "sys/class/fc_host/host0/statistics/rx_frames",
            "0x30\n",
        );
        write(
            root,
            "sys/class/fc_host/host0/statistics/dumped_frames",
            "0xffffffffffffffff\n",
        );
        write(
            root,
            "sys/class/fc_host/host0/statistics/reset_statistics",
            "",
        );
        // A disabled host: its statistics are reported as zeros, whatever the files say.
        write(root, "sys/class/fc_host/host1/port_state", "Unknown\n");
        write(
            root,
            "sys/class/fc_host/host1/statistics/rx_frames",
            "0x9\n",
        );
        let text = scrape(root).unwrap();
        assert!(
            text.contains(
                "node_fibrechannel_info{dev_loss_tmo=\"\",fabric_name=\"\",fc_host=\"host0\",\
                 port_id=\"000002\",port_name=\"\",port_state=\"Online\",port_type=\"\",\
                 speed=\"16 Gbit\",supported_classes=\"\",supported_speeds=\"\",\
                 symbolic_name=\"\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE node_fibrechannel_rx_frames_total counter\n\
                 node_fibrechannel_rx_frames_total{fc_host=\"host0\"} 48\n\
                 node_fibrechannel_rx_frames_total{fc_host=\"host1\"} 0\n"
            ),
            "{text}"
        );
        // Unimplemented (all ones) and absent counters are left out; host1 has all 14.
        assert_eq!(
            text.matches("{fc_host=\"host0\"}").count(),
            1,
            "only rx_frames for host0: {text}"
        );
        assert_eq!(text.matches("{fc_host=\"host1\"}").count(), 14, "{text}");
        // A counter that is not a number fails the collector, naming the file.
        write(
            root,
            "sys/class/fc_host/host0/statistics/tx_words",
            "many\n",
        );
        let e = scrape(root).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("host0/statistics/tx_words"), "{e}");
    }
}
