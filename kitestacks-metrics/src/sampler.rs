//! The long-lived [`Sampler`]: it keeps its files open, the previous counters for rates,
//! and the mount list (re-read only when the kernel says the mounts changed), and turns
//! each call into a [`Sample`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::diskstats::{self, DiskStat};
use crate::error::Error;
use crate::filters::Filters;
use crate::mountinfo::Mount;
use crate::mounts::{self, FsStats, Guard, MountTable, Probe, StatfsFn};
use crate::net_dev::{self, NetDev};
use crate::roots::Roots;
use crate::sample::{
    Cpu, CpuModes, Disk, Filesystem, HostInfo, Interface, Load, Memory, Network, Sample, Swap,
    Temperature,
};
use crate::source::TextFile;
use crate::stat::{self, CpuTimes, Stat};
use crate::thermal::{self, Sensor};
use crate::{loadavg, meminfo, os_release};

/// Takes samples of one host. Keep one alive: it holds the previous counters that rates
/// are computed from, so two samplers would each see half the picture.
#[derive(Debug)]
pub struct Sampler {
    roots: Roots,
    filters: Filters,
    stat: TextFile,
    meminfo: TextFile,
    loadavg: TextFile,
    diskstats: TextFile,
    net_dev: TextFile,
    mounts: MountTable<Selected>,
    statfs: Guard<std::io::Result<Option<FsStats>>>,
    sensors: Vec<Sensor>,
    /// The sensors' value files, read from a guard's worker: a driver that asks a failing
    /// disk (`drivetemp`, NVMe) can hold a read for as long as its command timeout.
    sensor_paths: Arc<[PathBuf]>,
    sensor_reads: Guard<Result<f64, Error>>,
    statics: Statics,
    previous: Option<Previous>,
    virtual_interfaces: HashMap<String, bool>,
    /// The containers' pass, when asked for ([`Sampler::with_containers`]).
    containers: Option<crate::cgroup::Tracker>,
}

#[derive(Debug, Default)]
struct Statics {
    hostname: String,
    kernel_release: Option<String>,
    os_name: Option<String>,
    os_version: Option<String>,
    os_pretty_name: Option<String>,
}

#[derive(Debug)]
struct Previous {
    at: Instant,
    cpu: Option<(CpuTimes, Vec<Option<CpuTimes>>)>,
    disks: HashMap<String, (u64, u64, u64)>,
    interfaces: HashMap<String, (u64, u64)>,
}

/// The mounts to report, and where each is under the rootfs.
#[derive(Debug)]
struct Selected {
    mounts: Vec<Mount>,
    paths: Arc<[PathBuf]>,
}

/// The sampler's question about a mount: `None` if its mount point is not a directory
/// (a bind-mounted file, e.g. a container's `/etc/hosts`), else what `statfs` says. Both
/// are asked from the guard's worker: a `stat` of a dead NFS mount hangs as well.
fn probe(statfs: Arc<StatfsFn>) -> Arc<Probe<std::io::Result<Option<FsStats>>>> {
    Arc::new(move |path: &Path| {
        if !path.is_dir() {
            return Ok(None);
        }
        statfs(path).map(Some)
    })
}

impl Sampler {
    /// A sampler reading the host under `roots`, reporting what `filters` let through.
    /// Files are opened on first use; nothing here fails.
    pub fn new(roots: Roots, filters: Filters) -> Self {
        let pick =
            |first: PathBuf, fallback: PathBuf| if first.exists() { first } else { fallback };
        // The host's network namespace and mount namespace are those of its PID 1: with
        // the host's /proc mounted in a container, `net/dev` and `self/mountinfo` would
        // be the container's own.
        let net_dev = pick(roots.proc("1/net/dev"), roots.proc("net/dev"));
        let sensors = thermal::discover(&roots);
        let statics = statics(&roots);
        Self {
            stat: TextFile::new(roots.proc("stat")),
            meminfo: TextFile::new(roots.proc("meminfo")),
            loadavg: TextFile::new(roots.proc("loadavg")),
            diskstats: TextFile::new(roots.proc("diskstats")),
            net_dev: TextFile::new(net_dev),
            mounts: MountTable::default(),
            statfs: Guard::new(
                probe(Arc::new(mounts::statfs)),
                mounts::DEFAULT_MOUNT_TIMEOUT,
            ),
            sensor_paths: sensors.iter().map(|s| s.path().to_owned()).collect(),
            sensor_reads: Guard::new(
                Arc::new(thermal::read_celsius_at),
                mounts::DEFAULT_MOUNT_TIMEOUT,
            ),
            sensors,
            statics,
            previous: None,
            virtual_interfaces: HashMap::new(),
            containers: None,
            roots,
            filters,
        }
    }

