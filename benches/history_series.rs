//! The series of a homelab host, for the history benches (included by both).

/// A homelab host's worth of series: 8 cores, 4 interfaces, 3 disks, 6 filesystems,
/// 6 sensors, 20 probed services (latency and up), memory, swap, load, totals.
pub fn series_names() -> Vec<String> {
    let mut names = vec!["cpu.busy_percent".to_owned()];
    names.extend((0..8).map(|i| format!("cpu.busy_percent[{i}]")));
    for fig in [
        "memory.used_percent",
        "memory.used_bytes",
        "swap.used_percent",
    ] {
        names.push(fig.to_owned());
    }
    names.extend(["load.load1", "load.load5", "load.load15"].map(str::to_owned));
    for dir in ["receive", "transmit"] {
        names.push(format!("network.{dir}_bytes_per_second"));
        names.extend((0..4).map(|i| format!("network.{dir}_bytes_per_second[eth{i}]")));
    }
    for d in ["sda", "sdb", "nvme0n1"] {
        for fig in [
            "read_bytes_per_second",
            "write_bytes_per_second",
            "io_time_percent",
        ] {
            names.push(format!("disk.{fig}[{d}]"));
        }
    }
    names.extend((0..6).map(|i| format!("filesystem.used_percent[/mnt/{i}]")));
    names.extend((0..6).map(|i| format!("temperature.celsius[coretemp/Core {i}]")));
    for s in 0..20 {
        names.push(format!("probe.latency_ms[service{s}]"));
        names.push(format!("probe.up[service{s}]"));
    }
    names
}
