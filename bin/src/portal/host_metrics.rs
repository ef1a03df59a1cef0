//! `GET /api/metrics` and its narrow parts: the latest sample of the host, taken in the
//! background at `[metrics] interval` by one [`Sampler`]. Requests never read /proc: they
//! get the last sample, pre-rendered, so their cost does not grow with open tabs.

use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use hyper::{Response, StatusCode};
use kitestacks_core::MetricsConfig;
use kitestacks_core::api::ErrorBody;
use kitestacks_metrics::{
    Cpu, Disk, Filesystem, FilterPatterns, Filters, HostInfo, Load, Memory, Network, Roots, Sample,
    Sampler, Swap, Temperature,
};
use serde::Serialize;

use crate::response;
use crate::server::Body;

/// The sampler and its latest sample.
pub struct Metrics {
    sampler: Mutex<Sampler>,
    latest: RwLock<Latest>,
    interval: std::time::Duration,
}

struct Latest {
    sample: Arc<Sample>,
    json: Bytes,
}

impl Metrics {
    /// Builds the sampler from the configuration and takes a first sample, so the first
    /// request already has data (its rates are `null`: there is no previous sample yet).
    pub fn new(config: &MetricsConfig) -> anyhow::Result<Self> {
        let defaults = FilterPatterns::default();
        let patterns = FilterPatterns {
            mount_points_exclude: config
                .mount_points_exclude
                .clone()
                .unwrap_or(defaults.mount_points_exclude),
            mount_points_include: config.mount_points_include.clone(),
            fs_types_exclude: config
                .fs_types_exclude
                .clone()
                .unwrap_or(defaults.fs_types_exclude),
            disks_exclude: config
                .disks_exclude
                .clone()
                .unwrap_or(defaults.disks_exclude),
            interfaces_exclude: config
                .interfaces_exclude
                .clone()
                .unwrap_or(defaults.interfaces_exclude),
            interfaces_include: config.interfaces_include.clone(),
            exclude_virtual_interfaces: config.exclude_virtual_interfaces,
        };
        let roots = Roots {
            procfs: config.procfs.clone(),
            sysfs: config.sysfs.clone(),
            rootfs: config.rootfs.clone(),
        };
        let mut sampler = Sampler::new(roots, Filters::new(patterns)?);
        let first = render(sampler.sample());
        Ok(Self {
            sampler: Mutex::new(sampler),
            latest: RwLock::new(first),
            interval: config.interval,
        })
    }

    /// Takes a sample now (blocking: call it off the async workers) and makes it the latest.
    pub fn refresh(&self) {
        let sample = {
            let mut sampler = self
                .sampler
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            sampler.sample()
        };
        let new = render(sample);
        let mut latest = self
            .latest
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if new.sample.errors != latest.sample.errors {
            for e in &new.sample.errors {
                tracing::warn!("metrics: {e}");
            }
        }
        *latest = new;
    }

    /// Samples every interval until the task is dropped or aborted.
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate, and `new` already sampled
        loop {
            tick.tick().await;
            let me = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || me.refresh()).await {
                tracing::error!("metrics sampling task failed: {e}");
            }
        }
    }

    fn latest(&self) -> (Arc<Sample>, Bytes) {
        let l = self
            .latest
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (l.sample.clone(), l.json.clone())
    }

    /// Answers `/api/metrics` and `/api/metrics/{part}`; `None` if the path is not one.
    pub fn route(&self, path: &str) -> Option<Response<Body>> {
        let (sample, json) = self.latest();
        let r = match path {
            "/api/metrics" => metrics(json),
            "/api/metrics/host" => host(&sample),
            "/api/metrics/cpu" => cpu(&sample),
            "/api/metrics/load" => load(&sample),
            "/api/metrics/memory" => memory(&sample),
            "/api/metrics/swap" => swap(&sample),
            "/api/metrics/filesystems" => filesystems(&sample),
            "/api/metrics/disks" => disks(&sample),
            "/api/metrics/network" => network(&sample),
            "/api/metrics/temperatures" => temperatures(&sample),
            _ => return None,
        };
        Some(r)
    }
}

