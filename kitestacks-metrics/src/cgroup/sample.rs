//! The typed containers sample (what the portal serves as `/api/containers`) and the
//! [`Tracker`] that computes its rates and percentages from two passes.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use utoipa::ToSchema;

use super::ByCgroup;
use super::discover::Runtime;
use super::read::{Container, Psi, Reader};
use crate::roots::Roots;
use crate::sampler::rate;

/// Every container of the host at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Containers {
    /// When the pass was taken, seconds since the Unix epoch: how fresh these figures are.
    pub timestamp_seconds: f64,
    /// Seconds since the previous pass: the window every rate covers. `null` for the first.
    pub interval_seconds: Option<f64>,
    /// The containers, sorted by name.
    pub containers: Vec<ContainerSample>,
    /// Files that could not be read this time (not serialised: they name host files).
    #[serde(skip)]
    pub errors: Vec<String>,
}

/// One container: who it is and its figures. Rates and percentages are `null` on its
/// first pass and after a counter went backwards.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContainerSample {
    /// Its name (the runtime's; else its short id).
    pub name: String,
    /// Its id, 12 hex digits (an LXC container's name).
    pub id: String,
    /// Which runtime made it.
    pub runtime: Runtime,
    /// Its cgroup, e.g. `/system.slice/docker-<id>.scope`.
    pub cgroup: String,
    /// The image it was created from, where the runtime's files say.
    pub image: Option<String>,
    /// `running`, `paused` or `restarting`, where the runtime's files say.
    pub state: Option<String>,
    /// The health check's status (`starting`, `healthy`, `unhealthy`), if it has one.
    pub health: Option<String>,
    /// How often the runtime restarted it, where known.
    pub restart_count: Option<u64>,
    /// CPU.
    pub cpu: Option<ContainerCpu>,
    /// Memory.
    pub memory: Option<ContainerMemory>,
    /// Block I/O per device.
    pub io: Vec<ContainerIo>,
    /// Tasks (threads) now.
    pub tasks: Option<u64>,
    /// Its task limit, if any.
    pub tasks_max: Option<u64>,
    /// Processes now.
    pub processes: Option<u64>,
    /// Pressure stall totals, where the kernel has them (cgroup v2, or v1 hosts' unified
    /// hierarchy).
    pub pressure: Option<ContainerPressure>,
    /// The interfaces of its own network namespace; `null` when it shares the host's.
    pub network: Option<Vec<ContainerInterface>>,
}

/// A container's CPU.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContainerCpu {
    /// CPU time used since it started, seconds.
    pub usage_seconds_total: f64,
    /// Of which in user mode.
    pub user_seconds_total: f64,
    /// Of which in kernel mode.
    pub system_seconds_total: f64,
    /// Its use over the interval as a share of one core (200 = two cores busy).
    pub percent_of_one_core: Option<f64>,
    /// Its limit in cores, if it has one.
    pub limit_cores: Option<f64>,
    /// Its use as a share of its limit, if it has one.
    pub percent_of_limit: Option<f64>,
    /// Enforcement periods elapsed.
    pub periods_total: u64,
    /// Periods in which it was throttled.
    pub throttled_periods_total: u64,
    /// Time throttled, seconds.
    pub throttled_seconds_total: f64,
}

/// A container's memory.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContainerMemory {
    /// Everything charged to it, bytes.
    pub usage_bytes: u64,
    /// Usage minus inactive file cache (what `docker stats` and cAdvisor call its use).
    pub working_set_bytes: u64,
    /// Anonymous memory.
    pub anon_bytes: u64,
    /// Page cache.
    pub file_bytes: u64,
    /// Its limit, if it has one.
    pub limit_bytes: Option<u64>,
    /// The working set as a share of its limit; `null` without a limit (never of the
    /// host's memory).
    pub percent_of_limit: Option<f64>,
    /// Swap used, where accounted.
    pub swap_bytes: Option<u64>,
    /// Processes the OOM killer killed in it, where counted.
    pub oom_kills_total: Option<u64>,
    /// When an OOM kill was last seen (the count rose), seconds since the Unix epoch;
    /// `null` if none since the portal started.
    pub last_oom_kill_seconds: Option<f64>,
}

