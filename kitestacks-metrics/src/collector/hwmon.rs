//! The `hwmon` collector: `node_hwmon_*` from `<sysfs>/class/hwmon/hwmon*` (and each
//! chip's `device/` directory, where older drivers put their attributes), like
//! lm-sensors, with node_exporter's chip labels, metric names, units and the
//! `--collector.hwmon.{chip,sensor}-{include,exclude}` filters.
//!
//! Chip labels follow node_exporter: from the chip's `device` link (`<bus or parent>_<device>`,
//! e.g. `platform_coretemp_0`), else the `name` file, else the `hwmonN` directory; chips
//! sharing a device are told apart by their `name` (or `hwmonN`).
//!
//! Finding the chips and their attribute files costs far more than reading the values,
//! so the layout is kept and rebuilt only when the set of `class/hwmon` entries (names
//! and link targets) changes. The value files are opened per read rather than kept open
//! (a server may have hundreds), and read as node_exporter does: one `read` of at most
//! 128 bytes, so a driver that answers `EAGAIN` cannot stall the scrape. The portal's temperature
//! list ([`thermal`](crate::thermal)) has its own, simpler discovery.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::collector::device_filter::DeviceFilter;
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::{MetricType, Name, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "hwmon",
    default_enabled: true,
    families: &["node_hwmon_"],
    build,
};

/// The sensor types node_exporter reads; other attribute files are ignored.
const SENSOR_TYPES: &[&str] = &[
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
    "freq",
];

/// node_exporter's pattern for attribute file names: `<type><id>_<property>`.
const FILE_NAME_PATTERN: &str = r"^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$";

/// node_exporter reads at most this many bytes of an attribute.
const MAX_ATTRIBUTE_BYTES: usize = 128;

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Hwmon {
        chip_filter: DeviceFilter::of(o, &flag::HWMON_CHIP_EXCLUDE, &flag::HWMON_CHIP_INCLUDE)?,
        sensor_filter: DeviceFilter::of(
            o,
            &flag::HWMON_SENSOR_EXCLUDE,
            &flag::HWMON_SENSOR_INCLUDE,
        )?,
        filename: crate::compile_filter("hwmon file name", FILE_NAME_PATTERN)?,
        key: None,
        chips: Vec::new(),
    }))
}

struct Hwmon {
    chip_filter: DeviceFilter,
    sensor_filter: DeviceFilter,
    /// `<type><id>_<property>`, node_exporter's pattern for attribute file names.
    filename: Regex,
    /// The `class/hwmon` entries the layout was built from.
    key: Option<Vec<(std::ffi::OsString, Option<PathBuf>)>>,
    chips: Vec<Chip>,
}

/// One chip that passed the filter.
struct Chip {
    /// The `chip` label.
    label: String,
    /// Its cleaned `name` file, for `node_hwmon_chip_names`.
    human_name: Option<String>,
    /// By sensor (`temp1`), sorted.
    sensors: Vec<Sensor>,
}

/// One sensor (`temp1`, `fan2`, `beep_enable0`) and its attribute files.
struct Sensor {
    /// The `sensor` label: type and number (`temp1`; `vrm0` for an unnumbered file).
    name: String,
    /// The type (`temp`).
    kind: String,
    /// In discovery order: the chip directory's files, then `device/`'s, each sorted by
    /// name. A later file with the same property wins, as in node_exporter.
    files: Vec<ValueFile>,
}

struct ValueFile {
    /// The property: `input`, `max`, `label`, `` for a bare `pwm1`.
    property: String,
    path: PathBuf,
    /// The text of the last read, if it succeeded.
    value: Option<String>,
}

impl ValueFile {
    fn refresh(&mut self) {
        let mut v = self.value.take().unwrap_or_default();
        v.clear();
        let mut buf = [0u8; MAX_ATTRIBUTE_BYTES];
        let Ok(n) = std::fs::File::open(&self.path).and_then(|mut f| f.read(&mut buf)) else {
            return;
        };
        v.push_str(attribute_text(&String::from_utf8_lossy(&buf[..n])));
        self.value = Some(v);
    }
}

