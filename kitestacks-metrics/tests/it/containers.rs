//! Containers from fixture cgroup trees written here: Docker on cgroup v2 (names, rates,
//! limits, counter resets, OOM kills, network namespaces), rootless Podman, LXC,
//! Kubernetes, and a hybrid v1 host, each with hand-checked figures.

use std::path::Path;

use kitestacks_metrics::Roots;
use kitestacks_metrics::cgroup::fixture::{self, Figures};
use kitestacks_metrics::cgroup::{Layout, Reader, Runtime, Tracker};

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const ID2: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const MIB: u64 = 1 << 20;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn docker_on_v2_names_figures_and_honest_rates() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cgroup = format!("/system.slice/docker-{ID}.scope");
    let figures = Figures {
        usage_usec: 2_000_000,
        cpu_max: Some((50_000, 100_000)),
        memory_current: 100 * MIB,
        inactive_file: 20 * MIB,
        memory_max: Some(512 * MIB),
        oom_kills: 0,
        pids: vec![4242, 4243],
        ..Figures::default()
    };
    fixture::write_v2(root, &cgroup, &figures);
    // Not containers: the daemon's own service, and a conmon scope.
    fixture::write_v2(root, "/system.slice/docker.service", &Figures::default());
    fixture::write_docker_config(root, ID, "forgejo", "codeberg.org/forgejo/forgejo:9");
    fixture::write_netns(root, 4242, 1000, 2000);
    write(root, "sys/dev/block/8:0/uevent", "DEVNAME=sda\n");

    let mut t = Tracker::new(Roots::under(root));
    let first = t.sample();
    assert_eq!(first.errors, Vec::<String>::new());
    assert_eq!(first.interval_seconds, None);
    assert_eq!(first.containers.len(), 1);
    let c = &first.containers[0];
    assert_eq!(
        (
            c.name.as_str(),
            c.id.as_str(),
            c.runtime,
            c.cgroup.as_str(),
            c.image.as_deref(),
            c.health.as_deref(),
            c.state.as_deref(),
            c.restart_count
        ),
        (
            "forgejo",
            "0123456789ab",
            Runtime::Docker,
            cgroup.as_str(),
            Some("codeberg.org/forgejo/forgejo:9"),
            Some("healthy"),
            Some("running"),
            Some(1)
        )
    );
    let cpu = c.cpu.as_ref().unwrap();
    assert_eq!(
        (
            cpu.usage_seconds_total,
            cpu.user_seconds_total,
            cpu.system_seconds_total,
            cpu.limit_cores
        ),
        (2.0, 1.5, 0.5, Some(0.5))
    );
    assert_eq!(
        (cpu.percent_of_one_core, cpu.percent_of_limit),
        (None, None),
        "no rate on the first pass"
    );
    let m = c.memory.as_ref().unwrap();
    assert_eq!(
        (
            m.usage_bytes,
            m.working_set_bytes,
            m.anon_bytes,
            m.file_bytes
        ),
        (100 * MIB, 80 * MIB, 50 * MIB, 25 * MIB)
    );
    assert_eq!(m.limit_bytes, Some(512 * MIB));
    assert_eq!(m.percent_of_limit, Some(15.625));
    assert_eq!(
        (m.oom_kills_total, m.last_oom_kill_seconds),
        (Some(0), None)
    );
    assert_eq!(c.io.len(), 1);
    assert_eq!(
        (
            c.io[0].device.as_str(),
            c.io[0].read_bytes_total,
            c.io[0].writes_total
        ),
        ("/dev/sda", 4096, 3)
    );
    assert_eq!(
        (c.processes, c.tasks, c.tasks_max),
        (Some(2), Some(2), None)
    );
    let p = c.pressure.as_ref().unwrap();
    assert_eq!(
        (p.cpu_some_seconds_total, p.cpu_full_seconds_total),
        (Some(1.5), Some(0.5))
    );
    let net = c.network.as_ref().expect("its own network namespace");
    assert_eq!(net.len(), 1, "loopback left out");
    assert_eq!(
        (
            net[0].name.as_str(),
            net[0].receive_bytes_total,
            net[0].transmit_bytes_total
        ),
        ("eth0", 1000, 2000)
    );

    // Half a second of CPU more, an OOM kill, more traffic.
    fixture::write_v2(
        root,
        &cgroup,
        &Figures {
            usage_usec: 2_500_000,
            oom_kills: 1,
            ..figures.clone()
        },
    );
    fixture::write_netns(root, 4242, 1500, 2000);
    let second = t.sample();
    let secs = second.interval_seconds.unwrap();
    let c = &second.containers[0];
    let cpu = c.cpu.as_ref().unwrap();
    let expected = 0.5 / secs * 100.0;
    assert!((cpu.percent_of_one_core.unwrap() - expected).abs() < 1e-6);
    assert!((cpu.percent_of_limit.unwrap() - expected * 2.0).abs() < 1e-6);
    let m = c.memory.as_ref().unwrap();
    assert_eq!(m.oom_kills_total, Some(1));
    assert_eq!(m.last_oom_kill_seconds, Some(second.timestamp_seconds));
    let rx = c.network.as_ref().unwrap()[0]
        .receive_bytes_per_second
        .unwrap();
    assert!((rx - 500.0 / secs).abs() < 1e-6);

    // The counter went backwards (the cgroup was re-created): no rate, no negative spike.
    fixture::write_v2(
        root,
        &cgroup,
        &Figures {
            usage_usec: 100_000,
            ..figures.clone()
        },
    );
    let third = t.sample();
    assert_eq!(
        third.containers[0]
            .cpu
            .as_ref()
            .unwrap()
            .percent_of_one_core,
        None
    );
    assert!(
        third.containers[0]
            .memory
            .as_ref()
            .unwrap()
            .last_oom_kill_seconds
            .is_some(),
        "a recent OOM kill is remembered"
    );

    // Gone: left out, and not an error.
    std::fs::remove_dir_all(root.join(format!("sys/fs/cgroup{cgroup}"))).unwrap();
    let fourth = t.sample();
    assert!(fourth.containers.is_empty());
    assert!(fourth.errors.is_empty(), "{:?}", fourth.errors);
}

