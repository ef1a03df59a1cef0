//! Fixture trees for tests and benches: a container's cgroup v2 files with chosen
//! figures, a Docker `config.v2.json` beside them, and a process in its own network
//! namespace, all under one directory used as the roots (`<dir>/sys`, `<dir>/proc`,
//! `<dir>`).

use std::path::Path;

/// The figures written for one container.
#[derive(Debug, Clone)]
pub struct Figures {
    /// `cpu.stat` `usage_usec` (`user_usec` is 3/4 of it, `system_usec` the rest).
    pub usage_usec: u64,
    /// `cpu.max`: quota and period in µs, or `None` for `max 100000`.
    pub cpu_max: Option<(u64, u64)>,
    /// `memory.current`.
    pub memory_current: u64,
    /// `memory.stat` `inactive_file`.
    pub inactive_file: u64,
    /// `memory.max`, or `None` for `max`.
    pub memory_max: Option<u64>,
    /// `memory.events` `oom_kill`.
    pub oom_kills: u64,
    /// `io.stat` of device 8:0: rbytes, wbytes, rios, wios.
    pub io: (u64, u64, u64, u64),
    /// The processes of `cgroup.procs`.
    pub pids: Vec<u32>,
}

impl Default for Figures {
    fn default() -> Self {
        Self {
            usage_usec: 2_000_000,
            cpu_max: None,
            memory_current: 100 << 20,
            inactive_file: 20 << 20,
            memory_max: None,
            oom_kills: 0,
            io: (4096, 8192, 2, 3),
            pids: vec![],
        }
    }
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the fixture's directories");
    }
    std::fs::write(path, text).expect("write a fixture file");
}

/// The cgroup v2 root of a fixture tree under `root`: `<root>/sys/fs/cgroup`, with its
/// `cgroup.controllers` (what marks a v2 hierarchy).
pub fn v2_root(root: &Path) -> std::path::PathBuf {
    let dir = root.join("sys/fs/cgroup");
    write(
        &dir.join("cgroup.controllers"),
        "cpuset cpu io memory pids\n",
    );
    dir
}

/// Writes the cgroup v2 files of the container at `cgroup` (e.g.
/// `/system.slice/docker-<id>.scope`) below the v2 root of `root`.
pub fn write_v2(root: &Path, cgroup: &str, f: &Figures) {
    let dir = v2_root(root).join(cgroup.trim_start_matches('/'));
    let user = f.usage_usec / 4 * 3;
    let files = [
        (
            "cpu.stat",
            format!(
                "usage_usec {}\nuser_usec {user}\nsystem_usec {}\nnr_periods 10\nnr_throttled 2\nthrottled_usec 5000\n",
                f.usage_usec,
                f.usage_usec - user
            ),
        ),
        (
            "cpu.max",
            match f.cpu_max {
                Some((q, p)) => format!("{q} {p}\n"),
                None => "max 100000\n".into(),
            },
        ),
        ("memory.current", format!("{}\n", f.memory_current)),
        (
            "memory.stat",
            format!(
                "anon {}\nfile {}\nkernel 4096\nactive_file {}\ninactive_file {}\n",
                f.memory_current / 2,
                f.memory_current / 4,
                f.memory_current / 4 - f.inactive_file.min(f.memory_current / 4),
                f.inactive_file
            ),
        ),
        (
            "memory.max",
            f.memory_max.map_or("max\n".into(), |m| format!("{m}\n")),
        ),
        ("memory.swap.current", "0\n".into()),
        (
            "memory.events",
            format!("low 0\nhigh 0\nmax 0\noom {}\noom_kill {}\n", f.oom_kills, f.oom_kills),
        ),
        (
            "io.stat",
            format!(
                "8:0 rbytes={} wbytes={} rios={} wios={} dbytes=0 dios=0\n",
                f.io.0, f.io.1, f.io.2, f.io.3
            ),
        ),
        ("pids.current", format!("{}\n", f.pids.len().max(1))),
        ("pids.max", "max\n".into()),
        (
            "cgroup.procs",
            f.pids.iter().map(|p| format!("{p}\n")).collect(),
        ),
        (
            "cpu.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=500000\n".into(),
        ),
        (
            "memory.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n".into(),
        ),
        (
            "io.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=250000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n".into(),
        ),
    ];
    for (name, text) in files {
        write(&dir.join(name), &text);
    }
}

/// Writes Docker's `config.v2.json` for container `id` under the rootfs `root`.
pub fn write_docker_config(root: &Path, id: &str, name: &str, image: &str) {
    write(
        &root.join(format!("var/lib/docker/containers/{id}/config.v2.json")),
        &format!(
            r#"{{"ID":"{id}","Name":"/{name}","RestartCount":1,"Config":{{"Image":"{image}"}},"State":{{"Running":true,"Health":{{"Status":"healthy"}}}}}}"#
        ),
    );
}

/// Makes process `pid` under the procfs of `root` with a network namespace of its own
/// (`ns/net` pointing elsewhere than PID 1's) and one interface `eth0` with these
/// receive/transmit byte counts; PID 1 gets the host's namespace.
pub fn write_netns(root: &Path, pid: u32, rx: u64, tx: u64) {
    let link = |pid: u32, target: &str| {
        let dir = root.join(format!("proc/{pid}/ns"));
        std::fs::create_dir_all(&dir).expect("create ns directory");
        let path = dir.join("net");
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(target, path).expect("link ns/net");
    };
    link(1, "net:[4026531840]");
    link(pid, &format!("net:[{}]", 4_026_532_000 + u64::from(pid)));
    write(
        &root.join(format!("proc/{pid}/net/dev")),
        &format!(
            "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
             lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  \
             eth0: {rx} 10 1 2 0 0 0 0 {tx} 20 3 4 0 0 0 0\n"
        ),
    );
}
