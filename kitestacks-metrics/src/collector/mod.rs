//! node_exporter-compatible collectors: one file per collector behind the small
//! [`Collector`] trait, all listed in [`COLLECTORS`]. Each has node_exporter's name,
//! metric families, labels, HELP text and default on/off. [`NodeCollector`] runs the
//! enabled ones and adds `node_scrape_collector_duration_seconds` and
//! `node_scrape_collector_success` for each; with a deadline
//! ([`NodeCollector::with_deadline`]) they run on a worker thread and one that overruns
//! costs its own figures only ([`Running`]). [`ProcessCollector`] adds the exporter's own
//! `process_*` families.
//!
//! Collectors read through the same [`Roots`] and the same sans-IO parsers as the
//! [`Sampler`](crate::Sampler), so the portal's figures and the exporter's agree.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::Error;
use crate::exposition::Scrape;
use crate::roots::Roots;

pub use deadline::Running;
pub(crate) use pressure::parse_psi;
pub use process::ProcessCollector;

mod arp;
mod attr;
mod bcache;
mod bcachefs;
mod bonding;
mod btrfs;
mod buddyinfo;
mod conntrack;
mod containers;
mod cpu;
mod cpufreq;
mod deadline;
mod device_filter;
mod diskstats;
mod dmi;
mod dmmultipath;
mod edac;
mod entropy;
mod fibrechannel;
mod filefd;
mod filesystem;
mod hwmon;
mod infiniband;
mod interrupts;
mod ipvs;
mod kernel_hung;
mod ksmd;
mod loadavg;
mod mdadm;
mod meminfo;
mod meminfo_numa;
mod mountstats;
mod netclass;
mod netdev;
mod netstat;
mod nfs;
mod nfsd;
mod nvme;
pub mod options;
mod os;
mod powersupplyclass;
mod pressure;
mod process;
mod processes;
#[cfg(test)]
mod props;
mod rapl;
mod schedstat;
mod selinux;
mod sockstat;
mod softirqs;
mod softnet;
mod stat;
mod tapestats;
mod textfile;
mod thermal_zone;
mod time;
mod timex;
mod udp_queues;
mod uname;
mod vmstat;
mod watchdog;
mod xfs;
mod zfs;
mod zoneinfo;

/// What every collector can see: where the host's trees are.
#[derive(Debug, Clone)]
pub struct Context {
    /// procfs, sysfs, rootfs.
    pub roots: Roots,
    /// udev's database directory (`--path.udev.data`, default `/run/udev/data`).
    pub udev_data: PathBuf,
}

impl Default for Context {
    fn default() -> Self {
        Self {
            roots: Roots::default(),
            udev_data: PathBuf::from("/run/udev/data"),
        }
    }
}

/// One collector. `update` adds its families to `out`; an error makes the scrape report
/// `node_scrape_collector_success 0` for it (and whatever it added is dropped), while the
/// rest of the scrape is served. A collector with nothing to report on this host (no
/// hwmon chips, no thermal zones) returns `Ok` with no series: that is not a failure.
pub trait Collector: Send {
    /// Reads the host and adds series.
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error>;

    /// Moves the problems of the last successful `update` that did not fail it into
    /// `into` (a textfile left out): the library logs nothing, so [`NodeCollector`] hands
    /// them to its caller in [`Report::warnings`]. None by default.
    fn warnings(&mut self, into: &mut Vec<Error>) {
        let _ = into;
    }
}

/// What went wrong in one scrape, for the caller to log (the library logs nothing).
#[derive(Debug, Default)]
pub struct Report {
    /// The collectors that reported `node_scrape_collector_success 0`, and why: their
    /// own error, [`Error::Deadline`], [`Error::StillRunning`] or [`Error::Panicked`].
    pub failures: Vec<(&'static str, Error)>,
    /// Problems of collectors that succeeded, e.g. a textfile left out (which sets
    /// `node_textfile_scrape_error`).
    pub warnings: Vec<(&'static str, Error)>,
}

/// How a collector is found and built.
pub struct Definition {
    /// node_exporter's name (`--collector.<name>`).
    pub name: &'static str,
    /// Whether node_exporter enables it by default.
    pub default_enabled: bool,
    /// Name prefixes of the metric families it emits (for the fixture comparison: every
    /// family of node_exporter's expected output that starts with one of these belongs
    /// to this collector).
    pub families: &'static [&'static str],
    /// Builds it from the options (compiling its patterns).
    pub build: fn(&Options) -> Result<Box<dyn Collector>, Error>,
}

impl std::fmt::Debug for Definition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Definition")
            .field("name", &self.name)
            .field("default_enabled", &self.default_enabled)
            .finish()
    }
}

