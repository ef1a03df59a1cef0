//! Containers through both binaries: `/api/containers` and `/api/containers/{name}`, the
//! history series and the `containers` event of the portal over a fixture cgroup tree,
//! the exporter's `--collector.containers`, and a live cgroup made here with a busy
//! process in it.

use kitestacks::portal::Portal;
use kitestacks_core::Config;
use kitestacks_metrics::cgroup::fixture::{self, Figures};
use std::path::Path;

use crate::exporter::{exporter, get};
use crate::http::call;
use crate::live::events;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const CGROUP: &str =
    "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope";

fn figures(usage_usec: u64) -> Figures {
    Figures {
        usage_usec,
        memory_current: 900 << 20,
        inactive_file: 0,
        memory_max: Some(1000 << 20),
        pids: vec![321],
        ..Figures::default()
    }
}

/// A Docker container `forgejo` on cgroup v2 under `root`, in a network namespace of its
/// own, at 90% of its memory limit.
fn tree(root: &Path) {
    fixture::write_v2(root, CGROUP, &figures(1_000_000));
    fixture::write_docker_config(root, ID, "forgejo", "codeberg.org/forgejo/forgejo:9");
    fixture::write_netns(root, 321, 10, 20);
}

fn portal_on(root: &Path, extra: &str) -> Portal {
    let text = format!(
        "[metrics]\nprocfs = {:?}\nsysfs = {:?}\nrootfs = {:?}\n{extra}",
        root.join("proc").display().to_string(),
        root.join("sys").display().to_string(),
        root.display().to_string()
    );
    Portal::new(&Config::from_toml(&text, "<test>", None).unwrap()).unwrap()
}

#[tokio::test]
async fn the_portal_lists_containers_and_finds_one_by_name() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let p = portal_on(dir.path(), "");
    let r = call(&p, "GET", "/api/containers", &[]).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(v["timestamp_seconds"].as_f64().unwrap() > 1.7e9);
    let c = &v["containers"][0];
    assert_eq!(c["name"], "forgejo");
    assert_eq!(c["id"], "0123456789ab");
    assert_eq!(c["runtime"], "docker");
    assert_eq!(c["cgroup"], CGROUP);
    assert_eq!(c["image"], "codeberg.org/forgejo/forgejo:9");
    assert_eq!(c["health"], "healthy");
    assert_eq!(c["restart_count"], 1);
    assert_eq!(c["cpu"]["usage_seconds_total"], 1.0);
    assert!(c["cpu"]["percent_of_one_core"].is_null(), "first sample");
    assert_eq!(c["memory"]["percent_of_limit"], 90.0);
    assert_eq!(c["network"][0]["name"], "eth0");

    fixture::write_v2(dir.path(), CGROUP, &figures(1_250_000));
    p.refresh_metrics();
    let one = call(&p, "GET", "/api/containers/forgejo", &[]).await;
    assert_eq!(one.status, 200);
    let one = one.json();
    assert!(one["cpu"]["percent_of_one_core"].as_f64().unwrap() > 0.0);
    let by_id = call(&p, "GET", "/api/containers/0123456789ab", &[]).await;
    assert_eq!(by_id.json(), one);

    let missing = call(&p, "GET", "/api/containers/grafana", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "not_found");
    assert_eq!(
        missing.json()["error"]["message"],
        "no container named \"grafana\""
    );
    let head = call(&p, "HEAD", "/api/containers", &[]).await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(call(&p, "POST", "/api/containers", &[]).await.status, 405);

    // The sampled figures are history series.
    let index = call(&p, "GET", "/api/history", &[]).await.json();
    let names: Vec<&str> = index["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for series in [
        "container.cpu_percent[forgejo]",
        "container.memory_bytes[forgejo]",
        "container.memory_percent[forgejo]",
    ] {
        assert!(names.contains(&series), "{series} not in {names:?}");
    }
}

#[tokio::test]
async fn each_sample_with_containers_is_a_containers_event() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let p = portal_on(dir.path(), "interval = \"500ms\"\n");
    let background = tokio::spawn(p.background());
    let got = events(&p, None, 4).await;
    background.abort();
    let containers: Vec<&(u64, String, String)> =
        got.iter().filter(|(_, e, _)| e == "containers").collect();
    assert!(!containers.is_empty(), "{got:?}");
    let body: serde_json::Value = serde_json::from_str(&containers[0].2).unwrap();
    assert_eq!(body["containers"][0]["name"], "forgejo");
}

