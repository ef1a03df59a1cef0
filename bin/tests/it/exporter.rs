//! The exporter's HTTP behaviour, driven through `Exporter::handle` with node_exporter
//! command lines: content type, filters, gzip, self-metrics, landing page, and the
//! configured roots.

use std::io::Read;

use http_body_util::BodyExt;
use kitestacks::exporter::Exporter;
use kitestacks::exporter::cli::ExporterArgs;

use crate::metrics::fixture_tree;

fn exporter(args: &[&str]) -> Exporter {
    let mut v = vec!["kitestacks-exporter".to_owned()];
    v.extend(args.iter().map(|s| (*s).to_owned()));
    Exporter::new(&ExporterArgs::parse_from(v).unwrap()).unwrap()
}

struct Got {
    status: u16,
    content_type: String,
    encoding: Option<String>,
    body: String,
}

async fn get(e: &Exporter, uri: &str, gzip: bool) -> Got {
    let mut req = hyper::Request::get(uri);
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let resp = e.handle(req.body(()).unwrap()).await;
    let status = resp.status().as_u16();
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (content_type, encoding) = (
        header("content-type").unwrap_or_default(),
        header("content-encoding"),
    );
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = if encoding.as_deref() == Some("gzip") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    Got {
        status,
        content_type,
        encoding,
        body,
    }
}

fn success_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| l.starts_with("node_scrape_collector_success"))
        .collect()
}

#[tokio::test]
async fn metrics_have_the_exposition_content_type_and_self_metrics() {
    let e = exporter(&[
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--collector.meminfo",
    ]);
    let r = get(&e, "/metrics", false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(r.body.contains("# TYPE node_load1 gauge\nnode_load1 "));
    assert!(r.body.contains("node_exporter_build_info{"));
    assert!(r.body.contains("\nprocess_resident_memory_bytes "));
    assert!(
        r.body
            .contains("promhttp_metric_handler_requests_total{code=\"200\"}")
    );
    assert_eq!(
        success_lines(&r.body),
        [
            "node_scrape_collector_success{collector=\"loadavg\"} 1",
            "node_scrape_collector_success{collector=\"meminfo\"} 1",
        ]
    );
    let quiet = exporter(&[
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--web.disable-exporter-metrics",
    ]);
    let r = get(&quiet, "/metrics", false).await;
    assert!(!r.body.contains("process_") && !r.body.contains("promhttp_"));
    assert!(
        r.body.contains("node_exporter_build_info{"),
        "build info stays, as in node_exporter"
    );
}

#[tokio::test]
async fn collect_and_exclude_filter_the_collectors() {
    let e = exporter(&[
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--collector.meminfo",
        "--collector.stat",
    ]);
    let r = get(&e, "/metrics?collect[]=loadavg", false).await;
    assert_eq!(
        success_lines(&r.body),
        ["node_scrape_collector_success{collector=\"loadavg\"} 1"]
    );
    assert!(!r.body.contains("node_memory_"));
    let r = get(&e, "/metrics?exclude%5B%5D=loadavg&exclude[]=stat", false).await;
    assert_eq!(
        success_lines(&r.body),
        ["node_scrape_collector_success{collector=\"meminfo\"} 1"]
    );
    let r = get(&e, "/metrics?collect[]=loadavg&exclude[]=stat", false).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "Combined collect and exclude queries are not allowed."
    );
    let r = get(&e, "/metrics?collect[]=nope", false).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            400,
            "Couldn't create filtered metrics handler: missing collector: nope"
        )
    );
    let r = get(&e, "/metrics?collect[]=cpu", false).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            400,
            "Couldn't create filtered metrics handler: disabled collector: cpu"
        )
    );
}

#[tokio::test]
async fn gzip_when_the_client_accepts_it() {
    let e = exporter(&["--collector.disable-defaults", "--collector.loadavg"]);
    let plain = get(&e, "/metrics", false).await;
    let zipped = get(&e, "/metrics", true).await;
    assert_eq!(plain.encoding, None);
    assert_eq!(zipped.encoding.as_deref(), Some("gzip"));
    assert!(zipped.body.contains("node_load1 "));
}

