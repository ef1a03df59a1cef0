//! Property tests of the collectors' crate-private parsers: the textfile collector's
//! Prometheus text parser (any local tool may write a `.prom` file), `/proc/net/arp` and
//! `/proc/net/stat/nf_conntrack`. Random and mutated input (seeded from node_exporter's
//! fixtures) never panics, the output holds at most an entry per line, and an error names
//! a line of the input. The collectors' other parsers are exercised through every
//! collector over a mutated fixture tree (`tests/it/props.rs`).

use proptest::prelude::*;

use crate::error::ParseError;

#[path = "../../tests/it/mutate.rs"]
mod mutate;

/// At most `lines` entries when it parses; otherwise an error at a line of the input (or
/// one past its end).
fn bounded(text: &str, r: Result<usize, ParseError>) -> Result<(), TestCaseError> {
    let lines = mutate::lines(text);
    match r {
        Ok(n) => prop_assert!(n <= lines, "{n} entries from {lines} lines"),
        Err(e) => prop_assert!(
            (1..=lines + 1).contains(&e.line),
            "error at line {} of a {lines}-line input: {e}",
            e.line
        ),
    }
    Ok(())
}

/// Summaries and histograms, whose samples the parser gathers across lines.
const DISTRIBUTIONS: &str = "# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{service=\"a\",quantile=\"0.5\"} 0.25
rpc_seconds{service=\"a\",quantile=\"0.9\"} 1.5
rpc_seconds_sum{service=\"a\"} 12.5
rpc_seconds_count{service=\"a\"} 20
# TYPE size_bytes histogram
size_bytes_bucket{le=\"1024\"} 3
size_bytes_bucket{le=\"+Inf\"} 5
size_bytes_sum 4096
size_bytes_count 5
escaped{path=\"C:\\\\dir\\n\",q=\"\\\"x\\\"\"} -Inf 1700000000000
";

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn textfile_parse(text in mutate::input(vec![
        mutate::node_exporter_fixture("textfile/two_metric_files/metrics1.prom"),
        mutate::node_exporter_fixture("textfile/two_metric_files/metrics2.prom"),
        DISTRIBUTIONS.to_owned(),
    ])) {
        let r = super::textfile::parse(&text);
        if let Ok(families) = &r {
            let samples: usize = families.iter().map(|f| f.samples.len()).sum();
            bounded(&text, Ok(samples))?;
        }
        bounded(&text, r.map(|f| f.len()))?;
    }

    #[test]
    fn arp_parse(text in mutate::input(vec![mutate::node_exporter_fixture("proc/net/arp")])) {
        let r = super::arp::parse(&text);
        if let Ok(counts) = &r {
            bounded(&text, Ok(counts.values().sum::<u64>() as usize))?;
        }
        bounded(&text, r.map(|c| c.len()))?;
    }

    #[test]
    fn conntrack_parse(text in mutate::input(vec![
        mutate::node_exporter_fixture("proc/net/stat/nf_conntrack"),
    ])) {
        bounded(&text, super::conntrack::parse(&text).map(|_| 0))?;
    }
}
