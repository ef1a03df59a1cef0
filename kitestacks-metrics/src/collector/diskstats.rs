//! The `diskstats` collector: `node_disk_*` I/O counters from `/proc/diskstats`, with
//! `node_disk_info`, `node_disk_filesystem_info`, `node_disk_device_mapper_info` and the
//! `node_disk_ata_*` gauges from udev's database (`<udev data>/b<major>:<minor>`) and
//! `/sys/block/<dev>/queue/rotational`, as node_exporter's `diskstats_linux.go` emits them.

use std::io::Read as _;
use std::path::Path;

use crate::collector::attr::{Attrs, read_trimmed};
use crate::collector::device_filter::DeviceFilter;
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::diskstats::{self, DiskStat};
use crate::error::Error;
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "diskstats",
    default_enabled: true,
    families: &["node_disk_"],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    let filter = DeviceFilter::exclusive_of(o, &flag::DISKSTATS_DEVICE_EXCLUDE)?;
    Ok(Box::new(Diskstats {
        filter,
        file: None,
        udev_enabled: None,
        buf: String::new(),
        attrs: Attrs::default(),
    }))
}

struct Diskstats {
    filter: DeviceFilter,
    file: Option<TextFile>,
    /// Whether the udev database directory exists (checked once, as node_exporter does
    /// when it starts).
    udev_enabled: Option<bool>,
    buf: String,
    /// `queue/rotational` of each device, kept open.
    attrs: Attrs,
}

/// The counters in `/proc/diskstats` column order: name, help, type, scale.
const COUNTERS: [(&str, &str, Kind, f64); 17] = [
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        Kind::Counter,
        UNIX_SECTOR_SIZE,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        Kind::Counter,
        UNIX_SECTOR_SIZE,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        Kind::Gauge,
        1.0,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
];

/// Sectors in `/proc/diskstats` are 512 bytes whatever the device's sector size.
const UNIX_SECTOR_SIZE: f64 = 512.0;
/// The time columns are milliseconds.
const SECONDS_PER_TICK: f64 = 1.0 / 1000.0;

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

/// The `node_disk_ata_*` gauges: udev property, name, help.
const ATA: [(&str, &str, &str); 3] = [
    (
        "ID_ATA_WRITE_CACHE",
        "node_disk_ata_write_cache",
        "ATA disk has a write cache.",
    ),
    (
        "ID_ATA_WRITE_CACHE_ENABLED",
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
    ),
    (
        "ID_ATA_ROTATION_RATE_RPM",
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
    ),
];

fn values(d: &DiskStat) -> [u64; 17] {
    [
        d.reads_completed,
        d.reads_merged,
        d.sectors_read,
        d.read_time_ms,
        d.writes_completed,
        d.writes_merged,
        d.sectors_written,
        d.write_time_ms,
        d.io_in_progress,
        d.io_time_ms,
        d.weighted_io_time_ms,
        d.discards_completed,
        d.discards_merged,
        d.sectors_discarded,
        d.discard_time_ms,
        d.flushes_completed,
        d.flush_time_ms,
    ]
}

impl Collector for Diskstats {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let udev_enabled = *self
            .udev_enabled
            .get_or_insert_with(|| ctx.udev_data.is_dir());
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("diskstats")));
        let stats = file.parse(diskstats::parse)?;
        for d in &stats {
            if self.filter.ignored(&d.name) {
                continue;
            }
            self.buf.clear();
            if udev_enabled {
                read_udev(&ctx.udev_data, d.major, d.minor, &mut self.buf);
            }
            let info = UdevInfo::parse(&self.buf);
            emit(ctx, d, &info, &mut self.attrs, out);
        }
        Ok(())
    }
}

