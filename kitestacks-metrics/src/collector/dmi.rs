//! The `dmi` collector: `node_dmi_info`, a constant 1 labelled with the firmware's
//! identification strings from `<sysfs>/class/dmi/id/*` (BIOS, board, chassis, product,
//! vendor). As in node_exporter, the files are read once (they do not change while the
//! machine runs), files we may not read (serial numbers are root-only) are left out,
//! and a machine without DMI reports "no data" (failure).

use std::path::Path;

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::{MetricType, Name, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "dmi",
    default_enabled: true,
    families: &["node_dmi_"],
    build,
};

const HELP: &str = "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, bios_version, \
board_asset_tag, board_name, board_serial, board_vendor, board_version, chassis_asset_tag, \
chassis_serial, chassis_vendor, chassis_version, product_family, product_name, product_serial, \
product_sku, product_uuid, product_version, system_vendor if provided by DMI.";

/// File name -> label name.
const FILES: [(&str, &str); 20] = [
    ("bios_date", "bios_date"),
    ("bios_release", "bios_release"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("product_family", "product_family"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_sku", "product_sku"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("sys_vendor", "system_vendor"),
];

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Dmi { labels: None }))
}

struct Dmi {
    /// The labels, read on the first scrape.
    labels: Option<Vec<(Name, String)>>,
}

impl Collector for Dmi {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        if self.labels.is_none() {
            self.labels = Some(read(&ctx.roots.sys("class/dmi/id"))?);
        }
        let labels = self.labels.as_ref().map_or(&[][..], Vec::as_slice);
        if labels.is_empty() {
            // A VM or board without DMI: nothing to report, which is not a failure (and
            // nothing worth caching: look again next time).
            self.labels = None;
            return Ok(());
        }
        out.add(
            "node_dmi_info",
            HELP,
            MetricType::Gauge,
            labels.to_vec(),
            1.0,
        );
        Ok(())
    }
}

/// Reads the identification files: at most 128 bytes each (as sysfs attributes are read
/// upstream), trimmed, invalid UTF-8 replaced by U+FFFD. A missing directory yields no
/// labels; unreadable (root-only) or absent files are left out.
fn read(dir: &Path) -> Result<Vec<(Name, String)>, Error> {
    use std::io::Read;
    let mut labels = Vec::new();
    for (file, label) in FILES {
        let path = dir.join(file);
        let mut buf = [0u8; 128];
        let n = match std::fs::File::open(&path).and_then(|mut f| f.read(&mut buf)) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                continue;
            }
            Err(source) => return Err(Error::Read { path, source }),
        };
        let text = String::from_utf8_lossy(&buf[..n]);
        labels.push((Name::Borrowed(label), text.trim().to_owned()));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn present_files_become_labels() {
        let dir = tempfile::tempdir().unwrap();
        let id = dir.path().join("class/dmi/id");
        let ctx = testing::sysfs(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        c.update(&ctx, &mut s).unwrap();
        assert_eq!(
            s.families().count(),
            0,
            "no DMI: nothing to report, not a failure"
        );
        std::fs::create_dir_all(&id).unwrap();
        std::fs::write(id.join("sys_vendor"), "Dell Inc.\n").unwrap();
        std::fs::write(id.join("product_version"), b"\xff[x\n").unwrap();
        std::fs::write(id.join("chassis_version"), " \n").unwrap();
        std::fs::write(id.join("modalias"), "dmi:bvn...\n").unwrap();
        let mut c = build(&Options::default()).unwrap();
        c.update(&ctx, &mut s).unwrap();
        let mut out = String::new();
        s.render(&mut out);
        assert!(
            out.ends_with(
                "node_dmi_info{chassis_version=\"\",product_version=\"\u{fffd}[x\",system_vendor=\"Dell Inc.\"} 1\n"
            ),
            "{out}"
        );
    }
}
