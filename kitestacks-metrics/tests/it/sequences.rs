//! Rates from synthetic counter sequences written to a fake procfs between samples:
//! the first sample, steady counters, a reset (interface re-created), a new device.

use std::path::Path;

use kitestacks_metrics::{FilterPatterns, Filters, Roots, Sampler};

const NET_HEAD: &str = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

fn write(dir: &Path, cpu: (u64, u64), disk_sectors: u64, eth_rx: u64) {
    let (busy, idle) = cpu;
    std::fs::write(
        dir.join("stat"),
        format!(
            "cpu {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 {busy} 0 0 {idle} 0 0 0 0 0 0\nbtime 1000\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("meminfo"),
        "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\n",
    )
    .unwrap();
    std::fs::write(dir.join("loadavg"), "1.00 0.50 0.25 2/100 1234\n").unwrap();
    std::fs::write(
        dir.join("diskstats"),
        format!("   8 0 sda 1 0 {disk_sectors} 0 1 0 0 0 0 0 0\n   8 1 sda1 1 0 {disk_sectors} 0 1 0 0 0 0 0 0\n"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("net")).unwrap();
    std::fs::write(
        dir.join("net/dev"),
        format!("{NET_HEAD}  eth0: {eth_rx} 1 0 0 0 0 0 0 500 1 0 0 0 0 0 0\n    lo: 99 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0\n"),
    )
    .unwrap();
}

fn roots(dir: &Path) -> Roots {
    Roots {
        procfs: dir.to_owned(),
        sysfs: dir.join("nosys"),
        rootfs: dir.to_owned(),
    }
}

#[test]
fn rates_follow_the_counters_and_are_null_after_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), (0, 0), 0, 1000);
    let mut s = Sampler::new(roots(dir.path()), Filters::default());

    let first = s.sample();
    assert!(
        first.errors.iter().all(|e| !e.contains("stat")),
        "{:?}",
        first.errors
    );
    assert_eq!(first.cpu.as_ref().unwrap().busy_percent, None);
    assert_eq!(first.network.interfaces.len(), 1, "lo is left out");
    assert_eq!(first.network.interfaces[0].receive_bytes_per_second, None);
    assert_eq!(first.network.receive_bytes_per_second, None);
    assert_eq!(
        first
            .disks
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        ["sda"]
    );

    write(dir.path(), (30, 70), 2048, 5000);
    let second = s.sample();
    let secs = second.interval_seconds.unwrap();
    assert!(secs > 0.0);
    assert_eq!(second.cpu.as_ref().unwrap().busy_percent, Some(30.0));
    assert_eq!(
        second.cpu.as_ref().unwrap().per_core_busy_percent,
        [Some(30.0)]
    );
    let modes = second.cpu.as_ref().unwrap().modes.unwrap();
    assert_eq!((modes.user_percent, modes.idle_percent), (30.0, 70.0));
    let eth = &second.network.interfaces[0];
    assert_eq!(eth.receive_bytes_per_second, Some(4000.0 / secs));
    assert_eq!(eth.transmit_bytes_per_second, Some(0.0));
    assert_eq!(second.network.receive_bytes_per_second, Some(4000.0 / secs));
    assert_eq!(
        second.disks[0].read_bytes_per_second,
        Some(2048.0 * 512.0 / secs)
    );

    // The interface is re-created and the disk counters restart: null, not a spike or a
    // negative number.
    write(dir.path(), (10, 10), 16, 10);
    let third = s.sample();
    assert_eq!(third.network.interfaces[0].receive_bytes_per_second, None);
    assert_eq!(third.network.receive_bytes_per_second, None);
    assert_eq!(third.disks[0].read_bytes_per_second, None);
    assert_eq!(third.cpu.as_ref().unwrap().busy_percent, None);

    // And from there on, rates again.
    write(dir.path(), (20, 20), 32, 110);
    let fourth = s.sample();
    assert!(
        fourth.network.interfaces[0]
            .receive_bytes_per_second
            .unwrap()
            > 0.0
    );
    assert_eq!(fourth.cpu.as_ref().unwrap().busy_percent, Some(50.0));
}

#[test]
fn a_malformed_file_is_an_error_naming_it_and_the_rest_is_served() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), (0, 0), 0, 0);
    std::fs::write(dir.path().join("diskstats"), "   8 0 sda 1 2\n").unwrap();
    let s = Sampler::new(roots(dir.path()), Filters::default()).sample();
    assert!(s.disks.is_empty());
    let err = s
        .errors
        .iter()
        .find(|e| e.contains("diskstats"))
        .expect("diskstats error listed");
    assert!(err.contains(":1:"), "names the line: {err}");
    assert!(s.memory.is_some() && s.load.is_some() && s.cpu.is_some());
}

#[test]
fn interface_filters_are_configurable() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), (0, 0), 0, 0);
    let filters = Filters::new(FilterPatterns {
        interfaces_exclude: "^$".into(),
        interfaces_include: Some("^(lo|eth0)$".into()),
        ..FilterPatterns::default()
    })
    .unwrap();
    let s = Sampler::new(roots(dir.path()), filters).sample();
    let names: Vec<&str> = s
        .network
        .interfaces
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["eth0", "lo"]);
    assert_eq!(s.network.received_bytes_total, 99);
}
