//! Finding container cgroups: which cgroup layout the host has, and a walk of its
//! hierarchy that recognises Docker, Podman, containerd/CRI-O (Kubernetes) and LXC
//! cgroups by their names.

use std::path::{Path, PathBuf};

use serde::Serialize;
use utoipa::ToSchema;

use crate::roots::Roots;

/// How the host mounts its cgroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// cgroup v2 only (the unified hierarchy at `<sysfs>/fs/cgroup`).
    V2 {
        /// The hierarchy's root.
        root: PathBuf,
    },
    /// cgroup v1 controllers at `<sysfs>/fs/cgroup/<controller>`, with the v2 hierarchy
    /// at `<sysfs>/fs/cgroup/unified` on a hybrid host (pressure is read from there).
    V1 {
        /// `<sysfs>/fs/cgroup`.
        root: PathBuf,
        /// The hybrid layout's v2 hierarchy, if there is one.
        unified: Option<PathBuf>,
    },
}

impl Layout {
    /// The layout under `roots`; `None` when there is no cgroup filesystem there.
    pub fn detect(roots: &Roots) -> Option<Self> {
        let root = roots.sys("fs/cgroup");
        if root.join("cgroup.controllers").is_file() {
            return Some(Layout::V2 { root });
        }
        if V1_WALKED.iter().any(|c| root.join(c).is_dir()) {
            let unified = root.join("unified");
            let unified = unified
                .join("cgroup.controllers")
                .is_file()
                .then_some(unified);
            return Some(Layout::V1 { root, unified });
        }
        None
    }

    /// The directory whose subtree is walked for containers.
    pub fn walked(&self) -> Option<PathBuf> {
        match self {
            Layout::V2 { root } => Some(root.clone()),
            Layout::V1 { root, .. } => V1_WALKED.iter().map(|c| root.join(c)).find(|p| p.is_dir()),
        }
    }
}

/// The v1 hierarchies a container walk may use, in order of preference (every runtime
/// puts its containers in the memory and cpuacct controllers).
const V1_WALKED: [&str; 3] = ["memory", "cpuacct", "cpu,cpuacct"];

/// Which runtime made a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// Docker (`docker-<id>.scope`, `/docker/<id>`).
    Docker,
    /// Podman (`libpod-<id>.scope`, rootful or rootless).
    Podman,
    /// A Kubernetes pod's container (containerd or CRI-O, under `kubepods`).
    Kubernetes,
    /// An LXC container (`lxc.payload.<name>`, or `/lxc/<name>`).
    Lxc,
}

impl Runtime {
    /// The lowercase name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Kubernetes => "kubernetes",
            Runtime::Lxc => "lxc",
        }
    }
}

/// A container's cgroup, as found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The cgroup path from the hierarchy's root, with a leading `/`
    /// (`/system.slice/docker-<id>.scope`): cAdvisor's `id` label.
    pub cgroup: String,
    /// The runtime.
    pub runtime: Runtime,
    /// The container's id (64 hex digits), or its name for LXC.
    pub id: String,
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Recognises a container cgroup by its directory name and its parent's path (from the
/// hierarchy's root, with a leading `/`). `None` for any other cgroup.
pub fn classify(parent: &str, name: &str) -> Option<(Runtime, String)> {
    let scope = name.strip_suffix(".scope").unwrap_or(name);
    let kube = parent.contains("kubepods");
    for (prefix, runtime) in [
        ("docker-", Runtime::Docker),
        ("libpod-", Runtime::Podman),
        ("cri-containerd-", Runtime::Kubernetes),
        ("crio-", Runtime::Kubernetes),
    ] {
        if let Some(id) = scope.strip_prefix(prefix).filter(|id| is_id(id)) {
            let runtime = if kube { Runtime::Kubernetes } else { runtime };
            return Some((runtime, id.to_owned()));
        }
    }
    if is_id(name) {
        if kube {
            return Some((Runtime::Kubernetes, name.to_owned()));
        }
        if parent.rsplit('/').next() == Some("docker") {
            return Some((Runtime::Docker, name.to_owned()));
        }
        if parent.rsplit('/').next() == Some("libpod_parent") {
            return Some((Runtime::Podman, name.to_owned()));
        }
    }
    if let Some(lxc) = name.strip_prefix("lxc.payload.").filter(|n| !n.is_empty()) {
        return Some((Runtime::Lxc, lxc.to_owned()));
    }
    if parent == "/lxc" || parent == "/lxc.payload" {
        return Some((Runtime::Lxc, name.to_owned()));
    }
    None
}

/// How deep the walk goes (rootless Podman under `user.slice` and Kubernetes pods sit
/// five or six levels down).
const MAX_DEPTH: usize = 10;

/// Walks the hierarchy under `root` and returns every container cgroup, sorted by path.
/// A container's own sub-cgroups are not walked (an LXC container's systemd, a nested
/// runtime); a directory that vanishes during the walk is skipped.
pub fn walk(root: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_owned(), String::new(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let parent = if rel.is_empty() { "/" } else { rel.as_str() };
            let path = format!("{}/{name}", rel);
            if let Some((runtime, id)) = classify(parent, name) {
                out.push(Found {
                    cgroup: path,
                    runtime,
                    id,
                });
            } else if depth + 1 < MAX_DEPTH {
                stack.push((e.path(), path, depth + 1));
            }
        }
    }
    out.sort_by(|a, b| a.cgroup.cmp(&b.cgroup));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";

    #[test]
    fn classifies_each_runtime_by_name() {
        let d = format!("docker-{ID}.scope");
        assert_eq!(
            classify("/system.slice", &d),
            Some((Runtime::Docker, ID.into()))
        );
        assert_eq!(classify("/docker", ID), Some((Runtime::Docker, ID.into())));
        assert_eq!(
            classify(
                "/user.slice/user-1000.slice/user@1000.service/user.slice",
                &format!("libpod-{ID}.scope")
            ),
            Some((Runtime::Podman, ID.into()))
        );
        assert_eq!(
            classify("/machine.slice", &format!("libpod-conmon-{ID}.scope")),
            None
        );
        assert_eq!(
            classify(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice",
                &format!("cri-containerd-{ID}.scope")
            ),
            Some((Runtime::Kubernetes, ID.into()))
        );
        assert_eq!(
            classify("/kubepods/besteffort/pod1234", ID),
            Some((Runtime::Kubernetes, ID.into()))
        );
        assert_eq!(
            classify("/", "lxc.payload.pihole"),
            Some((Runtime::Lxc, "pihole".into()))
        );
        assert_eq!(
            classify("/lxc", "pihole"),
            Some((Runtime::Lxc, "pihole".into()))
        );
        assert_eq!(classify("/system.slice", "docker.service"), None);
        assert_eq!(classify("/system.slice", "docker-abc.scope"), None);
        assert_eq!(
            classify("/", ID),
            None,
            "a bare id outside a runtime's parent"
        );
    }

    #[test]
    fn walk_finds_containers_and_does_not_enter_them() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for d in [
            format!("system.slice/docker-{ID}.scope"),
            "system.slice/docker.service".into(),
            "lxc.payload.web/init.scope".into(),
            format!("lxc.payload.web/system.slice/docker-{ID}.scope"),
        ] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::write(r.join("system.slice/cpu.stat"), "").unwrap();
        let found = walk(r);
        let paths: Vec<&str> = found.iter().map(|f| f.cgroup.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/lxc.payload.web".to_owned(),
                format!("/system.slice/docker-{ID}.scope")
            ]
        );
        assert!(walk(&r.join("absent")).is_empty());
    }
}
