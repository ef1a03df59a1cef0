//! The `mdadm` collector: software RAID arrays from `<procfs>/mdstat` (`node_md_state`,
//! `node_md_disks`, `node_md_disks_required`, `node_md_blocks`, `node_md_blocks_synced`)
//! and from `<sysfs>/block/md*/md/` (`node_md_raid_disks`, `node_md_degraded`). No
//! `mdstat` (no md driver) is no data.

use regex::Regex;

use crate::collector::attr::{self, Attrs, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::OrAbsent as _;
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "mdadm",
    default_enabled: true,
    families: &["node_md_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Mdadm {
        file: None,
        patterns: Patterns::new(),
        attrs: Attrs::default(),
    }))
}

struct Mdadm {
    file: Option<TextFile>,
    patterns: Patterns,
    attrs: Attrs,
}

/// The patterns of the mdstat lines, compiled once.
struct Patterns {
    /// `5853468288 blocks super 1.2 ... [8/8] [UUUUUUUU]`.
    status: Regex,
    /// `(16775552/195310144)` in a recovery line.
    blocks: Regex,
}

impl Patterns {
    fn new() -> Self {
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| unreachable!("{p}: {e}"));
        Self {
            status: re(r"(\d+) blocks .*\[(\d+)/(\d+)\] \[([U_]+)\]"),
            blocks: re(r"\((\d+)/(\d+)\)"),
        }
    }
}

/// One array of `/proc/mdstat`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MdStat<'a> {
    name: &'a str,
    /// `active`, `inactive`, ... or, while syncing, `recovering`, `reshaping`,
    /// `checking`, `resyncing`.
    state: &'a str,
    disks_active: i64,
    disks_total: i64,
    disks_failed: i64,
    disks_spare: i64,
    blocks_total: i64,
    blocks_synced: i64,
}

fn int(s: &str, n: usize) -> Result<i64, ParseError> {
    s.parse()
        .map_err(|_| ParseError::new(n, format!("{s:?} is not an integer")))
}

/// Parses `/proc/mdstat` as prometheus/procfs does: an array's line
/// (`md3 : active raid6 sda1[8] ...`), its status line (blocks, `[total/active]`), an
/// optional bitmap line and an optional sync line.
fn parse<'a>(text: &'a str, p: &Patterns) -> Result<Vec<MdStat<'a>>, ParseError> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    let mut personalities = false;
    for (i, &line) in lines.iter().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() || line.starts_with(' ') || line.starts_with("unused") {
            continue;
        }
        if !personalities && line.starts_with("Personalities : ") {
            personalities = line.len() > "Personalities : ".len();
            continue;
        }
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() < 3 {
            return Err(ParseError::new(
                n,
                format!("expected 3+ fields, got {line:?}"),
            ));
        }
        let (name, mut state) = (fields[0], fields[2]);
        if lines.len() <= i + 3 {
            return Err(ParseError::new(
                n,
                format!("too few lines for md device {name:?}"),
            ));
        }
        let disks_failed = line.matches("(F)").count() as i64;
        let disks_spare = line.matches("(S)").count() as i64;

        // The status line.
        let status = lines[i + 1];
        let size_field = status.split_ascii_whitespace().next().unwrap_or("");
        let blocks_total = int(size_field, n + 1)?;
        let (disks_active, disks_total) = if line.contains("raid0") || line.contains("linear") {
            let t = line.matches('[').count() as i64;
            (t, t)
        } else if line.contains("inactive") {
            (0, 0)
        } else {
            let c = p.status.captures(status).ok_or_else(|| {
                ParseError::new(n + 1, format!("unexpected status line {status:?}"))
            })?;
            (int(&c[3], n + 1)?, int(&c[2], n + 1)?)
        };

        // The sync line, after an optional bitmap line.
        let mut sync_idx = i + 2;
        if lines[sync_idx].contains("bitmap") {
            sync_idx += 1;
        }
        let sync = lines[sync_idx];
        let mut blocks_synced = blocks_total;
        let syncing = [
            ("recovery", "recovering"),
            ("reshape", "reshaping"),
            ("check", "checking"),
            ("resync", "resyncing"),
        ]
        .into_iter()
        .find(|(word, _)| sync.contains(word));
        if let Some((_, s)) = syncing {
            state = s;
            if sync.contains("PENDING") || sync.contains("DELAYED") {
                blocks_synced = 0;
            } else {
                blocks_synced = recovery(sync, p).map_err(|m| ParseError::new(sync_idx + 1, m))?;
            }
        }
        out.push(MdStat {
            name,
            state,
            disks_active,
            disks_total,
            disks_failed,
            disks_spare,
            blocks_total,
            blocks_synced,
        });
    }
    Ok(out)
}