/// Every collector, in name order. Adding one is a file plus a line here.
pub const COLLECTORS: &[Definition] = &[
    arp::DEFINITION,
    bcache::DEFINITION,
    bcachefs::DEFINITION,
    bonding::DEFINITION,
    btrfs::DEFINITION,
    buddyinfo::DEFINITION,
    conntrack::DEFINITION,
    containers::DEFINITION,
    cpu::DEFINITION,
    cpufreq::DEFINITION,
    diskstats::DEFINITION,
    dmi::DEFINITION,
    dmmultipath::DEFINITION,
    edac::DEFINITION,
    entropy::DEFINITION,
    fibrechannel::DEFINITION,
    filefd::DEFINITION,
    filesystem::DEFINITION,
    hwmon::DEFINITION,
    infiniband::DEFINITION,
    interrupts::DEFINITION,
    ipvs::DEFINITION,
    kernel_hung::DEFINITION,
    ksmd::DEFINITION,
    loadavg::DEFINITION,
    mdadm::DEFINITION,
    meminfo::DEFINITION,
    meminfo_numa::DEFINITION,
    mountstats::DEFINITION,
    netclass::DEFINITION,
    netdev::DEFINITION,
    netstat::DEFINITION,
    nfs::DEFINITION,
    nfsd::DEFINITION,
    nvme::DEFINITION,
    os::DEFINITION,
    powersupplyclass::DEFINITION,
    pressure::DEFINITION,
    processes::DEFINITION,
    rapl::DEFINITION,
    schedstat::DEFINITION,
    selinux::DEFINITION,
    sockstat::DEFINITION,
    softirqs::DEFINITION,
    softnet::DEFINITION,
    stat::DEFINITION,
    tapestats::DEFINITION,
    textfile::DEFINITION,
    thermal_zone::DEFINITION,
    time::DEFINITION,
    timex::DEFINITION,
    udp_queues::DEFINITION,
    uname::DEFINITION,
    vmstat::DEFINITION,
    watchdog::DEFINITION,
    xfs::DEFINITION,
    zfs::DEFINITION,
    zoneinfo::DEFINITION,
];

/// node_exporter's "core set": the collectors a host dashboard needs (CPU, memory, load,
/// filesystems, network, disks, kernel counters, identity, clock). BENCHMARKS.md's
/// anchor figures, the scrape bench and the `collector_costs` example run this set.
pub const CORE_SET: &[&str] = &[
    "cpu",
    "meminfo",
    "loadavg",
    "filesystem",
    "netdev",
    "diskstats",
    "stat",
    "uname",
    "time",
];

