//! Temperatures from hwmon (`/sys/class/hwmon/hwmon*/temp*_input`) and thermal zones
//! (`/sys/class/thermal/thermal_zone*/temp`). The sensor list is found once; each sample
//! reads only the value files.

use std::path::{Path, PathBuf};

use crate::roots::Roots;
use crate::source::TextFile;

/// A temperature sensor found under sysfs.
#[derive(Debug)]
pub struct Sensor {
    /// The chip or zone name (hwmon `name`, thermal zone `type`), e.g. `coretemp`.
    pub chip: String,
    /// The sensor's label (hwmon `temp*_label`, else `temp1`...; thermal zone: the zone).
    pub label: String,
    file: TextFile,
}

impl Sensor {
    /// Reads the temperature in °C (sysfs gives millidegrees).
    pub fn read_celsius(&mut self) -> Result<f64, crate::Error> {
        self.file.parse(parse_millidegrees)
    }

    /// The value file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// A sensor value file's text (millidegrees Celsius) in °C.
pub fn parse_millidegrees(text: &str) -> Result<f64, crate::ParseError> {
    let t = text.trim();
    t.parse::<i64>()
        .map(|m| m as f64 / 1000.0)
        .map_err(|_| crate::ParseError::new(1, format!("{t:?} is not millidegrees")))
}

/// Opens, reads and parses a sensor value file: what the sampler asks from its guard's
/// worker, so that a read that hangs costs that sensor only.
pub fn read_celsius_at(path: &Path) -> Result<f64, crate::Error> {
    let text = crate::source::read_to_string(path)?;
    parse_millidegrees(&text).map_err(|e| crate::Error::parse(path.to_owned(), e))
}

/// Finds every temperature sensor. Missing directories mean no sensors (a VM, a
/// container without /sys): not an error.
pub fn discover(roots: &Roots) -> Vec<Sensor> {
    let mut out = Vec::new();
    for hwmon in sorted_dir(roots.sys("class/hwmon")) {
        let chip = crate::source::read_to_string(&hwmon.join("name"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| file_name(&hwmon));
        for entry in sorted_dir(hwmon.clone()) {
            let name = file_name(&entry);
            let Some(idx) = name
                .strip_prefix("temp")
                .and_then(|r| r.strip_suffix("_input"))
            else {
                continue;
            };
            let label = crate::source::read_to_string(&hwmon.join(format!("temp{idx}_label")))
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| format!("temp{idx}"));
            out.push(Sensor {
                chip: chip.clone(),
                label,
                file: TextFile::new(entry),
            });
        }
    }
    for zone in sorted_dir(roots.sys("class/thermal")) {
        let name = file_name(&zone);
        if !name.starts_with("thermal_zone") {
            continue;
        }
        let kind = crate::source::read_to_string(&zone.join("type"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| name.clone());
        out.push(Sensor {
            chip: kind,
            label: name,
            file: TextFile::new(zone.join("temp")),
        });
    }
    out
}

fn sorted_dir(dir: PathBuf) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
