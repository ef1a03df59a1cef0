//! kitestacks-metrics: typed Linux host metrics read from configurable roots.
//!
//! Principal types:
//! - [`Roots`]: the procfs/sysfs/rootfs directories every read goes through, so that a
//!   binary in a container with the host's `/proc`, `/sys` and `/` mounted (e.g. at
//!   `/host/proc`) reports the host, and tests run on fixture trees.
//! - [`Sampler`]: long-lived; keeps files open and the previous counters, and returns a
//!   typed [`Sample`] (CPU, load, memory, swap, filesystems, disks, network, uptime,
//!   temperatures) with honest rates: `None` on the first sample and after a counter reset.
//! - Sans-IO parsers, one module per file: [`stat`], [`meminfo`], [`loadavg`],
//!   [`diskstats`], [`net_dev`], [`mountinfo`], [`os_release`]; each takes the file's
//!   text and returns typed data or a [`ParseError`] naming the line.
//! - [`mounts`]: the mount table and a `statfs(2)` that a dead NFS server cannot hang,
//!   shared by the [`Sampler`] and the `filesystem` collector.
//! - [`history`]: a fixed-memory history of every sampled figure in tiers of
//!   min/max/sum/count buckets, with gap-preserving queries and atomic snapshots.
//! - [`cgroup`]: containers (Docker, Podman, Kubernetes, LXC) from the kernel's cgroup
//!   files, v2 and v1: their CPU, memory, I/O, pressure and network, and a [`cgroup::Tracker`]
//!   for their rates.
//! - [`Filters`]: which filesystems, disks and interfaces are reported (node_exporter's
//!   defaults).
//!
//! ```
//! use kitestacks_metrics::{loadavg, Filters, Roots, Sampler};
//!
//! let load = loadavg::parse("0.21 0.37 0.39 1/719 19737\n").unwrap();
//! assert_eq!(load.load15, 0.39);
//!
//! let mut sampler = Sampler::new(Roots::default(), Filters::default());
//! let first = sampler.sample();
//! assert!(first.cpu.map_or(true, |c| c.busy_percent.is_none()), "no rate without a previous sample");
//! ```

pub mod cgroup;
pub mod collector;
pub mod diskstats;
mod error;
pub mod exposition;
mod filters;
pub mod history;
pub mod loadavg;
pub mod meminfo;
pub mod mountinfo;
pub mod mounts;
pub mod net_dev;
pub mod os_release;
mod roots;
mod sample;
mod sampler;
pub mod source;
pub mod stat;
pub mod thermal;

pub use error::{Error, ParseError};
pub use filters::{
    DEFAULT_DISKS_EXCLUDE, DEFAULT_FS_TYPES_EXCLUDE, DEFAULT_INTERFACES_EXCLUDE,
    DEFAULT_MOUNT_POINTS_EXCLUDE, FilterPatterns, Filters, compile as compile_filter,
};
pub use roots::Roots;
pub use sample::{
    Cpu, CpuModes, Disk, Filesystem, HostInfo, Interface, Load, Memory, Network, Sample, Swap,
    Temperature,
};
pub use sampler::{Sampler, busy_percent, rate};

/// The README's example, run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