    /// This sampler with another `statfs(2)` for the filesystems (by default
    /// [`mounts::statfs`]): tests pass one that blocks, as a dead NFS server does.
    pub fn with_statfs(
        mut self,
        statfs: impl Fn(&Path) -> std::io::Result<FsStats> + Send + Sync + 'static,
    ) -> Self {
        self.statfs = Guard::new(probe(Arc::new(statfs)), self.statfs.timeout());
        self
    }

    /// This sampler with another limit (by default [`mounts::DEFAULT_MOUNT_TIMEOUT`]) on
    /// how long one filesystem's `statfs(2)`, or one temperature sensor's read, is
    /// waited for. A filesystem or sensor that does not answer in time is left out of
    /// [`Sample::filesystems`] or [`Sample::temperatures`] and named in
    /// [`Sample::errors`]; while its call hangs, later samples do not wait for it again.
    pub fn with_mount_timeout(mut self, timeout: Duration) -> Self {
        let probe = self.statfs.probe();
        self.statfs = Guard::new(probe, timeout);
        let read = self.sensor_reads.probe();
        self.sensor_reads = Guard::new(read, timeout);
        self
    }

    /// This sampler with a pass over the host's containers in every sample
    /// ([`Sample::containers`]), through the same roots.
    pub fn with_containers(mut self) -> Self {
        self.containers = Some(crate::cgroup::Tracker::new(self.roots.clone()));
        self
    }

    /// The roots this sampler reads.
    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Takes one sample. Parts that fail are listed in [`Sample::errors`] and left
    /// empty; the rest is still reported.
    pub fn sample(&mut self) -> Sample {
        let now = Instant::now();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let interval = self
            .previous
            .as_ref()
            .map(|p| now.duration_since(p.at).as_secs_f64());
        let mut errors = Vec::new();
        let mut note = |e: Error| errors.push(e.to_string());

        let stat = self.stat.parse(stat::parse).map_err(&mut note).ok();
        let mem = self.meminfo.parse(meminfo::parse).map_err(&mut note).ok();
        let load = self.loadavg.parse(loadavg::parse).map_err(&mut note).ok();
        let disks = self
            .diskstats
            .parse(diskstats::parse)
            .map_err(&mut note)
            .ok();
        let nets = self.net_dev.parse(net_dev::parse).map_err(&mut note).ok();
        let filesystems = self.filesystems(&mut note);
        let temperatures = self.temperatures(&mut note);
        let process_count = count_processes(&self.roots);

        let previous = self.previous.take();
        let cpu = stat
            .as_ref()
            .map(|s| cpu(s, previous.as_ref().and_then(|p| p.cpu.as_ref())));
        let disks_out = disks
            .as_deref()
            .map(|d| self.disks(d, previous.as_ref(), interval))
            .unwrap_or_default();
        let network = nets
            .as_deref()
            .map(|n| self.network(n, previous.as_ref(), interval))
            .unwrap_or_default();

        self.previous = Some(Previous {
            at: now,
            cpu: stat.as_ref().map(|s| (s.total, s.cores.clone())),
            disks: disks
                .iter()
                .flatten()
                .map(|d| {
                    (
                        d.name.clone(),
                        (d.read_bytes(), d.written_bytes(), d.io_time_ms),
                    )
                })
                .collect(),
            interfaces: nets
                .iter()
                .flatten()
                .map(|n| (n.name.clone(), (n.rx_bytes, n.tx_bytes)))
                .collect(),
        });

        let containers = self.containers.as_mut().map(|t| {
            let c = t.sample();
            errors.extend(c.errors.iter().cloned());
            c
        });
        let boot_time = stat.as_ref().map(|s| s.boot_time);
        Sample {
            timestamp_seconds: timestamp,
            interval_seconds: interval,
            host: HostInfo {
                hostname: self.statics.hostname.clone(),
                kernel_release: self.statics.kernel_release.clone(),
                os_name: self.statics.os_name.clone(),
                os_version: self.statics.os_version.clone(),
                os_pretty_name: self.statics.os_pretty_name.clone(),
                boot_time_seconds: boot_time,
                uptime_seconds: boot_time.map(|b| (timestamp as u64).saturating_sub(b)),
                process_count,
                thread_count: load.map(|l| l.threads),
            },
            cpu,
            load: load.map(|l| Load {
                load1: l.load1,
                load5: l.load5,
                load15: l.load15,
            }),
            memory: mem.as_ref().map(memory),
            swap: mem.as_ref().map(swap),
            filesystems,
            disks: disks_out,
            network,
            temperatures,
            containers,
            errors,
        }
    }

