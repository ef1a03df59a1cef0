//! `kitestacks-exporter`'s flags: node_exporter's names, defaults and kingpin semantics
//! (`--collector.<name>` / `--no-collector.<name>`, the last one given wins; `--no-` forms
//! of every boolean), so an existing node_exporter command line works unchanged.

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};
use kitestacks_metrics::Roots;
use kitestacks_metrics::collector::{COLLECTORS, Context, Options};

/// Every collector node_exporter knows, including those this exporter does not implement:
/// their flags are accepted (with a warning when one is enabled) so node_exporter command
/// lines keep working.
const NODE_EXPORTER_COLLECTORS: &[&str] = &[
    "arp",
    "bcache",
    "bcachefs",
    "bonding",
    "btrfs",
    "buddyinfo",
    "cgroups",
    "conntrack",
    "cpu",
    "cpu_vulnerabilities",
    "cpufreq",
    "diskstats",
    "dmi",
    "dmmultipath",
    "drbd",
    "drm",
    "edac",
    "entropy",
    "ethtool",
    "fibrechannel",
    "filefd",
    "filesystem",
    "hwmon",
    "infiniband",
    "interrupts",
    "ipvs",
    "kernel_hung",
    "ksmd",
    "lnstat",
    "loadavg",
    "logind",
    "mdadm",
    "meminfo",
    "meminfo_numa",
    "mountstats",
    "netclass",
    "netdev",
    "netstat",
    "network_route",
    "nfs",
    "nfsd",
    "ntp",
    "nvme",
    "os",
    "pcidevice",
    "perf",
    "powersupplyclass",
    "pressure",
    "processes",
    "qdisc",
    "rapl",
    "runit",
    "schedstat",
    "selinux",
    "slabinfo",
    "sockstat",
    "softirqs",
    "softnet",
    "stat",
    "supervisord",
    "swap",
    "sysctl",
    "systemd",
    "tapestats",
    "tcpstat",
    "textfile",
    "thermal_zone",
    "time",
    "timex",
    "udp_queues",
    "uname",
    "vmstat",
    "watchdog",
    "wifi",
    "xfrm",
    "xfs",
    "zfs",
    "zoneinfo",
];

/// Everything the flags decide.
#[derive(Debug, Clone)]
pub struct ExporterArgs {
    /// `--web.listen-address` (repeatable; default `:9100`).
    pub listen: Vec<SocketAddr>,
    /// `--web.telemetry-path` (default `/metrics`).
    pub telemetry_path: String,
    /// `!--web.disable-exporter-metrics`.
    pub exporter_metrics: bool,
    /// `--web.max-requests` (default 40; 0 = unlimited).
    pub max_requests: usize,
    /// The enabled collectors, sorted.
    pub collectors: Vec<&'static str>,
    /// Collectors enabled on the command line that this exporter does not implement.
    pub unimplemented: Vec<String>,
    /// Flags of unimplemented collectors that were ignored.
    pub ignored_flags: Vec<String>,
    /// Per-collector options.
    pub options: Options,
    /// Roots and udev path.
    pub context: Context,
    /// `--log.level`.
    pub log_level: String,
    /// `--log.format`.
    pub log_format: String,
    /// `--web.config.file`: exporter-toolkit's web config (TLS, basic auth).
    pub web_config_file: Option<PathBuf>,
}

fn bool_flag(cmd: Command, name: &'static str, help: &'static str) -> Command {
    cmd.arg(
        Arg::new(name)
            .long(name)
            .action(ArgAction::SetTrue)
            .help(help),
    )
    .arg(
        Arg::new(format!("no-{name}"))
            .long(format!("no-{name}"))
            .action(ArgAction::SetTrue)
            .hide(true),
    )
}

fn string_flag(
    cmd: Command,
    name: &'static str,
    default: Option<&'static str>,
    help: &'static str,
) -> Command {
    let mut arg = Arg::new(name)
        .long(name)
        .value_name("VALUE")
        .help(help)
        .action(ArgAction::Set);
    if let Some(d) = default {
        arg = arg.default_value(d);
    }
    cmd.arg(arg)
}

