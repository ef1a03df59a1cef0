//! The `bonding` collector: `node_bonding_slaves` and `node_bonding_active` per bonding
//! master, from `<sysfs>/class/net/bonding_masters`, each master's `bonding/slaves` and
//! each slave's `lower_<slave>/bonding_slave/mii_status` (`slave_<slave>/…` on older
//! kernels); a slave is active when its MII status is `up`.
//!
//! As in node_exporter, a host without `bonding_masters` (no bonding driver) reports
//! failure ("no data"), and any unreadable file fails the collector.

use std::path::Path;

use crate::collector::attr::{self, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::error::OrAbsent as _;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "bonding",
    default_enabled: true,
    families: &["node_bonding_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Bonding {
        attrs: attr::Attrs::default(),
    }))
}

struct Bonding {
    attrs: attr::Attrs,
}

impl Collector for Bonding {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let root = ctx.roots.sys("class/net");
        // No bonding driver loaded: nothing to report, which is not a failure.
        let Some(masters) =
            read_trimmed(&root.join("bonding_masters"), &mut self.attrs).or_absent()?
        else {
            return Ok(());
        };
        let masters: Vec<String> = masters
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect();
        for master in &masters {
            let (slaves, active) = count(&root.join(master), &mut self.attrs)?;
            let labels = [("master", master.as_str())];
            out.gauge(
                "node_bonding_slaves",
                "Number of configured slaves per bonding interface.",
                &labels,
                slaves as f64,
            );
            out.gauge(
                "node_bonding_active",
                "Number of active slaves per bonding interface.",
                &labels,
                active as f64,
            );
        }
        Ok(())
    }
}

/// The configured and the active slaves of one master.
fn count(master: &Path, attrs: &mut attr::Attrs) -> Result<(u64, u64), Error> {
    let slaves: Vec<String> = read_trimmed(&master.join("bonding/slaves"), attrs)?
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    let (mut configured, mut active) = (0, 0);
    for slave in &slaves {
        let lower = master.join(format!("lower_{slave}/bonding_slave/mii_status"));
        let up = match read_trimmed(&lower, attrs) {
            Ok(state) => state == "up",
            Err(e) if e.is_not_found() => {
                let old = master.join(format!("slave_{slave}/bonding_slave/mii_status"));
                read_trimmed(&old, attrs)? == "up"
            }
            Err(e) => return Err(e),
        };
        configured += 1;
        active += u64::from(up);
    }
    Ok((configured, active))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    fn scrape(root: &Path) -> Result<String, Error> {
        let mut s = testing::update(&mut *build(&Options::default())?, &testing::sysfs(root))?;
        Ok(testing::render(&mut s))
    }

    #[test]
    fn slaves_are_counted_with_old_and_new_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("class/net");
        let write = |rel: &str, text: &str| {
            let p = net.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        assert_eq!(
            scrape(dir.path()).unwrap(),
            "",
            "no bonding driver: nothing to report, not a failure"
        );
        write("bonding_masters", "bond0 bond1\n");
        write("bond0/bonding/slaves", "eth0 eth1\n");
        write("bond0/lower_eth0/bonding_slave/mii_status", "up\n");
        write("bond0/slave_eth1/bonding_slave/mii_status", "down\n");
        write("bond1/bonding/slaves", "\n");
        let out = scrape(dir.path()).unwrap();
        assert!(
            out.contains("node_bonding_active{master=\"bond0\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("node_bonding_slaves{master=\"bond0\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("node_bonding_slaves{master=\"bond1\"} 0\n"),
            "{out}"
        );
        write("bond1/bonding/slaves", "eth9\n");
        let err = scrape(dir.path()).unwrap_err();
        assert!(err.to_string().contains("slave_eth9"), "{err}");
    }
}
