//! The `infiniband` collector: InfiniBand (and RoCE/iWARP) adapters from
//! `<sysfs>/class/infiniband/<device>/` — `node_infiniband_info` with the firmware and
//! board as labels, and per port (`ports/<n>/`) the state, physical state and rate gauges
//! plus the counters of `counters/`, `counters_ext/` (`legacy_*`) and `hw_counters/`, as
//! prometheus/procfs reads them. No class, or a file every device must have gone
//! missing, is no data (upstream's `ErrNoData`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::collector::attr::{self, Attrs, list_sorted, read_trimmed};
use crate::collector::device_filter::DeviceFilter;
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::OrAbsent as _;
use crate::error::{Error, ParseError};
use crate::exposition::{MetricType, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "infiniband",
    default_enabled: true,
    families: &["node_infiniband_"],
    build,
};

fn build(options: &Options) -> Result<Box<dyn Collector>, Error> {
    // As upstream, both patterns may be given (the help's "mutually exclusive" is not
    // enforced): a device is kept if it escapes the one and matches the other.
    let filter = DeviceFilter::of(
        options,
        &flag::INFINIBAND_DEVICE_EXCLUDE,
        &flag::INFINIBAND_DEVICE_INCLUDE,
    )?;
    Ok(Box::new(Infiniband {
        filter,
        attrs: Attrs::default(),
    }))
}

struct Infiniband {
    filter: DeviceFilter,
    attrs: Attrs,
}

/// How a counter file's value becomes the metric's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// As read.
    One,
    /// Data counters count per lane, "divided by 4 unconditionally" (Mellanox): times 4,
    /// wrapping as upstream's uint64 does.
    Lanes,
    /// `lifespan`, in milliseconds: whole seconds (integer division), a gauge.
    Millis,
}

impl Scale {
    fn apply(self, v: u64) -> u64 {
        match self {
            Scale::One => v,
            Scale::Lanes => v.wrapping_mul(4),
            Scale::Millis => v / 1000,
        }
    }
}

/// A counter file: its name, the metric, help and scale.
#[derive(Debug)]
struct Counter {
    file: &'static str,
    metric: &'static str,
    help: &'static str,
    scale: Scale,
}

macro_rules! c {
    ($file:literal, $suffix:literal, $help:literal, $scale:ident) => {
        Counter {
            file: $file,
            metric: concat!("node_infiniband_", $suffix),
            help: $help,
            scale: Scale::$scale,
        }
    };
}

