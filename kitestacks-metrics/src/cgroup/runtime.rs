//! Names, images, health and restart counts from the runtimes' own files under the
//! rootfs, without their sockets: Docker's `containers/<id>/config.v2.json` and Podman's
//! `overlay-containers/containers.json` (rootful, and rootless under the user's home).
//! Each file is parsed again after inotify reports a change to it (without inotify, when
//! its modification time changes, looked at every pass).

use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use super::discover::{Found, Runtime};
use crate::roots::Roots;

/// What a runtime's files say about a container. Every field is optional: a file that
/// is absent, unreadable or not what we expect leaves it unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// The container's name (Docker's without its leading `/`).
    pub name: Option<String>,
    /// The image as the container was created from it (`Config.Image`).
    pub image: Option<String>,
    /// `running`, `paused` or `restarting`, where the runtime records it.
    pub state: Option<String>,
    /// The health check's status (`starting`, `healthy`, `unhealthy`).
    pub health: Option<String>,
    /// How often the runtime restarted it.
    pub restart_count: Option<u64>,
}

/// The largest runtime file read (a Docker `config.v2.json` with its health log is a few
/// KiB; a Podman store with hundreds of containers well under this).
const MAX_FILE: u64 = 4 << 20;

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerConfig {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "RestartCount")]
    restart_count: Option<u64>,
    #[serde(rename = "Config")]
    config: DockerInner,
    #[serde(rename = "State")]
    state: DockerState,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerInner {
    #[serde(rename = "Image")]
    image: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerState {
    #[serde(rename = "Running")]
    running: bool,
    #[serde(rename = "Paused")]
    paused: bool,
    #[serde(rename = "Restarting")]
    restarting: bool,
    #[serde(rename = "Health")]
    health: Option<DockerHealth>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerHealth {
    #[serde(rename = "Status")]
    status: String,
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Parses Docker's `config.v2.json`.
pub fn parse_docker(text: &str) -> Option<Meta> {
    let c: DockerConfig = serde_json::from_str(text).ok()?;
    let state = if c.state.paused {
        Some("paused")
    } else if c.state.restarting {
        Some("restarting")
    } else if c.state.running {
        Some("running")
    } else {
        None
    };
    Some(Meta {
        name: non_empty(c.name.trim_start_matches('/').to_owned()),
        image: non_empty(c.config.image),
        state: state.map(str::to_owned),
        health: c.state.health.and_then(|h| non_empty(h.status)),
        restart_count: c.restart_count,
    })
}

#[derive(Deserialize)]
struct PodmanEntry {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    metadata: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PodmanMetadata {
    #[serde(rename = "image-name")]
    image_name: String,
    name: String,
}

/// Parses Podman's (containers/storage's) `containers.json`: every container's name
/// and image, by id.
pub fn parse_podman(text: &str) -> HashMap<String, Meta> {
    let Ok(entries) = serde_json::from_str::<Vec<PodmanEntry>>(text) else {
        return HashMap::new();
    };
    entries
        .into_iter()
        .map(|e| {
            let md: PodmanMetadata = serde_json::from_str(&e.metadata).unwrap_or_default();
            let name = e.names.into_iter().next().or_else(|| non_empty(md.name));
            let meta = Meta {
                name,
                image: non_empty(md.image_name),
                ..Meta::default()
            };
            (e.id, meta)
        })
        .collect()
}

/// A parsed file, the modification time it was parsed at, and the inotify watch on its
/// directory (`None`: none could be set; the time is looked at every pass).
#[derive(Debug)]
struct Cached<T> {
    mtime: Option<SystemTime>,
    watch: Option<i32>,
    value: T,
}

/// Which watched directories changed since the last pass: one non-blocking read of an
/// inotify queue per pass instead of a `stat` per container. Docker replaces
/// `config.v2.json` by a rename on every state or health change, so a watch on the file
/// itself would be lost; its directory's is not. Any failure (no inotify, the instance
/// or watch limit reached, a full queue) falls back to looking at every file.
#[derive(Debug, Default)]
struct Changes {
    /// Made at the first watch (`Some(None)`: inotify could not be had).
    inotify: Option<Option<OwnedFd>>,
    /// Watches with an event since the last pass.
    seen: HashSet<i32>,
    /// The queue overflowed or could not be read: every watch counts as changed.
    all: bool,
}

impl Changes {
    /// Takes in the events queued since the last pass.
    fn drain(&mut self) {
        use rustix::fs::inotify::{ReadFlags, Reader};
        self.seen.clear();
        self.all = false;
        let Some(Some(fd)) = &self.inotify else {
            return;
        };
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut events = Reader::new(fd, &mut buf);
        loop {
            match events.next() {
                Ok(e) if e.events().contains(ReadFlags::QUEUE_OVERFLOW) => self.all = true,
                // Only the runtime's own file counts: a container's log file sits in
                // the same directory and is written all the time.
                Ok(e)
                    if e.file_name()
                        .is_none_or(|n| WATCHED.contains(&n.to_bytes())) =>
                {
                    self.seen.insert(e.wd());
                }
                Ok(_) => {}
                Err(rustix::io::Errno::AGAIN) => return,
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => {
                    self.all = true;
                    return;
                }
            }
        }
    }

    /// Whether `watch` saw nothing since the last pass.
    fn quiet(&self, watch: Option<i32>) -> bool {
        watch.is_some_and(|wd| !self.all && !self.seen.contains(&wd))
    }

    /// Watches the directory of `path` (again: the kernel drops a watch whose directory
    /// went, and hands back the same one for a directory already watched).
    fn watch(&mut self, path: &Path) -> Option<i32> {
        use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
        let dir = path.parent()?;
        let fd = self.inotify.get_or_insert_with(|| {
            inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).ok()
        });
        let flags = WatchFlags::CLOSE_WRITE
            | WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF;
        inotify::add_watch(fd.as_ref()?, dir, flags).ok()
    }

    fn unwatch(&self, watch: Option<i32>) {
        if let (Some(Some(fd)), Some(wd)) = (&self.inotify, watch) {
            // Already gone with its directory: nothing to undo.
            let _ = rustix::fs::inotify::remove_watch(fd, wd);
        }
    }
}

/// The names of the runtime files whose events count as a change.
const WATCHED: [&[u8]; 2] = [b"config.v2.json", b"containers.json"];

/// The runtimes' files, each parsed once per change.
#[derive(Debug, Default)]
pub struct MetaCache {
    docker: HashMap<String, Cached<Option<Meta>>>,
    podman: HashMap<PathBuf, Cached<HashMap<String, Meta>>>,
    homes: Option<HashMap<u32, String>>,
    changes: Changes,
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn read_capped(path: &Path) -> Option<String> {
    let mut s = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_FILE)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

/// The entry `key` of `map`, whose file is at `path()`: as it is while its directory is
/// quiet; re-parsed after an event named its file (two writes within one clock tick share
/// a modification time, so that is not compared then); without a watch, re-parsed when
/// its modification time changed (or it has none).
fn cached<'a, K: std::hash::Hash + Eq + Clone, T>(
    map: &'a mut HashMap<K, Cached<T>>,
    changes: &mut Changes,
    key: &K,
    path: impl FnOnce() -> PathBuf,
    parse: impl FnOnce(Option<String>) -> T,
) -> &'a T {
    if !map.get(key).is_some_and(|c| changes.quiet(c.watch)) {
        let path = path();
        // The watch first: a change after it is an event, whatever the read below saw.
        let watch = changes.watch(&path);
        let now = mtime(&path);
        match map.get_mut(key) {
            Some(c) if c.watch.is_none() && c.mtime == now && now.is_some() => c.watch = watch,
            _ => {
                let value = parse(read_capped(&path));
                map.insert(
                    key.clone(),
                    Cached {
                        mtime: now,
                        watch,
                        value,
                    },
                );
            }
        }
    }
    &map[key].value
}

impl MetaCache {
    /// What the runtime's files say about `found`; `Meta::default()` when nothing.
    pub fn lookup(&mut self, roots: &Roots, found: &Found) -> Meta {
        match found.runtime {
            Runtime::Docker => {
                let path = || {
                    roots.root(&format!(
                        "var/lib/docker/containers/{}/config.v2.json",
                        found.id
                    ))
                };
                cached(&mut self.docker, &mut self.changes, &found.id, path, |t| {
                    t.and_then(|t| parse_docker(&t))
                })
                .clone()
                .unwrap_or_default()
            }
            Runtime::Podman => {
                let path = self.podman_store(roots, &found.cgroup);
                cached(
                    &mut self.podman,
                    &mut self.changes,
                    &path,
                    || path.clone(),
                    |t| t.map(|t| parse_podman(&t)).unwrap_or_default(),
                )
                .get(&found.id)
                .cloned()
                .unwrap_or_default()
            }
            Runtime::Lxc => Meta {
                name: Some(found.id.clone()),
                ..Meta::default()
            },
            Runtime::Kubernetes => Meta::default(),
        }
    }

    /// Starts a pass: takes in what changed since the last, and forgets the entries
    /// (and watches) of containers not in `alive`.
    pub fn begin(&mut self, alive: &[Found]) {
        self.changes.drain();
        let ids: HashSet<&str> = alive.iter().map(|f| f.id.as_str()).collect();
        let changes = &self.changes;
        self.docker.retain(|id, c| {
            let keep = ids.contains(id.as_str());
            if !keep {
                changes.unwatch(c.watch);
            }
            keep
        });
    }

    /// Podman's store: rootful, or a rootless user's (`user-<uid>.slice` in the cgroup
    /// path, the home directory from the rootfs' `/etc/passwd`).
    fn podman_store(&mut self, roots: &Roots, cgroup: &str) -> PathBuf {
        const STORE: &str = "containers/storage/overlay-containers/containers.json";
        let uid = cgroup.split('/').find_map(|p| {
            p.strip_prefix("user-")?
                .strip_suffix(".slice")?
                .parse::<u32>()
                .ok()
        });
        let home = uid.and_then(|uid| {
            self.homes
                .get_or_insert_with(|| homes(roots))
                .get(&uid)
                .cloned()
        });
        match home {
            Some(home) => roots.root(&format!("{home}/.local/share/{STORE}")),
            None => roots.root(&format!("var/lib/{STORE}")),
        }
    }
}

/// Home directories by uid, from `<rootfs>/etc/passwd`.
fn homes(roots: &Roots) -> HashMap<u32, String> {
    let text = read_capped(&roots.root("etc/passwd")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, (*f.get(5)?).to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_fields() {
        let m = parse_docker(
            r#"{"ID":"abc","Name":"/forgejo","RestartCount":3,"Config":{"Image":"codeberg.org/forgejo/forgejo:9","Labels":{}},
                "State":{"Running":true,"Paused":false,"Restarting":false,"Pid":4242,"Health":{"Status":"unhealthy","FailingStreak":4,"Log":[]}}}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            Meta {
                name: Some("forgejo".into()),
                image: Some("codeberg.org/forgejo/forgejo:9".into()),
                state: Some("running".into()),
                health: Some("unhealthy".into()),
                restart_count: Some(3),
            }
        );
        let bare = parse_docker(r#"{"Name":"/x","State":{"Paused":true,"Running":true}}"#).unwrap();
        assert_eq!((bare.state.as_deref(), bare.health), (Some("paused"), None));
        assert_eq!(parse_docker("not json"), None);
    }

    #[test]
    fn podman_store() {
        let m = parse_podman(
            r#"[{"id":"aa","names":["web"],"image":"sha","metadata":"{\"image-name\":\"docker.io/library/nginx:latest\",\"name\":\"web\"}"},
                {"id":"bb","names":[],"metadata":"garbage"}]"#,
        );
        assert_eq!(m["aa"].name.as_deref(), Some("web"));
        assert_eq!(
            m["aa"].image.as_deref(),
            Some("docker.io/library/nginx:latest")
        );
        assert_eq!(m["bb"], Meta::default());
        assert!(parse_podman("{").is_empty());
    }
}
