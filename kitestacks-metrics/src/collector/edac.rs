//! The `edac` collector: memory error counters of the EDAC memory controllers, from
//! `<sysfs>/devices/system/edac/mc/mc<N>/{ce,ue,ce_noinfo,ue_noinfo}_count`, their chip
//! select rows `csrow<M>/{ce,ue}_count` and channels `csrow<M>/ch<K>_{ce,ue}_count` (with
//! the DIMM label from `ch<K>_dimm_label`). No controllers: no series.

use std::path::Path;

use crate::collector::attr::{self, read_trimmed, read_u64};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "edac",
    default_enabled: true,
    families: &["node_edac_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Edac {
        attrs: attr::Attrs::default(),
    }))
}

struct Edac {
    attrs: attr::Attrs,
}

/// The names in `dir` that are `prefix` followed by a digit (the glob `prefix[0-9]*`),
/// with the run of digits after the prefix.
fn numbered(dir: &Path, prefix: &str) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| {
            let rest = name.strip_prefix(prefix)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty()).then(|| (name.clone(), digits))
        })
        .collect();
    out.sort();
    out
}

/// The channel number of a `ch<K>_ce_count` file name.
fn channel_of(name: &str) -> Option<&str> {
    let digits = name.strip_prefix("ch")?.strip_suffix("_ce_count")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// A DIMM label as node_exporter shows it: trimmed, without `#`, with `_` before
/// `csrow` and `channel`; "unknown" if unreadable.
fn dimm_label(text: Option<&str>) -> String {
    match text {
        None => "unknown".to_owned(),
        Some(t) => t
            .replace('#', "")
            .replace("csrow", "_csrow")
            .replace("channel", "_channel"),
    }
}

impl Collector for Edac {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let mc = ctx.roots.sys("devices/system/edac/mc");
        let attrs = &mut self.attrs;
        for (dir, controller) in numbered(&mc, "mc") {
            let dir = mc.join(dir);
            let c = controller.as_str();
            let mut count = |file: &str| read_u64(&dir.join(file), attrs);
            let ce = count("ce_count")?;
            let ce_noinfo = count("ce_noinfo_count")?;
            let ue = count("ue_count")?;
            let ue_noinfo = count("ue_noinfo_count")?;
            out.counter(
                "node_edac_correctable_errors_total",
                "Total correctable memory errors.",
                &[("controller", c)],
                ce as f64,
            );
            out.counter(
                "node_edac_uncorrectable_errors_total",
                "Total uncorrectable memory errors.",
                &[("controller", c)],
                ue as f64,
            );
            let csrow_ce = |out: &mut Scrape, csrow: &str, v: u64| {
                out.counter(
                    "node_edac_csrow_correctable_errors_total",
                    "Total correctable memory errors for this csrow.",
                    &[("controller", c), ("csrow", csrow)],
                    v as f64,
                );
            };
            let csrow_ue = |out: &mut Scrape, csrow: &str, v: u64| {
                out.counter(
                    "node_edac_csrow_uncorrectable_errors_total",
                    "Total uncorrectable memory errors for this csrow.",
                    &[("controller", c), ("csrow", csrow)],
                    v as f64,
                );
            };
            csrow_ce(out, "unknown", ce_noinfo);
            csrow_ue(out, "unknown", ue_noinfo);
            for (name, csrow) in numbered(&dir, "csrow") {
                let row = dir.join(name);
                let ce = read_u64(&row.join("ce_count"), attrs)?;
                csrow_ce(out, &csrow, ce);
                let ue = read_u64(&row.join("ue_count"), attrs)?;
                csrow_ue(out, &csrow, ue);
                let mut channels: Vec<String> = std::fs::read_dir(&row)
                    .map_err(|source| Error::Read {
                        path: row.clone(),
                        source,
                    })?
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter_map(|n| channel_of(&n).map(str::to_owned))
                    .collect();
                channels.sort();
                for ch in channels {
                    let label = dimm_label(
                        read_trimmed(&row.join(format!("ch{ch}_dimm_label")), attrs).ok(),
                    );
                    let labels = [
                        ("controller", c),
                        ("csrow", csrow.as_str()),
                        ("channel", ch.as_str()),
                        ("dimm_label", label.as_str()),
                    ];
                    let ce = read_u64(&row.join(format!("ch{ch}_ce_count")), attrs)?;
                    out.counter(
                        "node_edac_channel_correctable_errors_total",
                        "Total correctable memory errors for this channel.",
                        &labels,
                        ce as f64,
                    );
                    // Older kernels have no per-channel uncorrectable count.
                    if let Ok(ue) = read_u64(&row.join(format!("ch{ch}_ue_count")), attrs) {
                        out.counter(
                            "node_edac_channel_uncorrectable_errors_total",
                            "Total uncorrectable memory errors for this channel.",
                            &labels,
                            ue as f64,
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn names_and_labels_follow_node_exporter() {
        assert_eq!(channel_of("ch12_ce_count"), Some("12"));
        assert_eq!(channel_of("ch_ce_count"), None);
        assert_eq!(channel_of("ch1_ue_count"), None);
        assert_eq!(
            dimm_label(Some("mc#0csrow#1channel#0")),
            "mc0_csrow1_channel0"
        );
        assert_eq!(dimm_label(None), "unknown");
    }

    #[test]
    fn a_tree_is_read_and_bad_counts_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = testing::sysfs(dir.path());
        let mc = dir.path().join("devices/system/edac/mc/mc0");
        std::fs::create_dir_all(mc.join("csrow0")).unwrap();
        for (f, v) in [
            ("ce_count", "1"),
            ("ue_count", "5"),
            ("ce_noinfo_count", "2"),
            ("ue_noinfo_count", "6"),
            ("csrow0/ce_count", "3"),
            ("csrow0/ue_count", "4"),
            ("csrow0/ch0_ce_count", "7"),
            ("csrow0/ch0_ue_count", "8"),
            ("csrow0/ch1_ce_count", "9"),
            ("csrow0/ch0_dimm_label", "mc#0csrow#0channel#0\n"),
        ] {
            std::fs::write(mc.join(f), v).unwrap();
        }
        let mut c = build(&Options::default()).unwrap();
        let out = testing::text(&mut *c, &ctx).unwrap();
        for line in [
            "node_edac_channel_correctable_errors_total{channel=\"0\",controller=\"0\",csrow=\"0\",dimm_label=\"mc0_csrow0_channel0\"} 7\n",
            "node_edac_channel_correctable_errors_total{channel=\"1\",controller=\"0\",csrow=\"0\",dimm_label=\"unknown\"} 9\n",
            "node_edac_channel_uncorrectable_errors_total{channel=\"0\",controller=\"0\",csrow=\"0\",dimm_label=\"mc0_csrow0_channel0\"} 8\n",
            "node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"unknown\"} 2\n",
            "node_edac_csrow_uncorrectable_errors_total{controller=\"0\",csrow=\"0\"} 4\n",
            "node_edac_uncorrectable_errors_total{controller=\"0\"} 5\n",
        ] {
            assert!(out.contains(line), "{line} not in {out}");
        }
        assert!(
            !out.contains("channel=\"1\",controller=\"0\",csrow=\"0\",dimm_label=\"unknown\"} 0")
        );
        std::fs::write(mc.join("csrow0/ue_count"), "x").unwrap();
        let err = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(err.to_string().contains("csrow0/ue_count"), "{err}");
    }
}