/// An attribute's value as node_exporter sees it: invalid UTF-8 replaced, newlines (only)
/// trimmed.
fn attribute_text(text: &str) -> &str {
    text.trim_matches('\n')
}

impl Collector for Hwmon {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let class = ctx.roots.sys("class/hwmon");
        let entries = match std::fs::read_dir(&class) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.key = None;
                self.chips.clear();
                return Ok(());
            }
            Err(source) => {
                return Err(Error::Read {
                    path: class,
                    source,
                });
            }
        };
        let mut key: Vec<(std::ffi::OsString, Option<PathBuf>)> = entries
            .filter_map(|e| {
                let e = e.ok()?;
                Some((e.file_name(), std::fs::read_link(e.path()).ok()))
            })
            .collect();
        key.sort();
        if self.key.as_ref() != Some(&key) {
            self.key = None;
            self.chips = self.layout(&class, &key)?;
            self.key = Some(key);
        }

        for chip in &mut self.chips {
            if let Some(human) = &chip.human_name {
                out.gauge(
                    "node_hwmon_chip_names",
                    "Annotation metric for human-readable chip names",
                    &[("chip", &chip.label), ("chip_name", human)],
                    1.0,
                );
            }
            for sensor in &mut chip.sensors {
                for f in &mut sensor.files {
                    f.refresh();
                }
                let mut data: Vec<(&str, &str)> = Vec::with_capacity(sensor.files.len());
                for f in &sensor.files {
                    let Some(v) = f.value.as_deref() else {
                        continue;
                    };
                    match data.iter_mut().find(|(p, _)| *p == f.property) {
                        Some(slot) => slot.1 = v,
                        None => data.push((&f.property, v)),
                    }
                }
                emit_sensor(&chip.label, &sensor.name, &sensor.kind, &data, out);
            }
        }
        Ok(())
    }
}

impl Hwmon {
    /// Finds the chips, names them and lists their sensors' files.
    fn layout(
        &self,
        class: &Path,
        entries: &[(std::ffi::OsString, Option<PathBuf>)],
    ) -> Result<Vec<Chip>, Error> {
        struct Found {
            dir: PathBuf,
            base: String,
            name_file: String,
        }
        let mut found = Vec::with_capacity(entries.len());
        let mut base_counts: HashMap<String, usize> = HashMap::new();
        let mut name_counts: HashMap<(String, String), usize> = HashMap::new();
        for (entry, _) in entries {
            let dir = class.join(entry);
            if !std::fs::metadata(&dir).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let Some(base) = chip_base_name(&dir) else {
                continue;
            };
            let name_file = std::fs::read(dir.join("name"))
                .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
                .unwrap_or_default();
            *base_counts.entry(base.clone()).or_default() += 1;
            *name_counts
                .entry((base.clone(), name_file.clone()))
                .or_default() += 1;
            found.push(Found {
                dir,
                base,
                name_file,
            });
        }

        let mut chips = Vec::with_capacity(found.len());
        for f in found {
            // Chips sharing a device get their `name` (or, if that is empty or shared
            // too, their hwmonN directory) appended.
            let label = if base_counts[&f.base] > 1 {
                let mut suffix = clean_name(&f.name_file);
                if suffix.is_empty() || name_counts[&(f.base.clone(), f.name_file.clone())] > 1 {
                    suffix = clean_name(&file_name(&f.dir));
                }
                format!("{}_{suffix}", f.base)
            } else {
                f.base
            };
            if self.chip_filter.ignored(&label) {
                continue;
            }
            let mut sensors: BTreeMap<String, Sensor> = BTreeMap::new();
            self.collect_files(&f.dir, &mut sensors)?;
            let device = f.dir.join("device");
            if std::fs::metadata(&device).is_ok() {
                self.collect_files(&device, &mut sensors)?;
            }
            let sensors = sensors
                .into_values()
                .filter(|s| !self.sensor_filter.ignored(&format!("{label};{}", s.name)))
                .collect();
            chips.push(Chip {
                human_name: human_chip_name(&f.dir),
                label,
                sensors,
            });
        }
        Ok(chips)
    }

