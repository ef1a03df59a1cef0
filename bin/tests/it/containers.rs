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
