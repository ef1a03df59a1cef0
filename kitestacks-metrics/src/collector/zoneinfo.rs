//! The `zoneinfo` collector: per memory zone page counts from `/proc/zoneinfo`
//! (`node_zoneinfo_*`, labelled `node` and `zone`), read as prometheus/procfs reads it:
//! watermarks, sizes, the `nr_*` and `numa_*` statistics and the `protection` array.
//! Like upstream, a value that is not a number leaves its metric out rather than failing.

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::Error;
use crate::exposition::{self, MetricType, Name, Scrape};
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "zoneinfo",
    default_enabled: false,
    families: &["node_zoneinfo_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Zoneinfo {
        file: None,
        protection: Vec::new(),
    }))
}

struct Zoneinfo {
    file: Option<TextFile>,
    /// `node_zoneinfo_protection_<i>` and its help, per index seen so far.
    protection: Vec<(Name, Name)>,
}

/// A reported line: the key in `/proc/zoneinfo`, the metric, help and type.
struct Field {
    key: &'static str,
    metric: &'static str,
    help: &'static str,
    kind: MetricType,
}

macro_rules! f {
    ($key:literal, $suffix:literal, $help:literal, $kind:ident) => {
        Field {
            key: $key,
            metric: concat!("node_zoneinfo_", $suffix),
            help: $help,
            kind: MetricType::$kind,
        }
    };
}

/// The keys procfs knows, in its order (`nr_kernel_stack` is `nr_kernel_stacks`).
const FIELDS: [Field; 34] = [
    f!(
        "nr_free_pages",
        "nr_free_pages",
        "Total number of free pages in the zone",
        Gauge
    ),
    f!("min", "min_pages", "Zone watermark pages_min", Gauge),
    f!("low", "low_pages", "Zone watermark pages_low", Gauge),
    f!("high", "high_pages", "Zone watermark pages_high", Gauge),
    f!(
        "scanned",
        "scanned_pages",
        "Pages scanned since last reclaim",
        Gauge
    ),
    f!(
        "spanned",
        "spanned_pages",
        "Total pages spanned by the zone, including holes",
        Gauge
    ),
    f!(
        "present",
        "present_pages",
        "Physical pages existing within the zone",
        Gauge
    ),
    f!(
        "managed",
        "managed_pages",
        "Present pages managed by the buddy system",
        Gauge
    ),
    f!(
        "nr_active_anon",
        "nr_active_anon_pages",
        "Number of anonymous pages recently more used",
        Gauge
    ),
    f!(
        "nr_inactive_anon",
        "nr_inactive_anon_pages",
        "Number of anonymous pages recently less used",
        Gauge
    ),
    f!(
        "nr_isolated_anon",
        "nr_isolated_anon_pages",
        "Temporary isolated pages from anon lru",
        Gauge
    ),
    f!(
        "nr_anon_pages",
        "nr_anon_pages",
        "Number of anonymous pages currently used by the system",
        Gauge
    ),
    f!(
        "nr_anon_transparent_hugepages",
        "nr_anon_transparent_hugepages",
        "Number of anonymous transparent huge pages currently used by the system",
        Gauge
    ),
    f!(
        "nr_active_file",
        "nr_active_file_pages",
        "Number of active pages with file-backing",
        Gauge
    ),
    f!(
        "nr_inactive_file",
        "nr_inactive_file_pages",
        "Number of inactive pages with file-backing",
        Gauge
    ),
    f!(
        "nr_isolated_file",
        "nr_isolated_file_pages",
        "Temporary isolated pages from file lru",
        Gauge
    ),
    f!(
        "nr_file_pages",
        "nr_file_pages",
        "Number of file pages",
        Gauge
    ),
    f!(
        "nr_slab_reclaimable",
        "nr_slab_reclaimable_pages",
        "Number of reclaimable slab pages",
        Gauge
    ),
    f!(
        "nr_slab_unreclaimable",
        "nr_slab_unreclaimable_pages",
        "Number of unreclaimable slab pages",
        Gauge
    ),
    f!(
        "nr_mlock_stack",
        "nr_mlock_stack_pages",
        "mlock()ed pages found and moved off LRU",
        Gauge
    ),
    f!(
        "nr_kernel_stack",
        "nr_kernel_stacks",
        "Number of kernel stacks",
        Gauge
    ),
    f!(
        "nr_mapped",
        "nr_mapped_pages",
        "Number of mapped pages",
        Gauge
    ),
    f!("nr_dirty", "nr_dirty_pages", "Number of dirty pages", Gauge),
    f!(
        "nr_writeback",
        "nr_writeback_pages",
        "Number of writeback pages",
        Gauge
    ),
    f!(
        "nr_unevictable",
        "nr_unevictable_pages",
        "Number of unevictable pages",
        Gauge
    ),
    f!(
        "nr_shmem",
        "nr_shmem_pages",
        "Number of shmem pages (included tmpfs/GEM pages)",
        Gauge
    ),
    f!(
        "nr_dirtied",
        "nr_dirtied_total",
        "Page dirtyings since bootup",
        Counter
    ),
    f!(
        "nr_written",
        "nr_written_total",
        "Page writings since bootup",
        Counter
    ),
    f!(
        "numa_hit",
        "numa_hit_total",
        "Allocated in intended node",
        Counter
    ),
    f!(
        "numa_miss",
        "numa_miss_total",
        "Allocated in non intended node",
        Counter
    ),
    f!(
        "numa_foreign",
        "numa_foreign_total",
        "Was intended here, hit elsewhere",
        Counter
    ),
    f!(
        "numa_interleave",
        "numa_interleave_total",
        "Interleaver preferred this zone",
        Counter
    ),
    f!(
        "numa_local",
        "numa_local_total",
        "Allocation from local node",
        Counter
    ),
    f!(
        "numa_other",
        "numa_other_total",
        "Allocation from other node",
        Counter
    ),
];

