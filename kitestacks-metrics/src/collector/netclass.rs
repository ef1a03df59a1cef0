//! The `netclass` collector: `node_network_*` properties of each interface from the
//! attribute files in `/sys/class/net/<iface>/` (operstate, MTU, speed, carrier, flags …),
//! as node_exporter's `netclass_linux.go` reads them (its default, non-netlink path).

use std::path::Path;

use regex::Regex;

use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::Error;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "netclass",
    default_enabled: true,
    families: &[
        "node_network_address_assign_type",
        "node_network_carrier",
        "node_network_carrier_changes_total",
        "node_network_carrier_down_changes_total",
        "node_network_carrier_up_changes_total",
        "node_network_device_id",
        "node_network_dormant",
        "node_network_flags",
        "node_network_iface_id",
        "node_network_iface_link",
        "node_network_iface_link_mode",
        "node_network_info",
        "node_network_mtu_bytes",
        "node_network_name_assign_type",
        "node_network_net_dev_group",
        "node_network_protocol_type",
        "node_network_speed_bytes",
        "node_network_transmit_queue_length",
        "node_network_up",
    ],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(NetClass {
        ignored: flag::NETCLASS_IGNORED_DEVICES.regex(o)?,
        ignore_invalid_speed: o.netclass_ignore_invalid_speed,
        files: OpenFiles::default(),
    }))
}

struct NetClass {
    ignored: Regex,
    ignore_invalid_speed: bool,
    files: OpenFiles,
}

/// The numeric attributes, in emission order: file, metric name, help, is a counter.
const NUMBERS: [(&str, &str, &str, bool); 16] = [
    (
        "addr_assign_type",
        "node_network_address_assign_type",
        "Network device property: address_assign_type",
        false,
    ),
    (
        "carrier",
        "node_network_carrier",
        "Network device property: carrier",
        false,
    ),
    (
        "carrier_changes",
        "node_network_carrier_changes_total",
        "Network device property: carrier_changes_total",
        true,
    ),
    (
        "carrier_up_count",
        "node_network_carrier_up_changes_total",
        "Network device property: carrier_up_changes_total",
        true,
    ),
    (
        "carrier_down_count",
        "node_network_carrier_down_changes_total",
        "Network device property: carrier_down_changes_total",
        true,
    ),
    (
        "dev_id",
        "node_network_device_id",
        "Network device property: device_id",
        false,
    ),
    (
        "dormant",
        "node_network_dormant",
        "Network device property: dormant",
        false,
    ),
    (
        "flags",
        "node_network_flags",
        "Network device property: flags",
        false,
    ),
    (
        "ifindex",
        "node_network_iface_id",
        "Network device property: iface_id",
        false,
    ),
    (
        "iflink",
        "node_network_iface_link",
        "Network device property: iface_link",
        false,
    ),
    (
        "link_mode",
        "node_network_iface_link_mode",
        "Network device property: iface_link_mode",
        false,
    ),
    (
        "mtu",
        "node_network_mtu_bytes",
        "Network device property: mtu_bytes",
        false,
    ),
    (
        "name_assign_type",
        "node_network_name_assign_type",
        "Network device property: name_assign_type",
        false,
    ),
    (
        "netdev_group",
        "node_network_net_dev_group",
        "Network device property: net_dev_group",
        false,
    ),
    (
        "tx_queue_len",
        "node_network_transmit_queue_length",
        "Network device property: transmit_queue_length",
        false,
    ),
    (
        "type",
        "node_network_protocol_type",
        "Network device property: protocol_type",
        false,
    ),
];

/// Index of `flags` in [`NUMBERS`].
const FLAGS: usize = 7;

/// What one interface's directory holds (attributes that could not be read are `None`).
#[derive(Debug, Default)]
struct Iface {
    numbers: [Option<i64>; 16],
    speed: Option<i64>,
    address: String,
    broadcast: String,
    duplex: String,
    ifalias: String,
    operstate: String,
}

impl Collector for NetClass {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let dir = ctx.roots.sys("class/net");
        // node_exporter reports "no data" (success 0) when the directory is missing or
        // unreadable, and fails on any other error; either way nothing is emitted.
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        let mut ifaces = Vec::new();
        let mut dirs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::Read {
                path: dir.clone(),
                source,
            })?;
            // Regular files (bonding_masters) are not interfaces; symlinks and
            // directories are.
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if self.ignored.is_match(&name) {
                continue;
            }
            let path = entry.path();
            let iface = read_iface(&path, &mut self.files)?;
            dirs.push(path);
            ifaces.push((name, iface));
        }
        self.files.retain_dirs(&dirs);
        for (name, iface) in &ifaces {
            self.emit(name, iface, out);
        }
        Ok(())
    }
}

