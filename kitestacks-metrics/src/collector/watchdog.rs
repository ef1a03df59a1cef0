//! The `watchdog` collector: hardware and software watchdogs from
//! `<sysfs>/class/watchdog/<name>/` — a `node_watchdog_<file>` gauge for each numeric
//! attribute the driver offers (`bootstatus`, `timeout`, `timeleft`, ...) and
//! `node_watchdog_info` with the text attributes as labels — as prometheus/procfs reads
//! them. No class, or a file we may not read, is no data (upstream's `ErrNoData`).

use crate::collector::attr::{self, Attrs, list_sorted, read_trimmed};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "watchdog",
    default_enabled: true,
    families: &["node_watchdog_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Watchdog {
        attrs: Attrs::default(),
    }))
}

struct Watchdog {
    /// The attribute files, kept open (and the absent ones remembered).
    attrs: Attrs,
}

/// The numeric attributes: file, metric, help.
const NUMBERS: [(&str, &str, &str); 7] = [
    (
        "bootstatus",
        "node_watchdog_bootstatus",
        "Value of /sys/class/watchdog/<watchdog>/bootstatus",
    ),
    (
        "fw_version",
        "node_watchdog_fw_version",
        "Value of /sys/class/watchdog/<watchdog>/fw_version",
    ),
    (
        "nowayout",
        "node_watchdog_nowayout",
        "Value of /sys/class/watchdog/<watchdog>/nowayout",
    ),
    (
        "timeleft",
        "node_watchdog_timeleft_seconds",
        "Value of /sys/class/watchdog/<watchdog>/timeleft",
    ),
    (
        "timeout",
        "node_watchdog_timeout_seconds",
        "Value of /sys/class/watchdog/<watchdog>/timeout",
    ),
    (
        "pretimeout",
        "node_watchdog_pretimeout_seconds",
        "Value of /sys/class/watchdog/<watchdog>/pretimeout",
    ),
    (
        "access_cs0",
        "node_watchdog_access_cs0",
        "Value of /sys/class/watchdog/<watchdog>/access_cs0",
    ),
];

/// The text attributes, reported as `node_watchdog_info` labels of the same names
/// (empty when the driver does not offer the file).
const TEXT: [&str; 5] = [
    "options",
    "identity",
    "state",
    "status",
    "pretimeout_governor",
];

/// One watchdog's attributes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Device {
    /// The directory name, e.g. `watchdog0`.
    name: String,
    /// The [`NUMBERS`] the driver offers: index and value.
    numbers: Vec<(usize, i64)>,
    /// The [`TEXT`] values, `""` where absent.
    text: [String; 5],
}

/// Parses a numeric attribute as procfs does (Go's `ParseInt(s, 0, 64)`: a sign, then
/// decimal, `0x` hex, `0o` or leading-`0` octal, `0b` binary).
fn parse_number(text: &str) -> Result<i64, ParseError> {
    attr::go_parse_int(text, 0)
        .ok_or_else(|| ParseError::new(1, format!("{text:?} is not an integer")))
}