/// `counters/` (since Linux 2.6.12).
const COUNTERS: [Counter; 22] = [
    c!(
        "excessive_buffer_overrun_errors",
        "excessive_buffer_overrun_errors_total",
        "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error.",
        One
    ),
    c!(
        "link_downed",
        "link_downed_total",
        "Number of times the link failed to recover from an error state and went down",
        One
    ),
    c!(
        "link_error_recovery",
        "link_error_recovery_total",
        "Number of times the link successfully recovered from an error state",
        One
    ),
    c!(
        "local_link_integrity_errors",
        "local_link_integrity_errors_total",
        "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.",
        One
    ),
    c!(
        "multicast_rcv_packets",
        "multicast_packets_received_total",
        "Number of multicast packets received (including errors)",
        One
    ),
    c!(
        "multicast_xmit_packets",
        "multicast_packets_transmitted_total",
        "Number of multicast packets transmitted (including errors)",
        One
    ),
    c!(
        "port_rcv_constraint_errors",
        "port_constraint_errors_received_total",
        "Number of packets received on the switch physical port that are discarded",
        One
    ),
    c!(
        "port_rcv_data",
        "port_data_received_bytes_total",
        "Number of data octets received on all links",
        Lanes
    ),
    c!(
        "port_rcv_discards",
        "port_discards_received_total",
        "Number of inbound packets discarded by the port because the port is down or congested",
        One
    ),
    c!(
        "port_rcv_errors",
        "port_errors_received_total",
        "Number of packets containing an error that were received on this port",
        One
    ),
    c!(
        "port_rcv_packets",
        "port_packets_received_total",
        "Number of packets received on all VLs by this port (including errors)",
        One
    ),
    c!(
        "port_rcv_remote_physical_errors",
        "port_receive_remote_physical_errors_total",
        "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.",
        One
    ),
    c!(
        "port_rcv_switch_relay_errors",
        "port_receive_switch_relay_errors_total",
        "Number of packets that could not be forwarded by the switch.",
        One
    ),
    c!(
        "port_xmit_constraint_errors",
        "port_constraint_errors_transmitted_total",
        "Number of packets not transmitted from the switch physical port",
        One
    ),
    c!(
        "port_xmit_data",
        "port_data_transmitted_bytes_total",
        "Number of data octets transmitted on all links",
        Lanes
    ),
    c!(
        "port_xmit_discards",
        "port_discards_transmitted_total",
        "Number of outbound packets discarded by the port because the port is down or congested",
        One
    ),
    c!(
        "port_xmit_packets",
        "port_packets_transmitted_total",
        "Number of packets transmitted on all VLs from this port (including errors)",
        One
    ),
    c!(
        "port_xmit_wait",
        "port_transmit_wait_total",
        "Number of ticks during which the port had data to transmit but no data was sent during the entire tick",
        One
    ),
    c!(
        "symbol_error",
        "symbol_error_total",
        "Number of minor link errors detected on one or more physical lanes.",
        One
    ),
    c!(
        "unicast_rcv_packets",
        "unicast_packets_received_total",
        "Number of unicast packets received (including errors)",
        One
    ),
    c!(
        "unicast_xmit_packets",
        "unicast_packets_transmitted_total",
        "Number of unicast packets transmitted (including errors)",
        One
    ),
    c!(
        "VL15_dropped",
        "vl15_dropped_total",
        "Number of incoming VL15 packets dropped due to resource limitations.",
        One
    ),
];
/// `counters_ext/`: the 64-bit counters kernels before 4.5 kept apart (the `legacy_` families).
const COUNTERS_EXT: [Counter; 8] = [
    c!(
        "port_multicast_rcv_packets",
        "legacy_multicast_packets_received_total",
        "Number of multicast packets received",
        One
    ),
    c!(
        "port_multicast_xmit_packets",
        "legacy_multicast_packets_transmitted_total",
        "Number of multicast packets transmitted",
        One
    ),
    c!(
        "port_rcv_data_64",
        "legacy_data_received_bytes_total",
        "Number of data octets received on all links",
        Lanes
    ),
    c!(
        "port_rcv_packets_64",
        "legacy_packets_received_total",
        "Number of data packets received on all links",
        One
    ),
    c!(
        "port_unicast_rcv_packets",
        "legacy_unicast_packets_received_total",
        "Number of unicast packets received",
        One
    ),
    c!(
        "port_unicast_xmit_packets",
        "legacy_unicast_packets_transmitted_total",
        "Number of unicast packets transmitted",
        One
    ),
    c!(
        "port_xmit_data_64",
        "legacy_data_transmitted_bytes_total",
        "Number of data octets transmitted on all links",
        Lanes
    ),
    c!(
        "port_xmit_packets_64",
        "legacy_packets_transmitted_total",
        "Number of data packets received on all links",
        One
    ),
];
/// `hw_counters/` (since Linux 4.6; mlx5 and other RoCE drivers).
const HW_COUNTERS: [Counter; 30] = [
    c!(
        "duplicate_request",
        "duplicate_requests_packets_total",
        "The number of received packets. A duplicate request is a request that had been previously executed.",
        One
    ),
    c!(
        "implied_nak_seq_err",
        "implied_nak_seq_errors_total",
        "The number of time the requested decided an ACK. with a PSN larger than the expected PSN for an RDMA read or response.",
        One
    ),
    c!(
        "lifespan",
        "lifespan_seconds",
        "The maximum period in ms which defines the aging of the counter reads. Two consecutive reads within this period might return the same values.",
        Millis
    ),
    c!(
        "local_ack_timeout_err",
        "local_ack_timeout_errors_total",
        "The number of times QP's ack timer expired for RC, XRC, DCT QPs at the sender side. The QP retry limit was not exceed, therefore it is still recoverable error.",
        One
    ),
    c!(
        "np_cnp_sent",
        "np_cnp_packets_sent_total",
        "The number of CNP packets sent by the Notification Point when it noticed congestion experienced in the RoCEv2 IP header (ECN bits). The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "np_ecn_marked_roce_packets",
        "np_ecn_marked_roce_packets_received_total",
        "The number of RoCEv2 packets received by the notification point which were marked for experiencing the congestion (ECN bits where '11' on the ingress RoCE traffic) . The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "out_of_buffer",
        "out_of_buffer_drops_total",
        "The number of drops occurred due to lack of WQE for the associated QPs.",
        One
    ),
    c!(
        "out_of_sequence",
        "out_of_sequence_packets_received_total",
        "The number of out of sequence packets received.",
        One
    ),
    c!(
        "packet_seq_err",
        "packet_sequence_errors_total",
        "The number of received NAK sequence error packets. The QP retry limit was not exceeded.",
        One
    ),
    c!(
        "req_cqe_error",
        "req_cqes_errors_total",
        "The number of times requester detected CQEs completed with errors. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "req_cqe_flush_error",
        "req_cqes_flush_errors_total",
        "The number of times requester detected CQEs completed with flushed errors. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "req_remote_access_errors",
        "req_remote_access_errors_total",
        "The number of times requester detected remote access errors. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "req_remote_invalid_request",
        "req_remote_invalid_request_errors_total",
        "The number of times requester detected remote invalid request errors. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "resp_cqe_error",
        "resp_cqes_errors_total",
        "The number of times responder detected CQEs completed with errors. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "resp_cqe_flush_error",
        "resp_cqes_flush_errors_total",
        "The number of times responder detected CQEs completed with flushed errors. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "resp_local_length_error",
        "resp_local_length_errors_total",
        "The number of times responder detected local length errors. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "resp_remote_access_errors",
        "resp_remote_access_errors_total",
        "The number of times responder detected remote access errors. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "rnr_nak_retry_err",
        "rnr_nak_retry_packets_received_total",
        "The number of received RNR NAK packets. The QP retry limit was not exceeded.",
        One
    ),
    c!(
        "roce_adp_retrans",
        "roce_adp_retransmits_total",
        "The number of adaptive retransmissions for RoCE traffic. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        One
    ),
    c!(
        "roce_adp_retrans_to",
        "roce_adp_retransmits_timeout_total",
        "The number of times RoCE traffic reached timeout due to adaptive retransmission. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        One
    ),
    c!(
        "roce_slow_restart",
        "roce_slow_restart_used_total",
        "The number of times RoCE slow restart was used. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        One
    ),
    c!(
        "roce_slow_restart_cnps",
        "roce_slow_restart_cnps_total",
        "The number of times RoCE slow restart generated CNP packets. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        One
    ),
    c!(
        "roce_slow_restart_trans",
        "roce_slow_restart_total",
        "The number of times RoCE slow restart changed state to slow restart. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        One
    ),
    c!(
        "rp_cnp_handled",
        "rp_cnp_packets_handled_total",
        "The number of CNP packets handled by the Reaction Point HCA to throttle the transmission rate. The counters was added in MLNX_OFED 4.1",
        One
    ),
    c!(
        "rp_cnp_ignored",
        "rp_cnp_ignored_packets_received_total",
        "The number of CNP packets received and ignored by the Reaction Point HCA. This counter should not raise if RoCE Congestion Control was enabled in the network. If this counter raise, verify that ECN was enabled on the adapter.",
        One
    ),
    c!(
        "rx_atomic_requests",
        "rx_atomic_requests_total",
        "The number of received ATOMIC request for the associated QPs.",
        One
    ),
    c!(
        "rx_dct_connect",
        "rx_dct_connect_requests_total",
        "The number of received connection requests for the associated DCTs.",
        One
    ),
    c!(
        "rx_icrc_encapsulated",
        "rx_icrc_encapsulated_errors_total",
        "The number of RoCE packets with ICRC errors. This counter was added in MLNX_OFED 4.4 and kernel 4.19",
        One
    ),
    c!(
        "rx_read_requests",
        "rx_read_requests_total",
        "The number of received READ requests for the associated QPs.",
        One
    ),
    c!(
        "rx_write_requests",
        "rx_write_requests_total",
        "The number of received WRITE requests for the associated QPs.",
        One
    ),
];

