//! The exporter's HTTP behaviour, driven through `Exporter::handle` with node_exporter
//! command lines: content type, filters, gzip, self-metrics, landing page, and the
//! configured roots.

use std::io::Read;

use http_body_util::BodyExt;
use kitestacks::exporter::Exporter;
use kitestacks::exporter::cli::ExporterArgs;

use crate::metrics::fixture_tree;

pub(crate) fn exporter(args: &[&str]) -> Exporter {
    let mut v = vec!["kitestacks-exporter".to_owned()];
    v.extend(args.iter().map(|s| (*s).to_owned()));
    Exporter::new(&ExporterArgs::parse_from(v).unwrap()).unwrap()
}

pub(crate) struct Got {
    pub(crate) status: u16,
    content_type: String,
    encoding: Option<String>,
    pub(crate) body: String,
}

pub(crate) async fn get(e: &Exporter, uri: &str, gzip: bool) -> Got {
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

/// The stderr lines of `kitestacks-exporter` started with `args` on an ephemeral
/// loopback port, up to the first "listening on" line (or its exit); the process is
/// then stopped. A start-up that writes nothing for 10 s fails the test instead of
/// hanging it.
fn startup_lines(args: &[&str]) -> Vec<String> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kitestacks-exporter"))
        .args(["--collector.disable-defaults", "--collector.loadavg"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        let done = line.contains("listening on");
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

/// A logfmt line's pairs, as a logfmt reader parses them: `key=value`, a value quoted
/// with Go's escapes when it holds spaces, `=` or `"`.
fn logfmt(line: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .unwrap_or_else(|| panic!("no '=' in {rest:?} of {line}"));
        assert!(
            !key.is_empty() && !key.contains([' ', '"']),
            "{key:?} in {line}"
        );
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, c)) => value.push(c),
                            None => panic!("dangling escape in {line}"),
                        },
                        Some((i, '"')) => break i + 1,
                        Some((_, c)) => value.push(c),
                        None => panic!("unterminated quote in {line}"),
                    }
                };
                (value, &quoted[end..])
            }
            None => {
                let end = after.find(' ').unwrap_or(after.len());
                let value = &after[..end];
                assert!(!value.contains(['"', '=']), "unquoted {value:?} in {line}");
                (value.to_owned(), &after[end..])
            }
        };
        pairs.push((key.to_owned(), value));
        rest = after.strip_prefix(' ').unwrap_or(after);
        assert!(!after.starts_with("  "), "two spaces in {line}");
    }
    pairs
}

/// `time`: RFC 3339 in UTC, e.g. `2026-12-03T10:00:00.000Z` (`millis`: exactly three
/// decimals, else up to nine).
fn assert_rfc3339(time: &str, millis: bool) {
    let (date_time, fraction) = time
        .strip_suffix('Z')
        .and_then(|t| t.split_once('.'))
        .unwrap_or((time.trim_end_matches('Z'), ""));
    let bytes = date_time.as_bytes();
    assert_eq!(bytes.len(), 19, "{time}");
    for (i, b) in bytes.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*b, b'-', "{time}"),
            10 => assert_eq!(*b, b'T', "{time}"),
            13 | 16 => assert_eq!(*b, b':', "{time}"),
            _ => assert!(b.is_ascii_digit(), "{time}"),
        }
    }
    assert!(time.ends_with('Z'), "{time}");
    assert!(fraction.bytes().all(|b| b.is_ascii_digit()), "{time}");
    if millis {
        assert_eq!(fraction.len(), 3, "{time}");
    } else {
        assert!(fraction.len() <= 9, "{time}");
    }
}

/// The default log format is node_exporter's logfmt: every line starts with `time`,
/// `level`, `source`, `msg`, and values with spaces are quoted.
#[test]
fn the_exporter_logs_logfmt_with_node_exporters_keys() {
    let lines = startup_lines(&[
        "--web.listen-address=127.0.0.1:0",
        "--collector.ntp.server",
        "127.0.0.1",
    ]);
    assert!(
        lines.last().is_some_and(|l| l.contains("listening on")),
        "{lines:#?}"
    );
    let parsed: Vec<Vec<(String, String)>> = lines.iter().map(|l| logfmt(l)).collect();
    for pairs in &parsed {
        let keys: Vec<&str> = pairs.iter().take(4).map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["time", "level", "source", "msg"], "{pairs:?}");
        assert_rfc3339(&pairs[0].1, true);
        assert!(
            ["DEBUG", "INFO", "WARN", "ERROR"].contains(&pairs[1].1.as_str()),
            "{pairs:?}"
        );
        assert!(pairs[2].1.contains(".rs:"), "{pairs:?}");
    }
    let find = |msg: &str| {
        parsed
            .iter()
            .find(|p| p[3].1 == msg)
            .unwrap_or_else(|| panic!("no {msg:?} in {lines:#?}"))
    };
    let warning = find("node_exporter flag not implemented by kitestacks-exporter; ignored");
    assert_eq!(warning[1].1, "WARN");
    assert_eq!(
        warning[4],
        (
            "flag".to_owned(),
            "--collector.ntp.server 127.0.0.1".to_owned()
        )
    );
    assert!(
        lines.iter().any(|l| l.contains(
            " msg=\"node_exporter flag not implemented by kitestacks-exporter; ignored\" \
             flag=\"--collector.ntp.server 127.0.0.1\""
        )),
        "{lines:#?}"
    );
    let listening = find("listening on");
    assert_eq!(listening[4].0, "address");
    assert!(listening[4].1.starts_with("127.0.0.1:"), "{listening:?}");
    assert_eq!(listening[5], ("tls".to_owned(), "false".to_owned()));
}

