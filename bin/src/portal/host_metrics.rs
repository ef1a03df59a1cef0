//! `GET /api/metrics` and its narrow parts: the latest sample of the host, taken in the
//! background at `[metrics] interval` by one [`Sampler`]. Requests never read /proc: they
//! get the last sample, pre-rendered, so their cost does not grow with open tabs.

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use bytes::Bytes;
use hyper::{Response, StatusCode};
use kitestacks_core::MetricsConfig;
use kitestacks_core::api::ErrorBody;
use kitestacks_metrics::{
    Cpu, Disk, Filesystem, FilterPatterns, Filters, HostInfo, Load, Memory, Network, Roots, Sample,
    Sampler, Swap, Temperature,
};
use serde::Serialize;

use super::Feed;
use super::events::Kind;
use crate::response;
use crate::server::Body;

/// The sampler and its latest sample.
pub struct Metrics {
    sampler: Mutex<Sampler>,
    latest: RwLock<Latest>,
    interval: std::time::Duration,
    /// Where each new sample goes besides `/api/metrics`: history and live updates.
    feed: OnceLock<Arc<Feed>>,
}

struct Latest {
    sample: Arc<Sample>,
    json: Bytes,
    /// `/api/containers`, rendered once per sample.
    containers: Option<Bytes>,
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
        let sampler = Sampler::new(roots, Filters::new(patterns)?).with_containers();
        Ok(Self::with_sampler(sampler, config.interval))
    }

    /// [`Metrics::new`] with a sampler built elsewhere (tests pass one whose `statfs`
    /// blocks), sampling every `interval`.
    pub fn with_sampler(mut sampler: Sampler, interval: std::time::Duration) -> Self {
        let first = render(sampler.sample());
        Self {
            sampler: Mutex::new(sampler),
            latest: RwLock::new(first),
            interval,
            feed: OnceLock::new(),
        }
    }

    /// Sends every later sample to the history and the event stream too.
    pub fn feed(&self, feed: Arc<Feed>) {
        let _ = self.feed.set(feed);
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
        if let Some(feed) = self.feed.get() {
            feed.history.record_sample(&new.sample);
            feed.events.publish(Kind::Sample, &new.json);
            // Containers: while the host has any, and once more when the last is gone.
            let any = |s: &Sample| {
                s.containers
                    .as_ref()
                    .is_some_and(|c| !c.containers.is_empty())
            };
            let had = any(&self.latest().0);
            if let Some(containers) = new.containers.as_ref().filter(|_| had || any(&new.sample)) {
                feed.events.publish(Kind::Containers, containers);
            }
        }
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

    /// How often the host is sampled.
    pub(crate) fn interval(&self) -> std::time::Duration {
        self.interval
    }

    pub(crate) fn latest(&self) -> (Arc<Sample>, Bytes) {
        let l = self
            .latest
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (l.sample.clone(), l.json.clone())
    }

    /// Answers `/api/containers` (`name` `None`) and `/api/containers/{name}` from the
    /// latest sample.
    pub fn containers(&self, name: Option<&str>) -> Response<Body> {
        let l = self
            .latest
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        super::containers::route(&l.sample, l.containers.as_ref(), name)
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
        containers: super::containers::render(&sample),
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_sample_stays_fresh_while_a_mount_does_not_answer() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["proc/1", "data", "nas"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("proc/1/mountinfo"),
            "30 1 259:3 / /data rw - ext4 /dev/sdb1 rw\n31 1 0:50 / /nas rw - nfs4 nas:/x rw\n",
        )
        .unwrap();
        // A statfs that hangs for /nas (a dead NFS server) until `release` is dropped.
        let (release, hang) = mpsc::channel::<()>();
        let hang = Mutex::new(hang);
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let sampler = Sampler::new(Roots::under(root), Filters::default())
            .with_mount_timeout(Duration::from_millis(50))
            .with_statfs(move |p| {
                if p.ends_with("nas") {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let _ = hang.lock().unwrap().recv();
                    return Err(std::io::ErrorKind::TimedOut.into());
                }
                kitestacks_metrics::mounts::statfs(p)
            });
        let metrics = Metrics::with_sampler(sampler, Duration::from_secs(2));
        let (first, _) = metrics.latest();
        assert_eq!(first.interval_seconds, None);
        metrics.refresh();
        let (second, json) = metrics.latest();
        assert!(
            second.interval_seconds.is_some(),
            "the refresh replaced the first sample"
        );
        let nas = root.join("nas").display().to_string();
        for s in [&first, &second] {
            let points: Vec<&str> = s
                .filesystems
                .iter()
                .map(|f| f.mount_point.as_str())
                .collect();
            assert_eq!(points, ["/data"]);
            assert!(
                s.errors
                    .iter()
                    .any(|e| e.contains(&nas) && e.contains("statfs")),
                "{:?}",
                s.errors
            );
        }
        let body: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(body["filesystems"].as_array().unwrap().len(), 1);
        assert_eq!(body["filesystems"][0]["mount_point"], "/data");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the refresh did not wait again"
        );
        drop(release);
    }
}