    fn filesystems(&mut self, note: &mut impl FnMut(Error)) -> Vec<Filesystem> {
        let (filters, roots) = (&self.filters, &self.roots);
        let selected = match self.mounts.get(roots, |all, _| {
            let mounts = select_mounts(all, filters);
            let paths = mounts.iter().map(|m| roots.root(&m.mount_point)).collect();
            Ok(Selected { mounts, paths })
        }) {
            Ok(s) => s,
            Err(e) => {
                note(e);
                return Vec::new();
            }
        };
        let answers = self.statfs.run(&selected.paths, |_| true);
        let mut out = Vec::with_capacity(answers.len());
        for ((m, path), answer) in selected.mounts.iter().zip(&*selected.paths).zip(answers) {
            match answer {
                Some(Ok(Some(s))) => out.push(filesystem(m, &s)),
                Some(Ok(None)) => {}
                Some(Err(source)) => note(Error::Read {
                    path: path.clone(),
                    source,
                }),
                None => note(Error::MountTimeout {
                    path: path.clone(),
                    timeout: self.statfs.timeout(),
                }),
            }
        }
        out
    }

    /// Every sensor's temperature. The reads go through a guard (one hand-over to its
    /// worker per sample): a sensor whose read hangs is left out and named in the errors,
    /// and is not waited for again while that read hangs; the others are reported.
    fn temperatures(&mut self, note: &mut impl FnMut(Error)) -> Vec<Temperature> {
        if self.sensors.is_empty() {
            return Vec::new();
        }
        let answers = self.sensor_reads.run(&self.sensor_paths, |_| true);
        let mut out = Vec::with_capacity(self.sensors.len());
        for ((s, path), answer) in self.sensors.iter().zip(&*self.sensor_paths).zip(answers) {
            match answer {
                Some(Ok(celsius)) => out.push(Temperature {
                    chip: s.chip.clone(),
                    label: s.label.clone(),
                    celsius,
                }),
                Some(Err(e)) => note(e),
                None => note(Error::SensorTimeout {
                    path: path.clone(),
                    timeout: self.sensor_reads.timeout(),
                }),
            }
        }
        out
    }

    fn disks(
        &self,
        disks: &[DiskStat],
        prev: Option<&Previous>,
        interval: Option<f64>,
    ) -> Vec<Disk> {
        disks
            .iter()
            .filter(|d| self.filters.disk(&d.name))
            .map(|d| {
                let before = prev.and_then(|p| p.disks.get(&d.name));
                let (read, written) = (d.read_bytes(), d.written_bytes());
                Disk {
                    name: d.name.clone(),
                    read_bytes_total: read,
                    written_bytes_total: written,
                    read_bytes_per_second: rate(before.map(|b| b.0), read, interval),
                    write_bytes_per_second: rate(before.map(|b| b.1), written, interval),
                    io_time_percent: rate(before.map(|b| b.2), d.io_time_ms, interval)
                        .map(|ms_per_s| (ms_per_s / 10.0).min(100.0)),
                }
            })
            .collect()
    }

    fn network(
        &mut self,
        nets: &[NetDev],
        prev: Option<&Previous>,
        interval: Option<f64>,
    ) -> Network {
        let mut net = Network {
            receive_bytes_per_second: Some(0.0),
            transmit_bytes_per_second: Some(0.0),
            ..Network::default()
        };
        for n in nets {
            if !self.filters.interface(&n.name)
                || (self.filters.exclude_virtual_interfaces && self.is_virtual(&n.name))
            {
                continue;
            }
            let before = prev.and_then(|p| p.interfaces.get(&n.name));
            let rx = rate(before.map(|b| b.0), n.rx_bytes, interval);
            let tx = rate(before.map(|b| b.1), n.tx_bytes, interval);
            net.receive_bytes_per_second = sum(net.receive_bytes_per_second, rx);
            net.transmit_bytes_per_second = sum(net.transmit_bytes_per_second, tx);
            net.received_bytes_total += n.rx_bytes;
            net.sent_bytes_total += n.tx_bytes;
            net.interfaces.push(Interface {
                name: n.name.clone(),
                received_bytes_total: n.rx_bytes,
                sent_bytes_total: n.tx_bytes,
                received_packets_total: n.rx_packets,
                sent_packets_total: n.tx_packets,
                receive_errors_total: n.rx_errs,
                transmit_errors_total: n.tx_errs,
                receive_bytes_per_second: rx,
                transmit_bytes_per_second: tx,
            });
        }
        if interval.is_none() {
            net.receive_bytes_per_second = None;
            net.transmit_bytes_per_second = None;
        }
        net
    }