/// The blocks synced of a recovery line
/// (`[=>...]  recovery =  8.5% (16775552/195310144) finish=17.0min speed=259783K/sec`),
/// checking its percentage, finish time and speed are numbers as upstream does.
fn recovery(line: &str, p: &Patterns) -> Result<i64, String> {
    let bad = || format!("unexpected recovery line {line:?}");
    let c = p.blocks.captures(line).ok_or_else(bad)?;
    let synced = c[1].parse().map_err(|_| bad())?;
    let _: i64 = c[2].parse().map_err(|_| bad())?;
    // The text between the first `start` and the last `end`.
    let between = |start: &str, end: &str| -> Option<f64> {
        let from = line.find(start)? + start.len();
        let to = line.rfind(end)?;
        line.get(from..to)?.trim().parse().ok()
    };
    between("= ", "%").ok_or_else(bad)?;
    between("finish=", "min").ok_or_else(bad)?;
    // `speed=(.+)[A-Z]`: up to the last capital letter.
    let from = line.find("speed=").ok_or_else(bad)? + "speed=".len();
    let to = line
        .rfind(|c: char| c.is_ascii_uppercase())
        .ok_or_else(bad)?;
    line.get(from..to)
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(bad)?;
    Ok(synced)
}

impl Collector for Mdadm {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("mdstat")));
        let Some(text) = file.read().or_absent()? else {
            return Ok(());
        };
        let stats =
            parse(text, &self.patterns).map_err(|e| Error::parse(ctx.roots.proc("mdstat"), e))?;
        for md in &stats {
            let dev = md.name;
            out.gauge(
                "node_md_disks_required",
                "Total number of disks of device.",
                &[("device", dev)],
                md.disks_total as f64,
            );
            for (state, v) in [
                ("active", md.disks_active),
                ("failed", md.disks_failed),
                ("spare", md.disks_spare),
            ] {
                out.gauge(
                    "node_md_disks",
                    "Number of active/failed/spare disks of device.",
                    &[("device", dev), ("state", state)],
                    v as f64,
                );
            }
            for (label, state) in [
                ("active", "active"),
                ("inactive", "inactive"),
                ("recovering", "recovering"),
                ("resync", "resyncing"),
                ("check", "checking"),
            ] {
                out.gauge(
                    "node_md_state",
                    "Indicates the state of md-device.",
                    &[("device", dev), ("state", label)],
                    if md.state == state { 1.0 } else { 0.0 },
                );
            }
            out.gauge(
                "node_md_blocks",
                "Total number of blocks on device.",
                &[("device", dev)],
                md.blocks_total as f64,
            );
            out.gauge(
                "node_md_blocks_synced",
                "Number of blocks synced on device.",
                &[("device", dev)],
                md.blocks_synced as f64,
            );
        }
        sysfs_arrays(ctx, &mut self.attrs, out)
    }
}