#[test]
fn no_limit_means_no_percentage_and_the_host_network_is_not_copied() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture::write_v2(
        root,
        &format!("/docker/{ID}"),
        &Figures {
            pids: vec![77],
            ..Figures::default()
        },
    );
    // PID 77 shares PID 1's namespace (`--network host`).
    fixture::write_netns(root, 77, 1, 1);
    std::fs::remove_file(root.join("proc/77/ns/net")).unwrap();
    std::os::unix::fs::symlink("net:[4026531840]", root.join("proc/77/ns/net")).unwrap();
    let mut t = Tracker::new(Roots::under(root));
    let s = t.sample();
    let c = &s.containers[0];
    assert_eq!(
        (c.name.as_str(), c.image.as_deref()),
        ("0123456789ab", None)
    );
    let m = c.memory.as_ref().unwrap();
    assert_eq!((m.limit_bytes, m.percent_of_limit), (None, None));
    assert_eq!(c.cpu.as_ref().unwrap().limit_cores, None);
    assert_eq!(c.network, None);
}

#[test]
fn rootless_podman_named_from_the_users_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cgroup =
        format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope");
    fixture::write_v2(root, &cgroup, &Figures::default());
    fixture::write_v2(
        root,
        &format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-{ID}.scope"
        ),
        &Figures::default(),
    );
    write(
        root,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    );
    write(
        root,
        "home/alice/.local/share/containers/storage/overlay-containers/containers.json",
        &format!(
            r#"[{{"id":"{ID}","names":["karakeep"],"image":"0ab1","metadata":"{{\"image-name\":\"ghcr.io/karakeep-app/karakeep:release\",\"name\":\"karakeep\"}}"}}]"#
        ),
    );
    let s = Tracker::new(Roots::under(root)).sample();
    assert_eq!(s.containers.len(), 1);
    let c = &s.containers[0];
    assert_eq!(
        (c.name.as_str(), c.runtime, c.image.as_deref()),
        (
            "karakeep",
            Runtime::Podman,
            Some("ghcr.io/karakeep-app/karakeep:release")
        )
    );
}

