//! The live host: the sampler's figures agree with `free -b`, `df -B1`, `/proc/loadavg`
//! and `/proc/net/dev` read at (nearly) the same moment.

use std::process::Command;

use kitestacks_metrics::{FilterPatterns, Filters, Roots, Sampler};

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd} failed");
    String::from_utf8(out.stdout).unwrap()
}

fn close(a: u64, b: u64, tolerance: f64) -> bool {
    (a as f64 - b as f64).abs() <= tolerance * (a.max(b) as f64).max(1.0)
}

#[test]
fn memory_agrees_with_free() {
    let mut s = Sampler::new(Roots::default(), Filters::default());
    let sample = s.sample();
    let free = run("free", &["-b"]);
    let mem: Vec<u64> = free
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    let swap: Vec<u64> = free
        .lines()
        .nth(2)
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    let m = sample.memory.unwrap();
    // free: total used free shared buff/cache available
    assert_eq!(m.total_bytes, mem[0]);
    assert!(
        close(m.available_bytes, mem[5], 0.02),
        "available {} vs free's {}",
        m.available_bytes,
        mem[5]
    );
    let sw = sample.swap.unwrap();
    assert_eq!(sw.total_bytes, swap[0]);
    assert!(close(sw.used_bytes, swap[1], 0.02));
}

#[test]
fn filesystems_agree_with_df() {
    let sample = Sampler::new(Roots::default(), Filters::default()).sample();
    let root = sample
        .filesystems
        .iter()
        .find(|f| f.mount_point == "/")
        .expect("/ is reported");
    let df = run("df", &["-B1", "--output=size,used,avail", "/"]);
    let v: Vec<u64> = df
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(root.size_bytes, v[0]);
    assert!(
        close(root.used_bytes, v[1], 0.01),
        "used {} vs df's {}",
        root.used_bytes,
        v[1]
    );
    assert!(close(root.available_bytes, v[2], 0.01));
    for fs in &sample.filesystems {
        assert!(
            !["proc", "sysfs", "devpts", "cgroup", "cgroup2", "overlay"]
                .contains(&fs.fs_type.as_str()),
            "{fs:?}"
        );
    }
}

#[test]
fn load_and_network_agree_with_proc() {
    let all = Filters::new(FilterPatterns {
        interfaces_exclude: "^$".into(),
        exclude_virtual_interfaces: false,
        ..FilterPatterns::default()
    })
    .unwrap();
    let sample = Sampler::new(Roots::default(), all).sample();
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap();
    let l1: f64 = loadavg.split_whitespace().next().unwrap().parse().unwrap();
    assert!((sample.load.unwrap().load1 - l1).abs() < 0.5);
    let dev = std::fs::read_to_string("/proc/net/dev").unwrap();
    for line in dev.lines().skip(2) {
        let (name, rest) = line.split_once(':').unwrap();
        let rx: u64 = rest.split_whitespace().next().unwrap().parse().unwrap();
        let iface = sample
            .network
            .interfaces
            .iter()
            .find(|i| i.name == name.trim())
            .expect("every interface");
        // counters only grow between the two reads; loopback traffic of other tests is small
        assert!(
            iface.received_bytes_total <= rx && rx - iface.received_bytes_total < 50_000_000,
            "{name}"
        );
    }
}

#[test]
fn cpu_and_uptime_are_plausible() {
    let mut s = Sampler::new(Roots::default(), Filters::default());
    let first = s.sample();
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(first.cpu.as_ref().unwrap().cores, cores);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let second = s.sample();
    let busy = second.cpu.unwrap().busy_percent.unwrap();
    assert!((0.0..=100.0).contains(&busy), "{busy}");
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((second.host.uptime_seconds.unwrap() as f64 - uptime).abs() < 5.0);
    assert!(!second.host.hostname.is_empty());
    assert!(second.host.process_count.unwrap() > 1);
}

/// sysinfo, the client's cross-platform library, reads the same host through its own
/// /proc code: totals that do not move must agree with ours.
#[test]
fn totals_agree_with_sysinfo() {
    use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};
    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_memory(MemoryRefreshKind::everything())
            .with_cpu(CpuRefreshKind::nothing()),
    )
    .expect("sysinfo reads this host");
    let sample = Sampler::new(Roots::default(), Filters::default()).sample();
    let mem = sample.memory.unwrap();
    assert_eq!(mem.total_bytes, sys.total_memory());
    assert_eq!(sample.swap.unwrap().total_bytes, sys.total_swap());
    assert_eq!(sample.cpu.unwrap().cores, sys.cpus().len());
    assert_eq!(
        sample.host.boot_time_seconds,
        Some(System::boot_time().expect("sysinfo reads the boot time"))
    );
    assert!(close(mem.available_bytes, sys.available_memory(), 0.02));
    let disks = Disks::new_with_refreshed_list().expect("sysinfo lists the disks");
    let root = disks
        .iter()
        .find(|d| d.mount_point() == std::path::Path::new("/"))
        .expect("sysinfo sees /");
    let ours = sample
        .filesystems
        .iter()
        .find(|f| f.mount_point == "/")
        .unwrap();
    assert_eq!(ours.size_bytes, root.total_space());
}