/// The clap command (also used for `--help`).
pub fn command() -> Command {
    let mut cmd = Command::new("kitestacks-exporter")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "A node_exporter-compatible Prometheus exporter for Linux hosts: same metric names, \
             labels, HELP text and flags, at a fraction of the cost.",
        )
        .arg(
            Arg::new("web.listen-address")
                .long("web.listen-address")
                .value_name("ADDR")
                .action(ArgAction::Append)
                .default_value(":9100")
                .help("Address on which to expose metrics and web interface (repeatable; ':9100' = all interfaces)."),
        )
        .arg(
            Arg::new("runtime.gomaxprocs")
                .long("runtime.gomaxprocs")
                .value_name("N")
                .hide(true)
                .help("Accepted for node_exporter compatibility; ignored."),
        );
    cmd = string_flag(
        cmd,
        "web.telemetry-path",
        Some("/metrics"),
        "Path under which to expose metrics.",
    );
    cmd = bool_flag(
        cmd,
        "web.disable-exporter-metrics",
        "Exclude metrics about the exporter itself (promhttp_*, process_*).",
    );
    cmd = string_flag(
        cmd,
        "web.config.file",
        None,
        "Path to configuration file that can enable TLS or authentication (exporter-toolkit's format).",
    );
    cmd = string_flag(
        cmd,
        "web.max-requests",
        Some("40"),
        "Maximum number of parallel scrape requests. Use 0 to disable.",
    );
    cmd = bool_flag(
        cmd,
        "collector.disable-defaults",
        "Set all collectors to disabled by default.",
    );
    cmd = string_flag(cmd, "path.procfs", Some("/proc"), "procfs mountpoint.");
    cmd = string_flag(cmd, "path.sysfs", Some("/sys"), "sysfs mountpoint.");
    cmd = string_flag(cmd, "path.rootfs", Some("/"), "rootfs mountpoint.");
    cmd = string_flag(
        cmd,
        "path.udev.data",
        Some("/run/udev/data"),
        "udev data path.",
    );
    cmd = string_flag(
        cmd,
        "log.level",
        Some("info"),
        "Only log messages with the given severity or above. One of: [debug, info, warn, error]",
    );
    cmd = string_flag(
        cmd,
        "log.format",
        Some("logfmt"),
        "Output format of log messages. One of: [logfmt, json]",
    );
    cmd = bool_flag(
        cmd,
        "collector.cpu.guest",
        "Enables metric node_cpu_guest_seconds_total (default: enabled).",
    );
    cmd = bool_flag(cmd, "collector.cpu.info", "Enables metric cpu_info.");
    cmd = string_flag(
        cmd,
        "collector.cpu.info.flags-include",
        None,
        "Filter the `flags` field in cpuInfo with a value that must be a regular expression.",
    );
    cmd = string_flag(
        cmd,
        "collector.cpu.info.bugs-include",
        None,
        "Filter the `bugs` field in cpuInfo with a value that must be a regular expression.",
    );
    cmd = string_flag(
        cmd,
        "collector.diskstats.device-exclude",
        None,
        "Regexp of diskstats devices to exclude (mutually exclusive to device-include).",
    );
    cmd = string_flag(
        cmd,
        "collector.diskstats.device-include",
        None,
        "Regexp of diskstats devices to include (mutually exclusive to device-exclude).",
    );
    cmd = string_flag(
        cmd,
        "collector.filesystem.mount-points-exclude",
        None,
        "Regexp of mount points to exclude for filesystem collector.",
    );
    cmd = string_flag(
        cmd,
        "collector.filesystem.mount-points-include",
        None,
        "Regexp of mount points to include for filesystem collector.",
    );
    cmd = string_flag(
        cmd,
        "collector.filesystem.fs-types-exclude",
        None,
        "Regexp of filesystem types to exclude for filesystem collector.",
    );
    cmd = string_flag(
        cmd,
        "collector.filesystem.fs-types-include",
        None,
        "Regexp of filesystem types to include for filesystem collector.",
    );
    cmd = string_flag(
        cmd,
        "collector.filesystem.mount-timeout",
        None,
        "Accepted for compatibility; statfs is not timed out here.",
    );
    cmd = string_flag(
        cmd,
        "collector.filesystem.stat-workers",
        None,
        "Accepted for compatibility; mounts are read in turn.",
    );
    cmd = string_flag(
        cmd,
        "collector.hwmon.chip-include",
        None,
        "Regexp of hwmon chip to include.",
    );
    cmd = string_flag(
        cmd,
        "collector.hwmon.chip-exclude",
        None,
        "Regexp of hwmon chip to exclude.",
    );
    cmd = string_flag(
        cmd,
        "collector.hwmon.sensor-include",
        None,
        "Regexp of hwmon sensor to include.",
    );
    cmd = string_flag(
        cmd,
        "collector.hwmon.sensor-exclude",
        None,
        "Regexp of hwmon sensor to exclude.",
    );
    cmd = string_flag(
        cmd,
        "collector.infiniband.device-include",
        None,
        "Regexp of infiniband devices to include (mutually exclusive to device-exclude).",
    );
    cmd = string_flag(
        cmd,
        "collector.infiniband.device-exclude",
        None,
        "Regexp of infiniband devices to exclude (mutually exclusive to device-include).",
    );
    cmd = string_flag(
        cmd,
        "collector.interrupts.name-include",
        None,
        "Regexp of interrupts name to include (mutually exclusive to --collector.interrupts.name-exclude).",
    );
    cmd = string_flag(
        cmd,
        "collector.interrupts.name-exclude",
        None,
        "Regexp of interrupts name to exclude (mutually exclusive to --collector.interrupts.name-include).",
    );
    cmd = bool_flag(
        cmd,
        "collector.interrupts.include-zeros",
        "Include interrupts that have a zero value (default: enabled).",
    );
    cmd = string_flag(
        cmd,
        "collector.ipvs.backend-labels",
        None,
        "Comma separated list for IPVS backend stats labels (default: all of local_address, \
         local_port, remote_address, remote_port, proto, local_mark).",
    );
    cmd = string_flag(
        cmd,
        "collector.arp.device-include",
        None,
        "Regexp of arp devices to include (mutually exclusive to device-exclude).",
    );
    cmd = string_flag(
        cmd,
        "collector.arp.device-exclude",
        None,
        "Regexp of arp devices to exclude (mutually exclusive to device-include).",
    );
    cmd = bool_flag(
        cmd,
        "collector.bcache.priorityStats",
        "Expose expensive priority stats.",
    );
    cmd = string_flag(
        cmd,
        "collector.netclass.ignored-devices",
        Some("^$"),
        "Regexp of net devices to ignore for netclass collector.",
    );
    cmd = bool_flag(
        cmd,
        "collector.netclass.ignore-invalid-speed",
        "Ignore devices where the speed is invalid.",
    );
    cmd = string_flag(
        cmd,
        "collector.netdev.device-include",
        None,
        "Regexp of net devices to include (mutually exclusive to device-exclude).",
    );
    cmd = string_flag(
        cmd,
        "collector.netdev.device-exclude",
        None,
        "Regexp of net devices to exclude (mutually exclusive to device-include).",
    );
    cmd = bool_flag(
        cmd,
        "collector.netdev.address-info",
        "Collect address-info for every device.",
    );
    cmd = string_flag(
        cmd,
        "collector.netstat.fields",
        None,
        "Regexp of fields to return for netstat collector.",
    );
    cmd = string_flag(
        cmd,
        "collector.powersupply.ignored-supplies",
        Some("^$"),
        "Regexp of power supplies to ignore for powersupplyclass collector.",
    );
    cmd = bool_flag(
        cmd,
        "collector.rapl.enable-zone-label",
        "Enables service unit metric unit_start_time_seconds",
    );
    cmd = bool_flag(
        cmd,
        "collector.stat.softirq",
        "Export softirq calls per vector.",
    );
    cmd = string_flag(
        cmd,
        "collector.tapestats.ignored-devices",
        Some("^$"),
        "Regexp of devices to ignore for tapestats.",
    );
    cmd = cmd.arg(
        Arg::new("collector.textfile.directory")
            .long("collector.textfile.directory")
            .value_name("DIR")
            .action(ArgAction::Append)
            .help("Directory to read text files with metrics from (repeatable)."),
    );
    cmd = string_flag(
        cmd,
        "collector.vmstat.fields",
        None,
        "Regexp of fields to return for vmstat collector.",
    );
    for name in NODE_EXPORTER_COLLECTORS {
        let implemented = COLLECTORS.iter().find(|d| d.name == *name);
        let help = match implemented {
            Some(d) => format!(
                "Enable the {name} collector (default: {}).",
                if d.default_enabled {
                    "enabled"
                } else {
                    "disabled"
                }
            ),
            None => format!(
                "The {name} collector is not implemented; the flag is accepted and ignored."
            ),
        };
        cmd = cmd
            .arg(
                Arg::new(format!("collector.{name}"))
                    .long(format!("collector.{name}"))
                    .action(ArgAction::SetTrue)
                    .help(help)
                    .hide(implemented.is_none()),
            )
            .arg(
                Arg::new(format!("no-collector.{name}"))
                    .long(format!("no-collector.{name}"))
                    .action(ArgAction::SetTrue)
                    .hide(true),
            );
    }
    cmd
}

