//! The `buddyinfo` collector: `node_buddyinfo_blocks{node,zone,size}`, the free blocks of
//! each order per memory zone, from `<procfs>/buddyinfo`, parsed with prometheus/procfs'
//! rules (as node_exporter's `buddyinfo.go` reports them). Like upstream, a missing or
//! malformed file fails the scrape.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "buddyinfo",
    default_enabled: false,
    families: &["node_buddyinfo_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(BuddyInfo {
        file: None,
        sizes: Vec::new(),
    }))
}

struct BuddyInfo {
    file: Option<TextFile>,
    /// `"0"`, `"1"`, ...: the size labels, made once.
    sizes: Vec<String>,
}

/// One zone's line.
#[derive(Debug, PartialEq)]
struct Zone<'a> {
    node: &'a str,
    zone: &'a str,
    /// Free blocks of order 0, 1, ...
    blocks: Vec<f64>,
}

/// Parses `/proc/buddyinfo`: `Node 0, zone   Normal  4381 1093 ...` lines. Every line
/// needs at least four fields, and every line the same number of counts.
fn parse(text: &str) -> Result<Vec<Zone<'_>>, ParseError> {
    let mut zones = Vec::with_capacity(4);
    let mut buckets = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let parts: Vec<&str> = line.split_ascii_whitespace().collect();
        if parts.len() < 4 {
            return Err(ParseError::new(
                n,
                format!("{} fields, expected at least 4", parts.len()),
            ));
        }
        let counts = &parts[4..];
        match buckets {
            None => buckets = Some(counts.len()),
            Some(b) if b != counts.len() => {
                return Err(ParseError::new(
                    n,
                    format!("{} counts, previous lines have {b}", counts.len()),
                ));
            }
            Some(_) => {}
        }
        let blocks = counts
            .iter()
            .map(|c| {
                c.parse::<f64>()
                    .map_err(|_| ParseError::new(n, format!("count {c:?} is not a number")))
            })
            .collect::<Result<_, _>>()?;
        zones.push(Zone {
            node: parts[1].strip_suffix(',').unwrap_or(parts[1]),
            zone: parts[3].strip_suffix(',').unwrap_or(parts[3]),
            blocks,
        });
    }
    Ok(zones)
}

impl Collector for BuddyInfo {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("buddyinfo")));
        let sizes = &mut self.sizes;
        file.parse(|text| {
            for z in parse(text)? {
                while sizes.len() < z.blocks.len() {
                    sizes.push(sizes.len().to_string());
                }
                for (size, &v) in sizes.iter().zip(&z.blocks) {
                    out.gauge(
                        "node_buddyinfo_blocks",
                        "Count of free blocks according to size.",
                        &[("node", z.node), ("zone", z.zone), ("size", size)],
                        v,
                    );
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn zones_and_their_counts() {
        let text = "Node 0, zone      DMA      1      0      1      0      2      1      1      0      1      1      3 \n\
                    Node 0, zone    DMA32    759    572    791    475    194     45     12      0      0      0      0 \n\
                    Node 1, zone   Normal   4381   1093    185   1530    567    102      4      0      0      0      0 \n";
        let z = parse(text).unwrap();
        assert_eq!(z.len(), 3);
        assert_eq!((z[0].node, z[0].zone, z[0].blocks[10]), ("0", "DMA", 3.0));
        assert_eq!(
            (z[2].node, z[2].zone, z[2].blocks[0]),
            ("1", "Normal", 4381.0)
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            parse("Node 0, zone DMA\n").unwrap()[0].blocks,
            Vec::<f64>::new()
        );
    }

    #[test]
    fn malformed_files_are_errors_with_their_line() {
        assert_eq!(parse("Node 0, zone\n").unwrap_err().line, 1);
        let e = parse("Node 0, zone DMA 1 2\nNode 0, zone DMA32 1 2 3\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("previous lines have 2"), "{e}");
        assert!(parse("Node 0, zone DMA 1 x\n").is_err());
        assert!(parse("Node 0, zone DMA 1\n\nNode 0, zone DMA32 1\n").is_err());
    }

    #[test]
    fn one_series_per_zone_and_order_and_a_missing_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        assert!(
            c.update(&ctx, &mut Scrape::new())
                .unwrap_err()
                .is_not_found()
        );
        std::fs::write(
            dir.path().join("proc/buddyinfo"),
            "Node 0, zone      DMA      1      0\n",
        )
        .unwrap();
        let text = testing::text(&mut *c, &ctx).unwrap();
        assert_eq!(
            text,
            "# HELP node_buddyinfo_blocks Count of free blocks according to size.\n\
             # TYPE node_buddyinfo_blocks gauge\n\
             node_buddyinfo_blocks{node=\"0\",size=\"0\",zone=\"DMA\"} 1\n\
             node_buddyinfo_blocks{node=\"0\",size=\"1\",zone=\"DMA\"} 0\n"
        );
    }
}
