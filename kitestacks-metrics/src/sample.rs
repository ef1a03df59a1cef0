//! The typed result of one sample: what the portal serves as `/api/metrics`. Field names
//! carry their units; byte counts are integers; a rate that cannot be computed honestly
//! (first sample, counter reset) is `null`, never 0 or a spike.

use serde::Serialize;
use utoipa::ToSchema;

/// One sample of the host. A part that cannot be read costs only its own figures: it is
/// left empty (or `null`) and the rest of the sample is fresh. A mounted filesystem that
/// does not answer `statfs` within the mount timeout (5 s; a dead NFS or CIFS server, a
/// hung disk) is left out of `filesystems` until it answers, and not waited for again
/// meanwhile.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Sample {
    /// When the sample was taken, seconds since the Unix epoch.
    pub timestamp_seconds: f64,
    /// Seconds since the previous sample: the window every rate and percentage covers.
    /// `null` for the first sample.
    pub interval_seconds: Option<f64>,
    /// Which host this is, and for how long it has been up.
    pub host: HostInfo,
    /// CPU use.
    pub cpu: Option<Cpu>,
    /// Load averages.
    pub load: Option<Load>,
    /// Memory.
    pub memory: Option<Memory>,
    /// Swap.
    pub swap: Option<Swap>,
    /// Mounted filesystems (pseudo, container and duplicate mounts left out, and any that
    /// did not answer `statfs` in time).
    pub filesystems: Vec<Filesystem>,
    /// Whole block devices.
    pub disks: Vec<Disk>,
    /// Network interfaces (loopback and virtual ones left out) and their totals.
    pub network: Network,
    /// Temperature sensors, where hwmon or thermal zones exist.
    pub temperatures: Vec<Temperature>,
    /// The host's containers, when the sampler takes them
    /// ([`Sampler::with_containers`](crate::Sampler::with_containers)). Not part of
    /// `/api/metrics`: the portal serves them as `/api/containers`.
    #[serde(skip)]
    pub containers: Option<crate::cgroup::Containers>,
    /// Parts that could not be read this time, e.g. `cannot read /proc/diskstats: ...`,
    /// or `/mnt/nas: no answer to statfs within 5s, left out` for a filesystem left out
    /// of `filesystems` because it did not answer. The rest of the sample is still good. Not serialised: the messages name files of
    /// the host, which a server logs rather than sends.
    #[serde(skip)]
    pub errors: Vec<String>,
}

/// The host's identity and uptime.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct HostInfo {
    /// Host name (so a page served by either host of a pair shows which one answered).
    pub hostname: String,
    /// Kernel release, e.g. `6.1.0-18-amd64`.
    pub kernel_release: Option<String>,
    /// Distribution name from os-release, e.g. `Debian GNU/Linux`.
    pub os_name: Option<String>,
    /// Distribution version from os-release, e.g. `12 (bookworm)`.
    pub os_version: Option<String>,
    /// os-release `PRETTY_NAME`.
    pub os_pretty_name: Option<String>,
    /// Boot time, seconds since the Unix epoch.
    pub boot_time_seconds: Option<u64>,
    /// Seconds since boot.
    pub uptime_seconds: Option<u64>,
    /// Processes running now.
    pub process_count: Option<u64>,
    /// Threads (scheduling entities) now.
    pub thread_count: Option<u64>,
}

/// CPU use over the last interval.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Cpu {
    /// Online logical cores.
    pub cores: usize,
    /// Busy share of all cores, 0–100; `null` on the first sample.
    pub busy_percent: Option<f64>,
    /// Busy share per core, indexed by core number; `null` entries on the first sample
    /// or for an offline core.
    pub per_core_busy_percent: Vec<Option<f64>>,
    /// The split by mode (shares of all cores' time, summing to 100); `null` on the
    /// first sample.
    pub modes: Option<CpuModes>,
}

/// Share of CPU time per mode, 0–100.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct CpuModes {
    /// User mode (guest time excluded).
    pub user_percent: f64,
    /// Niced user mode (guest time excluded).
    pub nice_percent: f64,
    /// Kernel mode.
    pub system_percent: f64,
    /// Idle.
    pub idle_percent: f64,
    /// Idle waiting for I/O.
    pub iowait_percent: f64,
    /// Hardware interrupts.
    pub irq_percent: f64,
    /// Software interrupts.
    pub softirq_percent: f64,
    /// Stolen by the hypervisor.
    pub steal_percent: f64,
    /// Running guests (virtual machines).
    pub guest_percent: f64,
}