impl NetClass {
    fn emit(&self, dev: &str, i: &Iface, out: &mut Scrape) {
        let device = [("device", dev)];
        out.gauge(
            "node_network_up",
            "Value is 1 if operstate is 'up', 0 otherwise.",
            &device,
            if i.operstate == "up" { 1.0 } else { 0.0 },
        );
        let admin = match i.numbers[FLAGS] {
            None => "unknown",
            Some(f) if f & IFF_UP == 1 => "up",
            Some(_) => "down",
        };
        out.gauge(
            "node_network_info",
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
            &[
                ("device", dev),
                ("address", &i.address),
                ("broadcast", &i.broadcast),
                ("duplex", &i.duplex),
                ("operstate", &i.operstate),
                ("adminstate", admin),
                ("ifalias", &i.ifalias),
            ],
            1.0,
        );
        for ((_, name, help, counter), v) in NUMBERS.iter().zip(i.numbers) {
            let Some(v) = v else { continue };
            if *counter {
                out.counter(name, help, &device, v as f64);
            } else {
                out.gauge(name, help, &device, v as f64);
            }
        }
        // Some devices say -1 when the speed is unknown; Mbit/s to bytes/s in integers.
        if let Some(speed) = i.speed.filter(|s| *s >= 0 || !self.ignore_invalid_speed) {
            let bytes = speed.wrapping_mul(1000).wrapping_mul(1000) / 8;
            out.gauge(
                "node_network_speed_bytes",
                "Network device property: speed_bytes",
                &device,
                bytes as f64,
            );
        }
    }
}

/// `IFF_UP` in `flags`.
const IFF_UP: i64 = 1;

/// Reads the attributes of one interface directory. Attributes that are missing or that
/// the kernel refuses to show for this device (permission, `EINVAL` for the speed of a
/// link that is down, `EOPNOTSUPP`) are left out; any other error fails the collector.
fn read_iface(dir: &Path, files: &mut OpenFiles) -> Result<Iface, Error> {
    // An interface that went away since the listing fails the scrape, as in node_exporter
    // (which lists the directory first).
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::Invalid {
                path: dir.to_owned(),
                message: "not a directory".into(),
            });
        }
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_owned(),
                source,
            });
        }
    }
    let mut iface = Iface::default();
    let mut buf = [0u8; 128];
    for (k, (file, ..)) in NUMBERS.iter().enumerate() {
        iface.numbers[k] = read_attr(dir, file, &mut buf, files)?.map(parse_int);
    }
    iface.speed = read_attr(dir, "speed", &mut buf, files)?.map(parse_int);
    let mut text = |file: &str| -> Result<String, Error> {
        Ok(read_attr(dir, file, &mut buf, files)?
            .unwrap_or("")
            .to_owned())
    };
    iface.address = text("address")?;
    iface.broadcast = text("broadcast")?;
    iface.duplex = text("duplex")?;
    iface.ifalias = text("ifalias")?;
    iface.operstate = text("operstate")?;
    Ok(iface)
}

/// Attribute files kept open between scrapes and re-read with `pread` at offset 0: an
/// interface has some twenty attributes, and opening and closing each one every scrape
/// was most of this collector's cost. Bounded, so a host with thousands of interfaces
/// does not run out of descriptors (past the bound, files are opened per read).
#[derive(Default)]
struct OpenFiles {
    files: std::collections::HashMap<std::path::PathBuf, std::fs::File>,
}

const MAX_OPEN: usize = 1024;

impl OpenFiles {
    fn read(&mut self, path: &Path, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        if let Some(f) = self.files.get(path) {
            match f.read_at(buf, 0) {
                Ok(n) => return Ok(n),
                // The device refuses this attribute now (a link that is down has no
                // speed): the file itself is fine.
                Err(e) if ignorable(&e) => return Err(e),
                // Gone (the interface was removed, maybe re-created): reopen below.
                Err(_) => {
                    self.files.remove(path);
                }
            }
        }
        let f = std::fs::File::open(path)?;
        let n = f.read_at(buf, 0)?;
        if self.files.len() < MAX_OPEN {
            self.files.insert(path.to_owned(), f);
        }
        Ok(n)
    }

    /// Forgets the files of interfaces that are gone.
    fn retain_dirs(&mut self, live: &[std::path::PathBuf]) {
        self.files
            .retain(|p, _| live.iter().any(|d| p.starts_with(d)));
    }
}

