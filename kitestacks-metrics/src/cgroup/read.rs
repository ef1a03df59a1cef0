//! One pass over the host's containers: the walk, then each container's cgroup files
//! (kept open between passes) read into [`Stats`], with names from the runtimes' files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ByCgroup;
use super::discover::{self, Found, Layout, Runtime};
use super::parse::{self, BlkioKind, CpuMax, IoStat};
use super::runtime::{Meta, MetaCache};
use crate::error::{Error, ParseError};
use crate::net_dev::{self, NetDev};
use crate::roots::Roots;
use crate::source::OpenFile;

/// CPU time used, microseconds since the container started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuUsage {
    /// User and system together.
    pub usage_usec: u64,
    /// User mode.
    pub user_usec: u64,
    /// Kernel mode.
    pub system_usec: u64,
    /// Enforcement periods elapsed (with a limit only).
    pub nr_periods: u64,
    /// Periods in which it was throttled.
    pub nr_throttled: u64,
    /// Time throttled.
    pub throttled_usec: u64,
}

/// Memory, bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Everything charged to the cgroup (`memory.current`, v1 `memory.usage_in_bytes`).
    pub usage: u64,
    /// Usage minus inactive file cache, floored at 0 (cAdvisor's working set).
    pub working_set: u64,
    /// Anonymous memory (cAdvisor's `rss`).
    pub anon: u64,
    /// Page cache (cAdvisor's `cache`).
    pub file: u64,
    /// The limit; `None` when it has none.
    pub limit: Option<u64>,
    /// Swap used, where the kernel accounts it.
    pub swap: Option<u64>,
    /// Processes killed by the OOM killer in this cgroup, where the kernel counts them.
    pub oom_kills: Option<u64>,
}

/// Block I/O of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Io {
    /// `/dev/<name>` where sysfs names the device, else `major:minor`.
    pub device: String,
    /// The counters.
    pub stat: IoStat,
}

/// Pressure stall totals of one resource, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Psi {
    /// Some tasks waited.
    pub some_usec: Option<u64>,
    /// No task could make progress.
    pub full_usec: Option<u64>,
}

/// Pressure stall information per resource, where the kernel has it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pressure {
    /// CPU.
    pub cpu: Option<Psi>,
    /// Memory.
    pub memory: Option<Psi>,
    /// Block I/O.
    pub io: Option<Psi>,
}

/// A container's counters at one moment. A figure its cgroup does not have (a
/// controller not enabled, v1's missing pressure) is `None` or empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// CPU time.
    pub cpu: Option<CpuUsage>,
    /// The CPU limit, if it has one.
    pub cpu_limit: Option<CpuMax>,
    /// Memory.
    pub memory: Option<MemoryUsage>,
    /// Block I/O per device.
    pub io: Vec<Io>,
    /// Tasks (threads) now (`pids.current`).
    pub tasks: Option<u64>,
    /// The task limit (`pids.max`), if it has one.
    pub tasks_max: Option<u64>,
    /// Processes now (`cgroup.procs`).
    pub processes: Option<u64>,
    /// Pressure.
    pub pressure: Pressure,
    /// The interfaces of its own network namespace (loopback and host-side veth left
    /// out, as cAdvisor); `None` when it shares the host's namespace or it cannot be told.
    pub network: Option<Vec<NetDev>>,
}

/// One container found in a pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// Where its cgroup is, and which runtime made it.
    pub found: Found,
    /// Its name: the runtime's, else the first 12 digits of its id.
    pub name: String,
    /// What its runtime's files say.
    pub meta: Meta,
    /// Its counters.
    pub stats: Stats,
}

impl Container {
    /// The id as `docker ps` shows it: 12 hex digits (an LXC container's name as it is).
    pub fn short_id(&self) -> &str {
        match self.found.runtime {
            Runtime::Lxc => &self.found.id,
            _ => &self.found.id[..self.found.id.len().min(12)],
        }
    }
}

/// The result of one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pass {
    /// Every container, sorted by cgroup path.
    pub containers: Vec<Container>,
    /// Files that could not be read or parsed this time (not those that vanished with
    /// their container, and not absent controllers).
    pub errors: Vec<String>,
}

