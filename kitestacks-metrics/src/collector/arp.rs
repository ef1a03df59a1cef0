//! The `arp` collector: `node_arp_entries{device}`, the number of IPv4 neighbour
//! entries per interface, from `/proc/net/arp` (node_exporter's `--no-collector.arp.netlink`
//! path; its netlink path counts the same table).

use std::collections::BTreeMap;

use crate::collector::device_filter::DeviceFilter;
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "arp",
    default_enabled: true,
    families: &["node_arp_"],
    build,
};

fn build(options: &Options) -> Result<Box<dyn Collector>, Error> {
    let filter = DeviceFilter::of(
        options,
        &flag::ARP_DEVICE_EXCLUDE,
        &flag::ARP_DEVICE_INCLUDE,
    )?;
    Ok(Box::new(Arp { file: None, filter }))
}

struct Arp {
    file: Option<TextFile>,
    filter: DeviceFilter,
}

impl Collector for Arp {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("net/arp")));
        let path = file.path().to_owned();
        let counts = parse(file.read()?).map_err(|e| Error::parse(path, e))?;
        for (device, n) in counts {
            if self.filter.ignored(device) {
                continue;
            }
            out.gauge(
                "node_arp_entries",
                "ARP entries by device",
                &[("device", device)],
                n as f64,
            );
        }
        Ok(())
    }
}

/// Counts the entries of `/proc/net/arp` by device. The header (nine words) and blank
/// lines are skipped; an entry has six columns (address, HW type, flags, HW address,
/// mask, device) and hexadecimal flags.
pub(crate) fn parse(text: &str) -> Result<BTreeMap<&str, u64>, ParseError> {
    let mut counts = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let mut cols = [""; 6];
        let mut n = 0;
        for word in line.split_ascii_whitespace() {
            if n < 6 {
                cols[n] = word;
            }
            n += 1;
        }
        match n {
            0 | 9 => continue,
            6 => {}
            _ => {
                return Err(ParseError::new(
                    i + 1,
                    format!("{n} columns found, but expected 6"),
                ));
            }
        }
        let flags = cols[2].strip_prefix("0x").unwrap_or(cols[2]);
        if attr::go_parse_uint(flags, 16)
            .and_then(|v| u8::try_from(v).ok())
            .is_none()
        {
            return Err(ParseError::new(
                i + 1,
                format!("flags {:?} are not a hexadecimal byte", cols[2]),
            ));
        }
        *counts.entry(cols[5]).or_insert(0) += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const TEXT: &str =
        "IP address       HW type     Flags       HW address            Mask     Device
192.168.1.1    0x1         0x2         cc:aa:dd:ee:aa:bb     *        eth0
192.168.1.4    0x1         0x0         00:00:00:00:00:00     *        eth1
192.168.1.5    0x1         0x2         ee:ff:aa:bb:cc:dd     *        eth0
";

    #[test]
    fn entries_are_counted_by_device() {
        let c = parse(TEXT).unwrap();
        assert_eq!(
            c.into_iter().collect::<Vec<_>>(),
            [("eth0", 2), ("eth1", 1)]
        );
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line() {
        let err = parse(&format!("{TEXT}10.0.0.1 0x1 0x2 aa:bb\n")).unwrap_err();
        assert_eq!(err.line, 5);
        let err = parse("1.2.3.4 0x1 zz aa:bb:cc:dd:ee:ff * eth0\n").unwrap_err();
        assert_eq!(err.line, 1);
    }

    #[test]
    fn the_device_filter_applies() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("net")).unwrap();
        std::fs::write(dir.path().join("net/arp"), TEXT).unwrap();
        let ctx = testing::procfs(dir.path());
        let mut c = build(&Options {
            arp_device_exclude: Some("eth1".into()),
            ..Options::default()
        })
        .unwrap();
        let out = testing::text(&mut *c, &ctx).unwrap();
        assert_eq!(
            out,
            "# HELP node_arp_entries ARP entries by device\n# TYPE node_arp_entries gauge\nnode_arp_entries{device=\"eth0\"} 2\n"
        );
    }
}