/// The per-collector options, with node_exporter's flag names and defaults. Each field
/// but `cpufreq_enabled` is set by one flag of [`options::FLAGS`], which names, documents
/// and parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--collector.arp.device-include`.
    pub arp_device_include: Option<String>,
    /// `--collector.arp.device-exclude`.
    pub arp_device_exclude: Option<String>,
    /// `--collector.bcache.priorityStats` (default false).
    pub bcache_priority_stats: bool,
    /// `--collector.cpu.guest` (default true).
    pub cpu_guest: bool,
    /// `--collector.cpu.info` (default false).
    pub cpu_info: bool,
    /// `--collector.cpu.info.flags-include`.
    pub cpu_info_flags_include: Option<String>,
    /// `--collector.cpu.info.bugs-include`.
    pub cpu_info_bugs_include: Option<String>,
    /// Whether the cpufreq collector is enabled (`--collector.cpufreq`, default true):
    /// node_exporter's cpu collector adds `node_cpu_frequency_hertz` from `/proc/cpuinfo`
    /// (with `--collector.cpu.info`) only then. The binary sets it from the enabled set.
    pub cpufreq_enabled: bool,
    /// `--collector.diskstats.device-exclude`.
    pub diskstats_device_exclude: String,
    /// `--collector.diskstats.device-include`.
    pub diskstats_device_include: Option<String>,
    /// `--collector.filesystem.mount-points-exclude`.
    pub filesystem_mount_points_exclude: String,
    /// `--collector.filesystem.mount-points-include`.
    pub filesystem_mount_points_include: Option<String>,
    /// `--collector.filesystem.fs-types-exclude`.
    pub filesystem_fs_types_exclude: String,
    /// `--collector.filesystem.fs-types-include`.
    pub filesystem_fs_types_include: Option<String>,
    /// `--collector.filesystem.mount-timeout` (default 5 s): how long one mount's
    /// `statfs(2)` is waited for before it is reported with
    /// `device_error="mountpoint timeout"` (and not asked again while the call hangs).
    pub filesystem_mount_timeout: std::time::Duration,
    /// `--collector.hwmon.chip-include`.
    pub hwmon_chip_include: Option<String>,
    /// `--collector.hwmon.chip-exclude`.
    pub hwmon_chip_exclude: Option<String>,
    /// `--collector.hwmon.sensor-include`.
    pub hwmon_sensor_include: Option<String>,
    /// `--collector.hwmon.sensor-exclude`.
    pub hwmon_sensor_exclude: Option<String>,
    /// `--collector.infiniband.device-include`.
    pub infiniband_device_include: Option<String>,
    /// `--collector.infiniband.device-exclude`.
    pub infiniband_device_exclude: Option<String>,
    /// `--collector.interrupts.name-include`: interrupts whose `type;info;devices`
    /// matches are reported.
    pub interrupts_name_include: Option<String>,
    /// `--collector.interrupts.name-exclude`: interrupts whose `type;info;devices`
    /// matches are not reported.
    pub interrupts_name_exclude: Option<String>,
    /// `--collector.interrupts.include-zeros` (default true): report counts of 0.
    pub interrupts_include_zeros: bool,
    /// `--collector.ipvs.backend-labels`: comma-separated labels of the
    /// `node_ipvs_backend_*` series (default [`IPVS_BACKEND_LABELS`], all of them).
    pub ipvs_backend_labels: String,
    /// `--collector.netclass.ignored-devices` (default `^$`).
    pub netclass_ignored_devices: String,
    /// `--collector.netclass.ignore-invalid-speed`.
    pub netclass_ignore_invalid_speed: bool,
    /// `--collector.netdev.device-include`.
    pub netdev_device_include: Option<String>,
    /// `--collector.netdev.device-exclude`.
    pub netdev_device_exclude: Option<String>,
    /// `--collector.netstat.fields`.
    pub netstat_fields: String,
    /// `--collector.powersupply.ignored-supplies` (default `^$`).
    pub powersupply_ignored_supplies: String,
    /// `--collector.rapl.enable-zone-label`.
    pub rapl_enable_zone_label: bool,
    /// `--collector.stat.softirq`.
    pub stat_softirq: bool,
    /// `--collector.tapestats.ignored-devices` (default `^$`).
    pub tapestats_ignored_devices: String,
    /// `--collector.textfile.directory` (repeatable).
    pub textfile_directories: Vec<String>,
    /// `--collector.vmstat.fields`.
    pub vmstat_fields: String,
}

/// node_exporter's default `--collector.diskstats.device-exclude`.
pub const DISKSTATS_DEVICE_EXCLUDE: &str = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$";
/// node_exporter's default `--collector.ipvs.backend-labels`: every label.
pub const IPVS_BACKEND_LABELS: &str =
    "local_address,local_port,remote_address,remote_port,proto,local_mark";
/// node_exporter's default `--collector.netstat.fields`.
pub const NETSTAT_FIELDS: &str = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$";
/// node_exporter's default `--collector.vmstat.fields`.
pub const VMSTAT_FIELDS: &str = "^(oom_kill|pgpg|pswp|pg.*fault).*";