/// Load averages (runnable plus uninterruptible tasks).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Load {
    /// Over 1 minute.
    pub load1: f64,
    /// Over 5 minutes.
    pub load5: f64,
    /// Over 15 minutes.
    pub load15: f64,
}

/// Memory. `used_bytes` is `total_bytes − available_bytes`, as Glances and `free` compute it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Memory {
    /// `MemTotal`.
    pub total_bytes: u64,
    /// `MemAvailable`: what can be allocated without swapping.
    pub available_bytes: u64,
    /// `total − available`.
    pub used_bytes: u64,
    /// `MemFree`: not used at all.
    pub free_bytes: u64,
    /// `Buffers`.
    pub buffers_bytes: u64,
    /// `Cached + SReclaimable` (page cache and reclaimable slab, as `free` shows).
    pub cached_bytes: u64,
    /// `used / total × 100`.
    pub used_percent: f64,
}

/// Swap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Swap {
    /// `SwapTotal`.
    pub total_bytes: u64,
    /// `total − free`.
    pub used_bytes: u64,
    /// `SwapFree`.
    pub free_bytes: u64,
    /// `used / total × 100`; 0 without swap.
    pub used_percent: f64,
}

/// A mounted filesystem, sized as `df` sizes it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Filesystem {
    /// The mount source, e.g. `/dev/sda1`.
    pub device: String,
    /// Where it is mounted (as the host sees it).
    pub mount_point: String,
    /// Filesystem type, e.g. `ext4`.
    pub fs_type: String,
    /// Size.
    pub size_bytes: u64,
    /// Used: size − free.
    pub used_bytes: u64,
    /// Available to unprivileged users.
    pub available_bytes: u64,
    /// `used / (used + available) × 100`, as `df` computes `Use%` (before rounding).
    pub used_percent: f64,
    /// Mounted read-only.
    pub read_only: bool,
    /// Inodes in all.
    pub inodes_total: u64,
    /// Free inodes.
    pub inodes_free: u64,
}

/// A whole block device's I/O.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Disk {
    /// Device name, e.g. `sda`.
    pub name: String,
    /// Bytes read since boot.
    pub read_bytes_total: u64,
    /// Bytes written since boot.
    pub written_bytes_total: u64,
    /// Read rate over the interval; `null` on the first sample or after a reset.
    pub read_bytes_per_second: Option<f64>,
    /// Write rate over the interval; `null` on the first sample or after a reset.
    pub write_bytes_per_second: Option<f64>,
    /// Share of the interval the device had I/O in flight (utilisation), 0–100.
    pub io_time_percent: Option<f64>,
}

/// Network interfaces and their sum.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Network {
    /// Each reported interface.
    pub interfaces: Vec<Interface>,
    /// Receive rate summed over the reported interfaces; `null` if any is `null`.
    pub receive_bytes_per_second: Option<f64>,
    /// Transmit rate summed over the reported interfaces; `null` if any is `null`.
    pub transmit_bytes_per_second: Option<f64>,
    /// Bytes received by the reported interfaces since they were created.
    pub received_bytes_total: u64,
    /// Bytes sent by the reported interfaces since they were created.
    pub sent_bytes_total: u64,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Interface {
    /// Name, e.g. `eth0`.
    pub name: String,
    /// Bytes received since the interface was created.
    pub received_bytes_total: u64,
    /// Bytes sent.
    pub sent_bytes_total: u64,
    /// Packets received.
    pub received_packets_total: u64,
    /// Packets sent.
    pub sent_packets_total: u64,
    /// Receive errors.
    pub receive_errors_total: u64,
    /// Transmit errors.
    pub transmit_errors_total: u64,
    /// Receive rate; `null` on the first sample or after a counter reset.
    pub receive_bytes_per_second: Option<f64>,
    /// Transmit rate; `null` on the first sample or after a counter reset.
    pub transmit_bytes_per_second: Option<f64>,
}

/// One temperature sensor.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Temperature {
    /// Chip or thermal zone type, e.g. `coretemp`.
    pub chip: String,
    /// Sensor label, e.g. `Package id 0`.
    pub label: String,
    /// Degrees Celsius.
    pub celsius: f64,
}