fn emit(ctx: &Context, d: &DiskStat, info: &UdevInfo<'_>, attrs: &mut Attrs, out: &mut Scrape) {
    let dev = d.name.as_str();
    // The serial printed on the disk's label, else the short serial, else (virtio) the
    // long one.
    let serial = [
        info.get("SCSI_IDENT_SERIAL"),
        info.get("ID_SERIAL_SHORT"),
        info.get("ID_SERIAL"),
    ]
    .into_iter()
    .flatten()
    .find(|s| !s.is_empty())
    .unwrap_or("");
    let (major, minor) = (d.major.to_string(), d.minor.to_string());
    out.gauge(
        "node_disk_info",
        "Info of /sys/block/<block_device>.",
        &[
            ("device", dev),
            ("major", &major),
            ("minor", &minor),
            ("path", info.get("ID_PATH").unwrap_or("")),
            ("wwn", info.get("ID_WWN").unwrap_or("")),
            ("model", info.get("ID_MODEL").unwrap_or("")),
            ("serial", serial),
            ("revision", info.get("ID_REVISION").unwrap_or("")),
            ("rotational", rotational(ctx, dev, attrs)),
        ],
        1.0,
    );

    let vals = values(d);
    for ((name, help, kind, scale), v) in COUNTERS.iter().zip(vals).take(d.fields) {
        let v = v as f64 * scale;
        match kind {
            Kind::Counter => out.counter(name, help, &[("device", dev)], v),
            Kind::Gauge => out.gauge(name, help, &[("device", dev)], v),
        }
    }

    if let Some(fs_type) = info.get("ID_FS_TYPE").filter(|s| !s.is_empty()) {
        out.gauge(
            "node_disk_filesystem_info",
            "Info about disk filesystem.",
            &[
                ("device", dev),
                ("type", fs_type),
                ("usage", info.get("ID_FS_USAGE").unwrap_or("")),
                ("uuid", info.get("ID_FS_UUID").unwrap_or("")),
                ("version", info.get("ID_FS_VERSION").unwrap_or("")),
            ],
            1.0,
        );
    }

    if let Some(name) = info.get("DM_NAME").filter(|s| !s.is_empty()) {
        out.gauge(
            "node_disk_device_mapper_info",
            "Info about disk device mapper.",
            &[
                ("device", dev),
                ("name", name),
                ("uuid", info.get("DM_UUID").unwrap_or("")),
                ("vg_name", info.get("DM_VG_NAME").unwrap_or("")),
                ("lv_name", info.get("DM_LV_NAME").unwrap_or("")),
                ("lv_layer", info.get("DM_LV_LAYER").unwrap_or("")),
            ],
            1.0,
        );
    }

    if info.get("ID_ATA").is_some_and(|s| !s.is_empty()) {
        for (key, name, help) in ATA {
            // A property that is missing or not a number is skipped (node_exporter logs it).
            if let Some(v) = info.get(key).and_then(|s| s.parse::<f64>().ok()) {
                out.gauge(name, help, &[("device", dev)], v);
            }
        }
    }
}

/// `"1"` for a rotational device, `"0"` otherwise, including when
/// `/sys/block/<dev>/queue/rotational` cannot be read.
fn rotational(ctx: &Context, dev: &str, attrs: &mut Attrs) -> &'static str {
    let path = ctx
        .roots
        .sysfs
        .join("block")
        .join(dev)
        .join("queue/rotational");
    match read_trimmed(&path, attrs) {
        Ok(text) if text.parse::<u64>() == Ok(1) => "1",
        _ => "0",
    }
}

/// Reads udev's database entry of a block device into `buf`; a missing or unreadable
/// entry leaves it empty (the device then has empty udev labels).
fn read_udev(dir: &Path, major: u32, minor: u32, buf: &mut String) {
    let path = dir.join(format!("b{major}:{minor}"));
    if let Ok(mut f) = std::fs::File::open(path)
        && f.read_to_string(buf).is_err()
    {
        buf.clear();
    }
}

/// The device properties (`E:KEY=value` lines) of a udev database entry.
#[derive(Debug, Default, PartialEq, Eq)]
struct UdevInfo<'a> {
    props: Vec<(&'a str, &'a str)>,
}

impl<'a> UdevInfo<'a> {
    /// Parses an entry. Lines other than properties (`S:` symlinks, `W:`, `I:`, `G:` tags)
    /// and properties without `=` are skipped; values are kept as written.
    fn parse(text: &'a str) -> Self {
        let props = text
            .lines()
            .filter_map(|l| l.strip_prefix("E:")?.split_once('='))
            .collect();
        Self { props }
    }

    /// The value of a property; the last one wins if it repeats.
    fn get(&self, key: &str) -> Option<&'a str> {
        self.props
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::collector::testing;