    /// Adds the attribute files of `dir` whose names are `<sensor type><id>_<property>`.
    fn collect_files(
        &self,
        dir: &Path,
        sensors: &mut BTreeMap<String, Sensor>,
    ) -> Result<(), Error> {
        let rd = std::fs::read_dir(dir).map_err(|source| Error::Read {
            path: dir.to_owned(),
            source,
        })?;
        let mut names: Vec<String> = rd
            .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort_unstable();
        for file in names {
            let Some((kind, id, property)) = split_file_name(&self.filename, &file) else {
                continue;
            };
            if !SENSOR_TYPES.contains(&kind) {
                continue;
            }
            let path = dir.join(&file);
            // Directories (`power/`) cannot be read; node_exporter tries and skips them.
            if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let name = format!("{kind}{id}");
            sensors
                .entry(name.clone())
                .or_insert_with(|| Sensor {
                    name,
                    kind: kind.to_owned(),
                    files: Vec::new(),
                })
                .files
                .push(ValueFile {
                    property: property.to_owned(),
                    path,
                    value: None,
                });
        }
        Ok(())
    }
}

/// Splits an attribute file name into type, number and property (`temp1_crit_alarm` ->
/// `temp`, 1, `crit_alarm`; `pwm1` -> `pwm`, 1, ``; `vrm` -> `vrm`, 0, ``).
fn split_file_name<'a>(re: &Regex, name: &'a str) -> Option<(&'a str, i64, &'a str)> {
    let c = re.captures(name)?;
    let kind = c.name("type")?.as_str();
    let id = match c.name("id").map(|m| m.as_str()) {
        Some(digits) if !digits.is_empty() => digits.parse().ok()?,
        _ => 0,
    };
    let property = c.name("property").map_or("", |m| m.as_str());
    Some((kind, id, property))
}

