//! node_exporter's own end-to-end test, for every collector implemented here: render a
//! scrape of the fixture tree with upstream's flags and compare, family by family, with
//! upstream's expected output (names, types, HELP text, label sets and values; values as
//! numbers). Lines upstream itself filters (go_, process_, build info, durations,
//! textfile mtimes, node_time_seconds/zone, netdev byte and packet counters) are not
//! compared.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kitestacks_metrics::collector::{COLLECTORS, Context, NodeCollector, Options};

use crate::fixture::{fixture_roots, unpack};

/// Families whose sample lines upstream's test drops before comparing.
fn filtered(name: &str) -> bool {
    [
        "go_",
        "node_exporter_build_info",
        "node_scrape_collector_duration_seconds",
        "process_",
        "node_textfile_mtime_seconds",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || name.starts_with("node_time_zone")
        || name.starts_with("node_time_seconds")
        || [
            "node_network_receive_bytes_total",
            "node_network_transmit_bytes_total",
            "node_network_receive_packets_total",
            "node_network_transmit_packets_total",
        ]
        .contains(&name)
}

/// The options upstream's e2e test passes (see shared/fixtures/node_exporter/README.md).
pub fn e2e_options(root: &Path) -> Options {
    Options {
        arp_device_exclude: Some("nope".into()),
        bcache_priority_stats: true,
        cpu_info: true,
        cpu_info_flags_include: Some("^(aes|avx.?|constant_tsc)$".into()),
        cpu_info_bugs_include: Some("^(cpu_meltdown|spectre_.*|mds)$".into()),
        hwmon_chip_include: Some("(applesmc|asus_nb_wmi|coretemp|hwmon4|ieee80211|nct6779)".into()),
        netclass_ignore_invalid_speed: true,
        netclass_ignored_devices: "(dmz|int)".into(),
        netdev_device_include: Some("lo".into()),
        stat_softirq: true,
        textfile_directories: vec![
            root.join("textfile/two_metric_files/")
                .display()
                .to_string(),
        ],
        ..Options::default()
    }
}

#[derive(Debug, Default)]
struct Fam {
    help: Option<String>,
    kind: Option<String>,
    series: BTreeMap<String, String>,
}

/// Parses exposition text into families: name -> help, type, labels -> value.
fn parse(text: &str) -> BTreeMap<String, Fam> {
    let mut out: BTreeMap<String, Fam> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.entry(name.to_owned()).or_default().help = Some(help.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            out.entry(name.to_owned()).or_default().kind = Some(kind.to_owned());
        } else if !line.is_empty() && !line.starts_with('#') {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let name = series.split('{').next().unwrap();
            if filtered(name) {
                continue;
            }
            out.entry(name.to_owned())
                .or_default()
                .series
                .insert(series.to_owned(), value.to_owned());
        }
    }
    out
}

fn same_number(a: &str, b: &str) -> bool {
    let (x, y) = (a.parse::<f64>(), b.parse::<f64>());
    match (x, y) {
        (Ok(x), Ok(y)) => {
            x == y || (x.is_nan() && y.is_nan()) || ((x - y).abs() <= 1e-9 * x.abs().max(y.abs()))
        }
        _ => a == b,
    }
}

#[test]
fn implemented_collectors_match_node_exporters_expected_output() {
    let (dir, root) = unpack();
    let expected_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/node_exporter/e2e-output.txt"),
    )
    .unwrap();
    let expected = parse(&expected_text);
    // The fixture has no net/dev: upstream's netdev read the real host's `lo` (over
    // netlink), hence its filtered byte and packet counters; its expected output has
    // every other `lo` counter at 0. A `lo` line of that shape stands in for the host's
    // (copying this machine's file made the test fail once its `lo` had dropped packets).
    std::fs::write(
        root.join("proc/net/dev"),
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
         lo: 123456     789    0    0    0     0          0         0   123456     789    0    0    0     0       0          0\n",
    )
    .unwrap();

    let context = Context {
        roots: fixture_roots(&root),
        udev_data: root.join("udev/data"),
    };
    // Upstream's e2e run switches off the collectors that read the real host (statfs,
    // adjtimex, uname, libselinux); they have tests of their own.
    const UPSTREAM_DISABLED: [&str; 4] = ["filesystem", "selinux", "timex", "uname"];
    let compared_collectors: Vec<_> = COLLECTORS
        .iter()
        .filter(|d| !UPSTREAM_DISABLED.contains(&d.name))
        .collect();
    let names: Vec<&str> = compared_collectors.iter().map(|d| d.name).collect();
    let mut node = NodeCollector::new(context, &names, &e2e_options(&root)).unwrap();
    let (mut scrape, report) = node.scrape(|_| true);
    assert!(
        report.failures.is_empty() && report.warnings.is_empty(),
        "collectors failed or warned on the fixture tree: {report:?}"
    );
    let mut text = String::new();
    scrape.render(&mut text);
    // Our roots are absolute; upstream ran from the directory holding collector/fixtures.
    let text = text.replace(&format!("{}/", dir.path().display()), "");
    let ours = parse(&text);

    let mut problems = Vec::new();
    let mut compared = BTreeSet::new();
    for def in compared_collectors.iter().copied() {
        for (name, want) in expected
            .iter()
            .filter(|(n, _)| def.families.iter().any(|p| n.starts_with(p)))
        {
            compared.insert(name.clone());
            let Some(got) = ours.get(name) else {
                problems.push(format!("[{}] missing family {name}", def.name));
                continue;
            };
            if got.help != want.help {
                problems.push(format!(
                    "[{}] {name} HELP: got {:?}, want {:?}",
                    def.name, got.help, want.help
                ));
            }
            if got.kind != want.kind {
                problems.push(format!(
                    "[{}] {name} TYPE: got {:?}, want {:?}",
                    def.name, got.kind, want.kind
                ));
            }
            for (series, value) in &want.series {
                match got.series.get(series) {
                    None => {
                        problems.push(format!("[{}] missing series {series} {value}", def.name))
                    }
                    Some(v) if !same_number(v, value) => {
                        problems.push(format!("[{}] {series}: got {v}, want {value}", def.name))
                    }
                    Some(_) => {}
                }
            }
            for series in got.series.keys().filter(|s| !want.series.contains_key(*s)) {
                problems.push(format!("[{}] extra series {series}", def.name));
            }
        }
    }
    // Nothing we emit may be unknown to upstream.
    for name in ours.keys() {
        if !expected.contains_key(name) && !name.starts_with("node_scrape_collector") {
            problems.push(format!("family {name} is not in node_exporter's output"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        compared.len() >= names.len(),
        "compared {} families",
        compared.len()
    );
}
