//! Containers from the kernel's cgroup files: no runtime socket, correct from inside a
//! container through the same [`Roots`](crate::Roots).
//!
//! - [`discover`]: the cgroup [`Layout`] (v2, v1, hybrid) and a walk that recognises
//!   Docker, Podman, Kubernetes (containerd, CRI-O) and LXC cgroups by name.
//! - [`parse`]: sans-IO parsers of each cgroup file format.
//! - [`runtime`]: names, images, health and restart counts from the runtimes' own files.
//! - [`Reader`]: one pass over every container's files (kept open) into [`Stats`];
//!   a container that vanishes mid-pass is left out, not an error.
//! - [`Tracker`]: passes turned into [`Containers`] with rates that are `None` on a
//!   container's first pass and after a counter went backwards; the portal's
//!   `/api/containers`. The exporter's `containers` collector writes a [`Reader`]'s
//!   counters as cAdvisor's series.
//! - [`fixture`]: cgroup v2 trees of containers, written for tests and benches.

pub mod discover;
pub mod fixture;
pub mod parse;
mod read;
pub mod runtime;
mod sample;

pub use discover::{Found, Layout, Runtime};
pub use read::{Container, CpuUsage, Io, MemoryUsage, Pass, Pressure, Psi, Reader, Stats};
pub use sample::{
    ContainerCpu, ContainerInterface, ContainerIo, ContainerMemory, ContainerPressure,
    ContainerSample, Containers, Tracker,
};