    fn is_virtual(&mut self, name: &str) -> bool {
        if let Some(&v) = self.virtual_interfaces.get(name) {
            return v;
        }
        let v = self.roots.sys("devices/virtual/net").join(name).exists();
        self.virtual_interfaces.insert(name.to_owned(), v);
        v
    }
}

fn sum(acc: Option<f64>, x: Option<f64>) -> Option<f64> {
    Some(acc? + x?)
}

/// The per-second rate of a counter; `None` without a previous value, without an
/// interval, or when the counter went backwards (reset, interface re-created, wrap).
pub fn rate(before: Option<u64>, now: u64, interval_seconds: Option<f64>) -> Option<f64> {
    let (before, secs) = (before?, interval_seconds?);
    if now < before || secs <= 0.0 {
        return None;
    }
    Some((now - before) as f64 / secs)
}

fn cpu(stat: &Stat, prev: Option<&(CpuTimes, Vec<Option<CpuTimes>>)>) -> Cpu {
    let per_core = stat
        .cores
        .iter()
        .enumerate()
        .map(|(i, cur)| {
            let before = prev.and_then(|p| p.1.get(i).copied().flatten());
            busy_percent(before.as_ref(), cur.as_ref()?)
        })
        .collect();
    Cpu {
        cores: stat.cores.iter().flatten().count(),
        busy_percent: prev.and_then(|p| busy_percent(Some(&p.0), &stat.total)),
        per_core_busy_percent: per_core,
        modes: prev.and_then(|p| modes(&p.0, &stat.total)),
    }
}

/// The change of every mode between two readings, or `None` if any went backwards.
fn delta(a: &CpuTimes, b: &CpuTimes) -> Option<CpuTimes> {
    Some(CpuTimes {
        user: b.user.checked_sub(a.user)?,
        nice: b.nice.checked_sub(a.nice)?,
        system: b.system.checked_sub(a.system)?,
        idle: b.idle.checked_sub(a.idle)?,
        iowait: b.iowait.checked_sub(a.iowait)?,
        irq: b.irq.checked_sub(a.irq)?,
        softirq: b.softirq.checked_sub(a.softirq)?,
        steal: b.steal.checked_sub(a.steal)?,
        guest: b.guest.checked_sub(a.guest)?,
        guest_nice: b.guest_nice.checked_sub(a.guest_nice)?,
    })
}

/// Busy share between two readings; `None` if no tick elapsed (an interval shorter than
/// the kernel's 10 ms accounting) or a counter went backwards.
pub fn busy_percent(before: Option<&CpuTimes>, now: &CpuTimes) -> Option<f64> {
    let d = delta(before?, now)?;
    let total = d.total();
    (total > 0).then(|| d.busy() as f64 * 100.0 / total as f64)
}

fn modes(before: &CpuTimes, now: &CpuTimes) -> Option<CpuModes> {
    let d = delta(before, now)?;
    let total = d.total();
    if total == 0 {
        return None;
    }
    let pct = |x: u64| x as f64 * 100.0 / total as f64;
    Some(CpuModes {
        user_percent: pct(d.user.saturating_sub(d.guest)),
        nice_percent: pct(d.nice.saturating_sub(d.guest_nice)),
        system_percent: pct(d.system),
        idle_percent: pct(d.idle),
        iowait_percent: pct(d.iowait),
        irq_percent: pct(d.irq),
        softirq_percent: pct(d.softirq),
        steal_percent: pct(d.steal),
        guest_percent: pct(d.guest.saturating_add(d.guest_nice)),
    })
}

fn memory(m: &meminfo::Meminfo) -> Memory {
    let available = m.available.min(m.total);
    let used = m.total - available;
    Memory {
        total_bytes: m.total,
        available_bytes: available,
        used_bytes: used,
        free_bytes: m.free,
        buffers_bytes: m.buffers,
        cached_bytes: m.cached,
        used_percent: percent(used, m.total),
    }
}

