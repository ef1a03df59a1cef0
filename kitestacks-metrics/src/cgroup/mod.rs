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

/// What a pass keeps of each container for the next, in the walk's order (sorted by
/// cgroup path): the next pass takes each entry back as it meets the container again,
/// one comparison each, no hashing (this was a tenth of a pass with hash maps).
#[derive(Debug)]
struct ByCgroup<T>(Vec<(String, T)>);

impl<T> Default for ByCgroup<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> ByCgroup<T> {
    /// Starts a pass: the entries of the last, to be taken in cgroup order; those not
    /// taken (containers gone) are dropped with the returned value.
    fn start(&mut self) -> Previous<T> {
        Previous(std::mem::take(&mut self.0).into_iter().peekable())
    }

    /// Keeps `value` for the next pass; called in cgroup order.
    fn keep(&mut self, cgroup: &str, value: T) {
        debug_assert!(self.0.last().is_none_or(|(last, _)| last.as_str() < cgroup));
        self.0.push((cgroup.to_owned(), value));
    }
}

/// The entries of the last pass, taken in cgroup order.
struct Previous<T>(std::iter::Peekable<std::vec::IntoIter<(String, T)>>);

impl<T> Previous<T> {
    /// The entry of `cgroup`, if the last pass kept one; passes over those before it.
    fn take(&mut self, cgroup: &str) -> Option<T> {
        while let Some((key, _)) = self.0.peek() {
            match key.as_str().cmp(cgroup) {
                std::cmp::Ordering::Less => {
                    self.0.next();
                }
                std::cmp::Ordering::Equal => return self.0.next().map(|(_, v)| v),
                std::cmp::Ordering::Greater => return None,
            }
        }
        None
    }
}
pub use read::{Container, CpuUsage, Io, MemoryUsage, Pass, Pressure, Psi, Reader, Stats};
pub use sample::{
    ContainerCpu, ContainerInterface, ContainerIo, ContainerMemory, ContainerPressure,
    ContainerSample, Containers, Tracker,
};