/// node_exporter's cleaning of names for labels: lower case, anything but `[a-z0-9:_]`
/// replaced by `_`, leading and trailing `_` removed.
fn clean_name(name: &str) -> String {
    let cleaned: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == ':' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cleaned.trim_matches('_').to_owned()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A chip's label before de-duplication: `<parent>_<device>` of its resolved `device`
/// link (`platform_coretemp_0`), else its `name` file, else its resolved directory name.
fn chip_base_name(dir: &Path) -> Option<String> {
    if let Ok(device) = std::fs::canonicalize(dir.join("device")) {
        let name = clean_name(&file_name(&device));
        let parent = device
            .parent()
            .map(|p| clean_name(&file_name(p)))
            .unwrap_or_default();
        if !parent.is_empty() && !name.is_empty() {
            return Some(format!("{parent}_{name}"));
        }
        if !name.is_empty() {
            return Some(name);
        }
    }
    if let Some(name) = human_chip_name(dir) {
        return Some(name);
    }
    let name = clean_name(&file_name(&std::fs::canonicalize(dir).ok()?));
    (!name.is_empty()).then_some(name)
}

/// The chip's cleaned `name` file, if it has a non-empty one.
fn human_chip_name(dir: &Path) -> Option<String> {
    let raw = std::fs::read(dir.join("name")).ok()?;
    let name = clean_name(&String::from_utf8_lossy(&raw));
    (!name.is_empty()).then_some(name)
}

/// Adds one sensor's series. `data` holds each property's text once (`` for a bare
/// `pwm1` file, `label` for the label).
fn emit_sensor(chip: &str, sensor: &str, kind: &str, data: &[(&str, &str)], out: &mut Scrape) {
    let get = |p: &str| data.iter().find(|(k, _)| *k == p).map(|(_, v)| *v);
    let labels = || -> Vec<(Name, String)> {
        vec![
            (Cow::Borrowed("chip"), chip.to_owned()),
            (Cow::Borrowed("sensor"), sensor.to_owned()),
        ]
    };
    let label = get("label");
    if let Some(label) = label {
        out.gauge(
            "node_hwmon_sensor_label",
            "Label for given chip and sensor",
            &[("chip", chip), ("sensor", sensor), ("label", label)],
            1.0,
        );
    }
    match kind {
        "beep_enable" => {
            let on = if get("") == Some("1") { 1.0 } else { 0.0 };
            out.gauge(
                "node_hwmon_beep_enabled",
                "Hardware beep enabled",
                &[("chip", chip), ("sensor", sensor)],
                on,
            );
            return;
        }
        "vrm" => {
            if let Some(v) = get("").and_then(parse_float) {
                out.gauge(
                    "node_hwmon_voltage_regulator_version",
                    "Hardware voltage regulator",
                    &[("chip", chip), ("sensor", sensor)],
                    v,
                );
            }
            return;
        }
        "update_interval" => {
            if let Some(v) = get("").and_then(parse_float) {
                out.gauge(
                    "node_hwmon_update_interval_seconds",
                    "Hardware monitor update interval",
                    &[("chip", chip), ("sensor", sensor)],
                    v * 0.001,
                );
            }
            return;
        }
        _ => {}
    }

    let has_bare = get("").is_some();
    for &(element, text) in data {
        if element == "label" {
            continue;
        }
        let mut name = format!("node_hwmon_{kind}");
        if element == "input" {
            // `temp1_input` is the value; only beside a bare `temp1` does it keep its name.
            if has_bare {
                name.push_str("_input");
            }
        } else if !element.is_empty() {
            name.push('_');
            name.push_str(&clean_name(element));
        }
        let Some(v) = parse_float(text) else {
            continue;
        };
        let mut add = |name: String, help: String, kind: MetricType, v: f64| {
            out.add(name, help, kind, labels(), v);
        };
        let gauge = MetricType::Gauge;
        // Alarms, faults and beep flags carry no unit.
        if element == "fault" || element == "alarm" {
            add(
                name,
                format!("Hardware sensor {element} status ({kind})"),
                gauge,
                v,
            );
            continue;
        }
        if element == "beep" {
            name.push_str("_enabled");
            add(
                name,
                "Hardware monitor sensor has beeping enabled".into(),
                gauge,
                v,
            );
            continue;
        }
        match kind {
            "in" | "cpu" => {
                name.push_str("_volts");
                add(
                    name,
                    format!("Hardware monitor for voltage ({element})"),
                    gauge,
                    v * 0.001,
                );
            }
            "temp" if element != "type" => {
                let element = if element.is_empty() { "input" } else { element };
                name.push_str("_celsius");
                let help = format!("Hardware monitor for temperature ({element})");
                add(name, help, gauge, v * 0.001);
            }
            "curr" => {
                name.push_str("_amps");
                add(
                    name,
                    format!("Hardware monitor for current ({element})"),
                    gauge,
                    v * 0.001,
                );
            }
            "energy" => {
                name.push_str("_joule_total");
                let help = format!("Hardware monitor for joules used so far ({element})");
                add(name, help, MetricType::Counter, v / 1_000_000.0);
            }
            "power" if element == "accuracy" => {
                let help = "Hardware monitor power meter accuracy, as a ratio".into();
                add(name, help, gauge, v / 1_000_000.0);
            }
            "power"
                if matches!(
                    element,
                    "average_interval" | "average_interval_min" | "average_interval_max"
                ) =>
            {
                name.push_str("_seconds");
                let help = format!("Hardware monitor power usage update interval ({element})");
                add(name, help, gauge, v * 0.001);
            }
            "power" => {
                name.push_str("_watt");
                let help = format!("Hardware monitor for power usage in watts ({element})");
                add(name, help, gauge, v / 1_000_000.0);
            }
            "humidity" => {
                let help = format!(
                    "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the \
                     humidity as a percentage) ({element})"
                );
                add(name, help, gauge, v / 1_000_000.0);
            }
            "fan" if matches!(element, "input" | "min" | "max" | "target") => {
                name.push_str("_rpm");
                let help = format!("Hardware monitor for fan revolutions per minute ({element})");
                add(name, help, gauge, v);
            }
            "freq" if element == "input" => {
                // A GPU clock, reported under its cleaned label instead of freqN.
                if let Some(label) = label {
                    name.push_str("_freq_mhz");
                    out.add(
                        name,
                        "Hardware monitor for GPU frequency in MHz",
                        gauge,
                        vec![
                            (Cow::Borrowed("chip"), chip.to_owned()),
                            (Cow::Borrowed("sensor"), clean_name(label)),
                        ],
                        v / 1_000_000.0,
                    );
                }
            }
            _ => {
                let help = format!("Hardware monitor {kind} element {element}");
                add(name, help, gauge, v);
            }
        }
    }
}

/// A number as Go's `strconv.ParseFloat` reads it (decimal forms; `Inf`, `NaN`).
fn parse_float(text: &str) -> Option<f64> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing::write;
    use crate::collector::testing::{self, render};

    #[test]
    fn file_names_split_like_node_exporter() {
        let re = Regex::new(FILE_NAME_PATTERN).unwrap();
        let s = |n| split_file_name(&re, n);
        assert_eq!(s("temp1_crit_alarm"), Some(("temp", 1, "crit_alarm")));
        assert_eq!(s("fan2_input"), Some(("fan", 2, "input")));
        assert_eq!(s("pwm1"), Some(("pwm", 1, "")));
        assert_eq!(
            s("pwm1_auto_point1_pwm"),
            Some(("pwm", 1, "auto_point1_pwm"))
        );
        assert_eq!(s("beep_enable"), Some(("beep_enable", 0, "")));
        assert_eq!(s("temp01_input"), Some(("temp", 1, "input")));
        assert_eq!(s("name"), Some(("name", 0, "")));
        assert_eq!(s("1temp"), None);
        assert_eq!(s("temp1x"), None);
        assert_eq!(s("temp99999999999999999999_input"), None);
        assert_eq!(clean_name("coretemp.0\n"), "coretemp_0");
        assert_eq!(clean_name("Asus-WMI Sensors"), "asus_wmi_sensors");
        assert_eq!(clean_name("__x__"), "x");
        assert_eq!(clean_name("\n"), "");
        assert_eq!(attribute_text("Core 0\n"), "Core 0");
        assert_eq!(attribute_text("\n\n"), "");
    }

    #[test]
    fn sensors_get_node_exporters_names_and_units() {
        let mut s = Scrape::new();
        emit_sensor(
            "c",
            "temp1",
            "temp",
            &[
                ("input", "45500"),
                ("label", "Core 0"),
                ("type", "4"),
                ("max", "x"),
            ],
            &mut s,
        );
        emit_sensor(
            "c",
            "in0",
            "in",
            &[("input", "1744"), ("alarm", "1")],
            &mut s,
        );
        emit_sensor(
            "c",
            "power1",
            "power",
            &[("average", "12500000"), ("accuracy", "20000")],
            &mut s,
        );
        emit_sensor("c", "energy1", "energy", &[("input", "3000000")], &mut s);
        emit_sensor("c", "pwm1", "pwm", &[("", "128"), ("input", "7")], &mut s);
        emit_sensor("c", "beep_enable0", "beep_enable", &[("", "1")], &mut s);
        emit_sensor(
            "c",
            "freq1",
            "freq",
            &[("input", "300000000"), ("label", "MCLK")],
            &mut s,
        );
        emit_sensor("c", "humidity1", "humidity", &[("input", "45000")], &mut s);
        assert_eq!(
            render(&mut s),
            "# HELP node_hwmon_beep_enabled Hardware beep enabled\n\
             # TYPE node_hwmon_beep_enabled gauge\n\
             node_hwmon_beep_enabled{chip=\"c\",sensor=\"beep_enable0\"} 1\n\
             # HELP node_hwmon_energy_joule_total Hardware monitor for joules used so far (input)\n\
             # TYPE node_hwmon_energy_joule_total counter\n\
             node_hwmon_energy_joule_total{chip=\"c\",sensor=\"energy1\"} 3\n\
             # HELP node_hwmon_freq_freq_mhz Hardware monitor for GPU frequency in MHz\n\
             # TYPE node_hwmon_freq_freq_mhz gauge\n\
             node_hwmon_freq_freq_mhz{chip=\"c\",sensor=\"mclk\"} 300\n\
             # HELP node_hwmon_humidity Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) (input)\n\
             # TYPE node_hwmon_humidity gauge\n\
             node_hwmon_humidity{chip=\"c\",sensor=\"humidity1\"} 0.045\n\
             # HELP node_hwmon_in_alarm Hardware sensor alarm status (in)\n\
             # TYPE node_hwmon_in_alarm gauge\n\
             node_hwmon_in_alarm{chip=\"c\",sensor=\"in0\"} 1\n\
             # HELP node_hwmon_in_volts Hardware monitor for voltage (input)\n\
             # TYPE node_hwmon_in_volts gauge\n\
             node_hwmon_in_volts{chip=\"c\",sensor=\"in0\"} 1.744\n\
             # HELP node_hwmon_power_accuracy Hardware monitor power meter accuracy, as a ratio\n\
             # TYPE node_hwmon_power_accuracy gauge\n\
             node_hwmon_power_accuracy{chip=\"c\",sensor=\"power1\"} 0.02\n\
             # HELP node_hwmon_power_average_watt Hardware monitor for power usage in watts (average)\n\
             # TYPE node_hwmon_power_average_watt gauge\n\
             node_hwmon_power_average_watt{chip=\"c\",sensor=\"power1\"} 12.5\n\
             # HELP node_hwmon_pwm Hardware monitor pwm element \n\
             # TYPE node_hwmon_pwm gauge\n\
             node_hwmon_pwm{chip=\"c\",sensor=\"pwm1\"} 128\n\
             # HELP node_hwmon_pwm_input Hardware monitor pwm element input\n\
             # TYPE node_hwmon_pwm_input gauge\n\
             node_hwmon_pwm_input{chip=\"c\",sensor=\"pwm1\"} 7\n\
             # HELP node_hwmon_sensor_label Label for given chip and sensor\n\
             # TYPE node_hwmon_sensor_label gauge\n\
             node_hwmon_sensor_label{chip=\"c\",label=\"Core 0\",sensor=\"temp1\"} 1\n\
             node_hwmon_sensor_label{chip=\"c\",label=\"MCLK\",sensor=\"freq1\"} 1\n\
             # HELP node_hwmon_temp_celsius Hardware monitor for temperature (input)\n\
             # TYPE node_hwmon_temp_celsius gauge\n\
             node_hwmon_temp_celsius{chip=\"c\",sensor=\"temp1\"} 45.5\n\
             # HELP node_hwmon_temp_type Hardware monitor temp element type\n\
             # TYPE node_hwmon_temp_type gauge\n\
             node_hwmon_temp_type{chip=\"c\",sensor=\"temp1\"} 4\n"
        );
    }

    fn link(root: &Path, rel: &str, target: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    #[test]
    fn chips_sharing_a_device_are_told_apart_and_filters_apply() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let plat = "sys/devices/platform";
        for (n, name) in [("1", "asus\n"), ("2", "asus_wmi_sensors\n"), ("3", "")] {
            let h = format!("{plat}/asus-nb-wmi/hwmon/hwmon{n}");
            link(root, &format!("{h}/device"), "../../../asus-nb-wmi");
            if !name.is_empty() {
                write(root, &format!("{h}/name"), name);
            }
            write(root, &format!("{h}/pwm1_enable"), &format!("{n}\n"));
            link(
                root,
                &format!("sys/class/hwmon/hwmon{n}"),
                &format!("../../devices/platform/asus-nb-wmi/hwmon/hwmon{n}"),
            );
        }
        // No device link, no name: the directory's name.
        write(root, "sys/class/hwmon/hwmon9/temp1_input", "40000\n");
        write(root, "sys/class/hwmon/hwmon9/temp2_input", "41000\n");
        std::fs::create_dir_all(root.join("sys/class/hwmon/hwmon9/power")).unwrap();
        // A label that is not UTF-8 and longer than node_exporter's 128-byte read.
        let mut label = b"Core\xff 0".to_vec();
        label.resize(200, b'x');
        std::fs::write(root.join("sys/class/hwmon/hwmon9/temp1_label"), label).unwrap();
        let ctx = testing::context(root);
        let options = Options {
            hwmon_chip_exclude: Some("_asus$".into()),
            hwmon_sensor_exclude: Some("^hwmon9;temp2$".into()),
            ..Options::default()
        };
        let mut c = build(&options).unwrap();
        let mut s = Scrape::new();
        c.update(&ctx, &mut s).unwrap();
        let text = render(&mut s);
        assert_eq!(
            text,
            "# HELP node_hwmon_chip_names Annotation metric for human-readable chip names\n\
             # TYPE node_hwmon_chip_names gauge\n\
             node_hwmon_chip_names{chip=\"platform_asus_nb_wmi_asus_wmi_sensors\",chip_name=\"asus_wmi_sensors\"} 1\n\
             # HELP node_hwmon_pwm_enable Hardware monitor pwm element enable\n\
             # TYPE node_hwmon_pwm_enable gauge\n\
             node_hwmon_pwm_enable{chip=\"platform_asus_nb_wmi_asus_wmi_sensors\",sensor=\"pwm1\"} 2\n\
             node_hwmon_pwm_enable{chip=\"platform_asus_nb_wmi_hwmon3\",sensor=\"pwm1\"} 3\n\
             # HELP node_hwmon_sensor_label Label for given chip and sensor\n\
             # TYPE node_hwmon_sensor_label gauge\n\
             node_hwmon_sensor_label{chip=\"hwmon9\",label=\"LABEL\",sensor=\"temp1\"} 1\n\
             # HELP node_hwmon_temp_celsius Hardware monitor for temperature (input)\n\
             # TYPE node_hwmon_temp_celsius gauge\n\
             node_hwmon_temp_celsius{chip=\"hwmon9\",sensor=\"temp1\"} 40\n"
                .replace("LABEL", &format!("Core\u{FFFD} 0{}", "x".repeat(121)))
        );

        // Values are re-read every scrape; a new chip rebuilds the layout.
        write(root, "sys/class/hwmon/hwmon9/temp1_input", "42000\n");
        write(root, "sys/class/hwmon/hwmon10/name", "acpitz\n");
        write(root, "sys/class/hwmon/hwmon10/temp1_input", "30000\n");
        let mut s = Scrape::new();
        c.update(&ctx, &mut s).unwrap();
        let text = render(&mut s);
        assert!(
            text.contains("{chip=\"hwmon9\",sensor=\"temp1\"} 42\n"),
            "{text}"
        );
        assert!(
            text.contains("{chip=\"acpitz\",sensor=\"temp1\"} 30\n"),
            "{text}"
        );

        // No class/hwmon: nothing to report, not a failure.
        let empty = tempfile::tempdir().unwrap();
        let mut s = Scrape::new();
        c.update(&testing::context(empty.path()), &mut s).unwrap();
        assert_eq!(render(&mut s), "");
    }
}