impl Watchdog {
    /// The watchdog in `<class>/<name>`; a file the driver lacks is skipped.
    fn read_device(&mut self, class: &std::path::Path, name: &str) -> Result<Device, Error> {
        let dir = class.join(name);
        let mut device = Device {
            name: name.to_owned(),
            ..Device::default()
        };
        for (i, (file, _, _)) in NUMBERS.iter().enumerate() {
            let path = dir.join(file);
            match read_trimmed(&path, &mut self.attrs) {
                Ok(text) => {
                    let v = parse_number(text).map_err(|e| Error::parse(&path, e))?;
                    device.numbers.push((i, v));
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        for (i, file) in TEXT.iter().enumerate() {
            match read_trimmed(&dir.join(file), &mut self.attrs) {
                Ok(text) => text.clone_into(&mut device.text[i]),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(device)
    }
}

impl Collector for Watchdog {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let class = ctx.roots.sys("class/watchdog");
        // Everything is read before anything is reported: upstream takes a missing class
        // or an unreadable file (`ErrNotExist`, `ErrPermission`) as no data at all.
        let devices = list_sorted(&class).and_then(|names| {
            names
                .iter()
                .map(|name| self.read_device(&class, name))
                .collect::<Result<Vec<_>, _>>()
        });
        let devices = match devices {
            Ok(devices) => devices,
            Err(e) if attr::is_absent(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        for d in &devices {
            for &(i, v) in &d.numbers {
                let (_, metric, help) = NUMBERS[i];
                out.gauge(metric, help, &[("name", &d.name)], v as f64);
            }
            let [options, identity, state, status, governor] = &d.text;
            out.gauge(
                "node_watchdog_info",
                "Info of /sys/class/watchdog/<watchdog>",
                &[
                    ("name", &d.name),
                    ("options", options),
                    ("identity", identity),
                    ("state", state),
                    ("status", status),
                    ("pretimeout_governor", governor),
                ],
                1.0,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::collector::testing::{scrape_once, write};

    /// A fresh collector's scrape of the tree.
    fn scrape(root: &Path) -> Result<String, Error> {
        scrape_once(&mut *build(&Options::default())?, root)
    }

    #[test]
    fn numbers_parse_as_go_does() {
        assert_eq!(parse_number("60"), Ok(60));
        assert_eq!(parse_number("-1"), Ok(-1));
        assert_eq!(parse_number("0x10"), Ok(16));
        assert_eq!(parse_number("010"), Ok(8));
        assert_eq!(parse_number("0"), Ok(0));
        let e = parse_number("").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(parse_number("active").is_err());
        assert!(parse_number("08").is_err());
        assert!(parse_number("9223372036854775808").is_err());
    }

    #[test]
    fn attributes_present_absent_and_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(scrape(root).unwrap(), "", "no class: no data");
        let wd = "sys/class/watchdog/watchdog0";
        for (f, v) in [
            ("bootstatus", "1"),
            ("timeout", "60"),
            ("timeleft", "0x2c"),
            ("identity", "iTCO_wdt"),
            ("state", "active"),
            ("options", "0x8380"),
        ] {
            write(root, &format!("{wd}/{f}"), &format!("{v}\n"));
        }
        std::fs::create_dir_all(root.join("sys/class/watchdog/watchdog1")).unwrap();
        let text = scrape(root).unwrap();
        let want = [
            "# TYPE node_watchdog_bootstatus gauge\nnode_watchdog_bootstatus{name=\"watchdog0\"} 1\n",
            "node_watchdog_timeout_seconds{name=\"watchdog0\"} 60\n",
            "node_watchdog_timeleft_seconds{name=\"watchdog0\"} 44\n",
            "node_watchdog_info{identity=\"iTCO_wdt\",name=\"watchdog0\",options=\"0x8380\",pretimeout_governor=\"\",state=\"active\",status=\"\"} 1\n",
            "node_watchdog_info{identity=\"\",name=\"watchdog1\",options=\"\",pretimeout_governor=\"\",state=\"\",status=\"\"} 1\n",
        ];
        for w in want {
            assert!(text.contains(w), "{w} not in {text}");
        }
        assert!(
            !text.contains("pretimeout_seconds") && !text.contains("nowayout"),
            "{text}"
        );
        // A malformed number fails the collector, naming the file.
        write(root, &format!("{wd}/nowayout"), "maybe\n");
        let e = scrape(root).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("watchdog0/nowayout"), "{e}");
        // Another read error than "absent" is a failure too (a directory cannot be read).
        std::fs::remove_file(root.join(format!("{wd}/nowayout"))).unwrap();
        std::fs::create_dir_all(root.join(format!("{wd}/nowayout"))).unwrap();
        let e = scrape(root).unwrap_err();
        assert!(matches!(e, Error::Read { .. }), "{e}");
    }
}