#[tokio::test]
async fn the_exporter_writes_cadvisor_series_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let roots = [
        format!("--path.procfs={}", dir.path().join("proc").display()),
        format!("--path.sysfs={}", dir.path().join("sys").display()),
        format!("--path.rootfs={}", dir.path().display()),
    ];
    let mut args: Vec<&str> = roots.iter().map(String::as_str).collect();
    args.push("--collector.disable-defaults");
    let off = get(&exporter(&args), "/metrics", false).await;
    assert!(!off.body.contains("container_"), "{}", off.body);
    args.push("--collector.containers");
    let on = get(&exporter(&args), "/metrics", false).await;
    assert_eq!(on.status, 200);
    let labels =
        format!("id=\"{CGROUP}\",image=\"codeberg.org/forgejo/forgejo:9\",name=\"forgejo\"");
    for line in [
        format!("container_cpu_usage_seconds_total{{cpu=\"total\",{labels}}} 1\n"),
        format!("container_memory_working_set_bytes{{{labels}}} 9.437184e+08\n"),
        format!("container_spec_memory_limit_bytes{{{labels}}} 1.048576e+09\n"),
        "node_scrape_collector_success{collector=\"containers\"} 1\n".to_owned(),
    ] {
        assert!(on.body.contains(&line), "missing {line:?} in\n{}", on.body);
    }
}

/// A real cgroup made for the live test, seen through a roots directory of its own
/// (`<dir>/sys/fs/cgroup[/<controller>]` are symlinks into it), so no other test on
/// the host sees it. Removed, with its process killed, when dropped.
struct LiveCgroup {
    dir: tempfile::TempDir,
    /// The cgroup directories made, deepest first.
    made: Vec<std::path::PathBuf>,
    /// The `cgroup.procs` files the process goes into.
    procs: Vec<std::path::PathBuf>,
    /// The container's cgroup path as the reader names it.
    cgroup: String,
    child: Option<std::process::Child>,
}

impl Drop for LiveCgroup {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for d in &self.made {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Makes the cgroup where the kernel lets us: `Err` says why not.
fn live_cgroup() -> Result<LiveCgroup, String> {
    let host = Path::new("/sys/fs/cgroup");
    let base = format!("kitestacks-live-{}", std::process::id());
    let id = format!(
        "{:064x}",
        0x6b69_7465_0000_u64 + u64::from(std::process::id())
    );
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mine = dir.path().join("sys/fs/cgroup");
    let mut live = LiveCgroup {
        dir,
        made: Vec::new(),
        procs: Vec::new(),
        cgroup: String::new(),
        child: None,
    };
    let mkdir = |live: &mut LiveCgroup, d: &Path| -> Result<(), String> {
        std::fs::create_dir(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        live.made.insert(0, d.to_owned());
        Ok(())
    };
    if host.join("cgroup.controllers").is_file() {
        // cgroup v2: a parent with cpu and memory enabled for its children.
        let enabled =
            std::fs::read_to_string(host.join("cgroup.subtree_control")).unwrap_or_default();
        if !(enabled.contains("cpu") && enabled.contains("memory")) {
            return Err("the root cgroup does not delegate cpu and memory".into());
        }
        let parent = host.join(&base);
        mkdir(&mut live, &parent)?;
        std::fs::write(parent.join("cgroup.subtree_control"), "+cpu +memory")
            .map_err(|e| format!("cannot enable cpu and memory: {e}"))?;
        let scope = format!("docker-{id}.scope");
        mkdir(&mut live, &parent.join(&scope))?;
        live.procs.push(parent.join(&scope).join("cgroup.procs"));
        std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&parent, &mine).unwrap();
        live.cgroup = format!("/{scope}");
    } else if host.join("memory").is_dir() && host.join("cpuacct").is_dir() {
        // cgroup v1 (hybrid or not): the same path in every controller we read.
        std::fs::create_dir_all(&mine).unwrap();
        for controller in ["memory", "cpuacct", "cpu", "pids", "unified"] {
            let root = host.join(controller);
            if !root.join("cgroup.procs").is_file() {
                continue;
            }
            let parent = root.join(&base);
            mkdir(&mut live, &parent)?;
            mkdir(&mut live, &parent.join("docker"))?;
            mkdir(&mut live, &parent.join("docker").join(&id))?;
            live.procs
                .push(parent.join("docker").join(&id).join("cgroup.procs"));
            std::os::unix::fs::symlink(&parent, mine.join(controller)).unwrap();
        }
        live.cgroup = format!("/docker/{id}");
    } else {
        return Err("no cgroup v2 or v1 memory/cpuacct hierarchy at /sys/fs/cgroup".into());
    }
    Ok(live)
}

/// 64 MiB, held by the busy process (in a shell variable).
const HELD: u64 = 64 << 20;

#[tokio::test]
async fn a_real_cgroup_with_a_busy_process_moves_its_figures() {
    use std::io::{BufRead as _, Write as _};

    let mut live = match live_cgroup() {
        Ok(l) => l,
        Err(why) => {
            println!("skipped: cannot make a cgroup here: {why}");
            return;
        }
    };
    // It waits for a line, then fills 64 MiB and spins.
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            "read go; x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ready; while :; do :; done",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    live.child = Some(child);
    for procs in &live.procs {
        std::fs::write(procs, &pid).unwrap_or_else(|e| panic!("{}: {e}", procs.display()));
    }
    writeln!(stdin, "go").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");

    let root = live.dir.path().to_owned();
    let roots = kitestacks_metrics::Roots {
        sysfs: root.join("sys"),
        rootfs: root.clone(),
        ..kitestacks_metrics::Roots::default()
    };
    // Through the library: memory held, CPU time growing.
    let mut tracker = kitestacks_metrics::cgroup::Tracker::new(roots);
    let first = tracker.sample();
    let c = first
        .containers
        .iter()
        .find(|c| c.cgroup == live.cgroup)
        .unwrap_or_else(|| panic!("{} not in {first:?}", live.cgroup));
    assert!(c.memory.as_ref().unwrap().usage_bytes >= HELD, "{c:?}");
    assert_eq!(c.processes, Some(1), "the shell (its helpers are gone)");
    let cpu0 = c.cpu.as_ref().unwrap().usage_seconds_total;
    let mut second = tracker.sample();
    for _ in 0..300 {
        let now = &second.containers[0];
        if now.cpu.as_ref().unwrap().usage_seconds_total >= cpu0 + 0.2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        second = tracker.sample();
    }
    let cpu = second.containers[0].cpu.as_ref().unwrap();
    assert!(cpu.usage_seconds_total >= cpu0 + 0.2, "{cpu:?}");
    assert!(cpu.percent_of_one_core.unwrap() > 0.0, "{cpu:?}");

    // Through the portal.
    let config = format!(
        "[metrics]\nsysfs = {:?}\nrootfs = {:?}\n",
        root.join("sys").display().to_string(),
        root.display().to_string()
    );
    let p = Portal::new(&Config::from_toml(&config, "<test>", None).unwrap()).unwrap();
    let mut v = serde_json::Value::Null;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        p.refresh_metrics();
        v = call(&p, "GET", "/api/containers", &[]).await.json();
        if v["containers"][0]["cpu"]["percent_of_one_core"].as_f64() > Some(0.0) {
            break;
        }
    }
    let c = &v["containers"][0];
    assert_eq!(c["cgroup"], live.cgroup.as_str());
    assert!(c["memory"]["usage_bytes"].as_u64().unwrap() >= HELD, "{c}");
    assert!(
        c["cpu"]["percent_of_one_core"].as_f64().unwrap() > 0.0,
        "{c}"
    );

