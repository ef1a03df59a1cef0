//! The `dmmultipath` collector: device-mapper multipath maps, the `<sysfs>/block/dm-*`
//! devices whose `dm/uuid` starts with `mpath-` — `node_dmmultipath_device_*` (info,
//! active, size, path counts) and, per path listed in `slaves/`,
//! `node_dmmultipath_path_state` from `<sysfs>/block/<path>/device/state` — as
//! prometheus/procfs reads them. A file gone missing or unreadable anywhere is no data
//! for the whole collector (upstream's `ErrNoData`).

use std::path::Path;

use crate::collector::attr::{self, Attrs, list_sorted, read_trimmed, read_u64};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "dmmultipath",
    default_enabled: true,
    families: &["node_dmmultipath_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(DmMultipath {
        attrs: Attrs::default(),
    }))
}

struct DmMultipath {
    /// The `dm/*`, `size` and `device/state` files, kept open.
    attrs: Attrs,
}

/// The size unit of `/sys/block/<dev>/size`, whatever the device's block size.
const SECTOR_BYTES: u64 = 512;

/// One multipath map.
#[derive(Debug, PartialEq, Eq)]
struct Device {
    /// The map's name (`dm/name`), e.g. `mpatha`.
    name: String,
    /// The block device, e.g. `dm-5`.
    sysfs_name: String,
    /// `dm/uuid`, e.g. `mpath-3600508b1001c...`.
    uuid: String,
    /// `dm/suspended` is 1.
    suspended: bool,
    /// `size` (in sectors) times 512.
    size_bytes: u64,
    /// Each path device (`slaves/<dev>`) and its `device/state`.
    paths: Vec<(String, String)>,
}

/// Whether a device-mapper UUID is multipathd's (`mpath-<wwid>`); LVM (`LVM-`), crypt
/// (`CRYPT-`) and the rest are not.
fn is_multipath(uuid: &str) -> bool {
    uuid.starts_with("mpath-")
}

/// Whether a path's device state is a usable one: SCSI `running` or NVMe `live`.
fn is_path_active(state: &str) -> bool {
    state == "running" || state == "live"
}