/// One attribute, read as procfs' `SysReadFile` does: a single read of at most 128 bytes,
/// whitespace trimmed. `None` if the error is one node_exporter ignores.
fn read_attr<'b>(
    dir: &Path,
    file: &str,
    buf: &'b mut [u8; 128],
    files: &mut OpenFiles,
) -> Result<Option<&'b str>, Error> {
    let path = dir.join(file);
    let n = match files.read(&path, buf) {
        Ok(n) => n,
        Err(e) if ignorable(&e) => return Ok(None),
        Err(source) => return Err(Error::Read { path, source }),
    };
    let text = match std::str::from_utf8(&buf[..n]) {
        Ok(t) => t,
        // Cut inside a character by the 128-byte limit, or not text: keep the valid part.
        Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default(),
    };
    Ok(Some(text.trim()))
}

fn ignorable(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
    ) || e
        .raw_os_error()
        .is_some_and(|n| n == Errno::INVAL.raw_os_error() || n == Errno::OPNOTSUPP.raw_os_error())
}

/// An integer as Go's `strconv.ParseInt(s, 0, 64)` reads it (sign, then `0x`, `0o`, `0b`
/// or a leading `0` for octal); text that is not one reads as 0, as in procfs'
/// `ValueParser.PInt64`.
fn parse_int(s: &str) -> i64 {
    attr::go_parse_int(s, 0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::collector::testing;

    #[test]
    fn unparseable_attributes_read_as_0() {
        assert_eq!(parse_int("0x1303"), 4867);
        assert_eq!(parse_int("full"), 0, "unparseable attribute reads as 0");
    }

    fn write(dir: &Path, attrs: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (k, v) in attrs {
            std::fs::write(dir.join(k), v).unwrap();
        }
    }

    fn scrape(root: &Path, options: &Options) -> Result<String, Error> {
        testing::scrape_once(&mut *build(options)?, root)
    }

    #[test]
    fn interfaces_speed_and_admin_state() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("sys/class/net");
        write(
            &net.join("eth0"),
            &[
                ("operstate", "up\n"),
                ("flags", "0x1003\n"),
                ("speed", "1000\n"),
                ("mtu", "1500\n"),
                ("address", "01:02:03:04:05:06\n"),
                ("duplex", "full\n"),
                ("carrier_changes", "3\n"),
                ("ifalias", &"x".repeat(200)),
            ],
        );
        write(
            &net.join("bond0"),
            &[
                ("operstate", "down\n"),
                ("flags", "0x1002\n"),
                ("speed", "-1\n"),
            ],
        );
        write(&net.join("dmz0"), &[("operstate", "up\n")]);
        write(&net.join("lo"), &[("mtu", "65536\n")]);
        std::fs::write(net.join("bonding_masters"), "bond0\n").unwrap();

        let text = scrape(dir.path(), &Options::default()).unwrap();
        let info = format!(
            "node_network_info{{address=\"01:02:03:04:05:06\",adminstate=\"up\",broadcast=\"\",device=\"eth0\",duplex=\"full\",ifalias=\"{}\",operstate=\"up\"}} 1\n",
            "x".repeat(128)
        );
        assert!(text.contains(&info), "{text}");
        assert!(text.contains("node_network_up{device=\"eth0\"} 1\n"));
        assert!(text.contains("node_network_up{device=\"bond0\"} 0\n"));
        assert!(text.contains("node_network_speed_bytes{device=\"eth0\"} 1.25e+08\n"));
        assert!(text.contains("node_network_speed_bytes{device=\"bond0\"} -125000\n"));
        assert!(text.contains("adminstate=\"down\",broadcast=\"\",device=\"bond0\""));
        assert!(text.contains("adminstate=\"unknown\",broadcast=\"\",device=\"lo\""));
        assert!(text.contains("# TYPE node_network_carrier_changes_total counter\n"));
        assert!(text.contains("node_network_flags{device=\"eth0\"} 4099\n"));
        assert!(
            !text.contains("node_network_mtu_bytes{device=\"bond0\"}"),
            "missing attribute: no series"
        );
        assert!(!text.contains("bonding_masters"));

        let filtered = Options {
            netclass_ignored_devices: "^(dmz|lo)".into(),
            netclass_ignore_invalid_speed: true,
            ..Options::default()
        };
        let text = scrape(dir.path(), &filtered).unwrap();
        assert!(!text.contains("node_network_speed_bytes{device=\"bond0\"}"));
        assert!(!text.contains("dmz0") && !text.contains("\"lo\""), "{text}");
    }

    #[test]
    fn missing_directory_and_unreadable_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let e = scrape(dir.path(), &Options::default()).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        // A directory where an attribute file should be: reading it is EISDIR, which
        // node_exporter does not ignore.
        let eth = dir.path().join("sys/class/net/eth0");
        std::fs::create_dir_all(eth.join("mtu")).unwrap();
        let e = scrape(dir.path(), &Options::default()).unwrap_err();
        assert!(e.to_string().contains("eth0/mtu"), "{e}");
        let bad = Options {
            netclass_ignored_devices: "(".into(),
            ..Options::default()
        };
        assert!(build(&bad).is_err());
    }
}