/// `--log.format=json`: one JSON object per line with the same keys, first.
#[test]
fn the_exporter_logs_json_with_node_exporters_keys() {
    let lines = startup_lines(&[
        "--web.listen-address=127.0.0.1:0",
        "--log.format=json",
        "--collector.systemd",
    ]);
    assert!(
        lines.last().is_some_and(|l| l.contains("listening on")),
        "{lines:#?}"
    );
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let positions: Vec<usize> = ["time", "level", "source", "msg"]
            .iter()
            .map(|k| {
                assert!(value[k].is_string(), "{k} in {line}");
                line.find(&format!("\"{k}\":")).unwrap()
            })
            .collect();
        assert!(line.starts_with("{\"time\":\""), "{line}");
        assert!(positions.is_sorted(), "{line}");
        assert_rfc3339(value["time"].as_str().unwrap(), false);
    }
    let warning: serde_json::Value = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["msg"] == "collector not implemented by kitestacks-exporter; ignored")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["collector"], "systemd");
    let listening: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(listening["tls"], false, "booleans stay booleans");
}

/// At start-up the exporter says what it runs with: the web config file (or none: plain
/// HTTP without authentication), the listen addresses and the roots.
#[test]
fn the_exporter_logs_its_configuration_at_start_up() {
    let configuration = |args: &[&str]| {
        let lines = startup_lines(args);
        let line = lines
            .iter()
            .find(|l| l.contains(" msg=configuration "))
            .unwrap_or_else(|| panic!("{lines:#?}"))
            .clone();
        let pairs = logfmt(&line);
        pairs.into_iter().skip(4).collect::<Vec<_>>()
    };
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        configuration(&["--web.listen-address=127.0.0.1:0"]),
        [
            pair("web_config", "none"),
            pair("scheme", "http"),
            pair("auth", "none"),
            pair("listen", "127.0.0.1:0"),
            pair("path", "/metrics"),
            pair("procfs", "/proc"),
            pair("sysfs", "/sys"),
            pair("rootfs", "/"),
            pair("udev_data", "/run/udev/data"),
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web config.yml");
    let hash = bcrypt::hash("secret", 4).unwrap();
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: '{hash}'\n")).unwrap();
    let web_flag = format!("--web.config.file={}", web.display());
    let (_fixtures, root) = fixture_tree();
    let procfs = format!("--path.procfs={}", root.join("proc").display());
    let got = configuration(&[
        "--web.listen-address=127.0.0.1:0",
        "--web.listen-address=127.0.0.2:0",
        &web_flag,
        &procfs,
        "--path.rootfs=/host",
        "--web.telemetry-path=/node",
    ]);
    assert_eq!(got[0], pair("web_config", &web.display().to_string()));
    assert_eq!(got[1..3], [pair("scheme", "http"), pair("auth", "basic")]);
    assert_eq!(got[3], pair("listen", "127.0.0.1:0,127.0.0.2:0"));
    assert_eq!(got[4], pair("path", "/node"));
    assert_eq!(
        got[5],
        pair("procfs", &root.join("proc").display().to_string())
    );
    assert_eq!(got[7], pair("rootfs", "/host"));
}

/// The exporter takes the portal's listen-address forms: `:port` is every interface,
/// as node_exporter's `--web.listen-address=:9100`.
#[test]
fn the_exporter_takes_the_portals_listen_address_forms() {
    let listen = |form: &str| {
        let args = vec![
            "kitestacks-exporter".to_owned(),
            format!("--web.listen-address={form}"),
        ];
        ExporterArgs::parse_from(args).map(|a| a.listen)
    };
    let all = std::net::SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 9101));
    assert_eq!(listen(":9101").unwrap(), [all]);
    assert_eq!(
        listen("127.0.0.1:9101").unwrap(),
        ["127.0.0.1:9101".parse().unwrap()]
    );
    assert_eq!(
        listen("localhost:9101").unwrap(),
        ["127.0.0.1:9101".parse().unwrap()]
    );
    let e = listen(":eighty").unwrap_err().to_string();
    assert!(e.contains("--web.listen-address:"), "{e}");
    assert!(e.contains("is not a socket address"), "{e}");
}
