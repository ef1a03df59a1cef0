//! `GET /api/containers` and `GET /api/containers/{name}`: the host's containers from the
//! latest sample. The container pass runs in the sampler's background task with the rest
//! of the sample; a request only reads what it left (the list pre-rendered).

use bytes::Bytes;
use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use kitestacks_metrics::Sample;
use kitestacks_metrics::cgroup::{ContainerSample, Containers};

use crate::response;
use crate::server::Body;

/// The `/api/containers` body of a sample; `None` if it has no container pass.
pub fn render(sample: &Sample) -> Option<Bytes> {
    let c = sample.containers.as_ref()?;
    match serde_json::to_vec(c) {
        Ok(v) => Some(Bytes::from(v)),
        Err(e) => {
            tracing::error!("cannot serialise the containers: {e}");
            None
        }
    }
}

/// Answers `/api/containers` (`name` `None`) or `/api/containers/{name}` from the latest
/// sample and its rendered list.
pub fn route(sample: &Sample, list: Option<&Bytes>, name: Option<&str>) -> Response<Body> {
    let (Some(containers), Some(list)) = (sample.containers.as_ref(), list) else {
        return response::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the containers could not be read on the last sample",
        );
    };
    match name {
        None => containers_doc(list.clone()),
        Some(name) => container_doc(containers, name),
    }
}

/// Every container.
#[utoipa::path(
    get,
    path = "/api/containers",
    tag = "metrics",
    operation_id = "containers",
    summary = "Containers: every container of the host",
    description = "Docker, Podman, Kubernetes and LXC containers found in the host's cgroup \
                   files (v2, v1 or hybrid), with their name, short id, image, runtime, state, \
                   health and restart count where the runtime's own files say, and their CPU, \
                   memory, block I/O, tasks, pressure and network figures. Taken with the host \
                   sample every `[metrics] interval`; `timestamp_seconds` says how fresh. \
                   Rates and percentages are `null` on a container's first sample and after a \
                   counter went backwards; memory percent is of the container's own limit and \
                   `null` without one.",
    responses(
        (status = 200, description = "Every container, sorted by name", body = Containers),
        (status = 503, description = "The containers could not be read", body = ErrorBody),
    )
)]
pub(super) fn containers_doc(list: Bytes) -> Response<Body> {
    response::json_bytes(StatusCode::OK, list)
}

/// One container, by name or short id.
#[utoipa::path(
    get,
    path = "/api/containers/{name}",
    tag = "metrics",
    operation_id = "container",
    summary = "Containers: one container",
    description = "One container of `/api/containers`, found by its name or its 12-digit id.",
    params(("name" = String, Path, description = "The container's name or short id")),
    responses(
        (status = 200, description = "The container", body = ContainerSample),
        (status = 404, description = "No container has this name", body = ErrorBody,
         example = json!({"error": {"code": "not_found", "message": "no container named \"grafana\""}})),
    )
)]
pub(super) fn container_doc(c: &Containers, name: &str) -> Response<Body> {
    let found = c
        .containers
        .iter()
        .find(|c| c.name == name)
        .or_else(|| c.containers.iter().find(|c| c.id == name));
    match found {
        Some(one) => response::json(StatusCode::OK, one),
        None => response::error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no container named {name:?}"),
        ),
    }
}
