//! The `uname` collector: `node_uname_info`, the uname(2) strings as labels.
//!
//! uname(2) describes the kernel this process runs on, not a tree under the roots, so
//! the collector reports the machine's own kernel even when the roots point elsewhere
//! (as node_exporter does; its end-to-end test switches the collector off).

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "uname",
    default_enabled: true,
    families: &["node_uname_info"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Uname))
}

struct Uname;

impl Collector for Uname {
    fn update(&mut self, _: &Context, out: &mut Scrape) -> Result<(), Error> {
        let u = rustix::system::uname();
        // The kernel's strings are NUL-terminated bytes; node_exporter takes them up to
        // the NUL, as we do.
        let s = |c: &std::ffi::CStr| c.to_string_lossy().into_owned();
        out.gauge(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            &[
                ("sysname", &s(u.sysname())),
                ("release", &s(u.release())),
                ("version", &s(u.version())),
                ("machine", &s(u.machine())),
                ("nodename", &s(u.nodename())),
                ("domainname", &s(u.domainname())),
            ],
            1.0,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> String {
        let out = std::process::Command::new("uname")
            .args(args)
            .output()
            .expect("uname runs");
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end_matches('\n')
            .to_owned()
    }

    #[test]
    fn labels_agree_with_the_uname_command() {
        let mut c = build(&Options::default()).unwrap();
        let mut out = Scrape::new();
        c.update(&Context::default(), &mut out).unwrap();
        let mut text = String::new();
        out.render(&mut text);
        let f = out.family("node_uname_info").unwrap();
        assert_eq!(f.series.len(), 1);
        let s = &f.series[0];
        assert_eq!(s.value, 1.0);
        let label = |name: &str| {
            s.labels
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no label {name} in {text}"))
        };
        assert_eq!(label("sysname"), run(&["-s"]));
        assert_eq!(label("release"), run(&["-r"]));
        assert_eq!(label("version"), run(&["-v"]));
        assert_eq!(label("machine"), run(&["-m"]));
        assert_eq!(label("nodename"), run(&["-n"]));
        let domain = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
        assert_eq!(label("domainname"), domain.trim_end_matches('\n'));
        assert!(
            text.starts_with(
                "# HELP node_uname_info Labeled system information as provided by the uname system call.\n\
                 # TYPE node_uname_info gauge\nnode_uname_info{domainname=\""
            ),
            "{text}"
        );
    }
}
