//! The `conntrack` collector: `node_nf_conntrack_entries` and `_entries_limit` from
//! `/proc/sys/net/netfilter/nf_conntrack_{count,max}`, and the `node_nf_conntrack_stat_*`
//! counters summed over CPUs from `/proc/net/stat/nf_conntrack`.
//!
//! As in node_exporter, a host without these files (conntrack not loaded) reports
//! failure ("no data").

use crate::collector::attr::{self, read_u64};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "conntrack",
    default_enabled: true,
    families: &["node_nf_conntrack_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Conntrack {
        attrs: attr::Attrs::default(),
        stat: None,
    }))
}

struct Conntrack {
    attrs: attr::Attrs,
    stat: Option<TextFile>,
}

/// The columns of `/proc/net/stat/nf_conntrack` that are exported, with the metric
/// name and help: (column, name, help).
const STATS: [(usize, &str, &str); 8] = [
    (
        2,
        "node_nf_conntrack_stat_found",
        "Number of searched entries which were successful.",
    ),
    (
        4,
        "node_nf_conntrack_stat_invalid",
        "Number of packets seen which can not be tracked.",
    ),
    (
        5,
        "node_nf_conntrack_stat_ignore",
        "Number of packets seen which are already connected to a conntrack entry.",
    ),
    (
        8,
        "node_nf_conntrack_stat_insert",
        "Number of entries inserted into the list.",
    ),
    (
        9,
        "node_nf_conntrack_stat_insert_failed",
        "Number of entries for which list insertion was attempted but failed.",
    ),
    (
        10,
        "node_nf_conntrack_stat_drop",
        "Number of packets dropped due to conntrack failure.",
    ),
    (
        11,
        "node_nf_conntrack_stat_early_drop",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
    ),
    (
        16,
        "node_nf_conntrack_stat_search_restart",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
    ),
];

impl Collector for Conntrack {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let count = read_u64(
            &ctx.roots.proc("sys/net/netfilter/nf_conntrack_count"),
            &mut self.attrs,
        )?;
        let max = read_u64(
            &ctx.roots.proc("sys/net/netfilter/nf_conntrack_max"),
            &mut self.attrs,
        )?;
        let stat = self
            .stat
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("net/stat/nf_conntrack")));
        let sums = stat.parse(parse)?;
        out.gauge(
            "node_nf_conntrack_entries",
            "Number of currently allocated flow entries for connection tracking.",
            &[],
            count as f64,
        );
        out.gauge(
            "node_nf_conntrack_entries_limit",
            "Maximum size of connection tracking table.",
            &[],
            max as f64,
        );
        for (column, name, help) in STATS {
            out.gauge(name, help, &[], sums[column] as f64);
        }
        Ok(())
    }
}

/// Sums the per-CPU rows of `/proc/net/stat/nf_conntrack` (after its header line): 16 or
/// 17 hexadecimal columns (`search_restart`, the 17th, is missing before Linux 2.6.35
/// and then counts as 0).
pub(crate) fn parse(text: &str) -> Result<[u64; 17], ParseError> {
    let mut sums = [0u64; 17];
    for (i, line) in text.lines().enumerate().skip(1) {
        let mut n = 0;
        for word in line.split_ascii_whitespace() {
            let v = attr::go_parse_uint(word, 16).ok_or_else(|| {
                ParseError::new(i + 1, format!("{word:?} is not a hexadecimal number"))
            })?;
            if n < 17 {
                sums[n] = sums[n].wrapping_add(v);
            }
            n += 1;
        }
        if !(16..=17).contains(&n) {
            return Err(ParseError::new(
                i + 1,
                format!("{n} fields, expected 16 or 17"),
            ));
        }
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const STAT: &str = "entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
00000021  00000000 00000000 00000000 00000003 0000588a 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000
00000021  00000000 00000001 00000000 00000002 000056a4 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 0000000a
";

    #[test]
    fn rows_are_summed() {
        let s = parse(STAT).unwrap();
        assert_eq!((s[2], s[4], s[5], s[16]), (1, 5, 0x588a + 0x56a4, 10));
        let short = "h\n0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1\n";
        assert_eq!(parse(short).unwrap()[16], 0);
    }

    #[test]
    fn malformed_rows_are_errors_with_their_line() {
        assert_eq!(parse(&format!("{STAT}1 2 3\n")).unwrap_err().line, 4);
        assert_eq!(
            parse("h\n0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 zz\n")
                .unwrap_err()
                .line,
            2
        );
    }

    #[test]
    fn a_tree_is_read_and_a_missing_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        assert!(c.update(&ctx, &mut s).unwrap_err().is_not_found());
        let p = dir.path().join("proc");
        std::fs::create_dir_all(p.join("sys/net/netfilter")).unwrap();
        std::fs::create_dir_all(p.join("net/stat")).unwrap();
        std::fs::write(p.join("sys/net/netfilter/nf_conntrack_count"), "12\n").unwrap();
        std::fs::write(p.join("sys/net/netfilter/nf_conntrack_max"), "100\n").unwrap();
        std::fs::write(p.join("net/stat/nf_conntrack"), STAT).unwrap();
        let mut c = build(&Options::default()).unwrap();
        c.update(&ctx, &mut s).unwrap();
        let mut out = String::new();
        s.render(&mut out);
        assert!(out.contains("node_nf_conntrack_entries 12\n"), "{out}");
        assert!(
            out.contains("node_nf_conntrack_entries_limit 100\n"),
            "{out}"
        );
        assert!(out.contains("node_nf_conntrack_stat_invalid 5\n"), "{out}");
    }
}