/// A container's block I/O on one device.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContainerIo {
    /// `/dev/sda`, or `major:minor`.
    pub device: String,
    /// Bytes read.
    pub read_bytes_total: u64,
    /// Bytes written.
    pub write_bytes_total: u64,
    /// Reads.
    pub reads_total: u64,
    /// Writes.
    pub writes_total: u64,
    /// Over the interval.
    pub read_bytes_per_second: Option<f64>,
    /// Over the interval.
    pub write_bytes_per_second: Option<f64>,
}

/// Pressure stall totals, seconds (`some`: some tasks waited; `full`: none could run).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContainerPressure {
    /// CPU, some.
    pub cpu_some_seconds_total: Option<f64>,
    /// CPU, full.
    pub cpu_full_seconds_total: Option<f64>,
    /// Memory, some.
    pub memory_some_seconds_total: Option<f64>,
    /// Memory, full.
    pub memory_full_seconds_total: Option<f64>,
    /// I/O, some.
    pub io_some_seconds_total: Option<f64>,
    /// I/O, full.
    pub io_full_seconds_total: Option<f64>,
}

/// One interface of a container's network namespace.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContainerInterface {
    /// e.g. `eth0`.
    pub name: String,
    /// Bytes received.
    pub receive_bytes_total: u64,
    /// Bytes sent.
    pub transmit_bytes_total: u64,
    /// Packets received.
    pub receive_packets_total: u64,
    /// Packets sent.
    pub transmit_packets_total: u64,
    /// Receive errors.
    pub receive_errors_total: u64,
    /// Transmit errors.
    pub transmit_errors_total: u64,
    /// Received packets dropped.
    pub receive_dropped_total: u64,
    /// Sent packets dropped.
    pub transmit_dropped_total: u64,
    /// Over the interval.
    pub receive_bytes_per_second: Option<f64>,
    /// Over the interval.
    pub transmit_bytes_per_second: Option<f64>,
}

/// The counters of one container at the previous pass.
#[derive(Debug, Default)]
struct Previous {
    cpu_usec: Option<u64>,
    io: Vec<(String, (u64, u64))>,
    net: Vec<(String, (u64, u64))>,
    oom_kills: Option<u64>,
    /// When its OOM kill count last rose.
    last_oom: Option<f64>,
}

/// The pair kept under `name` in a short list (a container's devices or interfaces).
fn pair(list: &[(String, (u64, u64))], name: &str) -> Option<(u64, u64)> {
    list.iter().find(|(n, _)| n == name).map(|(_, p)| *p)
}

/// Keeps a [`Reader`] and the previous pass's counters, and turns each pass into
/// [`Containers`] with honest rates. Keep one alive.
#[derive(Debug)]
pub struct Tracker {
    reader: Reader,
    previous: Option<Instant>,
    counters: ByCgroup<Previous>,
}

fn secs(usec: u64) -> f64 {
    usec as f64 / 1e6
}

fn psi(p: Option<Psi>, full: bool) -> Option<f64> {
    p.and_then(|p| if full { p.full_usec } else { p.some_usec })
        .map(secs)
}

impl Tracker {
    /// A tracker of the containers under `roots`.
    pub fn new(roots: Roots) -> Self {
        Self {
            reader: Reader::new(roots),
            previous: None,
            counters: ByCgroup::default(),
        }
    }

    /// Takes one pass.
    pub fn sample(&mut self) -> Containers {
        let now = Instant::now();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let interval = self.previous.map(|p| now.duration_since(p).as_secs_f64());
        self.previous = Some(now);
        let pass = self.reader.read();
        // The pass is in cgroup order, as the counters are kept.
        let mut before = self.counters.start();
        let mut containers: Vec<ContainerSample> = pass
            .containers
            .into_iter()
            .map(|c| {
                let was = before.take(&c.found.cgroup);
                let (sample, prev) = one(c, was.as_ref(), interval, timestamp);
                self.counters.keep(&sample.cgroup, prev);
                sample
            })
            .collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name).then(a.cgroup.cmp(&b.cgroup)));
        Containers {
            timestamp_seconds: timestamp,
            interval_seconds: interval,
            containers,
            errors: pass.errors,
        }
    }
}

