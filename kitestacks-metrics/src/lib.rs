//! kitestacks-metrics: typed Linux host metrics read from configurable roots.
//!
//! Principal type so far: [`Roots`], the procfs/sysfs/rootfs directories every read goes
//! through, so that a binary in a container with the host's `/proc`, `/sys` and `/`
//! mounted (e.g. at `/host/proc`) reports the host, and tests run on fixture trees.
//! The parsers and the `Sampler` arrive with the host-metrics work (ARCHITECTURE.md).
//!
//! ```
//! use kitestacks_metrics::Roots;
//!
//! let roots = Roots::under("/host");
//! assert_eq!(roots.proc("loadavg"), std::path::Path::new("/host/proc/loadavg"));
//! assert_eq!(Roots::default().sys("class/net"), std::path::Path::new("/sys/class/net"));
//! ```

mod roots;

pub use roots::Roots;
