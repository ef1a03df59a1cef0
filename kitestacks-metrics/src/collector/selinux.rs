//! The `selinux` collector: `node_selinux_enabled`, and when SELinux is enabled
//! `node_selinux_config_mode` (the `SELINUX=` of `/etc/selinux/config`) and
//! `node_selinux_current_mode` (selinuxfs `enforce`): 1 enforcing, 0 permissive, -1
//! disabled or unknown.
//!
//! node_exporter asks go-selinux, which reads the process's own `/proc`, `/sys/fs/selinux`
//! and `/etc/selinux/config`; here they are read through the roots (`<procfs>/self/attr/
//! current`, `<sysfs>/fs/selinux/enforce`, `<rootfs>/etc/selinux/config`) so a container
//! with the host's trees mounted reports the host. SELinux counts as enabled when
//! selinuxfs has an `enforce` file and our security context is not `kernel`, as
//! go-selinux decides (without its filesystem-magic check of the mount).

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "selinux",
    default_enabled: true,
    families: &["node_selinux_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Selinux))
}

struct Selinux;

/// A mode word as go-selinux maps it.
fn mode(word: &str) -> f64 {
    match word {
        "enforcing" => 1.0,
        "permissive" => 0.0,
        _ => -1.0,
    }
}

/// The value of `SELINUX=` in an `/etc/selinux/config` text (quotes removed).
fn config_value(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "SELINUX")
        .map(|(_, v)| v.trim().trim_matches('"'))
}

impl Collector for Selinux {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let enforce = std::fs::read_to_string(ctx.roots.sys("fs/selinux/enforce")).ok();
        let context = std::fs::read(ctx.roots.proc("self/attr/current")).unwrap_or_default();
        let context = String::from_utf8_lossy(&context);
        let enabled = enforce.is_some() && context.trim_end_matches(['\0', '\n']) != "kernel";
        if !enabled {
            out.gauge(
                "node_selinux_enabled",
                "SELinux is enabled, 1 is true, 0 is false",
                &[],
                0.0,
            );
            return Ok(());
        }
        out.gauge(
            "node_selinux_enabled",
            "SELinux is enabled, 1 is true, 0 is false",
            &[],
            1.0,
        );
        let config =
            std::fs::read_to_string(ctx.roots.root("etc/selinux/config")).unwrap_or_default();
        out.gauge(
            "node_selinux_config_mode",
            "Configured SELinux enforcement mode",
            &[],
            mode(config_value(&config).unwrap_or("")),
        );
        let current = enforce
            .as_deref()
            .and_then(|e| e.trim().parse::<i32>().ok())
            .map_or(-1.0, f64::from);
        out.gauge(
            "node_selinux_current_mode",
            "Current SELinux enforcement mode",
            &[],
            current,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;
    use crate::collector::testing::write;

    use std::path::Path;

    fn scrape(root: &Path) -> String {
        testing::scrape_once(&mut *build(&Options::default()).unwrap(), root).unwrap()
    }

    #[test]
    fn config_lines() {
        assert_eq!(
            config_value(
                "# SELINUX=enforcing\n\nSELINUXTYPE=targeted\n SELINUX = \"permissive\"\n"
            ),
            Some("permissive")
        );
        assert_eq!(config_value("garbage\n"), None);
        assert_eq!(mode("enforcing"), 1.0);
        assert_eq!(mode("permissive"), 0.0);
        assert_eq!(mode("disabled"), -1.0);
    }

    #[test]
    fn disabled_then_enabled() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(
            scrape(root),
            "# HELP node_selinux_enabled SELinux is enabled, 1 is true, 0 is false\n\
             # TYPE node_selinux_enabled gauge\nnode_selinux_enabled 0\n"
        );
        write(root, "sys/fs/selinux/enforce", "0");
        write(root, "proc/self/attr/current", "kernel\0");
        assert!(
            scrape(root).contains("node_selinux_enabled 0\n"),
            "kernel context"
        );
        write(
            root,
            "proc/self/attr/current",
            "system_u:system_r:unconfined_t:s0\0",
        );
        write(root, "etc/selinux/config", "SELINUX=enforcing\n");
        assert_eq!(
            scrape(root),
            "# HELP node_selinux_config_mode Configured SELinux enforcement mode\n\
             # TYPE node_selinux_config_mode gauge\nnode_selinux_config_mode 1\n\
             # HELP node_selinux_current_mode Current SELinux enforcement mode\n\
             # TYPE node_selinux_current_mode gauge\nnode_selinux_current_mode 0\n\
             # HELP node_selinux_enabled SELinux is enabled, 1 is true, 0 is false\n\
             # TYPE node_selinux_enabled gauge\nnode_selinux_enabled 1\n"
        );
    }
}