/// The narrow parts, each at `/api/metrics/{part}` (the route table's values of `{part}`).
pub const PARTS: [&str; 9] = [
    "host",
    "cpu",
    "load",
    "memory",
    "swap",
    "filesystems",
    "disks",
    "network",
    "temperatures",
];

fn render(sample: Sample) -> Latest {
    let json = serde_json::to_vec(&sample).unwrap_or_else(|e| {
        tracing::error!("cannot serialise a sample: {e}");
        b"{}".to_vec()
    });
    Latest {
        sample: Arc::new(sample),
        json: Bytes::from(json),
    }
}

fn part<T: Serialize>(what: &str, value: Option<&T>) -> Response<Body> {
    match value {
        Some(v) => response::json(StatusCode::OK, v),
        None => response::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the {what} figures could not be read on the last sample"),
        ),
    }
}

/// The whole sample: what the portal page uses.
#[utoipa::path(
    get,
    path = "/api/metrics",
    tag = "metrics",
    operation_id = "metrics",
    summary = "Host metrics: the latest sample",
    description = "CPU, load, memory, swap, filesystems, disks, network, temperatures and uptime of \
                   the host, from a sample taken in the background every `[metrics] interval` \
                   (default 2 s). Rates and percentages cover `interval_seconds` and are `null` \
                   when they cannot be computed honestly (the first sample, a counter reset). \
                   `host.hostname` tells which host of a pair answered.",
    responses(
        (status = 200, description = "The latest sample", body = Sample),
        (status = 500, description = "Internal error", body = ErrorBody),
    )
)]
fn metrics(json: Bytes) -> Response<Body> {
    response::json_bytes(StatusCode::OK, json)
}

macro_rules! narrow_route {
    ($fn:ident, $path:literal, $id:literal, $what:literal, $ty:ty, |$s:ident| $get:expr) => {
        #[utoipa::path(
            get,
            path = $path,
            tag = "metrics",
            operation_id = $id,
            summary = concat!("Host metrics: ", $what, " only"),
            description = concat!("The ", $what, " part of `/api/metrics`, from the same latest sample."),
            responses(
                (status = 200, description = concat!("The ", $what, " figures"), body = $ty),
                (status = 503, description = "This part could not be read on the last sample", body = ErrorBody,
                 example = json!({"error": {"code": "unavailable", "message": "the memory figures could not be read on the last sample"}})),
            )
        )]
        fn $fn($s: &Sample) -> Response<Body> {
            part($what, $get)
        }
    };
}

narrow_route!(
    host,
    "/api/metrics/host",
    "metrics_host",
    "host",
    HostInfo,
    |s| Some(&s.host)
);
narrow_route!(cpu, "/api/metrics/cpu", "metrics_cpu", "cpu", Cpu, |s| s
    .cpu
    .as_ref());
narrow_route!(
    load,
    "/api/metrics/load",
    "metrics_load",
    "load",
    Load,
    |s| s.load.as_ref()
);
narrow_route!(
    memory,
    "/api/metrics/memory",
    "metrics_memory",
    "memory",
    Memory,
    |s| s.memory.as_ref()
);
narrow_route!(
    swap,
    "/api/metrics/swap",
    "metrics_swap",
    "swap",
    Swap,
    |s| s.swap.as_ref()
);
narrow_route!(
    filesystems,
    "/api/metrics/filesystems",
    "metrics_filesystems",
    "filesystems",
    Vec<Filesystem>,
    |s| Some(&s.filesystems)
);
narrow_route!(
    disks,
    "/api/metrics/disks",
    "metrics_disks",
    "disks",
    Vec<Disk>,
    |s| Some(&s.disks)
);
narrow_route!(
    network,
    "/api/metrics/network",
    "metrics_network",
    "network",
    Network,
    |s| Some(&s.network)
);
narrow_route!(
    temperatures,
    "/api/metrics/temperatures",
    "metrics_temperatures",
    "temperatures",
    Vec<Temperature>,
    |s| Some(&s.temperatures)
);
