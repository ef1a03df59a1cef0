//! The collectors' flag table, [`FLAGS`]: name, kind, help, [`Options`] field, exclusive partner.
//!
//! Everything about a collector option that is not its value lives in its row here, the
//! way ripgrep's `FLAGS` list works: the exporter binary registers, documents, maps and
//! checks its `--collector.<name>.<option>` flags by walking the table, and collectors
//! name a flag in an error through its row (`options::NETSTAT_FIELDS.name`), never by
//! spelling it. The defaults are [`Options::default`]'s, read back through the row, so
//! there is one place for each.
//!
//! Adding an option is a field in [`Options`] (with its default) and a row here, listed
//! in [`FLAGS`]; a test fails when a field has no row. A deprecated name for a flag is one
//! entry in its row's [`Flag::aliases`].

use std::time::Duration;

use regex::Regex;

use super::Options;
use crate::error::Error;
use crate::filters::compile;

/// One field of [`Options`]: its name and how to reach it.
pub struct Field<T: 'static> {
    /// The field's name in [`Options`].
    pub name: &'static str,
    /// Reads it.
    pub get: fn(&Options) -> &T,
    /// Writes it.
    pub get_mut: fn(&mut Options) -> &mut T,
}

impl<T> Clone for Field<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Field<T> {}

/// `field!(name)`: the [`Field`] of `Options::name`.
macro_rules! field {
    ($name:ident) => {
        Field {
            name: stringify!($name),
            get: |o| &o.$name,
            get_mut: |o| &mut o.$name,
        }
    };
}

/// What a flag takes, and the field of that type it sets.
#[derive(Clone, Copy)]
pub enum Slot {
    /// A switch: `--x` sets it, `--no-x` clears it, the last one given wins (kingpin).
    Bool(Field<bool>),
    /// A string with a default.
    Text(Field<String>),
    /// A string that is absent unless given.
    OptionalText(Field<Option<String>>),
    /// A repeatable string: each occurrence adds one.
    Texts(Field<Vec<String>>),
    /// A Go duration (`5s`, `500ms`, `1m30s`).
    Duration(Field<Duration>),
}

/// One `--collector.<name>.<option>` flag.
#[derive(Clone, Copy)]
pub struct Flag {
    /// node_exporter's name, without the leading `--`.
    pub name: &'static str,
    /// Other names accepted for it (node_exporter's deprecated spellings); hidden from help.
    pub aliases: &'static [&'static str],
    /// The help text; the default is added by whoever shows it (see [`Flag::default_text`]).
    pub help: &'static str,
    /// What it takes and where the value goes.
    pub slot: Slot,
    /// A flag that may not be given together with this one (an include/exclude pair).
    pub exclusive_with: Option<&'static Flag>,
}

impl std::fmt::Debug for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flag")
            .field("name", &self.name)
            .field("field", &self.field())
            .finish()
    }
}

impl Flag {
    /// A row: name, where the value goes, help.
    pub const fn new(name: &'static str, slot: Slot, help: &'static str) -> Self {
        Self {
            name,
            aliases: &[],
            help,
            slot,
            exclusive_with: None,
        }
    }

    /// This row, refusing to be given together with `other`.
    pub const fn exclusive_with(self, other: &'static Flag) -> Self {
        Self {
            exclusive_with: Some(other),
            ..self
        }
    }