/// `node_md_raid_disks` and `node_md_degraded` for every `<sysfs>/block/md*/md`.
fn sysfs_arrays(ctx: &Context, attrs: &mut Attrs, out: &mut Scrape) -> Result<(), Error> {
    let block = ctx.roots.sys("block");
    let Ok(rd) = std::fs::read_dir(&block) else {
        return Ok(());
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("md"))
        .collect();
    names.sort_unstable();
    for name in names {
        let md = block.join(&name).join("md");
        if !md.is_dir() {
            continue;
        }
        let level = read_trimmed(&md.join("level"), attrs)?.to_owned();
        if !matches!(level.as_str(), "container" | "imsm" | "ddf" | "") {
            // `4` or, while reshaping, `4 (3)`: the first number.
            let text = read_trimmed(&md.join("raid_disks"), attrs)?;
            let first = text.split(' ').next().unwrap_or("");
            if let Ok(disks) = first.parse::<u64>() {
                out.gauge(
                    "node_md_raid_disks",
                    "Number of raid disks on device.",
                    &[("device", &name)],
                    disks as f64,
                );
            }
        }
        let degraded = if matches!(
            level.as_str(),
            "raid1" | "raid4" | "raid5" | "raid6" | "raid10"
        ) {
            attr::read_u64(&md.join("degraded"), attrs)?
        } else {
            0
        };
        out.gauge(
            "node_md_degraded",
            "Number of degraded disks on device.",
            &[("device", &name)],
            degraded as f64,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const MDSTAT: &str = r"Personalities : [linear] [raid0] [raid1] [raid6] [raid5] [raid4] [raid10]

md3 : active raid6 sda1[8] sdh1[7] sdg1[6] sdf1[5] sde1[11] sdd1[3] sdc1[10] sdb1[9] sdd1[10](S) sdd2[11](S)
      5853468288 blocks super 1.2 level 6, 64k chunk, algorithm 2 [8/8] [UUUUUUUU]

md4 : inactive raid1 sda3[0](F) sdb3[1](S)
      4883648 blocks [2/2] [UU]

md6 : active raid1 sdb2[2](F) sdc[1](S) sda2[0]
      195310144 blocks [2/1] [U_]
      [=>...................]  recovery =  8.5% (16775552/195310144) finish=17.0min speed=259783K/sec

md7 : active raid6 sdb1[0] sde1[3] sdd1[2] sdc1[1](F)
      7813735424 blocks super 1.2 level 6, 512k chunk, algorithm 2 [4/3] [U_UU]
      bitmap: 0/30 pages [0KB], 65536KB chunk

md9 : active raid1 sdc2[2] sdd2[3] sdb2[1] sda2[0] sde[4](F) sdf[5](F) sdg[6](S)
      523968 blocks super 1.2 [4/4] [UUUU]
      resync=DELAYED

md10 : active raid0 sda1[0] sdb1[1]
       314159265 blocks 64k chunks

unused devices: <none>
";

    fn md<'a>(name: &'a str, state: &'a str, d: [i64; 4], b: [i64; 2]) -> MdStat<'a> {
        MdStat {
            name,
            state,
            disks_active: d[0],
            disks_total: d[1],
            disks_failed: d[2],
            disks_spare: d[3],
            blocks_total: b[0],
            blocks_synced: b[1],
        }
    }

    #[test]
    fn arrays_of_every_kind_parse() {
        let got = parse(MDSTAT, &Patterns::new()).unwrap();
        assert_eq!(
            got,
            vec![
                md("md3", "active", [8, 8, 0, 2], [5853468288, 5853468288]),
                md("md4", "inactive", [0, 0, 1, 1], [4883648, 4883648]),
                md("md6", "recovering", [1, 2, 1, 1], [195310144, 16775552]),
                md("md7", "active", [3, 4, 1, 0], [7813735424, 7813735424]),
                md("md9", "resyncing", [4, 4, 2, 1], [523968, 0]),
                md("md10", "active", [2, 2, 0, 0], [314159265, 314159265]),
            ]
        );
        assert_eq!(parse("", &Patterns::new()), Ok(vec![]));
    }

    #[test]
    fn malformed_input_is_an_error_with_its_line() {
        let p = Patterns::new();
        for (text, line) in [
            ("md0 : active\n", 1),
            ("md0 : active raid1 sda[0]\n", 1),
            (
                "md0 : active raid1 sda[0]\n      x blocks [2/2] [UU]\n\n\n",
                2,
            ),
            ("md0 : active raid1 sda[0]\n      9 blocks [2/2]\n\n\n", 2),
            (
                "md0 : active raid1 sda[0]\n      9 blocks [2/2] [UU]\n      recovery = x% (1/9)\n\n",
                3,
            ),
        ] {
            assert_eq!(parse(text, &p).unwrap_err().line, line, "{text:?}");
        }
    }

    #[test]
    fn sysfs_arrays_report_raid_disks_and_degraded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let ctx = testing::context(root);
        let mut c = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        c.update(&ctx, &mut s).unwrap();
        assert!(s.families().next().is_none(), "no mdstat: no data");
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("proc/mdstat", "Personalities : \nunused devices: <none>\n");
        write("sys/block/md0/md/level", "raid0\n");
        write("sys/block/md0/md/raid_disks", "2\n");
        write("sys/block/md5/md/level", "raid5\n");
        write("sys/block/md5/md/raid_disks", "4 (3)\n");
        write("sys/block/md5/md/degraded", "1\n");
        write("sys/block/md9/md/level", "container\n");
        std::fs::create_dir_all(root.join("sys/block/sda")).unwrap();
        c.update(&ctx, &mut s).unwrap();
        let mut text = String::new();
        s.render(&mut text);
        assert_eq!(
            text,
            "# HELP node_md_degraded Number of degraded disks on device.\n\
             # TYPE node_md_degraded gauge\n\
             node_md_degraded{device=\"md0\"} 0\n\
             node_md_degraded{device=\"md5\"} 1\n\
             node_md_degraded{device=\"md9\"} 0\n\
             # HELP node_md_raid_disks Number of raid disks on device.\n\
             # TYPE node_md_raid_disks gauge\n\
             node_md_raid_disks{device=\"md0\"} 2\n\
             node_md_raid_disks{device=\"md5\"} 4\n"
        );
        write("sys/block/md5/md/degraded", "lots\n");
        let e = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(e.to_string().contains("md5/md/degraded"), "{e}");
    }
}
