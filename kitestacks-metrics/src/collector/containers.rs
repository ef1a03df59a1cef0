//! The `containers` collector (off by default): every container's cgroup counters as
//! cAdvisor's `container_*` series, with its `id` (cgroup path), `name` and `image`
//! labels, so existing container dashboards work unchanged. Not a node_exporter
//! collector: node_exporter sends people to cAdvisor for this.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::cgroup::{Container, Psi, Reader};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "containers",
    default_enabled: false,
    families: &["container_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Containers { reader: None }))
}

struct Containers {
    /// Built on the first scrape, from the context's roots; keeps the files open.
    reader: Option<Reader>,
}

impl Collector for Containers {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let reader = self
            .reader
            .get_or_insert_with(|| Reader::new(ctx.roots.clone()));
        let pass = reader.read();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()) as f64;
        for c in &pass.containers {
            write(c, now, out);
        }
        Ok(())
    }
}

/// The base labels with one more in front.
fn plus<'a>(
    extra: (&'static str, &'a str),
    base: &[(&'static str, &'a str); 3],
) -> [(&'static str, &'a str); 4] {
    [extra, base[0], base[1], base[2]]
}

fn secs(usec: u64) -> f64 {
    usec as f64 / 1e6
}

/// One container's series, under cAdvisor's names, help and types.
fn write(c: &Container, now: f64, out: &mut Scrape) {
    let image = c.meta.image.as_deref().unwrap_or("");
    let base = [
        ("id", c.found.cgroup.as_str()),
        ("image", image),
        ("name", c.name.as_str()),
    ];
    let s = &c.stats;
    out.gauge(
        "container_last_seen",
        "Last time a container was seen by the exporter",
        &base,
        now,
    );
    if let Some(cpu) = s.cpu {
        out.counter(
            "container_cpu_user_seconds_total",
            "Cumulative user cpu time consumed in seconds.",
            &base,
            secs(cpu.user_usec),
        );
        out.counter(
            "container_cpu_system_seconds_total",
            "Cumulative system cpu time consumed in seconds.",
            &base,
            secs(cpu.system_usec),
        );
        if cpu.usage_usec > 0 {
            out.counter(
                "container_cpu_usage_seconds_total",
                "Cumulative cpu time consumed in seconds.",
                &plus(("cpu", "total"), &base),
                secs(cpu.usage_usec),
            );
        }
        if s.cpu_limit.is_some() {
            out.counter(
                "container_cpu_cfs_periods_total",
                "Number of elapsed enforcement period intervals.",
                &base,
                cpu.nr_periods as f64,
            );
            out.counter(
                "container_cpu_cfs_throttled_periods_total",
                "Number of throttled period intervals.",
                &base,
                cpu.nr_throttled as f64,
            );
            out.counter(
                "container_cpu_cfs_throttled_seconds_total",
                "Total time duration the container has been throttled.",
                &base,
                secs(cpu.throttled_usec),
            );
        }
    }
    if let Some(limit) = s.cpu_limit {
        out.gauge(
            "container_spec_cpu_period",
            "CPU period of the container.",
            &base,
            limit.period_usec as f64,
        );
        out.gauge(
            "container_spec_cpu_quota",
            "CPU quota of the container.",
            &base,
            limit.quota_usec as f64,
        );
    }
    if let Some(m) = s.memory {
        out.gauge(
            "container_memory_usage_bytes",
            "Current memory usage in bytes, including all memory regardless of when it was accessed",
            &base,
            m.usage as f64,
        );
        out.gauge(
            "container_memory_working_set_bytes",
            "Current working set in bytes.",
            &base,
            m.working_set as f64,
        );
        out.gauge(
            "container_memory_rss",
            "Size of RSS in bytes.",
            &base,
            m.anon as f64,
        );
        out.gauge(
            "container_memory_cache",
            "Number of bytes of page cache memory.",
            &base,
            m.file as f64,
        );
        if let Some(swap) = m.swap {
            out.gauge(
                "container_memory_swap",
                "Container swap usage in bytes.",
                &base,
                swap as f64,
            );
        }
        // cAdvisor writes 0 for "no limit".
        out.gauge(
            "container_spec_memory_limit_bytes",
            "Memory limit for the container.",
            &base,
            m.limit.unwrap_or(0) as f64,
        );
        if let Some(n) = m.oom_kills {
            out.counter(
                "container_oom_events_total",
                "Count of out of memory events observed for the container",
                &base,
                n as f64,
            );
        }
    }
    for d in &s.io {
        let labels = plus(("device", d.device.as_str()), &base);
        for (name, help, v) in [
            (
                "container_fs_reads_bytes_total",
                "Cumulative count of bytes read",
                d.stat.read_bytes,
            ),
            (
                "container_fs_writes_bytes_total",
                "Cumulative count of bytes written",
                d.stat.write_bytes,
            ),
            (
                "container_fs_reads_total",
                "Cumulative count of reads completed",
                d.stat.reads,
            ),
            (
                "container_fs_writes_total",
                "Cumulative count of writes completed",
                d.stat.writes,
            ),
        ] {
            out.counter(name, help, &labels, v as f64);
        }
    }
    for n in s.network.iter().flatten() {
        let labels = plus(("interface", n.name.as_str()), &base);
        for (name, help, v) in [
            (
                "container_network_receive_bytes_total",
                "Cumulative count of bytes received",
                n.rx_bytes,
            ),
            (
                "container_network_receive_packets_total",
                "Cumulative count of packets received",
                n.rx_packets,
            ),
            (
                "container_network_receive_errors_total",
                "Cumulative count of errors encountered while receiving",
                n.rx_errs,
            ),
            (
                "container_network_receive_packets_dropped_total",
                "Cumulative count of packets dropped while receiving",
                n.rx_drop,
            ),
            (
                "container_network_transmit_bytes_total",
                "Cumulative count of bytes transmitted",
                n.tx_bytes,
            ),
            (
                "container_network_transmit_packets_total",
                "Cumulative count of packets transmitted",
                n.tx_packets,
            ),
            (
                "container_network_transmit_errors_total",
                "Cumulative count of errors encountered while transmitting",
                n.tx_errs,
            ),
            (
                "container_network_transmit_packets_dropped_total",
                "Cumulative count of packets dropped while transmitting",
                n.tx_drop,
            ),
        ] {
            out.counter(name, help, &labels, v as f64);
        }
    }
    pressure(out, &base, s.pressure.cpu, PSI_CPU);
    pressure(out, &base, s.pressure.memory, PSI_MEMORY);
    pressure(out, &base, s.pressure.io, PSI_IO);
    if let Some(n) = s.processes {
        out.gauge(
            "container_processes",
            "Number of processes running inside the container.",
            &base,
            n as f64,
        );
    }
    if let Some(n) = s.tasks {
        out.gauge(
            "container_threads",
            "Number of threads running inside the container",
            &base,
            n as f64,
        );
        out.gauge(
            "container_threads_max",
            "Maximum number of threads allowed inside the container, infinity if value is zero",
            &base,
            s.tasks_max.unwrap_or(0) as f64,
        );
    }
}

