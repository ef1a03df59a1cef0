//! The exporter's own `process_*` families, as client_golang's process collector writes
//! them on Linux: CPU seconds, open and max file descriptors, virtual and resident
//! memory, start time, network bytes of the process's namespace. Read from this
//! process's own `/proc/self`, whatever `--path.procfs` says.

use kitestacks_metrics::exposition::Scrape;

/// USER_HZ, the unit of the times in `/proc/self/stat`.
const TICKS_PER_SECOND: f64 = 100.0;

/// Adds the `process_*` families for this process. Figures that cannot be read are
/// left out (as client_golang does), never reported as 0.
pub fn collect(out: &mut Scrape) {
    let stat = std::fs::read_to_string("/proc/self/stat").ok();
    // Fields after the command name, which may itself contain spaces and parentheses.
    let fields: Vec<&str> = stat
        .as_deref()
        .and_then(|s| s.rsplit_once(')'))
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    if let (Some(utime), Some(stime)) = (field(14), field(15)) {
        out.counter(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            &[],
            (utime + stime) / TICKS_PER_SECOND,
        );
    }
    if let Some(vsize) = field(23) {
        out.gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            &[],
            vsize,
        );
    }
    if let Some(rss) = field(24) {
        let page = rustix::param::page_size() as f64;
        out.gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            &[],
            rss * page,
        );
    }
    if let (Some(start), Some(btime)) = (field(22), boot_time()) {
        out.gauge(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            &[],
            btime + start / TICKS_PER_SECOND,
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        // minus the descriptor read_dir itself holds open
        let n = fds.count().saturating_sub(1);
        out.gauge(
            "process_open_fds",
            "Number of open file descriptors.",
            &[],
            n as f64,
        );
    }
    if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
        if let Some(v) = soft_limit(&limits, "Max open files") {
            out.gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                &[],
                v,
            );
        }
        if let Some(v) = soft_limit(&limits, "Max address space") {
            out.gauge(
                "process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes.",
                &[],
                v,
            );
        }
    }
    if let Some((rx, tx)) = std::fs::read_to_string("/proc/self/net/netstat")
        .ok()
        .and_then(|t| ip_octets(&t))
    {
        out.counter(
            "process_network_receive_bytes_total",
            "Number of bytes received by the process over the network.",
            &[],
            rx,
        );
        out.counter(
            "process_network_transmit_bytes_total",
            "Number of bytes sent by the process over the network.",
            &[],
            tx,
        );
    }
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of one `/proc/self/limits` row; `unlimited` is reported as client_golang
/// does, as the largest 64-bit value.
fn soft_limit(limits: &str, name: &str) -> Option<f64> {
    let rest = limits.lines().find_map(|l| l.strip_prefix(name))?;
    let soft = rest.split_whitespace().next()?;
    if soft == "unlimited" {
        Some(u64::MAX as f64)
    } else {
        soft.parse().ok()
    }
}

/// `IpExt: ... InOctets ... OutOctets` from `/proc/self/net/netstat` (a header line, then
/// a value line).
fn ip_octets(netstat: &str) -> Option<(f64, f64)> {
    let mut lines = netstat.lines().filter(|l| l.starts_with("IpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let pairs: Vec<(&str, &str)> = names
        .split_whitespace()
        .zip(values.split_whitespace())
        .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .and_then(|(_, v)| v.parse().ok())
    };
    Some((get("InOctets")?, get("OutOctets")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_octets_parse() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n\
                      Max address space         unlimited            unlimited            bytes\n";
        assert_eq!(soft_limit(limits, "Max open files"), Some(1024.0));
        assert_eq!(
            soft_limit(limits, "Max address space"),
            Some(18_446_744_073_709_551_615.0)
        );
        assert_eq!(soft_limit(limits, "Max processes"), None);
        let netstat =
            "TcpExt: A B\nTcpExt: 1 2\nIpExt: InNoRoutes InOctets OutOctets\nIpExt: 0 1234 5678\n";
        assert_eq!(ip_octets(netstat), Some((1234.0, 5678.0)));
        assert_eq!(ip_octets("IpExt: InOctets\n"), None);
    }

    #[test]
    fn the_live_process_reports_every_family() {
        let mut s = Scrape::new();
        collect(&mut s);
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
        let rss = s.family("process_resident_memory_bytes").unwrap().series[0].value;
        assert!(rss > 1_000_000.0, "{rss}");
    }
}
