//! The `powersupplyclass` collector: batteries and mains adapters from
//! `<sysfs>/class/power_supply/<supply>/` — one `node_power_supply_<attribute>` gauge per
//! numeric attribute present (µA, µV, µWh, µW scaled to A, V, Wh, W; tenths of a degree
//! to degrees) and `node_power_supply_info` with the text attributes as labels.
//! Supplies matching `--collector.powersupply.ignored-supplies` are left out.

use regex::Regex;

use crate::collector::attr::{self, Attrs, read_trimmed};
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, OrAbsent as _, ParseError};
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "powersupplyclass",
    default_enabled: true,
    families: &["node_power_supply_"],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(PowerSupplyClass {
        ignored: flag::POWERSUPPLY_IGNORED_SUPPLIES.regex(o)?,
        attrs: Attrs::default(),
    }))
}

struct PowerSupplyClass {
    ignored: Regex,
    attrs: Attrs,
}

/// A numeric attribute: file name, metric name and help (`None`: read and checked, as
/// upstream does, but not reported), and the divisor to the metric's unit.
type Numeric = (&'static str, Option<(&'static str, &'static str)>, f64);

macro_rules! num {
    ($file:literal, $suffix:literal, $div:expr) => {
        (
            $file,
            Some((
                concat!("node_power_supply_", $suffix),
                concat!($suffix, " value of /sys/class/power_supply/<power_supply>."),
            )),
            $div,
        )
    };
    ($file:literal) => {
        ($file, None, 1.0)
    };
}

const NUMERIC: &[Numeric] = &[
    num!("authentic", "authentic", 1.0),
    num!("calibrate", "calibrate", 1.0),
    num!("capacity", "capacity", 1.0),
    num!("capacity_alert_max", "capacity_alert_max", 1.0),
    num!("capacity_alert_min", "capacity_alert_min", 1.0),
    num!("cycle_count", "cyclecount", 1.0),
    num!("online", "online", 1.0),
    num!("present", "present", 1.0),
    num!("time_to_empty_now", "time_to_empty_seconds", 1.0),
    num!("time_to_full_now", "time_to_full_seconds", 1.0),
    num!("current_boot", "current_boot", 1e6),
    num!("current_max", "current_max", 1e6),
    num!("current_now", "current_ampere", 1e6),
    num!("energy_empty", "energy_empty", 1e6),
    num!("energy_empty_design", "energy_empty_design", 1e6),
    num!("energy_full", "energy_full", 1e6),
    num!("energy_full_design", "energy_full_design", 1e6),
    num!("energy_now", "energy_watthour", 1e6),
    num!("voltage_boot", "voltage_boot", 1e6),
    num!("voltage_max", "voltage_max", 1e6),
    num!("voltage_max_design", "voltage_max_design", 1e6),
    num!("voltage_min", "voltage_min", 1e6),
    num!("voltage_min_design", "voltage_min_design", 1e6),
    num!("voltage_now", "voltage_volt", 1e6),
    num!("voltage_ocv", "voltage_ocv", 1e6),
    num!("charge_control_limit", "charge_control_limit", 1e6),
    num!("charge_control_limit_max", "charge_control_limit_max", 1e6),
    num!("charge_counter", "charge_counter", 1e6),
    num!("charge_empty", "charge_empty", 1e6),
    num!("charge_empty_design", "charge_empty_design", 1e6),
    num!("charge_full", "charge_full", 1e6),
    num!("charge_full_design", "charge_full_design", 1e6),
    num!("charge_now", "charge_ampere", 1e6),
    num!("charge_term_current", "charge_term_current", 1e6),
    num!("constant_charge_current", "constant_charge_current", 1e6),
    num!(
        "constant_charge_current_max",
        "constant_charge_current_max",
        1e6
    ),
    num!("constant_charge_voltage", "constant_charge_voltage", 1e6),
    num!(
        "constant_charge_voltage_max",
        "constant_charge_voltage_max",
        1e6
    ),
    num!("precharge_current", "precharge_current", 1e6),
    num!("input_current_limit", "input_current_limit", 1e6),
    num!("power_now", "power_watt", 1e6),
    num!("temp", "temp_celsius", 10.0),
    num!("temp_alert_max", "temp_alert_max_celsius", 10.0),
    num!("temp_alert_min", "temp_alert_min_celsius", 10.0),
    num!("temp_ambient", "temp_ambient_celsius", 10.0),
    num!("temp_ambient_max", "temp_ambient_max_celsius", 10.0),
    num!("temp_ambient_min", "temp_ambient_min_celsius", 10.0),
    num!("temp_max", "temp_max_celsius", 10.0),
    num!("temp_min", "temp_min_celsius", 10.0),
    num!("charge_avg"),
    num!("current_avg"),
    num!("energy_avg"),
    num!("power_avg"),
    num!("time_to_empty_avg"),
    num!("time_to_full_avg"),
    num!("voltage_avg"),
];

/// The text attributes, reported as labels of `node_power_supply_info` (same names).
const TEXT: [&str; 11] = [
    "capacity_level",
    "charge_type",
    "health",
    "manufacturer",
    "model_name",
    "serial_number",
    "status",
    "technology",
    "type",
    "usb_type",
    "scope",
];

/// Read errors prometheus/procfs takes as "attribute not there": missing, or refused by
/// the driver (`EOPNOTSUPP`, `ENODEV`, `EINVAL`).
fn absent(e: &Error) -> bool {
    let Error::Read { source, .. } = e else {
        return false;
    };
    source.kind() == std::io::ErrorKind::NotFound
        || [
            rustix::io::Errno::OPNOTSUPP,
            rustix::io::Errno::NODEV,
            rustix::io::Errno::INVAL,
        ]
        .iter()
        .any(|e| source.raw_os_error() == Some(e.raw_os_error()))
}

/// Like Go's `strings.ToValidUTF8(s, "\u{FFFD}")`: every run of invalid bytes becomes
/// one replacement character.
fn to_valid_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut replaced = false;
    for chunk in bytes.utf8_chunks() {
        if !chunk.valid().is_empty() {
            out.push_str(chunk.valid());
            replaced = false;
        }
        if !chunk.invalid().is_empty() && !replaced {
            out.push('\u{FFFD}');
            replaced = true;
        }
    }
    out
}