    #[test]
    fn udev_properties_are_the_e_lines() {
        let info = UdevInfo::parse(
            "S:disk/by-id/wwn-0x1\nW:702\nE:ID_ATA=1\nE:ID_FS_VERSION=LVM2 001\n\
             E:ID_MODEL_ENC=A\\x20B\nE:NOEQUALS\nE:ID_ATA=2\nE:EMPTY=\nG:systemd",
        );
        assert_eq!(info.get("ID_ATA"), Some("2"), "last one wins");
        assert_eq!(info.get("ID_FS_VERSION"), Some("LVM2 001"));
        assert_eq!(info.get("ID_MODEL_ENC"), Some("A\\x20B"), "kept as written");
        assert_eq!(info.get("EMPTY"), Some(""));
        assert_eq!(info.get("NOEQUALS"), None);
        assert_eq!(info.get("disk/by-id/wwn-0x1"), None);
        assert_eq!(UdevInfo::parse(""), UdevInfo::default());
        // Truncated entry: a property cut before its '='.
        assert_eq!(UdevInfo::parse("E:ID_A").get("ID_A"), None);
    }

    fn scrape(dir: &Path, diskstats: &str, options: &Options) -> Result<String, Error> {
        testing::write(dir, "proc/diskstats", diskstats);
        testing::scrape_once(&mut *build(options)?, dir)
    }

    #[test]
    fn columns_udev_labels_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("udev")).unwrap();
        std::fs::write(
            dir.path().join("udev/b8:0"),
            "E:ID_ATA=1\nE:ID_SERIAL=long\nE:ID_SERIAL_SHORT=short\nE:ID_ATA_ROTATION_RATE_RPM=x\n\
             E:ID_ATA_WRITE_CACHE=1\nE:DM_NAME=vg-root\nE:DM_VG_NAME=vg\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("sys/block/sda/queue")).unwrap();
        std::fs::write(dir.path().join("sys/block/sda/queue/rotational"), "1\n").unwrap();
        let text = scrape(
            dir.path(),
            "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n   8       1 sda1 1 2 3 4 5 6 7 8 9 10 11\n",
            &Options::default(),
        )
        .unwrap();
        assert!(text.contains("node_disk_info{device=\"sda\",major=\"8\",minor=\"0\",model=\"\",path=\"\",revision=\"\",rotational=\"1\",serial=\"short\",wwn=\"\"} 1\n"), "{text}");
        assert!(text.contains("node_disk_read_bytes_total{device=\"sda\"} 1536\n"));
        assert!(text.contains("node_disk_read_time_seconds_total{device=\"sda\"} 0.004\n"));
        assert!(text.contains("node_disk_discarded_sectors_total{device=\"sda\"} 14\n"));
        assert!(text.contains("# TYPE node_disk_io_now gauge\n"));
        assert!(!text.contains("flush"), "15 columns: no flush counters");
        assert!(!text.contains("sda1"), "partition excluded by default");
        assert!(text.contains("node_disk_ata_write_cache{device=\"sda\"} 1\n"));
        assert!(!text.contains("rotation_rate"), "not a number: skipped");
        assert!(text.contains("node_disk_device_mapper_info{device=\"sda\",lv_layer=\"\",lv_name=\"\",name=\"vg-root\",uuid=\"\",vg_name=\"vg\"} 1\n"));
        assert!(!text.contains("filesystem_info"));

        let only_part = Options {
            diskstats_device_include: Some("^sda1$".into()),
            ..Options::default()
        };
        let text = scrape(
            dir.path(),
            "8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n8 1 sda1 1 2 3 4 5 6 7 8 9 10 11\n",
            &only_part,
        )
        .unwrap();
        assert!(text.contains("node_disk_info{device=\"sda1\",major=\"8\",minor=\"1\",model=\"\",path=\"\",revision=\"\",rotational=\"0\",serial=\"\",wwn=\"\"} 1\n"), "{text}");
        assert!(!text.contains("\"sda\""));
    }

    #[test]
    fn malformed_and_missing_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = scrape(dir.path(), "8 0 sda 1 2\n", &Options::default()).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("diskstats"), "{e}");
        let e = testing::scrape_once(
            &mut *build(&Options::default()).unwrap(),
            &dir.path().join("nope"),
        )
        .unwrap_err();
        assert!(e.is_not_found(), "{e}");
        let both = Options {
            diskstats_device_exclude: "^x".into(),
            diskstats_device_include: Some("^y".into()),
            ..Options::default()
        };
        assert!(build(&both).is_err());
    }
}