/// One port: its number, state and physical state ids, rate in bytes/s, and the
/// counters present.
#[derive(Debug)]
struct Port {
    state: u64,
    phys_state: u64,
    rate: u64,
    counters: Vec<(&'static Counter, u64)>,
}

/// One device: name, `board_id`, `fw_ver`, `hca_type` and ports by number.
#[derive(Debug)]
struct Device {
    name: String,
    board_id: String,
    firmware: String,
    hca_type: String,
    ports: BTreeMap<u32, Port>,
}

/// A decimal number as Go's `strconv.ParseUint(s, 10, 32)` takes it (no sign).
fn parse_u32(s: &str) -> Option<u32> {
    attr::go_parse_uint(s, 10).and_then(|v| u32::try_from(v).ok())
}

/// Parses a `state` or `phys_state` file: `4: ACTIVE` -> 4.
fn parse_state(text: &str) -> Result<u32, ParseError> {
    let mut parts = text.split(':');
    let (Some(id), Some(_name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ParseError::new(
            1,
            format!("{text:?} is not of the form \"<id>: <name>\""),
        ));
    };
    parse_u32(id.trim())
        .ok_or_else(|| ParseError::new(1, format!("state id {:?} is not a number", id.trim())))
}

/// Parses a `rate` file, `40 Gb/sec (4X QDR)`, into bytes per second (the number is
/// read as a 32-bit float, as upstream does, then converted from Gb/s).
fn parse_rate(text: &str) -> Result<u64, ParseError> {
    let Some((gbps, _)) = text.split_once(' ') else {
        return Err(ParseError::new(
            1,
            format!("{text:?} is not of the form \"<Gb/s> <unit>\""),
        ));
    };
    let v: f32 = gbps
        .trim()
        .parse()
        .map_err(|_| ParseError::new(1, format!("rate {gbps:?} is not a number")))?;
    Ok((f64::from(v) * 125_000_000.0) as u64)
}

/// Parses a counter file's text. `None`: the port has no performance management agent
/// (`N/A (no PMA)`), so no value.
fn parse_counter(text: &str) -> Result<Option<u64>, ParseError> {
    match attr::go_parse_uint(text, 0) {
        Some(v) => Ok(Some(v)),
        None if text.contains("N/A (no PMA)") => Ok(None),
        None => Err(ParseError::new(
            1,
            format!("{text:?} is not an unsigned integer"),
        )),
    }
}

/// Read errors procfs takes as "no such counter": absent, unreadable to us, or refused by
/// the driver (`EOPNOTSUPP`; in `counters/` also `EINVAL`).
fn not_offered(e: &Error, einval_too: bool) -> bool {
    let Error::Read { source, .. } = e else {
        return false;
    };
    let errno = source.raw_os_error();
    matches!(
        source.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
    ) || errno == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error())
        || (einval_too && errno == Some(rustix::io::Errno::INVAL.raw_os_error()))
}

