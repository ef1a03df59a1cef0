//! The `rapl` collector: Intel/AMD RAPL energy counters from
//! `<sysfs>/class/powercap/<zone>/energy_uj`, one `node_rapl_<zone name>_joules_total`
//! counter per zone (labels `index`, `path`), or with
//! `--collector.rapl.enable-zone-label` one `node_rapl_joules_total` with a `rapl_zone`
//! label. No powercap directory, or one we may not read, is no data.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::Regex;

use crate::collector::attr::{self, Attrs, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::{self, MetricType, Name, Scrape};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "rapl",
    default_enabled: true,
    families: &["node_rapl_"],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Rapl {
        zone_label: o.rapl_enable_zone_label,
        invalid: Regex::new("_*[^0-9A-Za-z_]+_*").unwrap_or_else(|e| unreachable!("{e}")),
        attrs: Attrs::default(),
    }))
}

struct Rapl {
    zone_label: bool,
    /// node_exporter's `SanitizeMetricName`: runs of invalid characters (with the
    /// underscores around them) become one underscore.
    invalid: Regex,
    attrs: Attrs,
}

/// A zone: its name without the `-N` index, the index, its directory.
#[derive(Debug, PartialEq, Eq)]
struct Zone {
    name: String,
    index: u64,
    path: std::path::PathBuf,
}

/// Splits `package-0` into (`package`, 0); a name without a numeric suffix gets the
/// number of zones of that name seen so far.
fn index_and_name(seen: &HashMap<String, u64>, name: &str) -> (u64, String) {
    let mut parts = name.split('-');
    if let (Some(base), Some(n), None) = (parts.next(), parts.next(), parts.next())
        && let Ok(i) = n.parse::<u64>()
    {
        return (i, base.to_owned());
    }
    (seen.get(name).copied().unwrap_or(0), name.to_owned())
}

fn permission_denied(e: &Error) -> bool {
    matches!(e, Error::Read { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied)
}

impl Rapl {
    fn zones(&mut self, ctx: &Context) -> Result<Vec<Zone>, Error> {
        let dir = ctx.roots.sys("class/powercap");
        let entries = attr::list_sorted(&dir)?;
        let mut seen = HashMap::new();
        let mut zones = Vec::new();
        for entry in entries {
            let path = dir.join(&entry);
            let Ok(raw) = read_trimmed(&path.join("name"), &mut self.attrs) else {
                continue;
            };
            let (index, name) = index_and_name(&seen, raw);
            attr::read_u64(&path.join("max_energy_range_uj"), &mut self.attrs)?;
            seen.insert(name.clone(), index + 1);
            zones.push(Zone { name, index, path });
        }
        Ok(zones)
    }
}

impl Collector for Rapl {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let zones = match self.zones(ctx) {
            Ok(z) => z,
            Err(e) if e.is_not_found() || permission_denied(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut series = Vec::with_capacity(zones.len());
        for z in &zones {
            let uj = match attr::read_u64(&z.path.join("energy_uj"), &mut self.attrs) {
                Ok(v) => v,
                Err(e) if permission_denied(&e) => return Ok(()),
                Err(e) => return Err(e),
            };
            series.push((z, uj as f64 / 1e6));
        }
        for (z, joules) in series {
            let index = z.index.to_string();
            let path = z.path.display().to_string();
            if self.zone_label {
                out.counter(
                    "node_rapl_joules_total",
                    "Current RAPL value in joules",
                    &[("index", &index), ("path", &path), ("rapl_zone", &z.name)],
                    joules,
                );
            } else {
                let metric = format!(
                    "node_rapl_{}_joules_total",
                    self.invalid.replace_all(&z.name, "_")
                );
                let help = format!("Current RAPL {} value in joules", z.name);
                let labels: Vec<(Name, String)> = vec![
                    (Cow::Borrowed("index"), index),
                    (Cow::Borrowed("path"), path),
                ];
                out.add(
                    Cow::Borrowed(exposition::intern(&metric)),
                    Cow::Borrowed(exposition::intern(&help)),
                    MetricType::Counter,
                    labels,
                    joules,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;
    use crate::collector::testing::write;

    use std::path::Path;

    #[test]
    fn names_with_and_without_an_index() {
        let mut seen = HashMap::new();
        assert_eq!(index_and_name(&seen, "package-1"), (1, "package".into()));
        assert_eq!(index_and_name(&seen, "dram"), (0, "dram".into()));
        seen.insert("dram".to_owned(), 1);
        assert_eq!(index_and_name(&seen, "dram"), (1, "dram".into()));
        assert_eq!(index_and_name(&seen, "a-b"), (0, "a-b".into()));
        assert_eq!(index_and_name(&seen, "a-1-2"), (0, "a-1-2".into()));
    }

    fn scrape(root: &Path, zone_label: bool) -> Result<String, Error> {
        let o = Options {
            rapl_enable_zone_label: zone_label,
            ..Options::default()
        };
        let text = testing::scrape_once(&mut *build(&o)?, root)?;
        Ok(text.replace(&root.display().to_string(), "R"))
    }

    #[test]
    fn zones_are_reported_per_name_or_with_a_zone_label() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(scrape(root, false).unwrap(), "", "no powercap: no data");
        write(root, "sys/class/powercap/intel-rapl/enabled", "1\n");
        for (zone, name, uj) in [
            ("intel-rapl:0", "package-0", "240422366267"),
            ("intel-rapl:0:0", "core", "118821284256"),
            ("intel-rapl:0:1", "dram", "1"),
            ("intel-rapl:0:2", "dram", "2"),
        ] {
            write(root, &format!("sys/class/powercap/{zone}/name"), name);
            write(root, &format!("sys/class/powercap/{zone}/energy_uj"), uj);
            write(
                root,
                &format!("sys/class/powercap/{zone}/max_energy_range_uj"),
                "262143328850\n",
            );
        }
        let text = scrape(root, false).unwrap();
        assert!(text.contains(
            "node_rapl_package_joules_total{index=\"0\",path=\"R/sys/class/powercap/intel-rapl:0\"} 240422.366267\n"
        ), "{text}");
        assert!(text.contains("node_rapl_dram_joules_total{index=\"1\",path=\"R/sys/class/powercap/intel-rapl:0:2\"} 2e-06\n"), "{text}");
        assert!(
            text.contains("# HELP node_rapl_core_joules_total Current RAPL core value in joules\n")
        );
        let text = scrape(root, true).unwrap();
        assert!(text.contains("node_rapl_joules_total{index=\"0\",path=\"R/sys/class/powercap/intel-rapl:0:0\",rapl_zone=\"core\"} 118821.284256\n"), "{text}");
        // A bad counter fails the collector.
        write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "lots\n");
        assert!(matches!(scrape(root, false), Err(Error::Parse { .. })));
    }
}