/// cAdvisor's names and help of one resource's pressure: (waiting = some, stalled = full).
type PsiNames = [(&'static str, &'static str); 2];

const PSI_CPU: PsiNames = [
    (
        "container_pressure_cpu_waiting_seconds_total",
        "Total time duration tasks in the container have waited due to CPU congestion.",
    ),
    (
        "container_pressure_cpu_stalled_seconds_total",
        "Total time duration no tasks in the container could make progress due to CPU congestion.",
    ),
];
const PSI_MEMORY: PsiNames = [
    (
        "container_pressure_memory_waiting_seconds_total",
        "Total time duration tasks in the container have waited due to memory congestion.",
    ),
    (
        "container_pressure_memory_stalled_seconds_total",
        "Total time duration no tasks in the container could make progress due to memory congestion.",
    ),
];
const PSI_IO: PsiNames = [
    (
        "container_pressure_io_waiting_seconds_total",
        "Total time duration tasks in the container have waited due to IO congestion.",
    ),
    (
        "container_pressure_io_stalled_seconds_total",
        "Total time duration no tasks in the container could make progress due to IO congestion.",
    ),
];

fn pressure(out: &mut Scrape, labels: &[(&'static str, &str)], psi: Option<Psi>, names: PsiNames) {
    let Some(p) = psi else { return };
    for ((name, help), v) in names.into_iter().zip([p.some_usec, p.full_usec]) {
        if let Some(v) = v {
            out.counter(name, help, labels, secs(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::fixture::{self, Figures};
    use crate::collector::testing;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn cadvisor_series_from_a_docker_v2_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let cgroup = format!("/system.slice/docker-{ID}.scope");
        fixture::write_v2(
            root,
            &cgroup,
            &Figures {
                usage_usec: 2_500_000,
                cpu_max: Some((50_000, 100_000)),
                memory_max: Some(512 << 20),
                oom_kills: 2,
                pids: vec![4242],
                ..Figures::default()
            },
        );
        fixture::write_docker_config(root, ID, "forgejo", "codeberg.org/forgejo/forgejo:9");
        fixture::write_netns(root, 4242, 1000, 2000);
        testing::write(
            root,
            "sys/dev/block/8:0/uevent",
            "MAJOR=8\nMINOR=0\nDEVNAME=sda\n",
        );
        let text = testing::scrape_once(&mut *build(&Options::default()).unwrap(), root).unwrap();
        let (id, name) = (
            format!("id=\"{cgroup}\",image=\"codeberg.org/forgejo/forgejo:9\""),
            "name=\"forgejo\"",
        );
        let labels = format!("{id},{name}");
        for line in [
            "# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds."
                .to_owned(),
            "# TYPE container_cpu_usage_seconds_total counter".into(),
            format!("container_cpu_usage_seconds_total{{cpu=\"total\",{labels}}} 2.5"),
            format!("container_cpu_user_seconds_total{{{labels}}} 1.875"),
            format!("container_cpu_cfs_throttled_periods_total{{{labels}}} 2"),
            format!("container_cpu_cfs_throttled_seconds_total{{{labels}}} 0.005"),
            format!("container_spec_cpu_quota{{{labels}}} 50000"),
            format!("container_memory_usage_bytes{{{labels}}} 1.048576e+08"),
            // 100 MiB current minus 20 MiB inactive file.
            format!("container_memory_working_set_bytes{{{labels}}} 8.388608e+07"),
            format!("container_memory_rss{{{labels}}} 5.24288e+07"),
            format!("container_spec_memory_limit_bytes{{{labels}}} 5.36870912e+08"),
            format!("container_oom_events_total{{{labels}}} 2"),
            format!("container_fs_reads_bytes_total{{device=\"/dev/sda\",{labels}}} 4096"),
            format!("container_fs_writes_total{{device=\"/dev/sda\",{labels}}} 3"),
            format!("container_network_receive_bytes_total{{{id},interface=\"eth0\",{name}}} 1000"),
            format!(
                "container_network_transmit_packets_dropped_total{{{id},interface=\"eth0\",{name}}} 4"
            ),
            format!("container_pressure_cpu_waiting_seconds_total{{{labels}}} 1.5"),
            format!("container_pressure_io_stalled_seconds_total{{{labels}}} 0"),
            format!("container_processes{{{labels}}} 1"),
            format!("container_threads_max{{{labels}}} 0"),
        ] {
            assert!(
                text.contains(&format!("{line}\n")),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("interface=\"lo\""), "loopback is left out");
        if let Ok(promtool) = which("promtool") {
            let p = root.join("metrics.prom");
            std::fs::write(&p, &text).unwrap();
            let out = std::process::Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(std::fs::File::open(&p).unwrap())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn which(name: &str) -> Result<std::path::PathBuf, ()> {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .ok_or(())
    }

    #[test]
    fn no_cgroup_filesystem_is_an_empty_success() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            testing::scrape_once(&mut *build(&Options::default()).unwrap(), dir.path()).unwrap();
        assert_eq!(text, "");
    }
}
