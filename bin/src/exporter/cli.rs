//! `kitestacks-exporter`'s flags: node_exporter's names, defaults and kingpin semantics
//! (`--collector.<name>` / `--no-collector.<name>`, the last one given wins; `--no-` forms
//! of every boolean), so an existing node_exporter command line works unchanged. The
//! collector options are registered, documented, mapped into [`Options`] and checked for
//! exclusive pairs from one table, [`kitestacks_metrics::collector::options::FLAGS`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use kitestacks_metrics::Roots;
use kitestacks_metrics::collector::options::{self, FLAGS, Flag, Slot};
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
    /// node_exporter's deprecation warnings for the old flag names given (still honoured:
    /// `--collector.filesystem.ignored-mount-points` sets `mount-points-exclude`).
    pub deprecated: Vec<String>,
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
    /// The server's connection limits; `--web.write-timeout` and
    /// `--web.max-connections-per-address` set two of them.
    pub limits: crate::server::Limits,
    /// `--scrape.collector-deadline` (default 4s; `None` for 0s): how long one collector
    /// may take in a scrape.
    pub collector_deadline: Option<std::time::Duration>,
}

/// The exporter's connection limits. Prometheus keeps its connection open between
/// scrapes (15 s apart, or more): the idle limit must be well above any scrape interval.
const LIMITS: crate::server::Limits = crate::server::Limits {
    max_connections: 256,
    max_connections_per_address: 128,
    header_read_timeout: std::time::Duration::from_secs(30),
    idle_timeout: std::time::Duration::from_secs(300),
    write_timeout: std::time::Duration::from_secs(10),
    shutdown_grace: std::time::Duration::from_secs(5),
};

/// The exporter's own string flags: name, default, help.
const TEXT_FLAGS: &[(&str, Option<&str>, &str)] = &[
    (
        "web.telemetry-path",
        Some("/metrics"),
        "Path under which to expose metrics.",
    ),
    (
        "web.config.file",
        None,
        "Path to configuration file that can enable TLS or authentication (exporter-toolkit's format).",
    ),
    (
        "web.max-requests",
        Some("40"),
        "Maximum number of parallel scrape requests. Use 0 to disable.",
    ),
    (
        "web.write-timeout",
        Some("10s"),
        "Close a connection whose response the client takes none of for this long (it stopped reading, or keeps its HTTP/2 window shut).",
    ),
    (
        "web.max-connections-per-address",
        Some("128"),
        "Most of the 256 connections one client address may hold. Use 0 to disable (e.g. behind a reverse proxy on the same host).",
    ),
    ("path.procfs", Some("/proc"), "procfs mountpoint."),
    ("path.sysfs", Some("/sys"), "sysfs mountpoint."),
    ("path.rootfs", Some("/"), "rootfs mountpoint."),
    ("path.udev.data", Some("/run/udev/data"), "udev data path."),
    (
        "scrape.collector-deadline",
        Some("4s"),
        "How long one collector may take in a scrape (not in node_exporter): one that \
         overruns reports node_scrape_collector_success 0 and is skipped until its call \
         returns. 0s: no deadline.",
    ),
    (
        "log.level",
        Some("info"),
        "Only log messages with the given severity or above. One of: [debug, info, warn, error]",
    ),
    (
        "log.format",
        Some("logfmt"),
        "Output format of log messages. One of: [logfmt, json]",
    ),
];

/// The exporter's own switches: name, help.
const SWITCHES: &[(&str, &str)] = &[
    (
        "web.disable-exporter-metrics",
        "Exclude metrics about the exporter itself (promhttp_*, process_*).",
    ),
    (
        "collector.disable-defaults",
        "Set all collectors to disabled by default.",
    ),
];

/// node_exporter flags that take a value and change nothing here: name, help, hidden.
const IGNORED_FLAGS: &[(&str, &str, bool)] = &[
    (
        "runtime.gomaxprocs",
        "Accepted for node_exporter compatibility; ignored.",
        true,
    ),
    (
        "collector.filesystem.stat-workers",
        "Accepted for compatibility; mounts are read in turn.",
        false,
    ),
];