impl Default for Options {
    fn default() -> Self {
        Self {
            arp_device_include: None,
            arp_device_exclude: None,
            bcache_priority_stats: false,
            cpu_guest: true,
            cpu_info: false,
            cpu_info_flags_include: None,
            cpu_info_bugs_include: None,
            cpufreq_enabled: true,
            diskstats_device_exclude: DISKSTATS_DEVICE_EXCLUDE.to_owned(),
            diskstats_device_include: None,
            filesystem_mount_points_exclude: crate::DEFAULT_MOUNT_POINTS_EXCLUDE.to_owned(),
            filesystem_mount_points_include: None,
            filesystem_fs_types_exclude: crate::DEFAULT_FS_TYPES_EXCLUDE.to_owned(),
            filesystem_fs_types_include: None,
            filesystem_mount_timeout: crate::mounts::DEFAULT_MOUNT_TIMEOUT,
            hwmon_chip_include: None,
            hwmon_chip_exclude: None,
            hwmon_sensor_include: None,
            hwmon_sensor_exclude: None,
            infiniband_device_include: None,
            infiniband_device_exclude: None,
            interrupts_name_include: None,
            interrupts_name_exclude: None,
            interrupts_include_zeros: true,
            ipvs_backend_labels: IPVS_BACKEND_LABELS.to_owned(),
            netclass_ignored_devices: "^$".to_owned(),
            netclass_ignore_invalid_speed: false,
            netdev_device_include: None,
            netdev_device_exclude: None,
            netstat_fields: NETSTAT_FIELDS.to_owned(),
            powersupply_ignored_supplies: "^$".to_owned(),
            rapl_enable_zone_label: false,
            stat_softirq: false,
            tapestats_ignored_devices: "^$".to_owned(),
            textfile_directories: Vec::new(),
            vmstat_fields: VMSTAT_FIELDS.to_owned(),
        }
    }
}

/// The definition of the collector called `name`.
pub fn definition(name: &str) -> Option<&'static Definition> {
    COLLECTORS.iter().find(|d| d.name == name)
}

/// Runs the enabled collectors and gathers one scrape.
pub struct NodeCollector {
    context: Arc<Context>,
    /// The collectors, sorted by name, each behind its own lock.
    slots: Arc<[deadline::Slot]>,
    /// How long one collector may take; `None`: no deadline, they run on the caller's
    /// thread.
    deadline: Option<Duration>,
    /// The worker thread of [`NodeCollector::start`], started on first use.
    worker: Option<Arc<deadline::Worker>>,
}

impl std::fmt::Debug for NodeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCollector")
            .field("context", &self.context)
            .field("collectors", &self.names().collect::<Vec<_>>())
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// The default per-collector deadline of the exporter (`--scrape.collector-deadline`):
/// well under Prometheus' default scrape timeout of 10 s.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(4);

impl NodeCollector {
    /// Builds the named collectors (unknown names are an error). They run on the
    /// caller's thread without a deadline until [`NodeCollector::with_deadline`].
    pub fn new(context: Context, enabled: &[&str], options: &Options) -> Result<Self, Error> {
        let mut collectors = Vec::with_capacity(enabled.len());
        for name in enabled {
            let def =
                definition(name).ok_or_else(|| Error::UnknownCollector((*name).to_owned()))?;
            collectors.push((def.name, (def.build)(options)?));
        }
        Ok(Self::from_collectors(context, collectors))
    }

    /// Collectors given as they are, sorted by name.
    fn from_collectors(
        context: Context,
        mut collectors: Vec<(&'static str, Box<dyn Collector>)>,
    ) -> Self {
        collectors.sort_by_key(|(n, _)| *n);
        Self {
            context: Arc::new(context),
            slots: collectors
                .into_iter()
                .map(|(name, c)| deadline::Slot {
                    name,
                    collector: Mutex::new(c),
                })
                .collect(),
            deadline: None,
            worker: None,
        }
    }

    /// Runs the collectors on a worker thread, each under `deadline` (`None`: on the
    /// caller's thread, without one). A collector that overruns reports
    /// `node_scrape_collector_success 0` and the rest of the scrape goes on without it;
    /// it is not run again until its call returns (see [`Running`]). node_exporter has
    /// no such deadline.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The names of the enabled collectors, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.slots.iter().map(|s| s.name)
    }