/// Reads the host's containers. Keep one alive: it keeps each container's files open
/// (re-read with `pread`) and the runtimes' parsed files.
#[derive(Debug)]
pub struct Reader {
    roots: Roots,
    layout: Option<Layout>,
    files: ByCgroup<Files>,
    meta: MetaCache,
    devices: HashMap<(u32, u32), String>,
    host_netns: TextLink,
    /// The one buffer every file is read into, lent to each container's [`Files`].
    buf: Vec<u8>,
}

/// A symbolic link read each pass (`<procfs>/1/ns/net`).
#[derive(Debug)]
struct TextLink(PathBuf);

impl TextLink {
    fn target(&self) -> Option<PathBuf> {
        std::fs::read_link(&self.0).ok()
    }
}

/// One container's open files, by a static key.
#[derive(Debug, Default)]
struct Files {
    open: Vec<(&'static str, OpenFile)>,
    /// The reader's buffer, lent for the pass over this container: every file is read
    /// into it and parsed at once.
    buf: Vec<u8>,
    /// The first process of `cgroup.procs` at the last read.
    first_pid: Option<u32>,
    /// The process whose namespace was last looked at, and its `net/dev` (`None`: it
    /// shares the host's namespace).
    net_pid: Option<u32>,
    net: Option<OpenFile>,
    /// Whether a file was missing in this pass (absent controller, or the cgroup going
    /// away): only then is the directory checked before the container is reported.
    missing: bool,
}

impl Files {
    /// [`Files::get`] of a one-value file `key` in `dir` (`None`: absent, or `max`).
    fn value<T>(
        &mut self,
        dir: &Path,
        key: &'static str,
        parse: fn(&str) -> Result<Option<T>, ParseError>,
        errors: &mut Vec<String>,
    ) -> Option<T> {
        self.get(key, || dir.join(key), parse, errors).flatten()
    }

    /// Reads and parses the file `key` (opened at `path()` the first time). Absent files
    /// and those of a removed cgroup are `None` without an error; others are noted.
    fn get<T>(
        &mut self,
        key: &'static str,
        path: impl FnOnce() -> PathBuf,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
        errors: &mut Vec<String>,
    ) -> Option<T> {
        let i = match self.open.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                // Every control file but `cgroup.procs` is one record; that has one
                // per process. Either way one read a pass, not two.
                let file = if key == "cgroup.procs" {
                    OpenFile::records(path(), PID_LINE)
                } else {
                    OpenFile::one_record(path())
                };
                self.open.push((key, file));
                self.open.len() - 1
            }
        };
        let r = self.open[i].1.parse_into(&mut self.buf, parse);
        self.missing |= r.as_ref().err().is_some_and(gone);
        quiet(r, errors)
    }
}

/// A missing file, or one of a removed cgroup (`ENODEV`).
fn gone(e: &Error) -> bool {
    matches!(e, Error::Read { source, .. }
        if source.kind() == std::io::ErrorKind::NotFound
            || source.raw_os_error() == Some(libc::ENODEV))
}

/// `Ok` as `Some`; a [`gone`] file as `None`; any other error noted.
fn quiet<T>(r: Result<T, Error>, errors: &mut Vec<String>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) if gone(&e) => None,
        Err(e) => {
            errors.push(e.to_string());
            None
        }
    }
}

/// The longest line of `cgroup.procs`: a process id (at most 2^22) and a newline.
const PID_LINE: usize = 8;
/// The longest line of `net/dev`: an interface name and 16 counters of up to 20 digits.
const NET_DEV_LINE: usize = 16 + 16 * 21 + 1;

/// v1 memory limits at or above this mean "none" (the kernel's page-rounded `i64::MAX`).
const V1_NO_LIMIT: u64 = 1 << 62;
/// USER_HZ: v1 `cpuacct.stat` counts ticks of 10 ms.
const TICK_USEC: u64 = 10_000;

impl Reader {
    /// A reader of the containers under `roots`' sysfs (`<sysfs>/fs/cgroup`), with names
    /// from the runtimes' files under its rootfs and networks from its procfs.
    pub fn new(roots: Roots) -> Self {
        Self {
            layout: Layout::detect(&roots),
            host_netns: TextLink(roots.proc("1/ns/net")),
            roots,
            files: ByCgroup::default(),
            meta: MetaCache::default(),
            devices: HashMap::new(),
            buf: Vec::with_capacity(4096),
        }
    }

