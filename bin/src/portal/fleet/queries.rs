//! The fixed set of PromQL queries the fleet view runs, written once with node_exporter's
//! metric names (so a host running node_exporter or kitestacks-exporter reads the same),
//! and the per-figure expressions `/api/fleet/{host}/history` aggregates over each step.

use super::prometheus::quote;

/// Filesystems that hold no data of their own (pseudo, in-memory, image layers).
const NOT_DATA_FS: &str = "tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|autofs|fuse.lxcfs";

/// Interfaces that carry no traffic of the host's own (loopback, containers, bridges).
const NOT_HOST_NETDEV: &str = "lo|veth.*|docker.*|br-.*|virbr.*|cni.*|flannel.*";

/// The window of every `rate()`: four scrapes at Prometheus' default 15 s interval.
pub const RATE_WINDOW: &str = "1m";

/// One figure of a host: its name (the `series` of `/api/fleet/{host}/history`, as
/// `/api/history` names the same figure), its unit, and how it is computed.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    /// `cpu.busy_percent`, `memory.used_percent`…
    pub name: &'static str,
    /// `percent`, `tasks`, `bytes_per_second`, `seconds`, `boolean`.
    pub unit: &'static str,
    /// The expression, one value per host (and per `mountpoint` for filesystems).
    expr: fn(&Scope<'_>) -> String,
}

/// What every query is restricted to: the host label, the configured selector, and, for
/// one host's history, that host's label value.
pub struct Scope<'a> {
    /// `[fleet] host_label`.
    pub label: &'a str,
    /// `[fleet] selector` (matchers, possibly empty).
    pub selector: &'a str,
    /// One host's label value, or every host.
    pub host: Option<&'a str>,
    /// One mount point (a filesystem series), or every one.
    pub mount_point: Option<&'a str>,
}

impl Scope<'_> {
    /// `metric{extra,selector,host}`.
    fn m(&self, metric: &str, extra: &[&str]) -> String {
        let mut matchers: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        if !self.selector.trim().is_empty() {
            matchers.push(self.selector.trim().trim_end_matches(',').to_owned());
        }
        if let Some(h) = self.host {
            matchers.push(format!("{}={}", self.label, quote(h)));
        }
        format!("{metric}{{{}}}", matchers.join(","))
    }

    fn fs(&self, metric: &str) -> String {
        let fstype = format!("fstype!~{}", quote(NOT_DATA_FS));
        let mount = self.mount_point.map(|m| format!("mountpoint={}", quote(m)));
        let mut extra = vec![fstype.as_str()];
        extra.extend(mount.as_deref());
        self.m(metric, &extra)
    }

    fn netdev(&self, metric: &str) -> String {
        format!(
            "sum by ({l}) (rate({}[{RATE_WINDOW}]))",
            self.m(metric, &[&format!("device!~{}", quote(NOT_HOST_NETDEV))]),
            l = self.label
        )
    }
}

/// The figures, in the order `/api/fleet` lists them. Each is also a history series.
pub const FIGURES: [Figure; 10] = [
    Figure {
        name: "up",
        unit: "boolean",
        expr: |s| format!("max by ({}) ({})", s.label, s.m("up", &[])),
    },
    Figure {
        name: "cpu.busy_percent",
        unit: "percent",
        expr: |s| {
            format!(
                "100 * (1 - avg by ({l}) (rate({}[{RATE_WINDOW}])))",
                s.m("node_cpu_seconds_total", &["mode=\"idle\""]),
                l = s.label
            )
        },
    },
    Figure {
        name: "memory.used_percent",
        unit: "percent",
        expr: |s| {
            format!(
                "100 * (1 - max by ({l}) ({}) / max by ({l}) ({}))",
                s.m("node_memory_MemAvailable_bytes", &[]),
                s.m("node_memory_MemTotal_bytes", &[]),
                l = s.label
            )
        },
    },
    Figure {
        name: "swap.used_percent",
        unit: "percent",
        expr: |s| {
            format!(
                "100 * (1 - max by ({l}) ({}) / (max by ({l}) ({}) > 0))",
                s.m("node_memory_SwapFree_bytes", &[]),
                s.m("node_memory_SwapTotal_bytes", &[]),
                l = s.label
            )
        },
    },
    Figure {
        name: "load.load1",
        unit: "tasks",
        expr: |s| format!("max by ({}) ({})", s.label, s.m("node_load1", &[])),
    },
    Figure {
        name: FILESYSTEM,
        unit: "percent",
        expr: |s| {
            format!(
                "100 * (1 - max by ({l}, mountpoint) ({}) / (max by ({l}, mountpoint) ({}) > 0))",
                s.fs("node_filesystem_avail_bytes"),
                s.fs("node_filesystem_size_bytes"),
                l = s.label
            )
        },
    },
    Figure {
        name: "network.receive_bytes_per_second",
        unit: "bytes_per_second",
        expr: |s| s.netdev("node_network_receive_bytes_total"),
    },
    Figure {
        name: "network.transmit_bytes_per_second",
        unit: "bytes_per_second",
        expr: |s| s.netdev("node_network_transmit_bytes_total"),
    },
    Figure {
        name: "uptime_seconds",
        unit: "seconds",
        expr: |s| {
            format!(
                "max by ({}) (time() - {})",
                s.label,
                s.m("node_boot_time_seconds", &[])
            )
        },
    },
    Figure {
        name: LAST_SCRAPE,
        unit: "seconds",
        expr: |s| format!("max by ({}) (timestamp({}))", s.label, s.m("up", &[])),
    },
];