    /// This row, also accepted under the names `aliases`.
    pub const fn aliases(self, aliases: &'static [&'static str]) -> Self {
        Self { aliases, ..self }
    }

    /// The name of the [`Options`] field it sets.
    pub fn field(&self) -> &'static str {
        match self.slot {
            Slot::Bool(f) => f.name,
            Slot::Text(f) => f.name,
            Slot::OptionalText(f) => f.name,
            Slot::Texts(f) => f.name,
            Slot::Duration(f) => f.name,
        }
    }

    /// Its value in `options` as it would be written on a command line; `None` when it
    /// is off, absent or empty.
    pub fn value_text(&self, options: &Options) -> Option<String> {
        let text = match self.slot {
            Slot::Bool(f) => (f.get)(options).then(|| "true".to_owned()),
            Slot::Text(_) | Slot::OptionalText(_) => self.text(options).map(str::to_owned),
            Slot::Texts(f) => Some((f.get)(options).join(",")),
            Slot::Duration(f) => Some(go_duration_text(*(f.get)(options))),
        };
        text.filter(|t| !t.is_empty())
    }

    /// Its default ([`Options::default`]'s value), for help text.
    pub fn default_text(&self) -> Option<String> {
        self.value_text(&Options::default())
    }

    /// Sets it in `options` from its command-line text: a string is stored, a repeatable
    /// one added to, a duration parsed, a switch takes `true` or `false`.
    pub fn set_text(&self, options: &mut Options, text: &str) -> Result<(), Error> {
        match self.slot {
            Slot::Bool(f) => {
                *(f.get_mut)(options) = match text {
                    "true" => true,
                    "false" => false,
                    _ => return Err(self.bad_value(text, "is not true or false".into())),
                }
            }
            Slot::Text(f) => text.clone_into((f.get_mut)(options)),
            Slot::OptionalText(f) => *(f.get_mut)(options) = Some(text.to_owned()),
            Slot::Texts(f) => (f.get_mut)(options).push(text.to_owned()),
            Slot::Duration(f) => {
                *(f.get_mut)(options) = parse_go_duration(text).map_err(|why| {
                    self.bad_value(
                        text,
                        format!("is not a duration ({why}; for example 5s, 500ms, 1m30s)"),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The string it holds in `options` (`None` when absent or not a string flag).
    pub fn text<'o>(&self, options: &'o Options) -> Option<&'o str> {
        match self.slot {
            Slot::Text(f) => Some((f.get)(options)),
            Slot::OptionalText(f) => (f.get)(options).as_deref(),
            _ => None,
        }
    }

    /// Its pattern in `options`, compiled (absent: the empty pattern); an error names it.
    pub(crate) fn regex(&self, options: &Options) -> Result<Regex, Error> {
        compile(self.name, self.text(options).unwrap_or(""))
    }

    /// Its pattern in `options`, compiled, or `None` when absent or empty.
    pub(crate) fn optional_regex(&self, options: &Options) -> Result<Option<Regex>, Error> {
        match self.text(options) {
            None | Some("") => Ok(None),
            Some(p) => compile(self.name, p).map(Some),
        }
    }

    /// An error about a value given for it.
    pub(crate) fn bad_value(&self, value: &str, message: String) -> Error {
        Error::FlagValue {
            flag: self.name,
            value: value.to_owned(),
            message,
        }
    }
}

/// `--collector.arp.device-exclude`.
pub const ARP_DEVICE_EXCLUDE: Flag = Flag::new(
    "collector.arp.device-exclude",
    Slot::OptionalText(field!(arp_device_exclude)),
    "Regexp of network devices whose ARP entries node_arp_entries leaves out (mutually exclusive with device-include).",
)
.exclusive_with(&ARP_DEVICE_INCLUDE);
/// `--collector.arp.device-include`.
pub const ARP_DEVICE_INCLUDE: Flag = Flag::new(
    "collector.arp.device-include",
    Slot::OptionalText(field!(arp_device_include)),
    "Regexp of network devices whose ARP entries node_arp_entries counts; the others are left out (mutually exclusive with device-exclude).",
);
/// `--collector.bcache.priorityStats`.
pub const BCACHE_PRIORITY_STATS: Flag = Flag::new(
    "collector.bcache.priorityStats",
    Slot::Bool(field!(bcache_priority_stats)),
    "Also read each cache device's priority_stats (node_bcache_priority_stats_*): costly, the kernel walks every bucket to answer.",
);
/// `--collector.cpu.guest`.
pub const CPU_GUEST: Flag = Flag::new(
    "collector.cpu.guest",
    Slot::Bool(field!(cpu_guest)),
    "Report node_cpu_guest_seconds_total, the time the CPUs spent running guests (VMs).",
);
/// `--collector.cpu.info`.
pub const CPU_INFO: Flag = Flag::new(
    "collector.cpu.info",
    Slot::Bool(field!(cpu_info)),
    "Report node_cpu_info from /proc/cpuinfo (and node_cpu_frequency_hertz while the cpufreq collector is on).",
);
/// `--collector.cpu.info.bugs-include`.
pub const CPU_INFO_BUGS_INCLUDE: Flag = Flag::new(
    "collector.cpu.info.bugs-include",
    Slot::OptionalText(field!(cpu_info_bugs_include)),
    "Report node_cpu_bug_info for each of the first CPU's /proc/cpuinfo `bugs` that matches this regexp (turns on --collector.cpu.info).",
);
/// `--collector.cpu.info.flags-include`.
pub const CPU_INFO_FLAGS_INCLUDE: Flag = Flag::new(
    "collector.cpu.info.flags-include",
    Slot::OptionalText(field!(cpu_info_flags_include)),
    "Report node_cpu_flag_info for each of the first CPU's /proc/cpuinfo `flags` that matches this regexp (turns on --collector.cpu.info).",
);
/// `--collector.diskstats.device-exclude`.
pub const DISKSTATS_DEVICE_EXCLUDE: Flag = Flag::new(
    "collector.diskstats.device-exclude",
    Slot::Text(field!(diskstats_device_exclude)),
    "Regexp of block devices the diskstats collector leaves out (mutually exclusive with device-include, which replaces this default).",
)
.exclusive_with(&DISKSTATS_DEVICE_INCLUDE)
.aliases(&["collector.diskstats.ignored-devices"]);
/// `--collector.diskstats.device-include`.
pub const DISKSTATS_DEVICE_INCLUDE: Flag = Flag::new(
    "collector.diskstats.device-include",
    Slot::OptionalText(field!(diskstats_device_include)),
    "Regexp of block devices the diskstats collector reports; the others are left out (mutually exclusive with device-exclude).",
);
/// `--collector.filesystem.fs-types-exclude`.
pub const FILESYSTEM_FS_TYPES_EXCLUDE: Flag = Flag::new(
    "collector.filesystem.fs-types-exclude",
    Slot::Text(field!(filesystem_fs_types_exclude)),
    "Regexp of filesystem types the filesystem collector leaves out (mutually exclusive with fs-types-include, which replaces this default).",
)
.exclusive_with(&FILESYSTEM_FS_TYPES_INCLUDE)
.aliases(&["collector.filesystem.ignored-fs-types"]);
/// `--collector.filesystem.fs-types-include`.
pub const FILESYSTEM_FS_TYPES_INCLUDE: Flag = Flag::new(
    "collector.filesystem.fs-types-include",
    Slot::OptionalText(field!(filesystem_fs_types_include)),
    "Regexp of filesystem types the filesystem collector reports; the others are left out (mutually exclusive with fs-types-exclude).",
);
/// `--collector.filesystem.mount-points-exclude`.
pub const FILESYSTEM_MOUNT_POINTS_EXCLUDE: Flag = Flag::new(
    "collector.filesystem.mount-points-exclude",
    Slot::Text(field!(filesystem_mount_points_exclude)),
    "Regexp of mount points the filesystem collector leaves out (mutually exclusive with mount-points-include, which replaces this default).",
)
.exclusive_with(&FILESYSTEM_MOUNT_POINTS_INCLUDE)
.aliases(&["collector.filesystem.ignored-mount-points"]);
/// `--collector.filesystem.mount-points-include`.
pub const FILESYSTEM_MOUNT_POINTS_INCLUDE: Flag = Flag::new(
    "collector.filesystem.mount-points-include",
    Slot::OptionalText(field!(filesystem_mount_points_include)),
    "Regexp of mount points the filesystem collector reports; the others are left out (mutually exclusive with mount-points-exclude).",
);
/// `--collector.filesystem.mount-timeout`.
pub const FILESYSTEM_MOUNT_TIMEOUT: Flag = Flag::new(
    "collector.filesystem.mount-timeout",
    Slot::Duration(field!(filesystem_mount_timeout)),
    "How long to wait for a network or FUSE mount to answer statfs before reporting it as \
     failing (node_filesystem_device_error 1); one that has not answered is not asked again \
     until it does.",
);
/// `--collector.hwmon.chip-exclude`.
pub const HWMON_CHIP_EXCLUDE: Flag = Flag::new(
    "collector.hwmon.chip-exclude",
    Slot::OptionalText(field!(hwmon_chip_exclude)),
    "Regexp of hwmon chips to leave out, matched against the chip label (e.g. platform_coretemp_0).",
);
/// `--collector.hwmon.chip-include`.
pub const HWMON_CHIP_INCLUDE: Flag = Flag::new(
    "collector.hwmon.chip-include",
    Slot::OptionalText(field!(hwmon_chip_include)),
    "Regexp of hwmon chips to report, matched against the chip label (e.g. platform_coretemp_0); the others are left out.",
);
/// `--collector.hwmon.sensor-exclude`.
pub const HWMON_SENSOR_EXCLUDE: Flag = Flag::new(
    "collector.hwmon.sensor-exclude",
    Slot::OptionalText(field!(hwmon_sensor_exclude)),
    "Regexp of hwmon sensors to leave out, matched against 'chip;sensor' (e.g. platform_coretemp_0;temp1).",
);
/// `--collector.hwmon.sensor-include`.
pub const HWMON_SENSOR_INCLUDE: Flag = Flag::new(
    "collector.hwmon.sensor-include",
    Slot::OptionalText(field!(hwmon_sensor_include)),
    "Regexp of hwmon sensors to report, matched against 'chip;sensor' (e.g. platform_coretemp_0;temp1); the others are left out.",
);
/// `--collector.infiniband.device-exclude`.
pub const INFINIBAND_DEVICE_EXCLUDE: Flag = Flag::new(
    "collector.infiniband.device-exclude",
    Slot::OptionalText(field!(infiniband_device_exclude)),
    "Regexp of InfiniBand devices to leave out (applied together with device-include).",
);
/// `--collector.infiniband.device-include`.
pub const INFINIBAND_DEVICE_INCLUDE: Flag = Flag::new(
    "collector.infiniband.device-include",
    Slot::OptionalText(field!(infiniband_device_include)),
    "Regexp of InfiniBand devices to report; the others are left out (applied together with device-exclude).",
);
/// `--collector.interrupts.include-zeros`.
pub const INTERRUPTS_INCLUDE_ZEROS: Flag = Flag::new(
    "collector.interrupts.include-zeros",
    Slot::Bool(field!(interrupts_include_zeros)),
    "Report node_interrupts_total series whose count is zero (--no-collector.interrupts.include-zeros leaves them out).",
);
/// `--collector.interrupts.name-exclude`.
pub const INTERRUPTS_NAME_EXCLUDE: Flag = Flag::new(
    "collector.interrupts.name-exclude",
    Slot::OptionalText(field!(interrupts_name_exclude)),
    "Regexp of interrupts to exclude, matched against 'name;info;devices' (applied together with name-include).",
);
/// `--collector.interrupts.name-include`.
pub const INTERRUPTS_NAME_INCLUDE: Flag = Flag::new(
    "collector.interrupts.name-include",
    Slot::OptionalText(field!(interrupts_name_include)),
    "Regexp of interrupts to include, matched against 'name;info;devices' (applied together with name-exclude).",
);
/// `--collector.ipvs.backend-labels`.
pub const IPVS_BACKEND_LABELS: Flag = Flag::new(
    "collector.ipvs.backend-labels",
    Slot::Text(field!(ipvs_backend_labels)),
    "Comma-separated labels of the node_ipvs_backend_* series, from local_address, local_port, remote_address, remote_port, proto, local_mark; backends that share the labels kept are summed.",
);
/// `--collector.netclass.ignore-invalid-speed`.
pub const NETCLASS_IGNORE_INVALID_SPEED: Flag = Flag::new(
    "collector.netclass.ignore-invalid-speed",
    Slot::Bool(field!(netclass_ignore_invalid_speed)),
    "Leave out node_network_speed_bytes for devices whose speed is invalid (the kernel says -1 when it is unknown).",
);
/// `--collector.netclass.ignored-devices`.
pub const NETCLASS_IGNORED_DEVICES: Flag = Flag::new(
    "collector.netclass.ignored-devices",
    Slot::Text(field!(netclass_ignored_devices)),
    "Regexp of network devices the netclass collector leaves out.",
);
/// `--collector.netdev.device-exclude`.
pub const NETDEV_DEVICE_EXCLUDE: Flag = Flag::new(
    "collector.netdev.device-exclude",
    Slot::OptionalText(field!(netdev_device_exclude)),
    "Regexp of network devices the netdev collector leaves out (mutually exclusive with device-include).",
)
.exclusive_with(&NETDEV_DEVICE_INCLUDE)
.aliases(&["collector.netdev.device-blacklist"]);
/// `--collector.netdev.device-include`.
pub const NETDEV_DEVICE_INCLUDE: Flag = Flag::new(
    "collector.netdev.device-include",
    Slot::OptionalText(field!(netdev_device_include)),
    "Regexp of network devices the netdev collector reports; the others are left out (mutually exclusive with device-exclude).",
)
.aliases(&["collector.netdev.device-whitelist"]);
/// `--collector.netstat.fields`.
pub const NETSTAT_FIELDS: Flag = Flag::new(
    "collector.netstat.fields",
    Slot::Text(field!(netstat_fields)),
    "Regexp of the /proc/net/{netstat,snmp,snmp6} fields the netstat collector reports, named Protocol_Field (e.g. Tcp_ActiveOpens).",
);
/// `--collector.powersupply.ignored-supplies`.
pub const POWERSUPPLY_IGNORED_SUPPLIES: Flag = Flag::new(
    "collector.powersupply.ignored-supplies",
    Slot::Text(field!(powersupply_ignored_supplies)),
    "Regexp of power supplies the powersupplyclass collector leaves out.",
);
/// `--collector.rapl.enable-zone-label`.
pub const RAPL_ENABLE_ZONE_LABEL: Flag = Flag::new(
    "collector.rapl.enable-zone-label",
    Slot::Bool(field!(rapl_enable_zone_label)),
    "Report every RAPL zone in node_rapl_joules_total with a rapl_zone label, instead of one node_rapl_<zone>_joules_total family per zone.",
);
/// `--collector.stat.softirq`.
pub const STAT_SOFTIRQ: Flag = Flag::new(
    "collector.stat.softirq",
    Slot::Bool(field!(stat_softirq)),
    "Report node_softirqs_total, the softirq calls per vector from /proc/stat.",
);
/// `--collector.tapestats.ignored-devices`.
pub const TAPESTATS_IGNORED_DEVICES: Flag = Flag::new(
    "collector.tapestats.ignored-devices",
    Slot::Text(field!(tapestats_ignored_devices)),
    "Regexp of tape devices the tapestats collector leaves out.",
);
/// `--collector.textfile.directory`.
pub const TEXTFILE_DIRECTORY: Flag = Flag::new(
    "collector.textfile.directory",
    Slot::Texts(field!(textfile_directories)),
    "Directory (or glob pattern of directories) to read text files with metrics from (repeatable).",
);
/// `--collector.vmstat.fields`.
pub const VMSTAT_FIELDS: Flag = Flag::new(
    "collector.vmstat.fields",
    Slot::Text(field!(vmstat_fields)),
    "Regexp of the /proc/vmstat fields the vmstat collector reports.",
);

/// Every collector flag, in name order.
pub const FLAGS: &[&Flag] = &[
    &ARP_DEVICE_EXCLUDE,
    &ARP_DEVICE_INCLUDE,
    &BCACHE_PRIORITY_STATS,
    &CPU_GUEST,
    &CPU_INFO,
    &CPU_INFO_BUGS_INCLUDE,
    &CPU_INFO_FLAGS_INCLUDE,
    &DISKSTATS_DEVICE_EXCLUDE,
    &DISKSTATS_DEVICE_INCLUDE,
    &FILESYSTEM_FS_TYPES_EXCLUDE,
    &FILESYSTEM_FS_TYPES_INCLUDE,
    &FILESYSTEM_MOUNT_POINTS_EXCLUDE,
    &FILESYSTEM_MOUNT_POINTS_INCLUDE,
    &FILESYSTEM_MOUNT_TIMEOUT,
    &HWMON_CHIP_EXCLUDE,
    &HWMON_CHIP_INCLUDE,
    &HWMON_SENSOR_EXCLUDE,
    &HWMON_SENSOR_INCLUDE,
    &INFINIBAND_DEVICE_EXCLUDE,
    &INFINIBAND_DEVICE_INCLUDE,
    &INTERRUPTS_INCLUDE_ZEROS,
    &INTERRUPTS_NAME_EXCLUDE,
    &INTERRUPTS_NAME_INCLUDE,
    &IPVS_BACKEND_LABELS,
    &NETCLASS_IGNORE_INVALID_SPEED,
    &NETCLASS_IGNORED_DEVICES,
    &NETDEV_DEVICE_EXCLUDE,
    &NETDEV_DEVICE_INCLUDE,
    &NETSTAT_FIELDS,
    &POWERSUPPLY_IGNORED_SUPPLIES,
    &RAPL_ENABLE_ZONE_LABEL,
    &STAT_SOFTIRQ,
    &TAPESTATS_IGNORED_DEVICES,
    &TEXTFILE_DIRECTORY,
    &VMSTAT_FIELDS,
];

/// node_exporter's check of include/exclude pairs: `Err` names both flags of the first
/// pair in `flags` whose two flags `given` reports given.
pub fn check_exclusive(flags: &[&Flag], given: impl Fn(&Flag) -> bool) -> Result<(), Error> {
    for flag in flags {
        if let Some(other) = flag.exclusive_with
            && given(flag)
            && given(other)
        {
            return Err(Error::ExclusiveFlags {
                first: flag.name,
                second: other.name,
            });
        }
    }
    Ok(())
}

/// Go's `time.ParseDuration` for what a timeout can be: a sequence of decimal numbers,
/// each with an optional fraction and a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`),
/// such as `5s`, `500ms`, `1m30s` or `1.5h`; `0` alone needs no unit. Negative durations
/// are refused. `Err` says what is wrong.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.starts_with('-') {
        return Err("negative".into());
    }
    if rest.is_empty() {
        return Err("empty".into());
    }
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let (whole, after) = rest.split_at(digits(rest));
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => after.split_at(digits(after)),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(format!("no number before {after:?}"));
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err("a number without a unit (ns, us, ms, s, m, h)".into()),
            _ => return Err(format!("unknown unit {unit:?}")),
        };
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| "too large".to_owned())?
        };
        // Digits past the 18th are below a nanosecond in every unit.
        let (mut part, mut divisor) = (0u128, 1u128);
        for d in fraction.bytes().take(18) {
            part = part * 10 + u128::from(d - b'0');
            divisor *= 10;
        }
        nanos = whole
            .checked_mul(scale)
            .and_then(|n| n.checked_add(part * scale / divisor))
            .and_then(|n| n.checked_add(nanos))
            .filter(|n| *n <= u128::from(u64::MAX))
            .ok_or_else(|| "too large".to_owned())?;
        rest = after;
    }
    Ok(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

/// A duration written as Go's `Duration.String` writes it: `5s`, `500ms`, `1m30s`.
pub fn go_duration_text(d: Duration) -> String {
    let ns = d.as_nanos();
    let decimal = |v: u128, unit: u128, suffix: &str| {
        let (whole, rest) = (v / unit, v % unit);
        if rest == 0 {
            return format!("{whole}{suffix}");
        }
        let width = unit.ilog10() as usize;
        let rest = format!("{rest:0width$}");
        format!("{whole}.{}{suffix}", rest.trim_end_matches('0'))
    };
    match ns {
        0 => "0s".to_owned(),
        1..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => decimal(ns, 1_000, "µs"),
        1_000_000..1_000_000_000 => decimal(ns, 1_000_000, "ms"),
        _ => {
            let seconds = decimal(ns % 60_000_000_000, 1_000_000_000, "s");
            let minutes = ns / 60_000_000_000;
            match (minutes / 60, minutes % 60) {
                (0, 0) => seconds,
                (0, m) => format!("{m}m{seconds}"),
                (h, m) => format!("{h}h{m}m{seconds}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field names of [`Options`], from its `Debug` output.
    fn option_fields() -> Vec<String> {
        format!("{:#?}", Options::default())
            .lines()
            .filter_map(|l| l.strip_prefix("    "))
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| l.split_once(':').map(|(name, _)| name.to_owned()))
            .collect()
    }

    #[test]
    fn every_option_but_cpufreq_enabled_has_exactly_one_flag() {
        let fields = option_fields();
        assert!(fields.len() > 30, "{fields:?}");
        for field in &fields {
            let rows: Vec<&str> = FLAGS
                .iter()
                .filter(|f| f.field() == field)
                .map(|f| f.name)
                .collect();
            // Set from the enabled collectors, not from a flag of its own.
            let expected = usize::from(field != "cpufreq_enabled");
            assert_eq!(rows.len(), expected, "{field}: {rows:?}");
        }
        assert_eq!(FLAGS.len(), fields.len() - 1);
    }

    #[test]
    fn flag_names_are_the_fields_in_node_exporter_spelling() {
        let mut names: Vec<&str> = FLAGS.iter().map(|f| f.name).collect();
        let sorted = {
            let mut s = names.clone();
            s.sort_unstable();
            s
        };
        assert_eq!(names, sorted, "FLAGS is in name order");
        names.dedup();
        assert_eq!(names.len(), FLAGS.len(), "names are unique");
        for flag in FLAGS {
            let mut expected = String::new();
            for c in flag.name.trim_start_matches("collector.").chars() {
                match c {
                    '.' | '-' => expected.push('_'),
                    c if c.is_ascii_uppercase() => {
                        expected.push('_');
                        expected.push(c.to_ascii_lowercase());
                    }
                    c => expected.push(c),
                }
            }
            if flag.name == "collector.textfile.directory" {
                expected = "textfile_directories".into();
            }
            assert_eq!(flag.field(), expected, "{}", flag.name);
            assert!(!flag.help.is_empty(), "{}", flag.name);
        }
    }

    #[test]
    fn exclusive_partners_are_rows_of_the_table_taking_strings() {
        let pairs: Vec<(&str, &str)> = FLAGS
            .iter()
            .filter_map(|f| f.exclusive_with.map(|o| (f.name, o.name)))
            .collect();
        assert_eq!(pairs.len(), 5, "{pairs:?}");
        for (a, b) in pairs {
            assert!(FLAGS.iter().any(|f| f.name == b), "{b}");
            assert!(
                a.ends_with("-exclude") && b.ends_with("-include"),
                "{a} {b}"
            );
            assert_eq!(a.replace("-exclude", ""), b.replace("-include", ""));
        }
    }

    /// A help text says how the flag behaves here: a flag refused together with its
    /// partner says "mutually exclusive with" the partner (both ways), an include/exclude
    /// pair that is not exclusive says it is applied together.
    #[test]
    fn help_texts_say_which_pairs_are_exclusive_here() {
        let partner = |f: &Flag| {
            FLAGS.iter().find(|o| {
                o.exclusive_with.is_some_and(|p| p.name == f.name)
                    || f.exclusive_with.is_some_and(|p| p.name == o.name)
            })
        };
        let short = |name: &str| name.rsplit('.').next().unwrap_or(name).to_owned();
        for flag in FLAGS {
            assert!(
                !flag.help.contains("mutually exclusive to"),
                "{}",
                flag.name
            );
            match partner(flag) {
                Some(p) => assert!(
                    flag.help
                        .contains(&format!("(mutually exclusive with {}", short(p.name))),
                    "{}: {}",
                    flag.name,
                    flag.help
                ),
                None => assert!(!flag.help.contains("exclusive"), "{}", flag.name),
            }
        }
        for flag in [&INFINIBAND_DEVICE_EXCLUDE, &INTERRUPTS_NAME_INCLUDE] {
            assert!(
                flag.help.contains("(applied together with"),
                "{}",
                flag.name
            );
        }
    }

    #[test]
    fn both_flags_of_a_pair_given_is_an_error_naming_both() {
        let given = |names: &'static [&'static str]| move |f: &Flag| names.contains(&f.name);
        let e = check_exclusive(
            FLAGS,
            given(&[
                "collector.netdev.device-include",
                "collector.netdev.device-exclude",
            ]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--collector.netdev.device-exclude and --collector.netdev.device-include are mutually exclusive"
        );
        // A pair the table does not make exclusive, and one flag of a pair, are fine.
        check_exclusive(
            FLAGS,
            given(&[
                "collector.infiniband.device-include",
                "collector.infiniband.device-exclude",
                "collector.arp.device-include",
            ]),
        )
        .unwrap();
    }

    #[test]
    fn values_are_set_by_kind_and_read_back_as_given() {
        let mut o = Options::default();
        NETSTAT_FIELDS.set_text(&mut o, "^Tcp_").unwrap();
        NETDEV_DEVICE_INCLUDE.set_text(&mut o, "^eth").unwrap();
        TEXTFILE_DIRECTORY.set_text(&mut o, "/a").unwrap();
        TEXTFILE_DIRECTORY.set_text(&mut o, "/b").unwrap();
        FILESYSTEM_MOUNT_TIMEOUT.set_text(&mut o, "1m30s").unwrap();
        CPU_GUEST.set_text(&mut o, "false").unwrap();
        assert_eq!(o.netstat_fields, "^Tcp_");
        assert_eq!(o.netdev_device_include.as_deref(), Some("^eth"));
        assert_eq!(o.textfile_directories, ["/a", "/b"]);
        assert_eq!(o.filesystem_mount_timeout, Duration::from_secs(90));
        assert!(!o.cpu_guest);
        assert_eq!(TEXTFILE_DIRECTORY.value_text(&o).as_deref(), Some("/a,/b"));
        assert_eq!(
            FILESYSTEM_MOUNT_TIMEOUT.value_text(&o).as_deref(),
            Some("1m30s")
        );
        let e = CPU_GUEST.set_text(&mut o, "yes").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--collector.cpu.guest: \"yes\" is not true or false"
        );
    }

    #[test]
    fn defaults_come_from_options_default() {
        assert_eq!(
            FILESYSTEM_MOUNT_TIMEOUT.default_text().as_deref(),
            Some("5s")
        );
        assert_eq!(CPU_GUEST.default_text().as_deref(), Some("true"));
        assert_eq!(CPU_INFO.default_text(), None);
        assert_eq!(
            NETCLASS_IGNORED_DEVICES.default_text().as_deref(),
            Some("^$")
        );
        assert_eq!(NETDEV_DEVICE_INCLUDE.default_text(), None);
        assert_eq!(TEXTFILE_DIRECTORY.default_text(), None);
        assert_eq!(
            DISKSTATS_DEVICE_EXCLUDE.default_text().as_deref(),
            Some(super::super::DISKSTATS_DEVICE_EXCLUDE)
        );
    }

    #[test]
    fn patterns_are_compiled_under_the_flag_name() {
        let o = Options {
            vmstat_fields: "(".into(),
            ..Options::default()
        };
        let e = VMSTAT_FIELDS.regex(&o).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid collector.vmstat.fields pattern \"(\""),
            "{e}"
        );
        assert!(CPU_INFO_FLAGS_INCLUDE.optional_regex(&o).unwrap().is_none());
    }

    #[test]
    fn go_durations() {
        let ok = |t: &str| parse_go_duration(t).unwrap();
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("2us"), Duration::from_micros(2));
        assert_eq!(ok("2µs"), Duration::from_micros(2));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("+3ns"), Duration::from_nanos(3));
        let bad = |t: &str| parse_go_duration(t).unwrap_err();
        assert_eq!(bad("5"), "a number without a unit (ns, us, ms, s, m, h)");
        assert_eq!(bad("5x"), "unknown unit \"x\"");
        assert_eq!(bad("-5s"), "negative");
        assert_eq!(bad(""), "empty");
        assert_eq!(bad("s"), "no number before \"s\"");
        assert_eq!(bad("99999999999999999999h"), "too large");
        for d in ["5s", "500ms", "1m30s", "1h0m0s", "1.5s", "2µs", "3ns", "0s"] {
            assert_eq!(go_duration_text(ok(d)), d);
        }
    }

    #[test]
    fn a_bad_duration_names_the_flag_and_the_syntax() {
        let e = FILESYSTEM_MOUNT_TIMEOUT
            .set_text(&mut Options::default(), "5 seconds")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--collector.filesystem.mount-timeout: \"5 seconds\" is not a duration \
             (unknown unit \" seconds\"; for example 5s, 500ms, 1m30s)"
        );
    }
}