    /// The cgroup layout found (`None`: no cgroup filesystem under the sysfs root).
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// Walks the hierarchy and reads every container. A container that vanishes during
    /// the pass is left out; it is not an error.
    pub fn read(&mut self) -> Pass {
        let mut pass = Pass::default();
        if self.layout.is_none() {
            self.layout = Layout::detect(&self.roots);
        }
        let Some(layout) = self.layout.clone() else {
            return pass;
        };
        let Some(walked) = layout.walked() else {
            return pass;
        };
        let found = discover::walk(&walked);
        let mut previous = self.files.start();
        self.meta.begin(&found);
        let host_netns = self.host_netns.target();
        for f in found {
            let mut files = previous.take(&f.cgroup).unwrap_or_default();
            files.missing = false;
            files.buf = std::mem::take(&mut self.buf);
            let stats = match &layout {
                Layout::V2 { root } => {
                    let dir = under(root, &f.cgroup);
                    let mut s = self.v2(&dir, &mut files, &mut pass.errors);
                    s.pressure = pressure(&dir, &mut files, &mut pass.errors);
                    s
                }
                Layout::V1 { root, unified } => {
                    let procs = under(&walked, &f.cgroup);
                    let mut s = self.v1(root, &f.cgroup, &procs, &mut files, &mut pass.errors);
                    if let Some(u) = unified {
                        s.pressure = pressure(&under(u, &f.cgroup), &mut files, &mut pass.errors);
                    }
                    s
                }
            };
            if files.missing && !under(&walked, &f.cgroup).is_dir() {
                self.buf = files.buf;
                continue; // vanished during the pass
            }
            let mut stats = stats;
            stats.network = self.network(&mut files, host_netns.as_deref(), &mut pass.errors);
            self.buf = std::mem::take(&mut files.buf);
            let meta = self.meta.lookup(&self.roots, &f);
            let name = meta.name.clone().unwrap_or_else(|| match f.runtime {
                Runtime::Lxc => f.id.clone(),
                _ => f.id[..12].to_owned(),
            });
            self.files.keep(&f.cgroup, files);
            pass.containers.push(Container {
                found: f,
                name,
                meta,
                stats,
            });
        }
        pass
    }

    fn v2(&mut self, dir: &Path, files: &mut Files, errors: &mut Vec<String>) -> Stats {
        let p = |name: &str| dir.join(name);
        let cpu = files.get(
            "cpu.stat",
            || p("cpu.stat"),
            |t| {
                let mut c = CpuUsage::default();
                parse::flat_keyed(t, |k, v| match k {
                    "usage_usec" => c.usage_usec = v,
                    "user_usec" => c.user_usec = v,
                    "system_usec" => c.system_usec = v,
                    "nr_periods" => c.nr_periods = v,
                    "nr_throttled" => c.nr_throttled = v,
                    "throttled_usec" => c.throttled_usec = v,
                    _ => {}
                })?;
                Ok(c)
            },
            errors,
        );
        let cpu_limit = files.value(dir, "cpu.max", parse::cpu_max, errors);
        let memory = files
            .value(dir, "memory.current", parse::single, errors)
            .map(|usage| {
                let mut m = MemoryUsage {
                    usage,
                    ..MemoryUsage::default()
                };
                let mut inactive_file = 0;
                files.get(
                    "memory.stat",
                    || p("memory.stat"),
                    |t| {
                        parse::flat_keyed(t, |k, v| match k {
                            "anon" => m.anon = v,
                            "file" => m.file = v,
                            "inactive_file" => inactive_file = v,
                            _ => {}
                        })
                    },
                    errors,
                );
                m.working_set = usage.saturating_sub(inactive_file);
                m.limit = files.value(dir, "memory.max", parse::single, errors);
                m.swap = files.value(dir, "memory.swap.current", parse::single, errors);
                m.oom_kills = files.value(dir, "memory.events", oom_kill, errors);
                m
            });
        let io = files
            .get("io.stat", || p("io.stat"), parse::io_stat, errors)
            .unwrap_or_default();
        let mut s = Stats {
            cpu,
            cpu_limit,
            memory,
            io: self.name_devices(io),
            ..Stats::default()
        };
        counts(files, dir, dir, &mut s, errors);
        s
    }

