//! The `thermal_zone` collector: `node_thermal_zone_temp` from
//! `<sysfs>/class/thermal/thermal_zone*/{type,temp}` and `node_cooling_device_cur_state`
//! / `_max_state` from `<sysfs>/class/thermal/cooling_device*/{type,cur_state,max_state}`.
//!
//! The directory is listed every scrape (zones and cooling devices come and go with
//! drivers); a zone's or device's `type` is read once. The value files are opened per
//! read rather than kept open: a large server has a cooling device per CPU.

use std::collections::HashMap;
use std::path::Path;

use crate::collector::attr::{self, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "thermal_zone",
    default_enabled: true,
    families: &["node_thermal_zone_", "node_cooling_device_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(ThermalZone {
        zone_types: HashMap::new(),
        device_types: HashMap::new(),
        buf: attr::Attrs::default(),
    }))
}

struct ThermalZone {
    /// `type` by directory name (`thermal_zone0`).
    zone_types: HashMap<String, String>,
    /// `type` by directory name (`cooling_device0`).
    device_types: HashMap<String, String>,
    /// Reused for every read.
    buf: attr::Attrs,
}

impl Collector for ThermalZone {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let dir = ctx.roots.sys("class/thermal");
        let (zones, devices) = list(&dir);
        let buf = &mut self.buf;

        // Like node_exporter (prometheus/procfs), a zone whose `type` or `temp` cannot be
        // read is still reported, with an empty type or a temperature of 0.
        self.zone_types.retain(|n, _| zones.contains(n));
        for name in &zones {
            let zone = dir.join(name);
            if !self.zone_types.contains_key(name)
                && let Ok(kind) = read_trimmed(&zone.join("type"), buf)
            {
                self.zone_types.insert(name.clone(), kind.to_owned());
            }
            let millis = read_trimmed(&zone.join("temp"), buf)
                .ok()
                .and_then(|t| parse_int(t).ok())
                .unwrap_or(0);
            out.gauge(
                "node_thermal_zone_temp",
                "Zone temperature in Celsius",
                &[
                    ("zone", &name["thermal_zone".len()..]),
                    ("type", self.zone_types.get(name).map_or("", String::as_str)),
                ],
                millis as f64 / 1000.0,
            );
        }

        // A cooling device that is missing a file, or refuses to be read, is skipped;
        // any other failure (an unreadable or non-numeric state) fails the collector.
        self.device_types.retain(|n, _| devices.contains(n));
        for name in &devices {
            let device = dir.join(name);
            if !self.device_types.contains_key(name) {
                match read_trimmed(&device.join("type"), buf) {
                    Ok(kind) => {
                        self.device_types.insert(name.clone(), kind.to_owned());
                    }
                    Err(err) if ignorable(&err) => continue,
                    Err(err) => return Err(err),
                }
            }
            let mut state = |file: &str| -> Result<Option<i64>, Error> {
                let path = device.join(file);
                match read_trimmed(&path, buf) {
                    Ok(text) => parse_int(text).map(Some).map_err(|e| Error::parse(path, e)),
                    Err(err) if ignorable(&err) => Ok(None),
                    Err(err) => Err(err),
                }
            };
            let Some(max) = state("max_state")? else {
                continue;
            };
            // cur_state may be -1 (intel_powerclamp while idle).
            let Some(cur) = state("cur_state")? else {
                continue;
            };
            let labels = [
                ("name", &name["cooling_device".len()..]),
                (
                    "type",
                    self.device_types.get(name).map_or("", String::as_str),
                ),
            ];
            out.gauge(
                "node_cooling_device_cur_state",
                "Current throttle state of the cooling device",
                &labels,
                cur as f64,
            );
            out.gauge(
                "node_cooling_device_max_state",
                "Maximum throttle state of the cooling device",
                &labels,
                max as f64,
            );
        }
        Ok(())
    }
}