/// The filesystem figure: one value per mount point (`filesystem.used_percent[/]`).
pub const FILESYSTEM: &str = "filesystem.used_percent";

/// The time of each host's last scrape (not a history series).
pub const LAST_SCRAPE: &str = "last_scrape_seconds";

impl Figure {
    /// Its expression for `scope`.
    pub fn expr(&self, scope: &Scope<'_>) -> String {
        (self.expr)(scope)
    }

    /// The figure a history series names (`filesystem.used_percent[/data]` is the
    /// filesystem figure at `/data`), with its mount point.
    pub fn of_series(series: &str) -> Option<(&'static Figure, Option<&str>)> {
        if let Some(mount) = series
            .strip_prefix(FILESYSTEM)
            .and_then(|r| r.strip_prefix('['))
            .and_then(|r| r.strip_suffix(']'))
        {
            return Some((&FIGURES[5], Some(mount)));
        }
        FIGURES
            .iter()
            .find(|f| f.name == series && f.name != FILESYSTEM && f.name != LAST_SCRAPE)
            .map(|f| (f, None))
    }
}

/// `[t, min, avg, max]` over each step of a range query: the figure evaluated every
/// `resolution` seconds within the step (a subquery) and reduced by `min_over_time`,
/// `avg_over_time` and `max_over_time`.
pub fn over_step(expr: &str, reducer: &str, step: f64, resolution: f64) -> String {
    format!(
        "{reducer}(({expr})[{}s:{}s])",
        step.round().max(1.0),
        resolution.round().max(1.0)
    )
}

/// What every probing host saw of each service: the portals' `probe_success`, by host
/// and service (not restricted by the selector, which names the exporters' job).
pub fn probe_success(label: &str) -> String {
    format!("max by ({label}, service) (probe_success{{service!=\"\"}})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_restricted_to_the_selector_and_the_host() {
        let all = Scope {
            label: "instance",
            selector: "",
            host: None,
            mount_point: None,
        };
        assert_eq!(FIGURES[0].expr(&all), "max by (instance) (up{})");
        let one = Scope {
            label: "host",
            selector: "job=\"node\"",
            host: Some("kscloud1"),
            mount_point: Some("/"),
        };
        assert_eq!(
            FIGURES[1].expr(&one),
            "100 * (1 - avg by (host) (rate(node_cpu_seconds_total{mode=\"idle\",job=\"node\",host=\"kscloud1\"}[1m])))"
        );
        assert!(FIGURES[5].expr(&one).contains(
            "node_filesystem_avail_bytes{fstype!~\"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|autofs|fuse.lxcfs\",mountpoint=\"/\",job=\"node\",host=\"kscloud1\"}"
        ));
        assert_eq!(
            over_step("up", "min_over_time", 60.0, 10.0),
            "min_over_time((up)[60s:10s])"
        );
    }

    #[test]
    fn series_names_find_their_figure() {
        assert_eq!(Figure::of_series("load.load1").unwrap().0.unit, "tasks");
        let (f, mount) = Figure::of_series("filesystem.used_percent[/data]").unwrap();
        assert_eq!((f.name, mount), (FILESYSTEM, Some("/data")));
        assert!(Figure::of_series("filesystem.used_percent").is_none());
        assert!(Figure::of_series("last_scrape_seconds").is_none());
        assert!(Figure::of_series("nope").is_none());
    }
}