    fn v1(
        &mut self,
        root: &Path,
        cgroup: &str,
        procs: &Path,
        files: &mut Files,
        errors: &mut Vec<String>,
    ) -> Stats {
        let d = |controller: &str| under(&root.join(controller), cgroup);
        let p = |controller: &str, name: &str| d(controller).join(name);
        let usage = files.value(&d("cpuacct"), "cpuacct.usage", parse::single, errors);
        let cpu = usage.map(|ns| {
            let mut c = CpuUsage {
                usage_usec: ns / 1000,
                ..CpuUsage::default()
            };
            files.get(
                "cpuacct.stat",
                || p("cpuacct", "cpuacct.stat"),
                |t| {
                    parse::flat_keyed(t, |k, v| match k {
                        "user" => c.user_usec = v.saturating_mul(TICK_USEC),
                        "system" => c.system_usec = v.saturating_mul(TICK_USEC),
                        _ => {}
                    })
                },
                errors,
            );
            files.get(
                "cpu.stat",
                || p("cpu", "cpu.stat"),
                |t| {
                    parse::flat_keyed(t, |k, v| match k {
                        "nr_periods" => c.nr_periods = v,
                        "nr_throttled" => c.nr_throttled = v,
                        "throttled_time" => c.throttled_usec = v / 1000,
                        _ => {}
                    })
                },
                errors,
            );
            c
        });
        let quota = files.value(&d("cpu"), "cpu.cfs_quota_us", parse::signed, errors);
        let period = files.value(&d("cpu"), "cpu.cfs_period_us", parse::single, errors);
        let cpu_limit = quota.zip(period).map(|(quota_usec, period_usec)| CpuMax {
            quota_usec,
            period_usec,
        });
        let memory = files
            .value(&d("memory"), "memory.usage_in_bytes", parse::single, errors)
            .map(|usage| {
                let mut m = MemoryUsage {
                    usage,
                    ..MemoryUsage::default()
                };
                let (mut total, mut own) = ([None; 3], [None; 3]);
                files.get(
                    "memory.stat",
                    || p("memory", "memory.stat"),
                    |t| {
                        parse::flat_keyed(t, |k, v| match k {
                            "total_rss" => total[0] = Some(v),
                            "total_cache" => total[1] = Some(v),
                            "total_inactive_file" => total[2] = Some(v),
                            "rss" => own[0] = Some(v),
                            "cache" => own[1] = Some(v),
                            "inactive_file" => own[2] = Some(v),
                            _ => {}
                        })
                    },
                    errors,
                );
                let pick = |i: usize| total[i].or(own[i]).unwrap_or(0);
                (m.anon, m.file) = (pick(0), pick(1));
                m.working_set = usage.saturating_sub(pick(2));
                m.limit = files
                    .value(&d("memory"), "memory.limit_in_bytes", parse::single, errors)
                    .filter(|&l| l < V1_NO_LIMIT);
                m.swap = files
                    .value(
                        &d("memory"),
                        "memory.memsw.usage_in_bytes",
                        parse::single,
                        errors,
                    )
                    .map(|memsw| memsw.saturating_sub(usage));
                m.oom_kills = files.value(&d("memory"), "memory.oom_control", oom_kill, errors);
                m
            });
        let mut io = Vec::new();
        for (key, recursive, plain, kind) in [
            (
                "blkio.bytes",
                "blkio.throttle.io_service_bytes_recursive",
                "blkio.throttle.io_service_bytes",
                BlkioKind::Bytes,
            ),
            (
                "blkio.ops",
                "blkio.throttle.io_serviced_recursive",
                "blkio.throttle.io_serviced",
                BlkioKind::Operations,
            ),
        ] {
            let path = || {
                let r = p("blkio", recursive);
                if r.exists() { r } else { p("blkio", plain) }
            };
            files.get(key, path, |t| parse::blkio(t, kind, &mut io), errors);
        }
        let mut s = Stats {
            cpu,
            cpu_limit,
            memory,
            io: self.name_devices(io),
            ..Stats::default()
        };
        counts(files, &d("pids"), procs, &mut s, errors);
        s
    }