/// `--name` and its hidden `--no-name` (kingpin's negation; the last one given wins),
/// each under the aliases' names too.
fn switch(name: &str, aliases: &'static [&'static str], help: String) -> [Arg; 2] {
    [
        Arg::new(name.to_owned())
            .long(name.to_owned())
            .aliases(aliases)
            .action(ArgAction::SetTrue)
            .help(help),
        Arg::new(format!("no-{name}"))
            .long(format!("no-{name}"))
            .aliases(aliases.iter().map(|a| format!("no-{a}")))
            .action(ArgAction::SetTrue)
            .hide(true),
    ]
}

/// A flag taking a value.
fn valued(name: &'static str, help: impl Into<String>) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("VALUE")
        .action(ArgAction::Set)
        .help(help.into())
}

/// The clap arguments of one row of the collector option table: its help carries the
/// default of [`Options::default`], its aliases are hidden.
fn option_args(flag: &'static Flag) -> Vec<Arg> {
    let help = match flag.default_text() {
        Some(d) => format!("{} [default: {d}]", flag.help),
        None => flag.help.to_owned(),
    };
    match flag.slot {
        Slot::Bool(_) => switch(flag.name, flag.aliases, help).into(),
        Slot::Texts(_) => vec![
            valued(flag.name, help)
                .aliases(flag.aliases)
                .action(ArgAction::Append)
                .value_name("DIR"),
        ],
        Slot::Text(_) | Slot::OptionalText(_) | Slot::Duration(_) => {
            vec![valued(flag.name, help).aliases(flag.aliases)]
        }
    }
}

/// The clap command (also used for `--help`).
pub fn command() -> Command {
    command_with(FLAGS)
}

/// The command with the collector options of `flags`.
fn command_with(flags: &[&'static Flag]) -> Command {
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
        );
    for (name, default, help) in TEXT_FLAGS {
        let arg = valued(name, *help);
        cmd = cmd.arg(match default {
            Some(d) => arg.default_value(d),
            None => arg,
        });
    }
    for (name, help, hidden) in IGNORED_FLAGS {
        cmd = cmd.arg(valued(name, *help).hide(*hidden));
    }
    for (name, help) in SWITCHES {
        cmd = cmd.args(switch(name, &[], (*help).to_owned()));
    }
    for flag in flags {
        cmd = cmd.args(option_args(flag));
    }
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
        let [on, off] = switch(&format!("collector.{name}"), &[], help);
        cmd = cmd.arg(on.hide(implemented.is_none())).arg(off);
    }
    cmd
}