/// Drops `--collector.<x>.<option>` flags of collectors this exporter does not implement
/// (a node_exporter command line may carry them), returning them for a warning.
fn split_unknown(args: Vec<String>, cmd: &Command) -> (Vec<String>, Vec<String>) {
    let known = |flag: &str| cmd.get_arguments().any(|a| a.get_long() == Some(flag));
    let mut kept = Vec::with_capacity(args.len());
    let mut ignored = Vec::new();
    let mut iter = args.into_iter().peekable();
    if let Some(prog) = iter.next() {
        kept.push(prog);
    }
    while let Some(arg) = iter.next() {
        let flag = arg
            .strip_prefix("--")
            .map(|f| f.split('=').next().unwrap_or(f).to_owned());
        match flag {
            Some(f)
                if (f.starts_with("collector.") || f.starts_with("no-collector."))
                    && !known(&f) =>
            {
                // A value given as the next argument belongs to the ignored flag.
                if !arg.contains('=') && iter.peek().is_some_and(|n| !n.starts_with("--")) {
                    let value = iter.next().unwrap_or_default();
                    ignored.push(format!("{arg} {value}"));
                } else {
                    ignored.push(arg);
                }
            }
            _ => kept.push(arg),
        }
    }
    (kept, ignored)
}

/// Whether the boolean flag `name` ends up set (kingpin: the last of `--x` / `--no-x` wins).
fn last_bool(m: &ArgMatches, name: &str, default: bool) -> bool {
    let pos = |id: &str| m.get_flag(id).then(|| m.index_of(id)).flatten();
    match (pos(name), pos(&format!("no-{name}"))) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => default,
    }
}

