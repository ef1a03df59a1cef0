//! The exporter's own `process_*` families, as client_golang's process collector writes
//! them on Linux: CPU seconds, open and max file descriptors, virtual and resident
//! memory, start time. Read from this process's own `/proc/self` and `getrlimit(2)`,
//! whatever the [`Roots`](crate::Roots) say: they describe the exporter, not the host.
//!
//! client_golang's newer `process_network_{receive,transmit}_bytes_total` are left out:
//! they read `/proc/self/net/netstat`, whose generation costs the kernel more than the
//! rest of a core scrape (about 70 µs here), for a figure about the exporter's own
//! traffic that no dashboard uses.

use crate::exposition::Scrape;
use crate::source::TextFile;
use crate::stat;

/// USER_HZ, the unit of the times in `/proc/self/stat`.
const TICKS_PER_SECOND: f64 = 100.0;

/// The `process_*` families of this process. Keep one: it holds `/proc/self/stat` and
/// `/proc/self/fd` open between scrapes (no open and close per scrape) and the boot time,
/// read once.
#[derive(Debug, Default)]
pub struct ProcessCollector {
    /// `/proc/self/stat`, re-read with `pread` (the kernel regenerates it on every read).
    stat: Option<TextFile>,
    /// `/proc/self/fd`, for counting open descriptors.
    fds: Option<rustix::fs::Dir>,
    /// The boot time, once read (`None` inside: it could not be).
    boot_time: Option<Option<f64>>,
}

impl ProcessCollector {
    /// A collector that opens its files on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the `process_*` families for this process. Figures that cannot be read are
    /// left out (as client_golang does), never reported as 0.
    pub fn collect(&mut self, out: &mut Scrape) {
        let stat = self
            .stat
            .get_or_insert_with(|| TextFile::new("/proc/self/stat"))
            .read()
            .ok();
        // Fields after the command name, which may itself contain spaces and parentheses.
        let fields: Vec<&str> = stat
            .and_then(|s| s.rsplit_once(')'))
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        let (utime, stime, start) = (field(14), field(15), field(22));
        let (vsize, rss) = (field(23), field(24));
        if let (Some(utime), Some(stime)) = (utime, stime) {
            out.counter(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                &[],
                (utime + stime) / TICKS_PER_SECOND,
            );
        }
        if let Some(vsize) = vsize {
            out.gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                &[],
                vsize,
            );
        }
        if let Some(rss) = rss {
            let page = rustix::param::page_size() as f64;
            out.gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                &[],
                rss * page,
            );
        }
        if let (Some(start), Some(btime)) = (start, self.boot_time()) {
            out.gauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                &[],
                btime + start / TICKS_PER_SECOND,
            );
        }
        if let Some(n) = self.open_fds() {
            out.gauge(
                "process_open_fds",
                "Number of open file descriptors.",
                &[],
                n as f64,
            );
        }
        // Soft limits; "unlimited" is reported as client_golang does, as the largest u64.
        let soft = |r: rustix::process::Resource| {
            rustix::process::getrlimit(r)
                .current
                .map_or(u64::MAX as f64, |v| v as f64)
        };
        out.gauge(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            &[],
            soft(rustix::process::Resource::Nofile),
        );
        out.gauge(
            "process_virtual_memory_max_bytes",
            "Maximum amount of virtual memory available in bytes.",
            &[],
            soft(rustix::process::Resource::As),
        );
    }

    /// The number of open file descriptors (not counting the handle used to count them).
    /// Since Linux 6.2 the size `fstat` reports for `/proc/self/fd` is that number, one
    /// cheap call; older kernels report 0 and the directory's entries are counted, through
    /// a handle kept open and rewound (the listing costs the kernel a dentry per entry).
    fn open_fds(&mut self) -> Option<usize> {
        if self.fds.is_none() {
            let fd = rustix::fs::open(
                "/proc/self/fd",
                rustix::fs::OFlags::RDONLY
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .ok()?;
            self.fds = rustix::fs::Dir::new(fd).ok();
        }
        let d = self.fds.as_mut()?;
        if let Ok(st) = rustix::fs::fstat(d.fd().ok()?)
            && st.st_size > 0
        {
            return Some((st.st_size as usize).saturating_sub(1));
        }
        count_listed(d)
    }

    /// The boot time, read once from this system's `/proc/stat`: it does not change
    /// while the system runs.
    fn boot_time(&mut self) -> Option<f64> {
        *self.boot_time.get_or_insert_with(|| {
            let text = crate::source::read_to_string(std::path::Path::new("/proc/stat")).ok()?;
            stat::parse(&text).ok().map(|s| s.boot_time as f64)
        })
    }
}

/// The entries of a `/proc/self/fd` handle, minus the handle itself.
fn count_listed(d: &mut rustix::fs::Dir) -> Option<usize> {
    d.rewind();
    let mut n = 0usize;
    while let Some(entry) = d.read() {
        let name = entry.ok()?.file_name().to_bytes().to_owned();
        if name != b"." && name != b".." {
            n += 1;
        }
    }
    Some(n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_process_reports_every_family() {
        let mut s = Scrape::new();
        ProcessCollector::new().collect(&mut s);
        let names: Vec<&str> = s.families().map(|f| f.name.as_ref()).collect();
        for n in [
            "process_cpu_seconds_total",
            "process_max_fds",
            "process_open_fds",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
            "process_virtual_memory_bytes",
            "process_virtual_memory_max_bytes",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        let start = s.family("process_start_time_seconds").unwrap().series[0].value;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            start > 1e9 && start <= now + 1.0,
            "boot time + start ticks: {start}"
        );
        let rss = s.family("process_resident_memory_bytes").unwrap().series[0].value;
        assert!(rss > 1_000_000.0, "{rss}");
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let max_fds: f64 = limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert_eq!(
            s.family("process_max_fds").unwrap().series[0].value,
            max_fds
        );
    }

    #[test]
    fn open_fds_counts_this_process_descriptors_and_sees_new_ones() {
        let mut c = ProcessCollector::new();
        // Other tests open files concurrently: compare with a fresh listing taken right
        // after, until both agree (they do as soon as no other thread races us). On a
        // busy machine a burst of tries can all be raced, so the tries are spread out.
        let counted = |c: &mut ProcessCollector, extra: usize| {
            (0..300).any(|_| {
                let ours = c.open_fds().unwrap();
                // read_dir's own descriptor and our kept-open handle are both listed
                let listed = std::fs::read_dir("/proc/self/fd").unwrap().count() - 2;
                let agree = ours == listed && ours >= extra;
                if !agree {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                agree
            })
        };
        assert!(counted(&mut c, 0));
        let before = c.open_fds().unwrap();
        let files: Vec<_> = (0..20)
            .map(|_| std::fs::File::open("/proc/self/stat").unwrap())
            .collect();
        assert!(c.open_fds().unwrap() >= before + 20 - 5, "{before}");
        assert!(counted(&mut c, 20));
        // The listing (older kernels) and fstat's size (6.2+) agree.
        let fd = rustix::fs::open(
            "/proc/self/fd",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let mut dir = rustix::fs::Dir::new(fd).unwrap();
        assert!((0..300).any(|_| {
            let agree = count_listed(&mut dir) == c.open_fds();
            if !agree {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            agree
        }));
        drop(files);
    }
}
