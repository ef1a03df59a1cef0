//! A sample from node_exporter's fixture procfs/sysfs tree, checked by hand against the
//! fixture files (and node_exporter's expected output for the same tree).

use std::path::{Path, PathBuf};

use kitestacks_metrics::{Filters, Roots, Sampler};

/// Unpacks `shared/fixtures/node_exporter/fixtures.tar.gz` (beside the repository) into
/// a temporary directory and returns it with the fixture root inside.
pub fn unpack() -> (tempfile::TempDir, PathBuf) {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/node_exporter/fixtures.tar.gz");
    assert!(
        tarball.exists(),
        "{} is missing: shared/ must sit beside the repository",
        tarball.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar runs");
    assert!(status.success());
    let root = dir.path().join("collector/fixtures");
    (dir, root)
}

pub fn fixture_roots(root: &Path) -> Roots {
    Roots {
        procfs: root.join("proc"),
        sysfs: root.join("sys"),
        rootfs: root.to_owned(),
    }
}

#[test]
fn a_sample_of_the_fixture_tree_has_the_hand_checked_values() {
    let (_dir, root) = unpack();
    let mut sampler = Sampler::new(fixture_roots(&root), Filters::default());
    let s = sampler.sample();

    // /proc/loadavg: "0.21 0.37 0.39 1/719 19737"
    let load = s.load.unwrap();
    assert_eq!((load.load1, load.load5, load.load15), (0.21, 0.37, 0.39));
    assert_eq!(s.host.thread_count, Some(719));
    // /proc/stat: btime 1418183276; 8 cpuN lines
    assert_eq!(s.host.boot_time_seconds, Some(1_418_183_276));
    let cpu = s.cpu.unwrap();
    assert_eq!(cpu.cores, 8);
    assert_eq!(cpu.busy_percent, None, "no rate on the first sample");
    assert!(cpu.per_core_busy_percent.iter().all(Option::is_none));
    // /proc/meminfo: MemTotal 3742148 kB (node_memory_MemTotal_bytes 3.831959552e+09)
    let mem = s.memory.unwrap();
    assert_eq!(mem.total_bytes, 3_831_959_552);
    assert_eq!(mem.used_bytes, mem.total_bytes - mem.available_bytes);
    assert_eq!(mem.free_bytes, 225_472 * 1024);
    let swap = s.swap.unwrap();
    assert_eq!(swap.total_bytes, swap.used_bytes + swap.free_bytes);
    // /proc/diskstats: sda sectors read 1003346126 (node_disk_read_bytes_total 5.13713216512e+11);
    // partitions and ram/loop devices are left out
    let sda = s
        .disks
        .iter()
        .find(|d| d.name == "sda")
        .expect("sda reported");
    assert_eq!(sda.read_bytes_total, 513_713_216_512);
    assert_eq!(sda.read_bytes_per_second, None);
    assert!(
        !s.disks
            .iter()
            .any(|d| d.name.starts_with("ram") || d.name.starts_with("loop") || d.name == "sda1")
    );
    // os-release under rootfs (usr/lib/os-release: Ubuntu 20.04)
    assert_eq!(s.host.os_name.as_deref(), Some("Ubuntu"));
    assert_eq!(
        s.host.os_version.as_deref(),
        Some("20.04.2 LTS (Focal Fossa)")
    );
    // hwmon fixtures: hwmon4 temp1 = 55 °C (node_hwmon_temp_celsius{chip="hwmon4",sensor="temp1"} 55)
    assert!(
        s.temperatures.iter().any(|t| t.celsius == 55.0),
        "{:?}",
        s.temperatures
    );
    // the fixture has no net/dev: reported as an error, the rest still served
    assert!(
        s.errors.iter().any(|e| e.contains("net/dev")),
        "{:?}",
        s.errors
    );
    assert!(s.network.interfaces.is_empty());
    // mount points come from proc/1/mountinfo; only those whose directory exists under
    // the fixture root can be sized, and pseudo filesystems are left out
    for fs in &s.filesystems {
        assert!(
            !fs.mount_point.starts_with("/proc") && !fs.mount_point.starts_with("/sys"),
            "{fs:?}"
        );
    }

    // A second sample over the same (unchanged) files: rates exist and are zero.
    let s2 = sampler.sample();
    assert!(s2.interval_seconds.unwrap() >= 0.0);
    let sda = s2.disks.iter().find(|d| d.name == "sda").unwrap();
    assert_eq!(sda.read_bytes_per_second, Some(0.0));
    assert_eq!(
        s2.cpu.unwrap().busy_percent,
        None,
        "no tick elapsed: no honest percentage"
    );
}

#[test]
fn the_sample_serialises_with_units_in_field_names() {
    let (_dir, root) = unpack();
    let s = Sampler::new(fixture_roots(&root), Filters::default()).sample();
    let v = serde_json::to_value(&s).unwrap();
    assert!(v["memory"]["total_bytes"].is_u64());
    assert!(v["memory"]["used_percent"].is_f64());
    assert!(v["cpu"]["busy_percent"].is_null());
    assert!(v["host"]["uptime_seconds"].is_u64());
    assert!(v["network"]["receive_bytes_per_second"].is_null());
}