/// One container's sample, and the counters kept for the next pass.
fn one(
    c: Container,
    before: Option<&Previous>,
    interval: Option<f64>,
    timestamp: f64,
) -> (ContainerSample, Previous) {
    let s = &c.stats;
    let mut prev = Previous {
        // Kept while the container lives, through a pass without its memory figures.
        last_oom: before.and_then(|b| b.last_oom),
        ..Previous::default()
    };
    let cpu = s.cpu.map(|u| {
        prev.cpu_usec = Some(u.usage_usec);
        let per_sec = rate(before.and_then(|b| b.cpu_usec), u.usage_usec, interval);
        let one_core = per_sec.map(|usec| usec / 1e4);
        let limit_cores = s.cpu_limit.and_then(|l| l.cores()).filter(|c| *c > 0.0);
        ContainerCpu {
            usage_seconds_total: secs(u.usage_usec),
            user_seconds_total: secs(u.user_usec),
            system_seconds_total: secs(u.system_usec),
            percent_of_one_core: one_core,
            limit_cores,
            percent_of_limit: one_core.zip(limit_cores).map(|(p, l)| p / l),
            periods_total: u.nr_periods,
            throttled_periods_total: u.nr_throttled,
            throttled_seconds_total: secs(u.throttled_usec),
        }
    });
    let memory = s.memory.map(|m| {
        prev.oom_kills = m.oom_kills;
        let rose = m
            .oom_kills
            .zip(before.and_then(|b| b.oom_kills))
            .is_some_and(|(now, was)| now > was);
        if rose {
            prev.last_oom = Some(timestamp);
        }
        ContainerMemory {
            usage_bytes: m.usage,
            working_set_bytes: m.working_set,
            anon_bytes: m.anon,
            file_bytes: m.file,
            limit_bytes: m.limit,
            percent_of_limit: m
                .limit
                .filter(|l| *l > 0)
                .map(|l| m.working_set as f64 * 100.0 / l as f64),
            swap_bytes: m.swap,
            oom_kills_total: m.oom_kills,
            last_oom_kill_seconds: prev.last_oom,
        }
    });
    let io =
        s.io.iter()
            .map(|d| {
                let b = before.and_then(|b| pair(&b.io, &d.device));
                prev.io
                    .push((d.device.clone(), (d.stat.read_bytes, d.stat.write_bytes)));
                ContainerIo {
                    device: d.device.clone(),
                    read_bytes_total: d.stat.read_bytes,
                    write_bytes_total: d.stat.write_bytes,
                    reads_total: d.stat.reads,
                    writes_total: d.stat.writes,
                    read_bytes_per_second: rate(b.map(|b| b.0), d.stat.read_bytes, interval),
                    write_bytes_per_second: rate(b.map(|b| b.1), d.stat.write_bytes, interval),
                }
            })
            .collect();
    let network = s.network.as_ref().map(|devs| {
        devs.iter()
            .map(|d| {
                let b = before.and_then(|b| pair(&b.net, &d.name));
                prev.net.push((d.name.clone(), (d.rx_bytes, d.tx_bytes)));
                ContainerInterface {
                    name: d.name.clone(),
                    receive_bytes_total: d.rx_bytes,
                    transmit_bytes_total: d.tx_bytes,
                    receive_packets_total: d.rx_packets,
                    transmit_packets_total: d.tx_packets,
                    receive_errors_total: d.rx_errs,
                    transmit_errors_total: d.tx_errs,
                    receive_dropped_total: d.rx_drop,
                    transmit_dropped_total: d.tx_drop,
                    receive_bytes_per_second: rate(b.map(|b| b.0), d.rx_bytes, interval),
                    transmit_bytes_per_second: rate(b.map(|b| b.1), d.tx_bytes, interval),
                }
            })
            .collect()
    });
    let p = s.pressure;
    let pressure =
        (p.cpu.is_some() || p.memory.is_some() || p.io.is_some()).then(|| ContainerPressure {
            cpu_some_seconds_total: psi(p.cpu, false),
            cpu_full_seconds_total: psi(p.cpu, true),
            memory_some_seconds_total: psi(p.memory, false),
            memory_full_seconds_total: psi(p.memory, true),
            io_some_seconds_total: psi(p.io, false),
            io_full_seconds_total: psi(p.io, true),
        });
    let id = c.short_id().to_owned();
    let sample = ContainerSample {
        name: c.name,
        id,
        runtime: c.found.runtime,
        cgroup: c.found.cgroup,
        image: c.meta.image,
        state: c.meta.state,
        health: c.meta.health,
        restart_count: c.meta.restart_count,
        cpu,
        memory,
        io,
        tasks: s.tasks,
        tasks_max: s.tasks_max,
        processes: s.processes,
        pressure,
        network,
    };
    (sample, prev)
}