#[test]
fn lxc_container_with_its_own_systemd_inside() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture::write_v2(
        root,
        "/lxc.payload.pihole",
        &Figures {
            memory_current: 300 * MIB,
            inactive_file: 100 * MIB,
            memory_max: Some(1024 * MIB),
            ..Figures::default()
        },
    );
    fixture::write_v2(root, "/lxc.payload.pihole/init.scope", &Figures::default());
    fixture::write_v2(root, "/lxc.monitor.pihole", &Figures::default());
    let s = Tracker::new(Roots::under(root)).sample();
    assert_eq!(s.containers.len(), 1, "{:?}", s.containers);
    let c = &s.containers[0];
    assert_eq!(
        (c.name.as_str(), c.id.as_str(), c.runtime),
        ("pihole", "pihole", Runtime::Lxc)
    );
    // 300 - 100 MiB of a 1 GiB limit, not of the host's memory.
    assert_eq!(
        c.memory.as_ref().unwrap().percent_of_limit,
        Some(200.0 / 1024.0 * 100.0)
    );
}

#[test]
fn kubernetes_containers_under_kubepods() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7a1b.slice";
    fixture::write_v2(
        root,
        &format!("{pod}/cri-containerd-{ID}.scope"),
        &Figures::default(),
    );
    fixture::write_v2(
        root,
        &format!("/kubepods/besteffort/pod9c2d/{ID2}"),
        &Figures::default(),
    );
    let s = Tracker::new(Roots::under(root)).sample();
    let got: Vec<(&str, Runtime)> = s
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.runtime))
        .collect();
    assert_eq!(
        got,
        [
            ("0123456789ab", Runtime::Kubernetes),
            ("fedcba987654", Runtime::Kubernetes)
        ]
    );
}

#[test]
fn hybrid_v1_host_with_the_figures_v1_has() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let c = format!("docker/{ID}");
    for (ctl, file, text) in [
        ("cpuacct", "cpuacct.usage", "3000000000\n"),
        ("cpuacct", "cpuacct.stat", "user 200\nsystem 100\n"),
        (
            "cpu",
            "cpu.stat",
            "nr_periods 40\nnr_throttled 4\nthrottled_time 2000000000\n",
        ),
        ("cpu", "cpu.cfs_quota_us", "200000\n"),
        ("cpu", "cpu.cfs_period_us", "100000\n"),
        ("memory", "memory.usage_in_bytes", "209715200\n"),
        (
            "memory",
            "memory.stat",
            "cache 1\nrss 2\ninactive_file 3\ntotal_cache 52428800\ntotal_rss 104857600\ntotal_inactive_file 41943040\n",
        ),
        ("memory", "memory.limit_in_bytes", "9223372036854771712\n"),
        ("memory", "memory.memsw.usage_in_bytes", "220200960\n"),
        (
            "memory",
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        ),
        ("memory", "cgroup.procs", "501\n502\n503\n"),
        (
            "blkio",
            "blkio.throttle.io_service_bytes_recursive",
            "8:16 Read 1000\n8:16 Write 2000\n8:16 Sync 0\n8:16 Async 3000\n8:16 Discard 0\n8:16 Total 3000\nTotal 3000\n",
        ),
        (
            "blkio",
            "blkio.throttle.io_serviced_recursive",
            "8:16 Read 5\n8:16 Write 6\n8:16 Total 11\nTotal 11\n",
        ),
        ("pids", "pids.current", "7\n"),
        ("pids", "pids.max", "max\n"),
        (
            "unified",
            "cpu.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        ),
    ] {
        write(root, &format!("sys/fs/cgroup/{ctl}/{c}/{file}"), text);
    }
    write(root, "sys/fs/cgroup/unified/cgroup.controllers", "");

    let roots = Roots::under(root);
    let mut reader = Reader::new(roots.clone());
    assert!(matches!(
        reader.layout(),
        Some(Layout::V1 {
            unified: Some(_),
            ..
        })
    ));
    let pass = reader.read();
    assert_eq!(pass.errors, Vec::<String>::new());
    let s = &pass.containers[0].stats;
    let cpu = s.cpu.unwrap();
    assert_eq!(
        (
            cpu.usage_usec,
            cpu.user_usec,
            cpu.system_usec,
            cpu.nr_throttled,
            cpu.throttled_usec
        ),
        (3_000_000, 2_000_000, 1_000_000, 4, 2_000_000)
    );
    assert_eq!(s.cpu_limit.unwrap().cores(), Some(2.0));
    let m = s.memory.unwrap();
    assert_eq!(
        (
            m.usage,
            m.working_set,
            m.anon,
            m.file,
            m.limit,
            m.swap,
            m.oom_kills
        ),
        (
            209_715_200,
            167_772_160,
            104_857_600,
            52_428_800,
            None,
            Some(10_485_760),
            Some(1)
        )
    );
    let io = &s.io[0];
    assert_eq!(
        (
            io.device.as_str(),
            io.stat.read_bytes,
            io.stat.write_bytes,
            io.stat.reads,
            io.stat.writes
        ),
        ("8:16", 1000, 2000, 5, 6)
    );
    assert_eq!((s.tasks, s.processes), (Some(7), Some(3)));
    assert_eq!(s.pressure.cpu.unwrap().some_usec, Some(1_500_000));
    assert_eq!(s.pressure.memory, None, "no memory.pressure there");

    // The tracker turns the same into JSON figures.
    let sample = Tracker::new(roots).sample();
    let c = &sample.containers[0];
    assert_eq!(c.cpu.as_ref().unwrap().usage_seconds_total, 3.0);
    assert_eq!(c.memory.as_ref().unwrap().percent_of_limit, None);
}