#[tokio::test]
async fn landing_page_telemetry_path_and_errors() {
    let e = exporter(&[
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--web.telemetry-path=/node",
    ]);
    let r = get(&e, "/", false).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/html"));
    assert!(r.body.contains("<a href=\"/node\">Metrics</a>"));
    assert_eq!(get(&e, "/node", false).await.status, 200);
    assert_eq!(get(&e, "/metrics", false).await.status, 404);
    let resp = e
        .handle(hyper::Request::post("/node").body(()).unwrap())
        .await;
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn the_path_flags_are_the_roots_read() {
    let (_dir, root) = fixture_tree();
    let procfs = format!("--path.procfs={}", root.join("proc").display());
    let sysfs = format!("--path.sysfs={}", root.join("sys").display());
    let e = exporter(&[
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--collector.stat",
        &procfs,
        &sysfs,
    ]);
    let r = get(&e, "/metrics", false).await;
    assert!(r.body.contains("\nnode_load1 0.21\n"), "{}", r.body);
    assert!(
        r.body
            .contains("\nnode_boot_time_seconds 1.418183276e+09\n")
    );
}

/// One scrape on a thread (and runtime) of its own: a scrape that hangs, and its runtime
/// thread with it, fails the test after 10 s instead of hanging it.
fn scrape_bounded(e: &Exporter) -> Got {
    let e = e.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = tx.send(rt.block_on(get(&e, "/metrics", false)));
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("the scrape hung")
}

/// An exporter (loadavg and meminfo, under `deadline`) over a procfs whose `loadavg` is a
/// FIFO without a writer: opening it waits forever, as a read of a hung kernel file does.
/// Returns the directory (keep it), the procfs, the FIFO and the exporter.
fn hung_loadavg(
    deadline: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    Exporter,
) {
    use rustix::fs::{CWD, FileType, Mode};
    let tmp = tempfile::tempdir().unwrap();
    let proc = tmp.path().join("proc");
    std::fs::create_dir(&proc).unwrap();
    std::fs::copy("/proc/meminfo", proc.join("meminfo")).unwrap();
    let loadavg = proc.join("loadavg");
    rustix::fs::mknodat(CWD, &loadavg, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
    let e = exporter(&[
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--collector.meminfo",
        &format!("--path.procfs={}", proc.display()),
        &format!("--scrape.collector-deadline={deadline}"),
    ]);
    (tmp, proc, loadavg, e)
}

#[test]
fn a_collector_that_hangs_costs_its_own_figures_and_the_scrape_is_served() {
    use rustix::fs::{Mode, OFlags};
    let (_tmp, proc, loadavg, e) = hung_loadavg("200ms");
    for _ in 0..2 {
        let r = scrape_bounded(&e);
        assert_eq!(r.status, 200);
        let lines = success_lines(&r.body);
        assert!(
            lines.contains(&"node_scrape_collector_success{collector=\"loadavg\"} 0"),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"node_scrape_collector_success{collector=\"meminfo\"} 1"),
            "{lines:?}"
        );
        assert!(r.body.contains("\nnode_memory_MemTotal_bytes "));
        assert!(!r.body.contains("\nnode_load1 "));
    }
    // Release the hung open: a regular file in the FIFO's place for later reads, then a
    // writer for the FIFO (refused at once if nobody were waiting to read), which lets
    // the open return.
    std::fs::write(proc.join("loadavg.new"), "0.5 0.25 0.125 1/100 42\n").unwrap();
    let fifo = proc.join("loadavg.fifo");
    std::fs::rename(&loadavg, &fifo).unwrap();
    std::fs::rename(proc.join("loadavg.new"), &loadavg).unwrap();
    let writer = rustix::fs::open(&fifo, OFlags::WRONLY | OFlags::NONBLOCK, Mode::empty())
        .expect("a reader is waiting on the FIFO");
    drop(writer);
    // Once the call has returned, the collector runs again.
    let mut recovered = None;
    for _ in 0..500 {
        let r = scrape_bounded(&e);
        let loadavg_ok = "node_scrape_collector_success{collector=\"loadavg\"} 1";
        if success_lines(&r.body).contains(&loadavg_ok) {
            recovered = Some(r.body);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let body = recovered.expect("loadavg never ran again");
    assert!(body.contains("\nnode_load1 0.5\n"), "{body}");
}

/// Requests that queue behind a scrape get the next scrape's body, not one scrape each
/// in a row: a crowd of clients costs one scrape. Here the first scrape is slow (its
/// loadavg is a FIFO that never answers, cut off by a 300 ms deadline), five more
/// requests arrive meanwhile, and the scrape after it serves all five.
#[test]
fn requests_waiting_for_a_scrape_share_the_next_one() {
    use rustix::fs::{Mode, OFlags};
    let (_tmp, _proc, loadavg, e) = hung_loadavg("300ms");
    let (tx, rx) = std::sync::mpsc::channel();
    let e2 = e.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let bodies = rt.block_on(async {
            let first = tokio::spawn({
                let e = e2.clone();
                async move { get(&e, "/metrics", false).await.body }
            });
            // The first scrape is under way (and waiting on its FIFO) before the others ask.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let rest: Vec<_> = (0..5)
                .map(|_| {
                    let e = e2.clone();
                    tokio::spawn(async move { get(&e, "/metrics", false).await.body })
                })
                .collect();
            let mut bodies = vec![first.await.unwrap()];
            for r in rest {
                bodies.push(r.await.unwrap());
            }
            bodies
        });
        let _ = tx.send(bodies);
    });
    let bodies = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the scrapes hung");
    // Release the FIFO's hung open.
    let writer = rustix::fs::open(&loadavg, OFlags::WRONLY | OFlags::NONBLOCK, Mode::empty());
    drop(writer);
    assert!(
        bodies
            .iter()
            .all(|b| b.contains("\nnode_memory_MemTotal_bytes "))
    );
    assert!(
        bodies[0].contains("node_scrape_collector_success{collector=\"loadavg\"} 0"),
        "{}",
        bodies[0]
    );
    // Each scrape's durations differ: identical bodies are one scrape.
    let mut distinct = bodies.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 2, "scrapes: {}", distinct.len());
    assert!(bodies[1..].iter().all(|b| *b == bodies[1]));
}