impl DmMultipath {
    /// Every multipath map, sorted by block device name.
    fn read(&mut self, ctx: &Context) -> Result<Vec<Device>, Error> {
        let block = ctx.roots.sys("block");
        let mut devices = Vec::new();
        for sysfs_name in list_sorted(&block)? {
            if !sysfs_name.starts_with("dm-") {
                continue;
            }
            let dir = block.join(&sysfs_name);
            // No dm/uuid: not a device-mapper device after all.
            let uuid = match read_trimmed(&dir.join("dm/uuid"), &mut self.attrs) {
                Ok(uuid) if is_multipath(uuid) => uuid.to_owned(),
                Ok(_) => continue,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            let name = read_trimmed(&dir.join("dm/name"), &mut self.attrs)?.to_owned();
            let suspended = read_u64(&dir.join("dm/suspended"), &mut self.attrs)? == 1;
            let sectors = read_u64(&dir.join("size"), &mut self.attrs)?;
            let paths = self.paths(&block, &dir.join("slaves"))?;
            devices.push(Device {
                name,
                sysfs_name,
                uuid,
                suspended,
                // Wrapping as upstream's uint64 does (not that a disk gets that big).
                size_bytes: sectors.wrapping_mul(SECTOR_BYTES),
                paths,
            });
        }
        Ok(devices)
    }

    /// The map's path devices and their states; no `slaves/` directory is no paths.
    fn paths(&mut self, block: &Path, slaves: &Path) -> Result<Vec<(String, String)>, Error> {
        let names = match list_sorted(slaves) {
            Ok(names) => names,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut paths = Vec::with_capacity(names.len());
        for name in names {
            let state_file = block.join(&name).join("device/state");
            let state = read_trimmed(&state_file, &mut self.attrs)?.to_owned();
            paths.push((name, state));
        }
        Ok(paths)
    }
}

impl Collector for DmMultipath {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        // Everything is read before anything is reported: upstream takes a missing or
        // unreadable file anywhere (`ErrNotExist`, `ErrPermission`) as no data at all.
        let devices = match self.read(ctx) {
            Ok(devices) => devices,
            Err(e) if attr::is_absent(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        for d in &devices {
            let labels = [
                ("device", d.name.as_str()),
                ("sysfs_name", d.sysfs_name.as_str()),
            ];
            out.gauge(
                "node_dmmultipath_device_info",
                "Non-numeric information about a DM-multipath device.",
                &[
                    ("device", &d.name),
                    ("sysfs_name", &d.sysfs_name),
                    ("uuid", &d.uuid),
                ],
                1.0,
            );
            out.gauge(
                "node_dmmultipath_device_active",
                "Whether the multipath device-mapper device is active (1) or suspended (0).",
                &labels,
                if d.suspended { 0.0 } else { 1.0 },
            );
            out.gauge(
                "node_dmmultipath_device_size_bytes",
                "Size of the multipath device in bytes, read from /sys/block/<dm>/size.",
                &labels,
                d.size_bytes as f64,
            );
            let mut active = 0usize;
            for (path, state) in &d.paths {
                if is_path_active(state) {
                    active += 1;
                }
                out.gauge(
                    "node_dmmultipath_path_state",
                    "Reports the underlying device state for a multipath path, as read from /sys/block/<dev>/device/state.",
                    &[("device", &d.name), ("path", path), ("state", state)],
                    1.0,
                );
            }
            out.gauge(
                "node_dmmultipath_device_paths",
                "Number of paths for a multipath device.",
                &labels,
                d.paths.len() as f64,
            );
            out.gauge(
                "node_dmmultipath_device_paths_active",
                "Number of paths in active state (SCSI running or NVMe live) for a multipath device.",
                &labels,
                active as f64,
            );
            out.gauge(
                "node_dmmultipath_device_paths_failed",
                "Number of paths not in active state for a multipath device.",
                &labels,
                (d.paths.len() - active) as f64,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing::{scrape_once, write};

    /// A fresh collector's scrape of the tree.
    fn scrape(root: &Path) -> Result<String, Error> {
        scrape_once(&mut *build(&Options::default())?, root)
    }

    /// A dm device with the given uuid, named `name`, of 2048 sectors, with `paths`.
    fn dm(root: &Path, dev: &str, name: &str, uuid: &str, paths: &[(&str, &str)]) {
        let dir = format!("sys/block/{dev}");
        write(root, &format!("{dir}/dm/uuid"), &format!("{uuid}\n"));
        write(root, &format!("{dir}/dm/name"), &format!("{name}\n"));
        write(root, &format!("{dir}/dm/suspended"), "0\n");
        write(root, &format!("{dir}/size"), "2048\n");
        for (path, state) in paths {
            std::fs::create_dir_all(root.join(format!("{dir}/slaves/{path}"))).unwrap();
            write(
                root,
                &format!("sys/block/{path}/device/state"),
                &format!("{state}\n"),
            );
        }
    }

    #[test]
    fn uuids_and_path_states() {
        assert!(is_multipath("mpath-3600508b1001c1234"));
        assert!(!is_multipath("LVM-abcdef") && !is_multipath("part1-mpath-36005"));
        assert!(is_path_active("running") && is_path_active("live"));
        assert!(!is_path_active("offline") && !is_path_active("blocked"));
    }

    #[test]
    fn maps_paths_and_what_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(scrape(root).unwrap(), "", "no block class: no data");
        dm(
            root,
            "dm-0",
            "mpatha",
            "mpath-3600508b1",
            &[("sda", "running"), ("sdb", "offline"), ("nvme0n1", "live")],
        );
        dm(
            root,
            "dm-1",
            "vg0-root",
            "LVM-abcdef",
            &[("sdc", "running")],
        );
        // A dm- entry without dm/uuid, and a path device that is not dm-: skipped.
        std::fs::create_dir_all(root.join("sys/block/dm-2")).unwrap();
        write(root, "sys/block/sdd/dm/uuid", "mpath-not-a-dm-device\n");
        dm(root, "dm-3", "mpathb", "mpath-3600508b2", &[]);
        write(root, "sys/block/dm-3/dm/suspended", "1\n");
        let text = scrape(root).unwrap();
        let want = [
            "node_dmmultipath_device_info{device=\"mpatha\",sysfs_name=\"dm-0\",uuid=\"mpath-3600508b1\"} 1\n",
            "node_dmmultipath_device_active{device=\"mpatha\",sysfs_name=\"dm-0\"} 1\n",
            "node_dmmultipath_device_active{device=\"mpathb\",sysfs_name=\"dm-3\"} 0\n",
            "node_dmmultipath_device_size_bytes{device=\"mpatha\",sysfs_name=\"dm-0\"} 1.048576e+06\n",
            "node_dmmultipath_device_paths{device=\"mpatha\",sysfs_name=\"dm-0\"} 3\n",
            "node_dmmultipath_device_paths_active{device=\"mpatha\",sysfs_name=\"dm-0\"} 2\n",
            "node_dmmultipath_device_paths_failed{device=\"mpatha\",sysfs_name=\"dm-0\"} 1\n",
            "node_dmmultipath_device_paths{device=\"mpathb\",sysfs_name=\"dm-3\"} 0\n",
            "node_dmmultipath_path_state{device=\"mpatha\",path=\"nvme0n1\",state=\"live\"} 1\n",
            "node_dmmultipath_path_state{device=\"mpatha\",path=\"sdb\",state=\"offline\"} 1\n",
        ];
        for w in want {
            assert!(text.contains(w), "{w} not in {text}");
        }
        assert!(
            !text.contains("vg0-root") && !text.contains("dm-2") && !text.contains("sdd"),
            "{text}"
        );
        // A malformed number fails the collector, naming the file.
        write(root, "sys/block/dm-3/dm/suspended", "yes\n");
        let e = scrape(root).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("dm-3/dm/suspended"), "{e}");
        write(root, "sys/block/dm-3/dm/suspended", "0\n");
        // A multipath map or path missing a file: no data at all, as upstream.
        std::fs::remove_file(root.join("sys/block/sdb/device/state")).unwrap();
        assert_eq!(scrape(root).unwrap(), "");
        write(root, "sys/block/sdb/device/state", "running\n");
        std::fs::remove_file(root.join("sys/block/dm-3/size")).unwrap();
        assert_eq!(scrape(root).unwrap(), "");
    }
}
