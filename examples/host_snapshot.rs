//! Prints a one-screen summary of this host: CPU, load, memory, filesystems, disks,
//! network and temperatures, from two samples one second apart (so rates exist).
//!
//! Run with: `cargo run -p kitestacks-examples --example host_snapshot`

use std::time::Duration;

use kitestacks_metrics::{Filters, Roots, Sample, Sampler};

fn main() {
    let mut sampler = Sampler::new(Roots::default(), Filters::default());
    sampler.sample();
    std::thread::sleep(Duration::from_secs(1));
    print(&sampler.sample());
}

/// Formats a byte count with a binary unit.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn opt(p: Option<f64>, suffix: &str) -> String {
    p.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}{suffix}"))
}

fn print(s: &Sample) {
    let h = &s.host;
    println!(
        "{}  {}  kernel {}  up {:.1} days  {} processes",
        h.hostname,
        h.os_pretty_name.as_deref().unwrap_or("?"),
        h.kernel_release.as_deref().unwrap_or("?"),
        h.uptime_seconds.unwrap_or(0) as f64 / 86_400.0,
        h.process_count.unwrap_or(0)
    );
    if let Some(cpu) = &s.cpu {
        let cores: Vec<String> = cpu
            .per_core_busy_percent
            .iter()
            .map(|c| opt(*c, "%"))
            .collect();
        println!(
            "cpu   {} over {} cores  [{}]",
            opt(cpu.busy_percent, "%"),
            cpu.cores,
            cores.join(" ")
        );
    }
    if let Some(l) = &s.load {
        println!("load  {:.2} {:.2} {:.2}", l.load1, l.load5, l.load15);
    }
    if let (Some(m), Some(sw)) = (&s.memory, &s.swap) {
        println!(
            "mem   {} of {} used ({:.1}%), {} available;  swap {} of {}",
            bytes(m.used_bytes as f64),
            bytes(m.total_bytes as f64),
            m.used_percent,
            bytes(m.available_bytes as f64),
            bytes(sw.used_bytes as f64),
            bytes(sw.total_bytes as f64)
        );
    }
    for fs in &s.filesystems {
        println!(
            "fs    {:<24} {:<8} {:>10} of {:>10} ({:.0}%){}",
            fs.mount_point,
            fs.fs_type,
            bytes(fs.used_bytes as f64),
            bytes(fs.size_bytes as f64),
            fs.used_percent,
            if fs.read_only { " ro" } else { "" }
        );
    }
    for d in &s.disks {
        println!(
            "disk  {:<10} read {}/s  write {}/s  busy {}",
            d.name,
            opt(d.read_bytes_per_second.map(|b| b / 1024.0), " KiB"),
            opt(d.write_bytes_per_second.map(|b| b / 1024.0), " KiB"),
            opt(d.io_time_percent, "%")
        );
    }
    for i in &s.network.interfaces {
        println!(
            "net   {:<10} rx {}/s  tx {}/s  (total rx {}, tx {})",
            i.name,
            opt(i.receive_bytes_per_second.map(|b| b / 1024.0), " KiB"),
            opt(i.transmit_bytes_per_second.map(|b| b / 1024.0), " KiB"),
            bytes(i.received_bytes_total as f64),
            bytes(i.sent_bytes_total as f64)
        );
    }
    for t in &s.temperatures {
        println!("temp  {} {}: {:.1} °C", t.chip, t.label, t.celsius);
    }
    for e in &s.errors {
        println!("error {e}");
    }
}