fn swap(m: &meminfo::Meminfo) -> Swap {
    let free = m.swap_free.min(m.swap_total);
    let used = m.swap_total - free;
    Swap {
        total_bytes: m.swap_total,
        used_bytes: used,
        free_bytes: free,
        used_percent: percent(used, m.swap_total),
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn filesystem(m: &Mount, s: &FsStats) -> Filesystem {
    let unit = if s.fragment_size > 0 {
        s.fragment_size
    } else {
        s.block_size
    };
    let size = s.blocks.saturating_mul(unit);
    let free = s.blocks_free.saturating_mul(unit);
    let available = s.blocks_available.saturating_mul(unit);
    let used = size.saturating_sub(free);
    Filesystem {
        device: m.source.clone(),
        mount_point: m.mount_point.clone(),
        fs_type: m.fs_type.clone(),
        size_bytes: size,
        used_bytes: used,
        available_bytes: available,
        used_percent: percent(used, used + available),
        read_only: m.read_only() || s.read_only,
        inodes_total: s.files,
        inodes_free: s.files_free,
    }
}

/// Filters the mount list by mount point and type, and keeps one entry per device and
/// mount point. (Bind-mounted files are left out later, by [`probe`].)
fn select_mounts(all: Vec<Mount>, filters: &Filters) -> Vec<Mount> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Mount> = Vec::new();
    for m in all {
        if !filters.mount(&m.mount_point, &m.fs_type) {
            continue;
        }
        if !seen.insert((m.source.clone(), m.mount_point.clone())) {
            continue;
        }
        out.push(m);
    }
    out
}

/// Counts `/proc/<pid>` directories.
fn count_processes(roots: &Roots) -> Option<u64> {
    let rd = std::fs::read_dir(&roots.procfs).ok()?;
    Some(
        rd.filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .as_encoded_bytes()
                    .iter()
                    .all(u8::is_ascii_digit)
            })
            .count() as u64,
    )
}