/// The deprecated names (a row's aliases) given in `args`, as node_exporter warns of them;
/// an error, as node_exporter's, when a row is given under both its old and new name.
fn deprecated_names(args: &[String], flags: &[&'static Flag]) -> Result<Vec<String>, String> {
    let given = |name: &str| args.iter().any(|a| flag_name(a) == Some(name));
    let mut warnings = Vec::new();
    for flag in flags {
        for alias in flag.aliases.iter().filter(|a| given(a)) {
            if given(flag.name) {
                return Err(format!(
                    "--{alias} and --{} are mutually exclusive",
                    flag.name
                ));
            }
            warnings.push(format!(
                "--{alias} is DEPRECATED and will be removed in 2.0.0, use --{}",
                flag.name
            ));
        }
    }
    Ok(warnings)
}

/// The flag an argument names: `collector.cpu` for `--collector.cpu` and
/// `--collector.cpu=x`; `None` for a value or the program name.
fn flag_name(arg: &str) -> Option<&str> {
    let flag = arg.strip_prefix("--")?;
    Some(flag.split_once('=').map_or(flag, |(name, _)| name))
}

/// Drops `--collector.<x>.<option>` flags of collectors this exporter does not implement
/// (a node_exporter command line may carry them), returning them for a warning.
fn split_unknown(args: Vec<String>, cmd: &Command) -> (Vec<String>, Vec<String>) {
    let known = |flag: &str| {
        cmd.get_arguments().any(|a| {
            a.get_long() == Some(flag) || a.get_all_aliases().is_some_and(|v| v.contains(&flag))
        })
    };
    let mut kept = Vec::with_capacity(args.len());
    let mut ignored = Vec::new();
    let mut iter = args.into_iter().peekable();
    if let Some(prog) = iter.next() {
        kept.push(prog);
    }
    while let Some(arg) = iter.next() {
        match flag_name(&arg).map(str::to_owned) {
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

/// [`Options`] from the values of `flags` on the command line; the others keep their
/// defaults.
fn collector_options(
    m: &ArgMatches,
    flags: &[&Flag],
) -> Result<Options, kitestacks_metrics::Error> {
    let mut options = Options::default();
    for flag in flags {
        if let Slot::Bool(field) = flag.slot {
            let value = (field.get_mut)(&mut options);
            *value = last_bool(m, flag.name, *value);
            continue;
        }
        for text in m.get_many::<String>(flag.name).into_iter().flatten() {
            flag.set_text(&mut options, text)?;
        }
    }
    Ok(options)
}

fn string(m: &ArgMatches, name: &str) -> Option<String> {
    m.get_one::<String>(name).cloned()
}

/// Parses a listen address: `:9100` (all interfaces), `0.0.0.0:9100`, `[::1]:9100`,
/// `localhost:9100`; the portal's `--listen` and `[server] listen` take the same forms.
pub use kitestacks_core::parse_listen_address as parse_listen;

impl ExporterArgs {
    /// Parses a command line (the first item is the program name). `Err` is clap's
    /// error (for `--help` and `--version` too): print it and exit with its code.
    pub fn parse_from(args: Vec<String>) -> Result<Self, clap::Error> {
        Self::parse_with(args, FLAGS)
    }

    /// [`ExporterArgs::parse_from`] with the collector options of `flags`.
    fn parse_with(args: Vec<String>, flags: &[&'static Flag]) -> Result<Self, clap::Error> {
        let cmd = command_with(flags);
        let deprecated = deprecated_names(&args, flags).map_err(|msg| {
            cmd.clone()
                .error(clap::error::ErrorKind::ArgumentConflict, msg)
        })?;
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
        let mut limits = LIMITS;
        let text = string(&m, "web.write-timeout").unwrap_or_default();
        limits.write_timeout = options::parse_go_duration(&text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                invalid(format!(
                    "--web.write-timeout: {text:?} is not a positive duration (for example 10s)"
                ))
            })?;
        limits.max_connections_per_address = string(&m, "web.max-connections-per-address")
            .unwrap_or_default()
            .parse()
            .ok()
            .filter(|n| *n <= limits.max_connections)
            .ok_or_else(|| {
                invalid(format!(
                    "--web.max-connections-per-address: not a number from 0 to {}",
                    limits.max_connections
                ))
            })?;

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

        let explicit = |f: &Flag| m.value_source(f.name) == Some(ValueSource::CommandLine);
        options::check_exclusive(flags, explicit).map_err(|e| invalid(e.to_string()))?;
        let mut options = collector_options(&m, flags).map_err(|e| invalid(e.to_string()))?;
        // node_exporter's cpu collector reports /proc/cpuinfo frequencies only when the
        // cpufreq collector is on.
        options.cpufreq_enabled = collectors.contains(&"cpufreq");
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
        let deadline = string(&m, "scrape.collector-deadline").unwrap_or_default();
        let collector_deadline = options::parse_go_duration(&deadline)
            .map_err(|why| invalid(format!("--scrape.collector-deadline: {deadline:?}: {why}")))?;
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
            deprecated,
            options,
            context,
            log_level,
            log_format,
            web_config_file: string(&m, "web.config.file").map(PathBuf::from),
            limits,
            collector_deadline: (!collector_deadline.is_zero()).then_some(collector_deadline),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

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
        assert_eq!(a.limits.write_timeout, std::time::Duration::from_secs(10));
        assert_eq!(a.limits.max_connections_per_address, 128);
        assert_eq!(a.context.roots, Roots::default());
        let enabled_by_default: Vec<&str> = COLLECTORS
            .iter()
            .filter(|d| d.default_enabled)
            .map(|d| d.name)
            .collect();
        assert_eq!(a.collectors.len(), enabled_by_default.len());
    }

    #[test]
    fn the_collector_deadline_defaults_to_the_librarys_and_zero_turns_it_off() {
        let deadline = kitestacks_metrics::collector::DEFAULT_DEADLINE;
        assert_eq!(parse(&[]).collector_deadline, Some(deadline));
        let a = parse(&["--scrape.collector-deadline=250ms"]);
        assert_eq!(
            a.collector_deadline,
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(
            parse(&["--scrape.collector-deadline=0s"]).collector_deadline,
            None
        );
        let bad = ExporterArgs::parse_from(vec![
            "kitestacks-exporter".into(),
            "--scrape.collector-deadline=soon".into(),
        ]);
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("--scrape.collector-deadline")
        );
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
        assert!(bad(&["--web.write-timeout=0s"]).contains("--web.write-timeout: \"0s\""));
        assert!(
            bad(&["--web.max-connections-per-address=257"])
                .contains("--web.max-connections-per-address: not a number from 0 to 256")
        );
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

    fn bad(args: &[&str]) -> String {
        let mut v = vec!["kitestacks-exporter".to_owned()];
        v.extend(args.iter().map(|s| (*s).to_owned()));
        ExporterArgs::parse_from(v).unwrap_err().to_string()
    }

    /// `Options`' fields and their values as `{:#?}` writes them.
    fn fields(o: &Options) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for line in format!("{o:#?}").lines().skip(1) {
            match line.strip_prefix("    ").and_then(|l| l.split_once(": ")) {
                Some((name, value)) if !name.starts_with(' ') => {
                    out.push((name.to_owned(), value.to_owned()));
                }
                _ => out.last_mut().unwrap().1.push_str(line.trim()),
            }
        }
        out
    }

    #[test]
    fn every_option_flag_is_registered_with_its_help_and_default() {
        let help = command().render_long_help().to_string();
        for flag in FLAGS {
            assert!(help.contains(&format!("--{}", flag.name)), "{}", flag.name);
            assert!(help.contains(flag.help), "{}: {help}", flag.name);
            if let Some(d) = flag.default_text() {
                assert!(
                    help.contains(&format!("{} [default: {d}]", flag.help)),
                    "{}",
                    flag.name
                );
            }
        }
        assert!(help.contains("[default: 5s]"));
        assert!(
            !help.contains("--no-collector.cpu.guest"),
            "negations are hidden"
        );
    }

    #[test]
    fn each_option_flag_sets_its_own_field_and_no_other() {
        let defaults = fields(&Options::default());
        for flag in FLAGS {
            let arg = match flag.slot {
                Slot::Bool(f) if *(f.get)(&Options::default()) => format!("--no-{}", flag.name),
                Slot::Bool(_) => format!("--{}", flag.name),
                Slot::Duration(_) => format!("--{}=1234ms", flag.name),
                _ => format!("--{}=probe", flag.name),
            };
            let options = parse(&[&arg]).options;
            let changed: Vec<(String, String)> = fields(&options)
                .into_iter()
                .filter(|f| !defaults.contains(f))
                .collect();
            assert_eq!(changed.len(), 1, "{arg}: {changed:?}");
            let (field, value) = &changed[0];
            assert_eq!(field, flag.field(), "{arg}");
            let expected = match flag.slot {
                Slot::Bool(_) => "",
                Slot::Duration(_) => "1.234s",
                _ => "\"probe\"",
            };
            assert!(value.contains(expected), "{arg}: {value}");
        }
    }

    #[test]
    fn both_flags_of_an_exclusive_pair_are_refused_by_name() {
        let pairs: Vec<_> = FLAGS
            .iter()
            .filter_map(|f| f.exclusive_with.map(|o| (f.name, o.name)))
            .collect();
        assert!(!pairs.is_empty());
        for (a, b) in pairs {
            let e = bad(&[&format!("--{b}=x"), &format!("--{a}"), "y"]);
            assert!(
                e.contains(&format!("--{a} and --{b} are mutually exclusive")),
                "{e}"
            );
            parse(&[&format!("--{a}=y")]);
            parse(&[&format!("--{b}=x")]);
        }
    }

    #[test]
    fn mount_timeout_takes_a_go_duration() {
        let timeout = |args: &[&str]| parse(args).options.filesystem_mount_timeout;
        assert_eq!(timeout(&[]), std::time::Duration::from_secs(5));
        assert_eq!(
            timeout(&["--collector.filesystem.mount-timeout=500ms"]),
            std::time::Duration::from_millis(500)
        );
        assert_eq!(
            timeout(&["--collector.filesystem.mount-timeout", "1m"]),
            std::time::Duration::from_secs(60)
        );
        let e = bad(&["--collector.filesystem.mount-timeout=soon"]);
        assert!(
            e.contains("--collector.filesystem.mount-timeout: \"soon\" is not a duration"),
            "{e}"
        );
        assert!(bad(&["--collector.filesystem.mount-timeout=5"]).contains("without a unit"));
    }

    #[test]
    fn a_row_alias_is_the_flag_under_another_name() {
        const OLD_EXCLUDE: Flag = options::FILESYSTEM_MOUNT_POINTS_EXCLUDE
            .aliases(&["collector.filesystem.ignored-mount-points"]);
        const OLD_SWITCH: Flag = options::STAT_SOFTIRQ.aliases(&["collector.stat.old-softirq"]);
        let parse = |args: &[&str]| {
            let mut v = vec!["kitestacks-exporter".to_owned()];
            v.extend(args.iter().map(|s| (*s).to_owned()));
            // A partner of an exclusive pair is always a row of the same table.
            let table = [
                &OLD_EXCLUDE,
                &options::FILESYSTEM_MOUNT_POINTS_INCLUDE,
                &OLD_SWITCH,
            ];
            ExporterArgs::parse_with(v, &table).unwrap()
        };
        let a = parse(&[
            "--collector.filesystem.ignored-mount-points=^/x",
            "--collector.stat.old-softirq",
        ]);
        assert!(a.ignored_flags.is_empty(), "{:?}", a.ignored_flags);
        assert_eq!(a.options.filesystem_mount_points_exclude, "^/x");
        assert!(a.options.stat_softirq);
        let a = parse(&[
            "--collector.stat.softirq",
            "--no-collector.stat.old-softirq",
        ]);
        assert!(!a.options.stat_softirq);
        let help = command_with(&[&OLD_EXCLUDE]).render_long_help().to_string();
        assert!(!help.contains("ignored-mount-points"), "aliases are hidden");
    }

    /// A node_exporter unit file with the deprecated names still works: each sets its
    /// new flag's field, with node_exporter's warning; old and new together are refused.
    #[test]
    fn node_exporters_deprecated_flag_names_are_honoured_with_its_warning() {
        let parse = |args: &[&str]| {
            let mut v = vec!["kitestacks-exporter".to_owned()];
            v.extend(args.iter().map(|s| (*s).to_owned()));
            ExporterArgs::parse_from(v)
        };
        let a = parse(&[
            "--collector.filesystem.ignored-mount-points=^/old$",
            "--collector.filesystem.ignored-fs-types",
            "^oldfs$",
            "--collector.diskstats.ignored-devices=^olddisk$",
            "--collector.netdev.device-blacklist=^oldnet$",
        ])
        .unwrap();
        assert_eq!(a.options.filesystem_mount_points_exclude, "^/old$");
        assert_eq!(a.options.filesystem_fs_types_exclude, "^oldfs$");
        assert_eq!(a.options.diskstats_device_exclude, "^olddisk$");
        assert_eq!(a.options.netdev_device_exclude.as_deref(), Some("^oldnet$"));
        assert!(a.ignored_flags.is_empty(), "{:?}", a.ignored_flags);
        assert_eq!(a.deprecated.len(), 4, "{:?}", a.deprecated);
        assert!(
            a.deprecated.contains(
                &"--collector.filesystem.ignored-mount-points is DEPRECATED and will be removed \
              in 2.0.0, use --collector.filesystem.mount-points-exclude"
                    .to_owned()
            )
        );
        let a = parse(&["--collector.netdev.device-whitelist=^eth"]).unwrap();
        assert_eq!(a.options.netdev_device_include.as_deref(), Some("^eth"));
        assert_eq!(
            a.deprecated,
            [
                "--collector.netdev.device-whitelist is DEPRECATED and will be removed in 2.0.0, \
              use --collector.netdev.device-include"
            ]
        );
        let e = parse(&[
            "--collector.filesystem.ignored-mount-points=^/a",
            "--collector.filesystem.mount-points-exclude=^/b",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--collector.filesystem.ignored-mount-points and --collector.filesystem.mount-points-exclude are mutually exclusive"),
            "{e}"
        );
        assert!(
            parse(&["--collector.filesystem.mount-points-exclude=^/b"])
                .unwrap()
                .deprecated
                .is_empty()
        );
    }
}