impl Infiniband {
    fn read_device(&mut self, dir: &Path, name: &str) -> Result<Device, Error> {
        // fw_ver is there with every driver since Linux 4.10; the others may not be.
        let firmware = read_trimmed(&dir.join("fw_ver"), &mut self.attrs)?.to_owned();
        let mut optional = |file: &str| match read_trimmed(&dir.join(file), &mut self.attrs) {
            Ok(v) => Ok(v.to_owned()),
            Err(e) if e.is_not_found() => Ok(String::new()),
            Err(e) => Err(e),
        };
        let board_id = optional("board_id")?;
        let hca_type = optional("hca_type")?;
        let mut ports = BTreeMap::new();
        let ports_dir = dir.join("ports");
        for port in list_sorted(&ports_dir)? {
            let number = parse_u32(&port).ok_or_else(|| Error::Invalid {
                path: ports_dir.join(&port),
                message: "port directory name is not a number".into(),
            })?;
            ports.insert(number, self.read_port(&ports_dir.join(&port))?);
        }
        Ok(Device {
            name: name.to_owned(),
            board_id,
            firmware,
            hca_type,
            ports,
        })
    }

    fn read_port(&mut self, dir: &Path) -> Result<Port, Error> {
        // Not reported, but a port without it is as broken to upstream as one without a
        // state.
        read_trimmed(&dir.join("link_layer"), &mut self.attrs)?;
        let mut parsed = |file: &str, parse: fn(&str) -> Result<u64, ParseError>| {
            let path = dir.join(file);
            let text = read_trimmed(&path, &mut self.attrs)?;
            parse(text).map_err(|e| Error::parse(&path, e))
        };
        let state = parsed("state", |t| parse_state(t).map(u64::from))?;
        let phys_state = parsed("phys_state", |t| parse_state(t).map(u64::from))?;
        let rate = parsed("rate", parse_rate)?;
        let mut counters = Vec::new();
        // `counters_ext` is only looked at beside `counters`, as upstream does.
        if dir.join("counters").exists() {
            self.read_counters(&dir.join("counters"), &COUNTERS, true, &mut counters)?;
            let ext = dir.join("counters_ext");
            if ext.exists() {
                self.read_counters(&ext, &COUNTERS_EXT, false, &mut counters)?;
            }
        }
        let hw = dir.join("hw_counters");
        if hw.exists() {
            self.read_counters(&hw, &HW_COUNTERS, false, &mut counters)?;
        }
        Ok(Port {
            state,
            phys_state,
            rate,
            counters,
        })
    }

