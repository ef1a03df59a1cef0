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

/// node_exporter's collectors that this exporter does not implement: their
/// `--[no-]collector.<name>` switches are accepted (an enabled one is logged as a warning
/// and ignored), so node_exporter command lines keep working. All of them are off by
/// default in node_exporter too. From node_exporter 1.12.1's Linux build
/// (`registerCollector` in `collector/*.go`); the implemented ones are
/// [`kitestacks_metrics::collector::COLLECTORS`].
const UNIMPLEMENTED_COLLECTORS: &[&str] = &[
    "cgroups",
    "cpu_vulnerabilities",
    "drbd",
    "drm",
    "ethtool",
    "lnstat",
    "logind",
    "network_route",
    "ntp",
    "nvmesubsystem",
    "pcidevice",
    "perf",
    "qdisc",
    "runit",
    "slabinfo",
    "supervisord",
    "swap",
    "sysctl",
    "systemd",
    "tcpstat",
    "wifi",
    "xfrm",
];

/// What a node_exporter flag takes: a switch (kingpin's bool: `--x` and `--no-x`) or a
/// value (`--x=v` or `--x v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    Switch,
    Value,
}

/// node_exporter's flags that this exporter does not implement, other than the
/// collector switches of [`UNIMPLEMENTED_COLLECTORS`]: accepted, logged as a warning and
/// ignored. With the implemented ones (the clap command: [`FLAGS`], the exporter's own
/// flags) and the collector switches, this is node_exporter 1.12.1's complete flag list
/// on Linux: `kingpin.Flag` in `collector/*.go` and `node_exporter.go`, exporter-toolkit
/// 0.17.1's `web/kingpinflag` and prometheus/common 0.70.1's `promslog/flag`. A flag in
/// none of them is an error, as in node_exporter.
const UNIMPLEMENTED_FLAGS: &[(&str, Takes)] = &[
    ("collector.arp.netlink", Takes::Switch),
    ("collector.ethtool.device-exclude", Takes::Value),
    ("collector.ethtool.device-include", Takes::Value),
    ("collector.ethtool.metrics-include", Takes::Value),
    ("collector.filesystem.stat-workers", Takes::Value),
    ("collector.netclass.netlink", Takes::Switch),
    ("collector.netclass_rtnl.with-stats", Takes::Switch),
    ("collector.netdev.address-info", Takes::Switch),
    ("collector.netdev.enable-detailed-metrics", Takes::Switch),
    ("collector.netdev.label-ifalias", Takes::Switch),
    ("collector.netdev.netlink", Takes::Switch),
    ("collector.ntp.ip-ttl", Takes::Value),
    ("collector.ntp.local-offset-tolerance", Takes::Value),
    ("collector.ntp.max-distance", Takes::Value),
    ("collector.ntp.protocol-version", Takes::Value),
    ("collector.ntp.server", Takes::Value),
    ("collector.ntp.server-is-local", Takes::Switch),
    ("collector.ntp.server-port", Takes::Value),
    ("collector.pcidevice.idsfile", Takes::Value),
    ("collector.pcidevice.names", Takes::Switch),
    ("collector.perf.cache-profilers", Takes::Value),
    ("collector.perf.cpus", Takes::Value),
    ("collector.perf.disable-cache-profilers", Takes::Switch),
    ("collector.perf.disable-hardware-profilers", Takes::Switch),
    ("collector.perf.disable-software-profilers", Takes::Switch),
    ("collector.perf.hardware-profilers", Takes::Value),
    ("collector.perf.software-profilers", Takes::Value),
    ("collector.perf.tracepoint", Takes::Value),
    ("collector.qdisc.device-exclude", Takes::Value),
    ("collector.qdisc.device-include", Takes::Value),
    ("collector.qdisc.fixtures", Takes::Value),
    ("collector.qdisk.device-exclude", Takes::Value),
    ("collector.qdisk.device-include", Takes::Value),
    ("collector.runit.servicedir", Takes::Value),
    ("collector.slabinfo.slabs-exclude", Takes::Value),
    ("collector.slabinfo.slabs-include", Takes::Value),
    ("collector.supervisord.url", Takes::Value),
    ("collector.sysctl.include", Takes::Value),
    ("collector.sysctl.include-info", Takes::Value),
    ("collector.systemd.enable-restarts-metrics", Takes::Switch),
    ("collector.systemd.enable-start-time-metrics", Takes::Switch),
    ("collector.systemd.enable-task-metrics", Takes::Switch),
    ("collector.systemd.private", Takes::Switch),
    ("collector.systemd.unit-blacklist", Takes::Value),
    ("collector.systemd.unit-exclude", Takes::Value),
    ("collector.systemd.unit-include", Takes::Value),
    ("collector.systemd.unit-whitelist", Takes::Value),
    ("collector.wifi.fixtures", Takes::Value),
    ("runtime.gomaxprocs", Takes::Value),
    ("web.systemd-socket", Takes::Switch),
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
        "Path to configuration file that can enable TLS or basic authentication (exporter-toolkit's \
         format). Without one: plain HTTP, no authentication.",
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
        .long_about(
            "A node_exporter-compatible Prometheus exporter for Linux hosts: same metric names, \
             labels, HELP text and flags, at a fraction of the cost.\n\n\
             Every switch has a --no- form (--no-collector.cpu.guest); the last one given wins.",
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
    for (name, help) in SWITCHES {
        cmd = cmd.args(switch(name, &[], (*help).to_owned()));
    }
    for flag in flags {
        cmd = cmd.args(option_args(flag));
    }
    // The collector switches are documented by `collectors_help`, in kingpin's
    // `--[no-]` form, which clap cannot show.
    let names = COLLECTORS.iter().map(|d| d.name);
    for name in names.chain(UNIMPLEMENTED_COLLECTORS.iter().copied()) {
        let [on, off] = switch(&format!("collector.{name}"), &[], String::new());
        cmd = cmd.arg(on.hide(true)).arg(off);
    }
    cmd.after_help(collectors_help())
}

/// The help's last part: every collector's `--[no-]collector.<name>` switch with its
/// default state, then what node_exporter knows and this exporter does not implement.
fn collectors_help() -> String {
    let mut out = String::from(
        "Collectors (--collector.<name> enables one, --no-collector.<name> disables it; the \
         last one given wins; --collector.disable-defaults turns every default off):\n",
    );
    let width = COLLECTORS.iter().map(|d| d.name.len()).max().unwrap_or(0) + 18;
    for d in COLLECTORS {
        let state = if d.default_enabled {
            "enabled"
        } else {
            "disabled"
        };
        let switch = format!("--[no-]collector.{}", d.name);
        out.push_str(&format!(
            "  {switch:width$}  Enable the {} collector [default: {state}]\n",
            d.name
        ));
    }
    out.push_str(
        "\nKnown to node_exporter but not implemented here: accepted, logged as a warning and \
         ignored (a flag node_exporter does not know is an error).\n",
    );
    let collectors = UNIMPLEMENTED_COLLECTORS
        .iter()
        .map(|c| format!("--[no-]collector.{c}"));
    let flags = UNIMPLEMENTED_FLAGS.iter().map(|(name, takes)| match takes {
        Takes::Switch => format!("--[no-]{name}"),
        Takes::Value => format!("--{name}"),
    });
    for (title, items) in [
        ("Collectors", collectors.collect::<Vec<_>>()),
        ("Flags", flags.collect()),
    ] {
        out.push_str(&format!("  {title}:\n"));
        let mut line = String::from("   ");
        for item in items {
            if line.len() + item.len() > 96 {
                out.push_str(line.trim_end());
                out.push('\n');
                line = String::from("   ");
            }
            line.push(' ');
            line.push_str(&item);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
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

/// Splits off the flags of [`UNIMPLEMENTED_FLAGS`] (with their values), returning them
/// for a warning; `Err` names every flag that neither this exporter nor node_exporter
/// knows, each with the nearest known name when one is close ("did you mean").
fn split_ignored(args: Vec<String>, cmd: &Command) -> Result<(Vec<String>, Vec<String>), String> {
    let mut cmd = cmd.clone();
    cmd.build(); // adds --help and --version
    let registered = |flag: &str| {
        cmd.get_arguments().find(|a| {
            a.get_long() == Some(flag) || a.get_all_aliases().is_some_and(|v| v.contains(&flag))
        })
    };
    let unimplemented = |flag: &str| {
        UNIMPLEMENTED_FLAGS.iter().find_map(|(name, takes)| {
            let negated = flag.strip_prefix("no-") == Some(*name);
            (flag == *name || (negated && *takes == Takes::Switch)).then_some(*takes)
        })
    };
    let mut kept = Vec::with_capacity(args.len());
    let mut ignored = Vec::new();
    let mut unknown = Vec::new();
    let mut iter = args.into_iter().peekable();
    kept.extend(iter.next()); // the program name
    while let Some(arg) = iter.next() {
        let Some(name) = flag_name(&arg).map(str::to_owned) else {
            kept.push(arg);
            continue;
        };
        let inline_value = arg.contains('=');
        if name.is_empty() {
            // `--`: the rest are not flags.
            kept.push(arg);
            kept.extend(iter.by_ref());
        } else if let Some(a) = registered(&name) {
            let takes_value = a.get_action().takes_values();
            kept.push(arg);
            if takes_value && !inline_value {
                kept.extend(iter.next());
            }
        } else if let Some(takes) = unimplemented(&name) {
            match iter.next_if(|_| takes == Takes::Value && !inline_value) {
                Some(value) => ignored.push(format!("{arg} {value}")),
                None => ignored.push(arg),
            }
        } else {
            unknown.push(match nearest(&name, &cmd) {
                Some(known) => format!("unknown long flag '--{name}', did you mean '--{known}'?"),
                None => format!("unknown long flag '--{name}'"),
            });
        }
    }
    if unknown.is_empty() {
        Ok((kept, ignored))
    } else {
        Err(unknown.join("\n"))
    }
}

/// The known flag name nearest to `name` by edit distance, if it is close: at most a
/// third of the name differs. Deprecated names are never suggested.
fn nearest(name: &str, cmd: &Command) -> Option<String> {
    let registered = cmd.get_arguments().filter_map(|a| a.get_long());
    let unimplemented = UNIMPLEMENTED_FLAGS.iter().flat_map(|(n, takes)| {
        let negated = (*takes == Takes::Switch).then(|| format!("no-{n}"));
        std::iter::once((*n).to_owned()).chain(negated)
    });
    registered
        .map(str::to_owned)
        .chain(unimplemented)
        .map(|known| (kitestacks_core::edit_distance(name, &known), known))
        .filter(|(d, _)| d * 3 <= name.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known)
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
        let (args, ignored_flags) = split_ignored(args, &cmd).map_err(|msg| {
            cmd.clone()
                .error(clap::error::ErrorKind::UnknownArgument, msg)
        })?;
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
        for d in COLLECTORS {
            let default = d.default_enabled && !disable_defaults;
            if last_bool(&m, &format!("collector.{}", d.name), default) {
                collectors.push(d.name);
            }
        }
        for name in UNIMPLEMENTED_COLLECTORS {
            if last_bool(&m, &format!("collector.{name}"), false) {
                unimplemented.push((*name).to_owned());
            }
        }

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
            help.lines().all(|l| !l.trim_start().starts_with("--no-")),
            "negations are not listed: one sentence says every switch has one"
        );
        assert!(help.contains("Every switch has a --no- form (--no-collector.cpu.guest)"));
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

    /// A flag node_exporter does not know is an error naming it, with the nearest known
    /// name; every unknown flag of the line is named at once.
    #[test]
    fn a_flag_node_exporter_does_not_know_is_an_error_with_a_suggestion() {
        let e = bad(&["--collector.cpuu"]);
        assert!(
            e.contains("unknown long flag '--collector.cpuu', did you mean '--collector.cpu'?"),
            "{e}"
        );
        let e = bad(&[
            "--collector.filesystem.mount-point-exclude=^/x",
            "--web.listen-adress",
            ":9100",
            "--no-collector.systemd.unit-include",
            "--frobnicate",
        ]);
        for line in [
            "unknown long flag '--collector.filesystem.mount-point-exclude', did you mean \
             '--collector.filesystem.mount-points-exclude'?",
            "unknown long flag '--web.listen-adress', did you mean '--web.listen-address'?",
            // kingpin's `--no-` is for switches only.
            "unknown long flag '--no-collector.systemd.unit-include', did you mean \
             '--collector.systemd.unit-include'?",
            "unknown long flag '--frobnicate'\n",
        ] {
            assert!(e.contains(line), "{line}: {e}");
        }
        let kind = |args: &[&str]| {
            let mut v = vec!["kitestacks-exporter".to_owned()];
            v.extend(args.iter().map(|s| (*s).to_owned()));
            ExporterArgs::parse_from(v).unwrap_err().kind()
        };
        assert_eq!(
            kind(&["--collector.cpuu"]),
            clap::error::ErrorKind::UnknownArgument
        );
        // Deprecated names are honoured but never suggested.
        let e = bad(&["--collector.netdev.device-whitelistt=x"]);
        assert!(
            e.contains("did you mean '--collector.netdev.device-include"),
            "{e}"
        );
    }

    /// The value of an ignored flag, given apart from it, goes with it, whatever it looks
    /// like; an ignored switch takes none.
    #[test]
    fn values_and_the_end_of_flags_are_not_checked_as_flags() {
        let a = parse(&["--collector.ntp.server", "--x", "--collector.cpu.info"]);
        assert_eq!(a.ignored_flags, ["--collector.ntp.server --x"]);
        assert!(a.options.cpu_info);
        // An unimplemented switch takes no value: the next flag is a flag.
        let a = parse(&[
            "--collector.netdev.enable-detailed-metrics",
            "--collector.cpu.info",
        ]);
        assert_eq!(
            a.ignored_flags,
            ["--collector.netdev.enable-detailed-metrics"]
        );
        assert!(a.options.cpu_info);
        let a = parse(&["--no-collector.netdev.netlink", "--web.systemd-socket"]);
        assert_eq!(
            a.ignored_flags,
            ["--no-collector.netdev.netlink", "--web.systemd-socket"]
        );
    }

    /// The unimplemented tables hold only what this exporter does not implement: no name
    /// in them is registered (or is a collector), and each is in name order.
    #[test]
    fn the_unimplemented_tables_and_the_implemented_flags_do_not_overlap() {
        let mut cmd = command();
        cmd.build();
        let registered: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
        for (name, _) in UNIMPLEMENTED_FLAGS {
            assert!(!registered.contains(name), "{name}");
            assert!(FLAGS.iter().all(|f| !f.aliases.contains(name)), "{name}");
        }
        for name in UNIMPLEMENTED_COLLECTORS {
            assert!(
                kitestacks_metrics::collector::definition(name).is_none(),
                "{name}"
            );
        }
        let names: Vec<&str> = UNIMPLEMENTED_FLAGS.iter().map(|(n, _)| *n).collect();
        assert!(names.is_sorted(), "{names:?}");
        assert!(UNIMPLEMENTED_COLLECTORS.is_sorted());
    }

    /// `--help` shows every collector's `--[no-]` switch with its default state, and lists
    /// what node_exporter knows and this exporter ignores apart.
    #[test]
    fn help_shows_the_collector_switches_and_the_ignored_ones_apart() {
        let help = command().render_long_help().to_string();
        for d in COLLECTORS {
            let state = if d.default_enabled {
                "enabled"
            } else {
                "disabled"
            };
            let line = help
                .lines()
                .find(|l| {
                    l.trim_start()
                        .starts_with(&format!("--[no-]collector.{} ", d.name))
                })
                .unwrap_or_else(|| panic!("{}: {help}", d.name));
            assert!(
                line.ends_with(&format!(
                    "Enable the {} collector [default: {state}]",
                    d.name
                )),
                "{line}"
            );
        }
        let (implemented, ignored) = help
            .split_once("Known to node_exporter but not implemented here")
            .unwrap();
        for name in UNIMPLEMENTED_COLLECTORS {
            let switch = format!("--[no-]collector.{name}");
            assert!(
                ignored.contains(&format!("{switch} ")) || ignored.contains(&format!("{switch}\n")),
                "{name}"
            );
            assert!(!implemented.contains(&switch), "{name}");
        }
        assert!(ignored.contains("--[no-]collector.netdev.netlink"));
        assert!(ignored.contains("--collector.systemd.unit-include"));
        assert!(help.contains("--collector.disable-defaults"));
    }
}