    // Through the exporter.
    let sysfs = format!("--path.sysfs={}", root.join("sys").display());
    let e = exporter(&[
        "--collector.disable-defaults",
        "--collector.containers",
        &sysfs,
    ]);
    let body = get(&e, "/metrics", false).await.body;
    let value = |family: &str| -> f64 {
        body.lines()
            .find(|l| l.starts_with(family) && l.contains(&format!("id=\"{}\"", live.cgroup)))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("no {family} in\n{body}"))
            .parse()
            .unwrap()
    };
    assert!(value("container_cpu_usage_seconds_total{") >= cpu0 + 0.2);
    assert!(value("container_memory_usage_bytes{") >= HELD as f64);
}

#[tokio::test]
async fn an_oom_kill_in_a_container_is_one_notice() {
    let ntfy = crate::alerts::Recorder::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let rules = format!(
        "[[alerts.notify]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"http://{}/ops\"\n\n\
         [[alerts.rules]]\non = \"oom_kill\"\npriority = 5\n",
        ntfy.addr
    );
    let p = portal_on(dir.path(), &rules);
    p.check_host();
    let killed = Figures {
        oom_kills: 1,
        ..figures(1_100_000)
    };
    fixture::write_v2(dir.path(), CGROUP, &killed);
    p.refresh_metrics();
    // The same sample judged twice, as the rules' loop may: one notice.
    p.check_host();
    p.check_host();
    let got = ntfy.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let title = got[0].title.as_deref().unwrap();
    assert!(title.ends_with(" forgejo OOM kill"), "{title}");
    assert_eq!(got[0].priority.as_deref(), Some("5"));
    assert!(
        got[0].body.ends_with(
            ": container forgejo had a process killed for memory (1 in all), limit 1000 MiB"
        ),
        "{}",
        got[0].body
    );
    // No further kill: nothing more.
    p.refresh_metrics();
    p.check_host();
    assert_eq!(ntfy.wait_for(1).await.len(), 1, "no second notice");
}