/// One block of `/proc/zoneinfo`: the node and zone of its header (empty when the block
/// has none), the value of each of [`FIELDS`] (the last one given wins; `None` when
/// absent or not a number) and the protection array.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Zone<'a> {
    node: &'a str,
    zone: &'a str,
    values: [Option<i64>; FIELDS.len()],
    protection: Vec<i64>,
}

/// The node and zone of a header line, `Node 0, zone   Normal`: upstream's first match
/// of `(\d+), zone\s+(\w+)` anywhere in the line.
fn header(line: &str) -> Option<(&str, &str)> {
    let mut from = 0;
    while let Some(at) = line[from..].find(", zone") {
        let at = from + at;
        from = at + 1;
        let digits = line[..at]
            .bytes()
            .rev()
            .take_while(u8::is_ascii_digit)
            .count();
        let after = &line[at + ", zone".len()..];
        let name = after.trim_start_matches([' ', '\t', '\r', '\x0c']);
        let word = name
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if digits > 0 && name.len() < after.len() && word > 0 {
            return Some((&line[at - digits..at], &name[..word]));
        }
    }
    None
}

/// `        protection: (0, 2039, 31932)` -> `[0, 2039, 31932]`; `None` if any entry is not
/// a decimal integer.
fn protection(line: &str) -> Option<Vec<i64>> {
    let list = line.split(':').nth(1)?;
    let list = list.replacen('(', "", 1).replacen(')', "", 1);
    list.trim().split(", ").map(|v| v.parse().ok()).collect()
}

/// Parses `/proc/zoneinfo`. Blocks are split at lines starting with `Node`, as upstream
/// does; every block is a zone, with or without a header.
fn parse(text: &str) -> Vec<Zone<'_>> {
    let mut zones = Vec::new();
    for block in text.split("\nNode") {
        let mut zone = Zone {
            node: "",
            zone: "",
            values: [None; FIELDS.len()],
            protection: Vec::new(),
        };
        for line in block.split('\n') {
            if let Some((node, name)) = header(line) {
                (zone.node, zone.zone) = (node, name);
                continue;
            }
            let trimmed = line.trim();
            if trimmed.starts_with("per-node stats") {
                continue;
            }
            let mut parts = trimmed.split_whitespace();
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            if key == "protection:" {
                if let Some(p) = protection(line) {
                    zone.protection = p;
                }
            } else if let Some(i) = FIELDS.iter().position(|f| f.key == key) {
                zone.values[i] = attr::go_parse_int(value, 0);
            }
        }
        zones.push(zone);
    }
    zones
}