fn statics(roots: &Roots) -> Statics {
    let read = |p: PathBuf| {
        crate::source::read_to_string(&p)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    // In a container with the host's root mounted, /etc/hostname under it names the host;
    // the kernel's own value is the container's UTS namespace.
    let hostname = if roots.rootfs != std::path::Path::new("/") {
        read(roots.root("/etc/hostname")).or_else(|| read(roots.proc("sys/kernel/hostname")))
    } else {
        read(roots.proc("sys/kernel/hostname")).or_else(|| read(roots.root("/etc/hostname")))
    };
    let os = os_release::read(roots).unwrap_or_default();
    Statics {
        hostname: hostname.unwrap_or_else(|| "unknown".to_owned()),
        kernel_release: read(roots.proc("sys/kernel/osrelease")),
        os_name: os.name,
        os_version: os.version.or(os.version_id),
        os_pretty_name: os.pretty_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: u64, idle: u64) -> CpuTimes {
        CpuTimes {
            user,
            idle,
            ..CpuTimes::default()
        }
    }

    /// A sensor whose value file does not answer (a FIFO without a writer stands for a
    /// driver asking a failing disk) costs that sensor, not the sample.
    #[test]
    fn a_stuck_sensor_costs_its_own_figure() {
        use rustix::fs::{CWD, FileType, Mode, OFlags};
        let dir = tempfile::tempdir().unwrap();
        let hwmon = dir.path().join("sys/class/hwmon/hwmon0");
        std::fs::create_dir_all(&hwmon).unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(dir.path().join("proc/loadavg"), "0.5 0.25 0.125 1/100 42\n").unwrap();
        std::fs::write(hwmon.join("name"), "drivetemp\n").unwrap();
        std::fs::write(hwmon.join("temp2_input"), "45000\n").unwrap();
        let stuck = hwmon.join("temp1_input");
        rustix::fs::mknodat(CWD, &stuck, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let roots = Roots::under(dir.path());
        std::thread::spawn(move || {
            let mut sampler = Sampler::new(roots, Filters::default())
                .with_mount_timeout(Duration::from_millis(50));
            let samples = [sampler.sample(), sampler.sample()];
            let _ = tx.send(samples);
        });
        let samples = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a stuck sensor held the sample");
        // Release the hung open.
        drop(rustix::fs::open(
            &stuck,
            OFlags::WRONLY | OFlags::NONBLOCK,
            Mode::empty(),
        ));
        for s in &samples {
            assert_eq!(s.load.as_ref().map(|l| l.load1), Some(0.5));
            let temps: Vec<_> = s
                .temperatures
                .iter()
                .map(|t| (&*t.label, t.celsius))
                .collect();
            assert_eq!(temps, [("temp2", 45.0)]);
            assert!(
                s.errors
                    .iter()
                    .any(|e| e.contains("temp1_input") && e.contains("no answer")),
                "{:?}",
                s.errors
            );
        }
    }

    #[test]
    fn a_stuck_mount_costs_its_own_figures_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["proc/1", "data", "nfs"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("proc/1/mountinfo"),
            "30 1 259:3 / /data rw,relatime - ext4 /dev/sdb1 rw\n\
             31 1 0:50 / /nfs rw,relatime - nfs4 nas:/export rw\n",
        )
        .unwrap();
        let stuck = crate::mounts::testing::Stuck::new("nfs");
        let statfs = stuck.statfs();
        let mut sampler = Sampler::new(Roots::under(root), Filters::default())
            .with_statfs(move |p| statfs(p))
            .with_mount_timeout(Duration::from_millis(50));
        for _ in 0..2 {
            let sample = sampler.sample();
            let points: Vec<&str> = sample
                .filesystems
                .iter()
                .map(|f| f.mount_point.as_str())
                .collect();
            assert_eq!(
                points,
                ["/data"],
                "the answering mount is there, the stuck one not"
            );
            assert_eq!(sample.filesystems[0].size_bytes, 4096 * 1000);
            let nfs = root.join("nfs").display().to_string();
            let errors: Vec<&String> = sample.errors.iter().filter(|e| e.contains(&nfs)).collect();
            assert_eq!(errors.len(), 1, "{:?}", sample.errors);
            assert!(
                errors[0].contains("no answer to statfs within 50ms"),
                "{errors:?}"
            );
        }
        assert_eq!(
            stuck.calls(),
            1,
            "the second sample did not ask the stuck mount again"
        );
    }

    #[test]
    fn rates_are_null_first_and_after_a_reset() {
        assert_eq!(rate(None, 100, Some(1.0)), None, "first sample");
        assert_eq!(rate(Some(100), 300, Some(2.0)), Some(100.0));
        assert_eq!(
            rate(Some(300), 100, Some(2.0)),
            None,
            "counter went backwards"
        );
        assert_eq!(rate(Some(100), 100, Some(0.0)), None, "no time elapsed");
        assert_eq!(rate(Some(100), 300, None), None);
    }

    #[test]
    fn busy_percent_over_a_sequence_of_counters() {
        let seq = [
            t(0, 0),
            t(50, 50),
            t(50, 150),
            t(10, 10),
            t(110, 10),
            t(110, 10),
        ];
        let got: Vec<Option<f64>> = seq
            .windows(2)
            .map(|w| busy_percent(Some(&w[0]), &w[1]))
            .collect();
        assert_eq!(got, [Some(50.0), Some(0.0), None, Some(100.0), None]);
        assert_eq!(busy_percent(None, &t(1, 1)), None);
    }

    #[test]
    fn modes_sum_to_100_and_guest_is_split_out_of_user() {
        let a = CpuTimes::default();
        let b = CpuTimes {
            user: 40,
            nice: 10,
            system: 10,
            idle: 30,
            iowait: 5,
            steal: 5,
            guest: 20,
            guest_nice: 5,
            ..a
        };
        let m = modes(&a, &b).unwrap();
        assert_eq!(m.user_percent, 20.0);
        assert_eq!(m.nice_percent, 5.0);
        assert_eq!(m.guest_percent, 25.0);
        let total = m.user_percent
            + m.nice_percent
            + m.system_percent
            + m.idle_percent
            + m.iowait_percent
            + m.irq_percent
            + m.softirq_percent
            + m.steal_percent
            + m.guest_percent;
        assert!((total - 100.0).abs() < 1e-9, "{total}");
    }

    #[test]
    fn guest_counters_near_the_top_of_u64_do_not_overflow() {
        // A /proc/stat claiming counters near u64::MAX (as the property tests feed it).
        let a = CpuTimes::default();
        let b = CpuTimes {
            user: 10,
            guest: u64::MAX,
            guest_nice: 1,
            ..a
        };
        let m = modes(&a, &b).unwrap();
        assert!(m.guest_percent.is_finite());
    }
}