impl Collector for PowerSupplyClass {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let class = ctx.roots.sys("class/power_supply");
        let Some(supplies) = attr::list_sorted(&class).or_absent()? else {
            return Ok(());
        };
        for name in supplies.iter().filter(|n| !self.ignored.is_match(n)) {
            let dir = class.join(name);
            // The regular files of the supply's directory (not `device`, `power`, ...).
            let files: Vec<String> = std::fs::read_dir(&dir)
                .map_err(|source| Error::Read {
                    path: dir.clone(),
                    source,
                })?
                .filter_map(|e| {
                    let e = e.ok()?;
                    e.file_type().ok()?.is_file().then_some(())?;
                    e.file_name().into_string().ok()
                })
                .collect();
            let has = |f: &str| files.iter().any(|n| n == f);
            for (file, metric, div) in NUMERIC.iter().filter(|(f, ..)| has(f)) {
                let path = dir.join(file);
                let text = match read_trimmed(&path, &mut self.attrs) {
                    Ok(t) => t,
                    Err(e) if absent(&e) => continue,
                    Err(e) => return Err(e),
                };
                let v = attr::go_parse_int(text, 0).ok_or_else(|| {
                    Error::parse(
                        &path,
                        ParseError::new(1, format!("{text:?} is not an integer")),
                    )
                })?;
                if let Some((metric, help)) = metric {
                    out.gauge(metric, help, &[("power_supply", name)], v as f64 / div);
                }
            }
            let mut labels: Vec<(&'static str, String)> = vec![("power_supply", name.clone())];
            for file in TEXT.iter().filter(|f| has(f)) {
                let path = dir.join(file);
                let value = match read_trimmed(&path, &mut self.attrs) {
                    Ok(t) => t.to_owned(),
                    Err(Error::Parse { .. }) => std::fs::read(&path)
                        .map(|b| to_valid_utf8(b.trim_ascii()))
                        .unwrap_or_default(),
                    Err(e) if absent(&e) => continue,
                    Err(e) => return Err(e),
                };
                if !value.is_empty() {
                    labels.push((file, value));
                }
            }
            let labels: Vec<(&'static str, &str)> =
                labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            out.gauge(
                "node_power_supply_info",
                "info of /sys/class/power_supply/<power_supply>.",
                &labels,
                1.0,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    use std::path::Path;

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn scrape(root: &Path, o: &Options) -> Result<String, Error> {
        testing::scrape_once(&mut *build(o)?, root)
    }

    #[test]
    fn invalid_utf8_runs_become_one_replacement() {
        assert_eq!(to_valid_utf8(b"LNV-45N1\xef\xbf\xbd"), "LNV-45N1\u{FFFD}");
        assert_eq!(to_valid_utf8(b"a\xff\xfeb\xffc"), "a\u{FFFD}b\u{FFFD}c");
    }

    #[test]
    fn a_battery_and_an_adapter() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let o = Options::default();
        assert_eq!(scrape(root, &o).unwrap(), "", "no class: no data");
        write(root, "sys/class/power_supply/AC/online", b"1\n");
        write(root, "sys/class/power_supply/AC/type", b"Mains\n");
        write(
            root,
            "sys/class/power_supply/AC/uevent",
            b"POWER_SUPPLY_NAME=AC\n",
        );
        std::fs::create_dir_all(root.join("sys/class/power_supply/AC/power")).unwrap();
        write(
            root,
            "sys/class/power_supply/BAT0/voltage_now",
            b"11660000\n",
        );
        write(root, "sys/class/power_supply/BAT0/temp", b"0x10\n");
        write(
            root,
            "sys/class/power_supply/BAT0/model_name",
            b"X\xff\xfe\n",
        );
        write(root, "sys/class/power_supply/BAT0/status", b"\n");
        assert_eq!(
            scrape(root, &o).unwrap(),
            "# HELP node_power_supply_info info of /sys/class/power_supply/<power_supply>.\n\
             # TYPE node_power_supply_info gauge\n\
             node_power_supply_info{power_supply=\"AC\",type=\"Mains\"} 1\n\
             node_power_supply_info{model_name=\"X\u{FFFD}\",power_supply=\"BAT0\"} 1\n\
             # HELP node_power_supply_online online value of /sys/class/power_supply/<power_supply>.\n\
             # TYPE node_power_supply_online gauge\n\
             node_power_supply_online{power_supply=\"AC\"} 1\n\
             # HELP node_power_supply_temp_celsius temp_celsius value of /sys/class/power_supply/<power_supply>.\n\
             # TYPE node_power_supply_temp_celsius gauge\n\
             node_power_supply_temp_celsius{power_supply=\"BAT0\"} 1.6\n\
             # HELP node_power_supply_voltage_volt voltage_volt value of /sys/class/power_supply/<power_supply>.\n\
             # TYPE node_power_supply_voltage_volt gauge\n\
             node_power_supply_voltage_volt{power_supply=\"BAT0\"} 11.66\n"
        );
        let ignoring = Options {
            powersupply_ignored_supplies: "^BAT".into(),
            ..Options::default()
        };
        assert!(!scrape(root, &ignoring).unwrap().contains("BAT0"));
        // A non-numeric value of a numeric attribute fails the collector, naming the file.
        write(root, "sys/class/power_supply/BAT0/capacity", b"full\n");
        let e = scrape(root, &o).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("BAT0/capacity"), "{e}");
    }
}