impl Collector for Zoneinfo {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("zoneinfo")));
        for z in parse(file.read()?) {
            let labels = [("node", z.node), ("zone", z.zone)];
            for (f, v) in FIELDS.iter().zip(z.values) {
                if let Some(v) = v {
                    let labels = labels.iter().map(|(k, v)| ((*k).into(), (*v).to_owned()));
                    out.add(f.metric, f.help, f.kind, labels.collect(), v as f64);
                }
            }
            for (i, v) in z.protection.iter().enumerate() {
                if self.protection.len() <= i {
                    // A handful of zone types: interned once, free to clone per scrape.
                    self.protection.push((
                        Name::Borrowed(exposition::intern(&format!(
                            "node_zoneinfo_protection_{i}"
                        ))),
                        Name::Borrowed(exposition::intern(&format!("Protection array {i}. field"))),
                    ));
                }
                let (name, help) = self.protection[i].clone();
                let labels = labels.iter().map(|(k, v)| ((*k).into(), (*v).to_owned()));
                out.add(name, help, MetricType::Gauge, labels.collect(), *v as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const SAMPLE: &str = "Node 0, zone      DMA
  per-node stats
      nr_inactive_anon 95612
      nr_dirtied   1189097
  pages free     2949
        min      8
        high     14
        protection: (0, 2039, 31932)
      nr_kernel_stack 0
      numa_hit     1
  pagesets
    cpu: 0
              count: 0
              high:  0
  node_unreclaimable:  0
Node 0, zone   Normal
  pages free     0
        min      0x10
        low      lots
        protection: (0, 0, x)
Node 1, zone  Movable
";

    fn value(z: &Zone<'_>, key: &str) -> Option<i64> {
        z.values[FIELDS.iter().position(|f| f.key == key).unwrap()]
    }

    #[test]
    fn blocks_headers_and_values() {
        let zones = parse(SAMPLE);
        assert_eq!(zones.len(), 3);
        let dma = &zones[0];
        assert_eq!((dma.node, dma.zone), ("0", "DMA"));
        assert_eq!(value(dma, "nr_inactive_anon"), Some(95612));
        assert_eq!(value(dma, "nr_dirtied"), Some(1189097));
        assert_eq!(
            value(dma, "high"),
            Some(14),
            "pageset lines are not watermarks"
        );
        assert_eq!(value(dma, "nr_kernel_stack"), Some(0));
        assert_eq!(value(dma, "low"), None);
        assert_eq!(dma.protection, [0, 2039, 31932]);
        let normal = &zones[1];
        assert_eq!((normal.node, normal.zone), ("0", "Normal"));
        assert_eq!(
            value(normal, "min"),
            Some(16),
            "base prefixes as Go's ParseInt(s, 0)"
        );
        // Malformed values and arrays are left out, as upstream does.
        assert_eq!(value(normal, "low"), None);
        assert!(normal.protection.is_empty());
        assert_eq!((zones[2].node, zones[2].zone), ("1", "Movable"));
        assert_eq!(zones[2].values, [None; FIELDS.len()]);
        // No header: a zone with empty labels, as upstream.
        let headless = parse("  min 3\n");
        assert_eq!((headless[0].node, headless[0].zone), ("", ""));
        assert_eq!(value(&headless[0], "min"), Some(3));
    }

    #[test]
    fn header_lines() {
        assert_eq!(header("Node 0, zone      DMA"), Some(("0", "DMA")));
        assert_eq!(header(" 12, zone\tDMA32 "), Some(("12", "DMA32")));
        assert_eq!(header("Node x, zone DMA"), None);
        assert_eq!(header("Node 0, zoneDMA"), None);
        assert_eq!(header("Node 0, zone  "), None);
        assert_eq!(header("a, zone b 3, zone Normal"), Some(("3", "Normal")));
    }

    #[test]
    fn protection_arrays() {
        assert_eq!(
            protection("  protection: (0, -1, +2)"),
            Some(vec![0, -1, 2])
        );
        assert_eq!(protection("  protection: ()"), None);
        assert_eq!(protection("  protection: (1,2)"), None);
    }

    #[test]
    fn scrape_and_a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = build(&Options::default()).unwrap();
        let ctx = testing::context(dir.path());
        let mut s = Scrape::new();
        let e = c.update(&ctx, &mut s).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(dir.path().join("proc/zoneinfo"), SAMPLE).unwrap();
        c.update(&ctx, &mut s).unwrap();
        let mut text = String::new();
        s.render(&mut text);
        for want in [
            "# TYPE node_zoneinfo_nr_dirtied_total counter\n\
             node_zoneinfo_nr_dirtied_total{node=\"0\",zone=\"DMA\"} 1.189097e+06\n",
            "# HELP node_zoneinfo_protection_2 Protection array 2. field\n\
             # TYPE node_zoneinfo_protection_2 gauge\n\
             node_zoneinfo_protection_2{node=\"0\",zone=\"DMA\"} 31932\n",
            "node_zoneinfo_min_pages{node=\"0\",zone=\"DMA\"} 8\n\
             node_zoneinfo_min_pages{node=\"0\",zone=\"Normal\"} 16\n",
        ] {
            assert!(text.contains(want), "{want} not in {text}");
        }
        assert!(!text.contains("Movable"), "{text}");
    }
}