fn string(m: &ArgMatches, name: &str) -> Option<String> {
    m.get_one::<String>(name).cloned()
}

/// Parses a listen address: `:9100` (all interfaces), `0.0.0.0:9100`, `[::1]:9100`,
/// `localhost:9100`.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| format!("{text:?}: bad port"))?;
        return Ok(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("{text:?}: bad port"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not HOST:PORT (e.g. :9100, 127.0.0.1:9100, [::1]:9100)"))
}

impl ExporterArgs {
    /// Parses a command line (the first item is the program name). `Err` is clap's
    /// error (for `--help` and `--version` too): print it and exit with its code.
    pub fn parse_from(args: Vec<String>) -> Result<Self, clap::Error> {
        let cmd = command();
        let (args, ignored_flags) = split_unknown(args, &cmd);
        let mut cmd = cmd;
        let m = cmd.try_get_matches_from_mut(args)?;
        let invalid = |msg: String| cmd.clone().error(clap::error::ErrorKind::InvalidValue, msg);

        let listen = m
            .get_many::<String>("web.listen-address")
            .into_iter()
            .flatten()
            .map(|s| parse_listen(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("--web.listen-address: {e}")))?;
        let max_requests: usize = string(&m, "web.max-requests")
            .unwrap_or_default()
            .parse()
            .map_err(|_| invalid("--web.max-requests: not a number".into()))?;

        let disable_defaults = last_bool(&m, "collector.disable-defaults", false);
        let mut collectors = Vec::new();
        let mut unimplemented = Vec::new();
        for name in NODE_EXPORTER_COLLECTORS {
            let def = COLLECTORS.iter().find(|d| d.name == *name);
            let default = def.is_some_and(|d| d.default_enabled) && !disable_defaults;
            let on = last_bool(&m, &format!("collector.{name}"), default);
            match def {
                Some(d) if on => collectors.push(d.name),
                None if on => unimplemented.push((*name).to_owned()),
                _ => {}
            }
        }
        collectors.sort_unstable();

        let defaults = Options::default();
        let options = Options {
            cpu_guest: last_bool(&m, "collector.cpu.guest", defaults.cpu_guest),
            cpu_info: last_bool(&m, "collector.cpu.info", defaults.cpu_info),
            arp_device_include: string(&m, "collector.arp.device-include"),
            arp_device_exclude: string(&m, "collector.arp.device-exclude"),
            bcache_priority_stats: last_bool(&m, "collector.bcache.priorityStats", false),
            cpu_info_flags_include: string(&m, "collector.cpu.info.flags-include"),
            cpu_info_bugs_include: string(&m, "collector.cpu.info.bugs-include"),
            diskstats_device_exclude: string(&m, "collector.diskstats.device-exclude")
                .unwrap_or(defaults.diskstats_device_exclude),
            diskstats_device_include: string(&m, "collector.diskstats.device-include"),
            filesystem_mount_points_exclude: string(
                &m,
                "collector.filesystem.mount-points-exclude",
            )
            .unwrap_or(defaults.filesystem_mount_points_exclude),
            filesystem_mount_points_include: string(
                &m,
                "collector.filesystem.mount-points-include",
            ),
            filesystem_fs_types_exclude: string(&m, "collector.filesystem.fs-types-exclude")
                .unwrap_or(defaults.filesystem_fs_types_exclude),
            filesystem_fs_types_include: string(&m, "collector.filesystem.fs-types-include"),
            filesystem_mount_timeout: defaults.filesystem_mount_timeout,
            hwmon_chip_include: string(&m, "collector.hwmon.chip-include"),
            hwmon_chip_exclude: string(&m, "collector.hwmon.chip-exclude"),
            hwmon_sensor_include: string(&m, "collector.hwmon.sensor-include"),
            hwmon_sensor_exclude: string(&m, "collector.hwmon.sensor-exclude"),
            // Both may be given, as upstream allows (its help text notwithstanding).
            infiniband_device_include: string(&m, "collector.infiniband.device-include"),
            infiniband_device_exclude: string(&m, "collector.infiniband.device-exclude"),
            interrupts_name_include: string(&m, "collector.interrupts.name-include"),
            interrupts_name_exclude: string(&m, "collector.interrupts.name-exclude"),
            interrupts_include_zeros: last_bool(
                &m,
                "collector.interrupts.include-zeros",
                defaults.interrupts_include_zeros,
            ),
            ipvs_backend_labels: string(&m, "collector.ipvs.backend-labels")
                .unwrap_or(defaults.ipvs_backend_labels),
            netclass_ignored_devices: string(&m, "collector.netclass.ignored-devices")
                .unwrap_or(defaults.netclass_ignored_devices),
            netclass_ignore_invalid_speed: last_bool(
                &m,
                "collector.netclass.ignore-invalid-speed",
                false,
            ),
            netdev_device_include: string(&m, "collector.netdev.device-include"),
            netdev_device_exclude: string(&m, "collector.netdev.device-exclude"),
            netdev_address_info: last_bool(&m, "collector.netdev.address-info", false),
            netstat_fields: string(&m, "collector.netstat.fields")
                .unwrap_or(defaults.netstat_fields),
            powersupply_ignored_supplies: string(&m, "collector.powersupply.ignored-supplies")
                .unwrap_or(defaults.powersupply_ignored_supplies),
            rapl_enable_zone_label: last_bool(&m, "collector.rapl.enable-zone-label", false),
            stat_softirq: last_bool(&m, "collector.stat.softirq", false),
            tapestats_ignored_devices: string(&m, "collector.tapestats.ignored-devices")
                .unwrap_or(defaults.tapestats_ignored_devices),
            textfile_directories: m
                .get_many::<String>("collector.textfile.directory")
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            vmstat_fields: string(&m, "collector.vmstat.fields").unwrap_or(defaults.vmstat_fields),
            // node_exporter's cpu collector reports /proc/cpuinfo frequencies only when
            // the cpufreq collector is on.
            cpufreq_enabled: collectors.contains(&"cpufreq"),
        };
        for (a, b) in [
            (
                "collector.arp.device-exclude",
                "collector.arp.device-include",
            ),
            (
                "collector.diskstats.device-exclude",
                "collector.diskstats.device-include",
            ),
            (
                "collector.netdev.device-exclude",
                "collector.netdev.device-include",
            ),
            (
                "collector.filesystem.mount-points-exclude",
                "collector.filesystem.mount-points-include",
            ),
            (
                "collector.filesystem.fs-types-exclude",
                "collector.filesystem.fs-types-include",
            ),
        ] {
            let explicit =
                |id: &str| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
            if explicit(a) && explicit(b) {
                return Err(invalid(format!("--{a} and --{b} are mutually exclusive")));
            }
        }
        let path = |id: &str| PathBuf::from(string(&m, id).unwrap_or_default());
        let context = Context {
            roots: Roots {
                procfs: path("path.procfs"),
                sysfs: path("path.sysfs"),
                rootfs: path("path.rootfs"),
            },
            udev_data: path("path.udev.data"),
        };
        let log_level = string(&m, "log.level").unwrap_or_else(|| "info".into());
        if !["debug", "info", "warn", "error"].contains(&log_level.as_str()) {
            return Err(invalid(format!(
                "--log.level: {log_level:?} is not one of debug, info, warn, error"
            )));
        }
        let log_format = string(&m, "log.format").unwrap_or_else(|| "logfmt".into());
        if !["logfmt", "json"].contains(&log_format.as_str()) {
            return Err(invalid(format!(
                "--log.format: {log_format:?} is not one of logfmt, json"
            )));
        }
        let telemetry_path = string(&m, "web.telemetry-path").unwrap_or_else(|| "/metrics".into());
        if !telemetry_path.starts_with('/') {
            return Err(invalid(format!(
                "--web.telemetry-path: {telemetry_path:?} must start with '/'"
            )));
        }
        Ok(Self {
            listen,
            telemetry_path,
            exporter_metrics: !last_bool(&m, "web.disable-exporter-metrics", false),
            max_requests,
            collectors,
            unimplemented,
            ignored_flags,
            options,
            context,
            log_level,
            log_format,
            web_config_file: string(&m, "web.config.file").map(PathBuf::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> ExporterArgs {
        let mut v = vec!["kitestacks-exporter".to_owned()];
        v.extend(args.iter().map(|s| (*s).to_owned()));
        ExporterArgs::parse_from(v).unwrap()
    }

    #[test]
    fn node_exporter_defaults() {
        let a = parse(&[]);
        assert_eq!(a.listen, [SocketAddr::from((Ipv6Addr::UNSPECIFIED, 9100))]);
        assert_eq!(a.telemetry_path, "/metrics");
        assert!(a.exporter_metrics);
        assert_eq!(a.max_requests, 40);
        assert_eq!(a.context.roots, Roots::default());
        let enabled_by_default: Vec<&str> = COLLECTORS
            .iter()
            .filter(|d| d.default_enabled)
            .map(|d| d.name)
            .collect();
        assert_eq!(a.collectors.len(), enabled_by_default.len());
    }

    #[test]
    fn the_last_of_collector_and_no_collector_wins() {
        let a = parse(&["--no-collector.loadavg"]);
        assert!(!a.collectors.contains(&"loadavg"));
        let a = parse(&["--no-collector.loadavg", "--collector.loadavg"]);
        assert!(a.collectors.contains(&"loadavg"));
        let a = parse(&["--collector.disable-defaults", "--collector.loadavg"]);
        assert_eq!(a.collectors, ["loadavg"]);
    }

    #[test]
    fn unimplemented_collectors_and_their_options_are_accepted() {
        let a = parse(&[
            "--collector.systemd",
            "--collector.systemd.unit-include=^ssh",
            "--collector.ntp.server",
            "127.0.0.1",
            "--web.listen-address=127.0.0.1:9101",
            "--web.listen-address",
            ":9102",
        ]);
        assert_eq!(a.unimplemented, ["systemd"]);
        assert_eq!(
            a.ignored_flags,
            [
                "--collector.systemd.unit-include=^ssh",
                "--collector.ntp.server 127.0.0.1"
            ]
        );
        assert_eq!(a.listen.len(), 2);
        assert_eq!(a.listen[0], "127.0.0.1:9101".parse().unwrap());
    }

    #[test]
    fn options_and_paths() {
        let a = parse(&[
            "--path.procfs=/host/proc",
            "--path.sysfs",
            "/host/sys",
            "--collector.netdev.device-include=^eth",
            "--collector.cpu.info",
            "--no-collector.cpu.guest",
            "--web.disable-exporter-metrics",
        ]);
        assert_eq!(a.context.roots.procfs, PathBuf::from("/host/proc"));
        assert_eq!(a.context.roots.sysfs, PathBuf::from("/host/sys"));
        assert_eq!(a.options.netdev_device_include.as_deref(), Some("^eth"));
        assert!(a.options.cpu_info && !a.options.cpu_guest);
        assert!(!a.exporter_metrics);
    }

    #[test]
    fn infiniband_device_filters() {
        let a = parse(&[]);
        assert_eq!(a.options.infiniband_device_include, None);
        assert_eq!(a.options.infiniband_device_exclude, None);
        let a = parse(&[
            "--collector.infiniband.device-include=^mlx5",
            "--collector.infiniband.device-exclude",
            "mlx5_1",
        ]);
        assert_eq!(
            a.options.infiniband_device_include.as_deref(),
            Some("^mlx5")
        );
        assert_eq!(
            a.options.infiniband_device_exclude.as_deref(),
            Some("mlx5_1")
        );
        assert!(a.ignored_flags.is_empty(), "{:?}", a.ignored_flags);
    }

    #[test]
    fn ipvs_is_on_by_default_and_takes_its_backend_labels() {
        let a = parse(&[]);
        assert!(a.collectors.contains(&"ipvs"));
        assert_eq!(
            a.options.ipvs_backend_labels,
            kitestacks_metrics::collector::IPVS_BACKEND_LABELS
        );
        let a = parse(&["--collector.ipvs.backend-labels=proto,local_mark"]);
        assert_eq!(a.options.ipvs_backend_labels, "proto,local_mark");
        assert!(a.ignored_flags.is_empty());
        let a = parse(&["--collector.ipvs.backend-labels", ""]);
        assert_eq!(a.options.ipvs_backend_labels, "");
    }

    #[test]
    fn interrupts_flags() {
        let a = parse(&[]);
        assert!(!a.collectors.contains(&"interrupts"));
        assert!(a.options.interrupts_include_zeros);
        assert_eq!(a.options.interrupts_name_include, None);
        let a = parse(&[
            "--collector.interrupts",
            "--collector.interrupts.name-include=^NMI;",
            "--collector.interrupts.name-exclude",
            "timer",
            "--no-collector.interrupts.include-zeros",
        ]);
        assert!(a.collectors.contains(&"interrupts"));
        assert!(a.unimplemented.is_empty() && a.ignored_flags.is_empty());
        assert_eq!(a.options.interrupts_name_include.as_deref(), Some("^NMI;"));
        assert_eq!(a.options.interrupts_name_exclude.as_deref(), Some("timer"));
        assert!(!a.options.interrupts_include_zeros);
        let a = parse(&[
            "--no-collector.interrupts.include-zeros",
            "--collector.interrupts.include-zeros",
        ]);
        assert!(a.options.interrupts_include_zeros);
    }

    #[test]
    fn bad_values_are_errors() {
        let bad = |args: &[&str]| {
            let mut v = vec!["kitestacks-exporter".to_owned()];
            v.extend(args.iter().map(|s| (*s).to_owned()));
            ExporterArgs::parse_from(v).unwrap_err().to_string()
        };
        assert!(bad(&["--web.listen-address=nope"]).contains("web.listen-address"));
        assert!(bad(&["--web.max-requests=x"]).contains("web.max-requests"));
        assert!(
            bad(&[
                "--collector.netdev.device-include=a",
                "--collector.netdev.device-exclude=b"
            ])
            .contains("mutually exclusive")
        );
        assert!(bad(&["--log.level=chatty"]).contains("log.level"));
        assert!(bad(&["--frobnicate"]).contains("frobnicate"));
    }
}