#[test]
fn a_garbled_file_costs_its_figure_and_names_itself() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cgroup = format!("/system.slice/docker-{ID}.scope");
    fixture::write_v2(root, &cgroup, &Figures::default());
    write(
        root,
        &format!("sys/fs/cgroup{cgroup}/cpu.stat"),
        "usage_usec lots\n",
    );
    let s = Tracker::new(Roots::under(root)).sample();
    assert_eq!(s.containers.len(), 1);
    assert_eq!(s.containers[0].cpu, None);
    assert!(s.containers[0].memory.is_some());
    assert_eq!(s.errors.len(), 1);
    assert!(
        s.errors[0].ends_with("cpu.stat:1: usage_usec: no unsigned value"),
        "{:?}",
        s.errors
    );
}

#[test]
fn a_cgroup_emptied_mid_walk_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture::v2_root(root);
    // The walk sees the directory; its files are already gone.
    std::fs::create_dir_all(root.join(format!("sys/fs/cgroup/system.slice/docker-{ID}.scope")))
        .unwrap();
    let s = Tracker::new(Roots::under(root)).sample();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.containers.len(), 1);
    assert_eq!(
        (&s.containers[0].cpu, &s.containers[0].memory),
        (&None, &None)
    );
}

#[test]
fn no_cgroup_filesystem_means_no_containers() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Reader::new(Roots::under(dir.path()));
    assert_eq!(r.layout(), None);
    let pass = r.read();
    assert!(pass.containers.is_empty() && pass.errors.is_empty());
}