/// The entries of `dir` matching `thermal_zone[0-9]*` and `cooling_device[0-9]*` (a
/// missing directory has none).
fn list(dir: &Path) -> (Vec<String>, Vec<String>) {
    let (mut zones, mut devices) = (Vec::new(), Vec::new());
    let Ok(rd) = std::fs::read_dir(dir) else {
        return (zones, devices);
    };
    let numbered = |name: &str, prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    };
    for name in rd.filter_map(|e| e.ok()?.file_name().into_string().ok()) {
        if numbered(&name, "thermal_zone") {
            zones.push(name);
        } else if numbered(&name, "cooling_device") {
            devices.push(name);
        }
    }
    (zones, devices)
}

/// A sysfs integer attribute (`12376\n`, `-1\n`).
fn parse_int(text: &str) -> Result<i64, ParseError> {
    let t = text.trim();
    attr::go_parse_int(t, 10).ok_or_else(|| ParseError::new(1, format!("{t:?} is not an integer")))
}

/// Errors prometheus/procfs skips a cooling device for: the file is missing, not
/// readable, or the driver rejects the read (`EINVAL`, `EOPNOTSUPP`).
fn ignorable(e: &Error) -> bool {
    match e {
        Error::Read { source, .. } => {
            matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::InvalidInput
            ) || source.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing::{scrape_once, write};

    #[test]
    fn integers_parse_with_white_space_and_sign() {
        assert_eq!(parse_int("12376\n"), Ok(12376));
        assert_eq!(parse_int("-1\n"), Ok(-1));
        assert_eq!(parse_int(" 3 "), Ok(3));
        let err = parse_int("hot\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("\"hot\""), "{err}");
        assert!(parse_int("").is_err());
        assert!(parse_int("99999999999999999999").is_err());
    }

    fn scrape(root: &Path) -> Result<String, Error> {
        scrape_once(&mut *build(&Options::default())?, root)
    }

    #[test]
    fn zones_and_cooling_devices_of_a_small_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(scrape(root).unwrap(), "", "no class/thermal: no data");
        write(
            root,
            "sys/class/thermal/thermal_zone0/type",
            "x86_pkg_temp\n",
        );
        write(root, "sys/class/thermal/thermal_zone0/temp", "45000\n");
        // Unreadable temperature: reported as 0, as upstream does.
        write(root, "sys/class/thermal/thermal_zone1/type", "acpitz\n");
        write(root, "sys/class/thermal/thermal_zone1/temp", "garbage\n");
        write(root, "sys/class/thermal/thermal_zonex/temp", "1\n");
        write(
            root,
            "sys/class/thermal/cooling_device0/type",
            "intel_powerclamp\n",
        );
        write(root, "sys/class/thermal/cooling_device0/cur_state", "-1\n");
        write(root, "sys/class/thermal/cooling_device0/max_state", "50\n");
        // Missing max_state: skipped.
        write(root, "sys/class/thermal/cooling_device1/type", "Fan\n");
        write(root, "sys/class/thermal/cooling_device1/cur_state", "0\n");
        assert_eq!(
            scrape(root).unwrap(),
            "# HELP node_cooling_device_cur_state Current throttle state of the cooling device\n\
             # TYPE node_cooling_device_cur_state gauge\n\
             node_cooling_device_cur_state{name=\"0\",type=\"intel_powerclamp\"} -1\n\
             # HELP node_cooling_device_max_state Maximum throttle state of the cooling device\n\
             # TYPE node_cooling_device_max_state gauge\n\
             node_cooling_device_max_state{name=\"0\",type=\"intel_powerclamp\"} 50\n\
             # HELP node_thermal_zone_temp Zone temperature in Celsius\n\
             # TYPE node_thermal_zone_temp gauge\n\
             node_thermal_zone_temp{type=\"acpitz\",zone=\"1\"} 0\n\
             node_thermal_zone_temp{type=\"x86_pkg_temp\",zone=\"0\"} 45\n"
        );
        // A non-numeric state is an error naming the file.
        write(
            root,
            "sys/class/thermal/cooling_device1/max_state",
            "lots\n",
        );
        let err = scrape(root).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 1, .. }), "{err}");
        assert!(
            err.to_string().contains("cooling_device1/max_state"),
            "{err}"
        );
    }
}