    /// Runs the collectors that `wanted` accepts (all if it always says yes) and returns
    /// their families plus the per-collector duration and success series. A failing
    /// collector's partial output is dropped and its error reported.
    pub fn scrape(&mut self, wanted: impl FnMut(&str) -> bool) -> (Scrape, Report) {
        let mut all = Scrape::new();
        let report = self.scrape_into(&mut all, wanted);
        (all, report)
    }

    /// [`NodeCollector::scrape`] into `out`: pass the same [`Scrape`] every time, emptied
    /// with [`Scrape::clear`], and its families are found without building an index anew.
    /// Blocks until done (with a deadline: at most the deadline per collector).
    pub fn scrape_into(&mut self, out: &mut Scrape, wanted: impl FnMut(&str) -> bool) -> Report {
        let (done, report) = self.start(std::mem::take(out), wanted).wait();
        *out = done;
        report
    }

    /// Starts a scrape of the collectors that `wanted` accepts into `out` (emptied
    /// with [`Scrape::clear`]): await the [`Running`] (polling it again by
    /// [`Running::next_check`]) or [`Running::wait`] for it. Without a deadline the
    /// collectors run right here, and it is finished when returned.
    pub fn start(&mut self, out: Scrape, mut wanted: impl FnMut(&str) -> bool) -> Running<'_> {
        let wanted = (0..self.slots.len())
            .filter(|&i| wanted(self.slots[i].name))
            .collect();
        Running::new(self, wanted, out)
    }

    /// The worker thread, started if there is none; `None` if none can be started.
    fn worker(&mut self) -> Option<Arc<deadline::Worker>> {
        if self.worker.is_none() {
            self.worker = deadline::Worker::spawn(self.slots.clone(), self.context.clone());
        }
        self.worker.clone()
    }
}

impl Drop for NodeCollector {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.abandon();
        }
    }
}

/// Test helpers shared by the collectors' unit tests: a fixture tree, a context over it,
/// one scrape, its text.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    use super::{Collector, Context};
    use crate::error::Error;
    use crate::exposition::Scrape;
    use crate::roots::Roots;

    /// Writes `text` to `root/rel`, creating the directories on the way.
    pub(crate) fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// The context of a host whose trees are under `root`: `<root>/proc`, `<root>/sys`,
    /// `<root>`, and udev's database at `<root>/udev`.
    pub(crate) fn context(root: &Path) -> Context {
        Context {
            roots: Roots::under(root),
            udev_data: root.join("udev"),
        }
    }

    /// The context of a host with `sysfs` at `dir` (and the real procfs and rootfs).
    pub(crate) fn sysfs(dir: &Path) -> Context {
        with_roots(Roots {
            sysfs: dir.to_owned(),
            ..Roots::default()
        })
    }

    /// The context of a host with `procfs` at `dir` (and the real sysfs and rootfs).
    pub(crate) fn procfs(dir: &Path) -> Context {
        with_roots(Roots {
            procfs: dir.to_owned(),
            ..Roots::default()
        })
    }

    fn with_roots(roots: Roots) -> Context {
        Context {
            roots,
            ..Context::default()
        }
    }

    /// Runs `collector` once in `ctx` and returns what it added.
    pub(crate) fn update(collector: &mut dyn Collector, ctx: &Context) -> Result<Scrape, Error> {
        let mut s = Scrape::new();
        collector.update(ctx, &mut s)?;
        Ok(s)
    }

    /// Runs `collector` once over the trees under `root` and returns what it added.
    pub(crate) fn scrape_tree(collector: &mut dyn Collector, root: &Path) -> Result<Scrape, Error> {
        update(collector, &context(root))
    }

    /// The text of a scrape.
    pub(crate) fn render(s: &mut Scrape) -> String {
        let mut text = String::new();
        s.render(&mut text);
        text
    }

    /// Runs `collector` once in `ctx` and renders what it added.
    pub(crate) fn text(collector: &mut dyn Collector, ctx: &Context) -> Result<String, Error> {
        update(collector, ctx).map(|mut s| render(&mut s))
    }

    /// Runs `collector` once over the trees under `root` and renders what it added.
    pub(crate) fn scrape_once(collector: &mut dyn Collector, root: &Path) -> Result<String, Error> {
        text(collector, &context(root))
    }
}