    fn read_counters(
        &mut self,
        dir: &Path,
        table: &'static [Counter],
        einval_too: bool,
        out: &mut Vec<(&'static Counter, u64)>,
    ) -> Result<(), Error> {
        for c in table {
            let path = dir.join(c.file);
            let text = match read_trimmed(&path, &mut self.attrs) {
                Ok(t) => t,
                Err(e) if not_offered(&e, einval_too) => continue,
                Err(e) => return Err(e),
            };
            if let Some(v) = parse_counter(text).map_err(|e| Error::parse(&path, e))? {
                out.push((c, c.scale.apply(v)));
            }
        }
        Ok(())
    }

    /// Every device that the filter keeps, sorted by name. Left-out devices are not read
    /// at all (upstream reads every device before filtering, so a broken one it would
    /// not report still fails the scrape; here excluding it is a way around it).
    fn read(&mut self, ctx: &Context) -> Result<Vec<Device>, Error> {
        let class = ctx.roots.sys("class/infiniband");
        let mut devices = Vec::new();
        for name in list_sorted(&class)? {
            if !self.filter.ignored(&name) {
                devices.push(self.read_device(&class.join(&name), &name)?);
            }
        }
        Ok(devices)
    }
}

impl Collector for Infiniband {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        // Everything is read before anything is reported: a missing file anywhere is
        // "no data" for the whole collector, as upstream's `errors.Is(err, ErrNotExist)`.
        let Some(devices) = self.read(ctx).or_absent()? else {
            return Ok(());
        };
        for d in &devices {
            out.gauge(
                "node_infiniband_info",
                "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
                &[
                    ("device", &d.name),
                    ("board_id", &d.board_id),
                    ("firmware_version", &d.firmware),
                    ("hca_type", &d.hca_type),
                ],
                1.0,
            );
            for (number, port) in &d.ports {
                let number = number.to_string();
                let labels = [("device", d.name.as_str()), ("port", number.as_str())];
                out.gauge(
                    "node_infiniband_state_id",
                    "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)",
                    &labels,
                    port.state as f64,
                );
                out.gauge(
                    "node_infiniband_physical_state_id",
                    "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)",
                    &labels,
                    port.phys_state as f64,
                );
                out.gauge(
                    "node_infiniband_rate_bytes_per_second",
                    "Maximum signal transfer rate",
                    &labels,
                    port.rate as f64,
                );
                for (c, v) in &port.counters {
                    let kind = if c.scale == Scale::Millis {
                        MetricType::Gauge
                    } else {
                        MetricType::Counter
                    };
                    let labels = vec![
                        ("device".into(), d.name.clone()),
                        ("port".into(), number.clone()),
                    ];
                    out.add(c.metric, c.help, kind, labels, *v as f64);
                }
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

    /// A scrape with node_exporter's device-exclude and device-include patterns.
    fn scrape(root: &Path, exclude: &str, include: &str) -> Result<String, Error> {
        let mut c = Infiniband {
            filter: DeviceFilter::new(("exclude", exclude), ("include", include))?,
            attrs: Attrs::default(),
        };
        testing::scrape_once(&mut c, root)
    }

    #[test]
    fn states_rates_and_counters_parse_as_upstream() {
        assert_eq!(parse_state("4: ACTIVE"), Ok(4));
        assert_eq!(parse_state(" 5 : LinkUp"), Ok(5));
        assert!(parse_state("ACTIVE").is_err());
        assert!(parse_state("4: A: B").is_err());
        assert!(parse_state("+4: ACTIVE").is_err());
        assert_eq!(parse_rate("40 Gb/sec (4X QDR)"), Ok(5_000_000_000));
        assert_eq!(parse_rate("2.5 Gb/sec (1X SDR)"), Ok(312_500_000));
        assert_eq!(parse_rate("14.0625 Gb/sec (1X FDR)"), Ok(1_757_812_500));
        assert!(parse_rate("40").is_err());
        assert!(parse_rate("fast Gb/sec").is_err());
        assert_eq!(parse_counter("0x10"), Ok(Some(16)));
        assert_eq!(parse_counter("N/A (no PMA)"), Ok(None));
        assert!(parse_counter("-1").is_err());
        assert_eq!(Scale::Lanes.apply(u64::MAX), u64::MAX.wrapping_mul(4));
        assert_eq!(Scale::Millis.apply(1999), 1);
    }

    /// A device with one port and nothing else.
    fn minimal_device(root: &Path, name: &str) {
        let dev = format!("sys/class/infiniband/{name}");
        write(root, &format!("{dev}/fw_ver"), "2.42.5000\n");
        for (f, v) in [
            ("link_layer", "InfiniBand"),
            ("state", "4: ACTIVE"),
            ("phys_state", "5: LinkUp"),
            ("rate", "40 Gb/sec (4X QDR)"),
        ] {
            write(root, &format!("{dev}/ports/1/{f}"), v);
        }
    }

    fn devices_built_with(options: &Options, root: &Path) -> Result<String, Error> {
        let mut c = build(options)?;
        let mut s = Scrape::new();
        let ctx = testing::context(root);
        c.update(&ctx, &mut s)?;
        let mut text = String::new();
        s.render(&mut text);
        Ok(text)
    }

    #[test]
    fn the_options_filter_devices() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        minimal_device(root, "mlx4_0");
        minimal_device(root, "mlx5_0");
        let info = |text: &str, dev: &str| {
            text.contains(&format!(
                "node_infiniband_info{{board_id=\"\",device=\"{dev}\""
            ))
        };
        let all = devices_built_with(&Options::default(), root).unwrap();
        assert!(info(&all, "mlx4_0") && info(&all, "mlx5_0"), "{all}");
        let excluded = Options {
            infiniband_device_exclude: Some("^mlx4".into()),
            ..Options::default()
        };
        let text = devices_built_with(&excluded, root).unwrap();
        assert!(!info(&text, "mlx4_0") && info(&text, "mlx5_0"), "{text}");
        assert!(!text.contains("device=\"mlx4_0\""), "{text}");
        let included = Options {
            infiniband_device_include: Some("mlx4".into()),
            ..Options::default()
        };
        let text = devices_built_with(&included, root).unwrap();
        assert!(info(&text, "mlx4_0") && !info(&text, "mlx5_0"), "{text}");
        // Both at once, as upstream allows: include mlx*, then exclude mlx5.
        let both = Options {
            infiniband_device_include: Some("^mlx".into()),
            infiniband_device_exclude: Some("^mlx5".into()),
            ..Options::default()
        };
        let text = devices_built_with(&both, root).unwrap();
        assert!(info(&text, "mlx4_0") && !info(&text, "mlx5_0"), "{text}");
        // An excluded device is not read, so its breakage does not fail the scrape.
        std::fs::remove_file(root.join("sys/class/infiniband/mlx4_0/fw_ver")).unwrap();
        let text = devices_built_with(&excluded, root).unwrap();
        assert!(info(&text, "mlx5_0"), "{text}");
        let bad = Options {
            infiniband_device_exclude: Some("(".into()),
            ..Options::default()
        };
        let e = build(&bad).err().unwrap();
        assert!(
            matches!(
                e,
                Error::Pattern {
                    what: "collector.infiniband.device-exclude",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn devices_ports_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(scrape(root, "", "").unwrap(), "", "no class: no data");
        let port = "sys/class/infiniband/mlx5_0/ports/1";
        write(root, "sys/class/infiniband/mlx5_0/fw_ver", "16.35.2000\n");
        write(root, "sys/class/infiniband/mlx5_0/hca_type", "MT4119\n");
        write(root, &format!("{port}/link_layer"), "Ethernet\n");
        write(root, &format!("{port}/state"), "4: ACTIVE\n");
        write(root, &format!("{port}/phys_state"), "5: LinkUp\n");
        write(root, &format!("{port}/rate"), "25 Gb/sec (1X EDR)\n");
        write(root, &format!("{port}/counters/port_xmit_data"), "100\n");
        write(
            root,
            &format!("{port}/counters/symbol_error"),
            "N/A (no PMA)\n",
        );
        write(root, &format!("{port}/counters/unknown_counter"), "junk\n");
        write(root, &format!("{port}/hw_counters/lifespan"), "10\n");
        write(root, &format!("{port}/hw_counters/out_of_buffer"), "7\n");
        // Without `counters/`, `counters_ext/` is not read.
        let port2 = "sys/class/infiniband/mlx5_0/ports/2";
        for (f, v) in [
            ("link_layer", "Ethernet"),
            ("state", "1: DOWN"),
            ("phys_state", "3: Disabled"),
            ("rate", "10 Gb/sec (4X)"),
            ("counters_ext/port_rcv_data_64", "1"),
        ] {
            write(root, &format!("{port2}/{f}"), v);
        }
        let text = scrape(root, "", "").unwrap();
        let want = [
            "node_infiniband_info{board_id=\"\",device=\"mlx5_0\",firmware_version=\"16.35.2000\",hca_type=\"MT4119\"} 1\n",
            "node_infiniband_port_data_transmitted_bytes_total{device=\"mlx5_0\",port=\"1\"} 400\n",
            "# TYPE node_infiniband_lifespan_seconds gauge\nnode_infiniband_lifespan_seconds{device=\"mlx5_0\",port=\"1\"} 0\n",
            "node_infiniband_out_of_buffer_drops_total{device=\"mlx5_0\",port=\"1\"} 7\n",
            "node_infiniband_state_id{device=\"mlx5_0\",port=\"1\"} 4\nnode_infiniband_state_id{device=\"mlx5_0\",port=\"2\"} 1\n",
            "node_infiniband_rate_bytes_per_second{device=\"mlx5_0\",port=\"1\"} 3.125e+09\n",
        ];
        for w in want {
            assert!(text.contains(w), "{w} not in {text}");
        }
        assert!(
            !text.contains("symbol_error") && !text.contains("legacy"),
            "{text}"
        );
        assert_eq!(scrape(root, "^mlx5", "").unwrap(), "");
        assert_eq!(scrape(root, "", "^mlx4").unwrap(), "");
        let mut built = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        let ctx = testing::context(root);
        built.update(&ctx, &mut s).unwrap();
        assert!(s.family("node_infiniband_info").is_some());
        // A malformed value fails the collector, naming the file.
        write(root, &format!("{port}/counters/link_downed"), "lots\n");
        let e = scrape(root, "", "").unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(
            e.to_string().contains("ports/1/counters/link_downed"),
            "{e}"
        );
        write(root, &format!("{port}/counters/link_downed"), "0\n");
        write(root, &format!("{port2}/state"), "DOWN\n");
        let e = scrape(root, "", "").unwrap_err();
        assert!(e.to_string().contains("ports/2/state"), "{e}");
        write(root, &format!("{port2}/state"), "1: DOWN\n");
        std::fs::create_dir_all(root.join("sys/class/infiniband/mlx5_0/ports/x")).unwrap();
        let e = scrape(root, "", "").unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{e}");
        std::fs::remove_dir(root.join("sys/class/infiniband/mlx5_0/ports/x")).unwrap();
        // A device without fw_ver: upstream's "not exist" anywhere is no data at all.
        write(root, "sys/class/infiniband/mlx5_1/hca_type", "MT4119\n");
        assert_eq!(scrape(root, "", "").unwrap(), "");
    }
}