#[test]
fn a_recreated_container_is_a_new_series_without_a_rate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let old = format!("/system.slice/docker-{ID}.scope");
    fixture::write_v2(
        root,
        &old,
        &Figures {
            usage_usec: 9_000_000,
            ..Figures::default()
        },
    );
    fixture::write_docker_config(root, ID, "grafana", "grafana/grafana:11");
    let mut t = Tracker::new(Roots::under(root));
    t.sample();
    // `docker compose up` recreates it: same name, new id, counters of its own (here
    // above the old ones, so only a new series, not a reset, explains the missing rate).
    std::fs::remove_dir_all(root.join(format!("sys/fs/cgroup{old}"))).unwrap();
    let new = format!("/system.slice/docker-{ID2}.scope");
    fixture::write_v2(
        root,
        &new,
        &Figures {
            usage_usec: 9_500_000,
            ..Figures::default()
        },
    );
    fixture::write_docker_config(root, ID2, "grafana", "grafana/grafana:11");
    let s = t.sample();
    assert_eq!(s.containers.len(), 1);
    let c = &s.containers[0];
    assert_eq!(
        (c.name.as_str(), c.cgroup.as_str()),
        ("grafana", new.as_str())
    );
    assert_eq!(
        c.cpu.as_ref().unwrap().percent_of_one_core,
        None,
        "no negative spike"
    );
    assert!(s.interval_seconds.is_some());
}

/// Docker rewrites `config.v2.json` on every state or health change, by a rename (and
/// other tools write in place); each pass shows what the file says now, though the file
/// is re-read only after a change.
#[test]
fn names_health_and_restarts_follow_the_runtimes_rewrites() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cgroup = format!("/system.slice/docker-{ID}.scope");
    fixture::write_v2(root, &cgroup, &Figures::default());
    let mut t = Tracker::new(Roots::under(root));
    let seen = |t: &mut Tracker| {
        let s = t.sample();
        let c = &s.containers[0];
        (c.name.clone(), c.health.clone(), c.restart_count)
    };
    assert_eq!(
        seen(&mut t),
        (ID[..12].to_owned(), None, None),
        "no file yet"
    );
    assert_eq!(seen(&mut t), (ID[..12].to_owned(), None, None));

    fixture::write_docker_config(root, ID, "kavita", "jvmilazz0/kavita:0.8");
    let healthy = || ("kavita".to_owned(), Some("healthy".to_owned()), Some(1));
    assert_eq!(seen(&mut t), healthy(), "the file appeared");
    assert_eq!(seen(&mut t), healthy(), "unchanged");

    let config = root.join(format!("var/lib/docker/containers/{ID}/config.v2.json"));
    let text = std::fs::read_to_string(&config).unwrap();
    let renamed = config.with_file_name(".tmp-config.v2.json123");
    std::fs::write(&renamed, text.replace("healthy", "unhealthy")).unwrap();
    std::fs::rename(&renamed, &config).unwrap();
    let unhealthy = || ("kavita".to_owned(), Some("unhealthy".to_owned()), Some(1));
    assert_eq!(seen(&mut t), unhealthy(), "replaced by a rename");
    assert_eq!(seen(&mut t), unhealthy());

    std::fs::write(
        &config,
        text.replace("\"RestartCount\":1", "\"RestartCount\":2"),
    )
    .unwrap();
    assert_eq!(
        seen(&mut t),
        ("kavita".to_owned(), Some("healthy".to_owned()), Some(2)),
        "written in place"
    );
}

/// The network is that of the container's first process, looked at again when that
/// process changes: here from one sharing the host's namespace to one with its own.
#[test]
fn the_network_follows_the_first_process() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cgroup = format!("/system.slice/docker-{ID}.scope");
    let figures = |pid| Figures {
        pids: vec![pid],
        ..Figures::default()
    };
    fixture::write_v2(root, &cgroup, &figures(500));
    fixture::write_netns(root, 600, 1000, 2000);
    let host = root.join("proc/500/ns");
    std::fs::create_dir_all(&host).unwrap();
    std::os::unix::fs::symlink("net:[4026531840]", host.join("net")).unwrap();
    let mut t = Tracker::new(Roots::under(root));
    let network = |t: &mut Tracker| t.sample().containers[0].network.clone();
    assert_eq!(network(&mut t), None, "the host's namespace is not copied");
    assert_eq!(network(&mut t), None);

    fixture::write_v2(root, &cgroup, &figures(600));
    let own = network(&mut t).expect("its own namespace");
    assert_eq!(
        own.iter()
            .map(|i| (i.name.as_str(), i.receive_bytes_total))
            .collect::<Vec<_>>(),
        [("eth0", 1000)]
    );
}
