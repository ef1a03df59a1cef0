//! `/api/metrics` and its parts: shape, units, first-sample nulls, the configured roots,
//! and conformance to the published OpenAPI schema.

use std::path::{Path, PathBuf};

use crate::http::{call, portal};
use crate::schema::check_response;

/// node_exporter's fixture tree, unpacked (shared/ sits beside the repository).
pub fn fixture_tree() -> (tempfile::TempDir, PathBuf) {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/node_exporter/fixtures.tar.gz");
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success(), "cannot unpack {}", tarball.display());
    let root = dir.path().join("collector/fixtures");
    (dir, root)
}

#[tokio::test]
async fn metrics_of_the_live_host_conform_to_the_schema() {
    let p = portal(None);
    let doc = call(&p, "GET", "/api/openapi.json", &[]).await.json();
    let first = call(&p, "GET", "/api/metrics", &[]).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("application/json"));
    let v = first.json();
    assert!(
        v["interval_seconds"].is_null(),
        "first sample has no interval"
    );
    assert!(
        v["cpu"]["busy_percent"].is_null(),
        "first sample has no CPU rate"
    );
    assert!(!v["host"]["hostname"].as_str().unwrap().is_empty());
    assert!(v["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(
        v.get("errors").is_none(),
        "host file errors are logged, not sent"
    );
    let errors = check_response(&doc, "/api/metrics", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");

    std::thread::sleep(std::time::Duration::from_millis(50));
    p.refresh_metrics();
    let v = call(&p, "GET", "/api/metrics", &[]).await.json();
    assert!(v["interval_seconds"].as_f64().unwrap() > 0.0);
    let errors = check_response(&doc, "/api/metrics", "200", &v);
    assert!(errors.is_empty(), "{errors:#?}");

    for part in kitestacks::portal::host_metrics::PARTS {
        let path = format!("/api/metrics/{part}");
        let r = call(&p, "GET", &path, &[]).await;
        assert_eq!(r.status, 200, "{path}");
        let errors = check_response(&doc, &path, "200", &r.json());
        assert!(errors.is_empty(), "{path}: {errors:#?}");
    }
}

#[tokio::test]
async fn metrics_routes_refuse_unknown_parts_and_methods() {
    let p = portal(None);
    let r = call(&p, "GET", "/api/metrics/gpu", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
    let r = call(&p, "POST", "/api/metrics", &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = call(&p, "HEAD", "/api/metrics/memory", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn the_configured_roots_are_the_ones_read() {
    let (_dir, root) = fixture_tree();
    let config = format!(
        "[metrics]\nprocfs = {:?}\nsysfs = {:?}\nrootfs = {:?}\n",
        root.join("proc").display().to_string(),
        root.join("sys").display().to_string(),
        root.display().to_string()
    );
    let p = portal(Some(&config));
    let v = call(&p, "GET", "/api/metrics", &[]).await.json();
    assert_eq!(
        v["memory"]["total_bytes"], 3_831_959_552u64,
        "MemTotal of the fixture"
    );
    assert_eq!(v["host"]["boot_time_seconds"], 1_418_183_276u64);
    assert_eq!(v["load"]["load1"], 0.21);
    assert_eq!(v["host"]["os_name"], "Ubuntu");
    let mem = call(&p, "GET", "/api/metrics/memory", &[]).await.json();
    assert_eq!(mem, v["memory"]);
}