    /// The interfaces of the namespace of one of the container's processes, unless it
    /// is the host's (PID 1's under the procfs root). The namespace is looked at when
    /// that process changes, not every pass: a container's process stays in the
    /// namespace it was started in (runc's set-up processes that move are short-lived,
    /// and the next first process is looked at afresh).
    fn network(
        &mut self,
        files: &mut Files,
        host: Option<&Path>,
        errors: &mut Vec<String>,
    ) -> Option<Vec<NetDev>> {
        let host = host?;
        let pid = files.first_pid?;
        if files.net_pid != Some(pid) {
            let ns = std::fs::read_link(self.roots.proc(&format!("{pid}/ns/net"))).ok()?;
            files.net_pid = Some(pid);
            files.net = (ns != host).then(|| {
                OpenFile::records(self.roots.proc(&format!("{pid}/net/dev")), NET_DEV_LINE)
            });
        }
        let devs = quiet(
            files
                .net
                .as_mut()?
                .parse_into(&mut files.buf, net_dev::parse),
            errors,
        )?;
        Some(
            devs.into_iter()
                .filter(|d| {
                    !["lo", "veth", "docker", "nerdctl"]
                        .iter()
                        .any(|p| d.name.starts_with(p))
                })
                .collect(),
        )
    }

    /// Names each device `/dev/<name>` from `<sysfs>/dev/block/<major>:<minor>/uevent`
    /// (cached), else `major:minor`.
    fn name_devices(&mut self, io: Vec<IoStat>) -> Vec<Io> {
        io.into_iter()
            .map(|stat| {
                let key = (stat.major, stat.minor);
                let device = self
                    .devices
                    .entry(key)
                    .or_insert_with(|| {
                        let uevent = self
                            .roots
                            .sys(&format!("dev/block/{}:{}/uevent", key.0, key.1));
                        std::fs::read_to_string(uevent)
                            .ok()
                            .and_then(|t| {
                                t.lines()
                                    .find_map(|l| l.strip_prefix("DEVNAME="))
                                    .map(|n| format!("/dev/{n}"))
                            })
                            .unwrap_or_else(|| format!("{}:{}", key.0, key.1))
                    })
                    .clone();
                Io { device, stat }
            })
            .collect()
    }
}

/// Tasks (`pids.current`, `pids.max` in `pids`) and processes (`cgroup.procs` in
/// `procs`), alike in both layouts; remembers the first process for the network.
fn counts(files: &mut Files, pids: &Path, procs: &Path, s: &mut Stats, errors: &mut Vec<String>) {
    s.tasks = files.value(pids, "pids.current", parse::single, errors);
    s.tasks_max = files.value(pids, "pids.max", parse::single, errors);
    let processes = files.get(
        "cgroup.procs",
        || procs.join("cgroup.procs"),
        parse::procs,
        errors,
    );
    files.first_pid = processes.and_then(|(_, first)| first);
    s.processes = processes.map(|(n, _)| n);
}

/// The `oom_kill` count of `memory.events` (v2) or `memory.oom_control` (v1).
fn oom_kill(text: &str) -> Result<Option<u64>, ParseError> {
    let mut n = None;
    parse::flat_keyed(text, |k, v| {
        if k == "oom_kill" {
            n = Some(v);
        }
    })?;
    Ok(n)
}

/// `root` joined with a cgroup path that starts with `/`.
fn under(root: &Path, cgroup: &str) -> PathBuf {
    root.join(cgroup.trim_start_matches('/'))
}

/// `cpu.pressure`, `memory.pressure` and `io.pressure` in `dir`.
fn pressure(dir: &Path, files: &mut Files, errors: &mut Vec<String>) -> Pressure {
    let mut one = |key: &'static str| {
        files
            .get(key, || dir.join(key), crate::collector::parse_psi, errors)
            .map(|(some_usec, full_usec)| Psi {
                some_usec,
                full_usec,
            })
    };
    Pressure {
        cpu: one("cpu.pressure"),
        memory: one("memory.pressure"),
        io: one("io.pressure"),
    }
}
