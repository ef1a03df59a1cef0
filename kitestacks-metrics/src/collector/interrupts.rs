//! The `interrupts` collector: `node_interrupts_total{cpu,type,info,devices}`, the count
//! of every interrupt line per CPU from `<procfs>/interrupts`, filtered by
//! `--collector.interrupts.name-include` / `-exclude` (matched against
//! `type;info;devices`) and `--collector.interrupts.include-zeros`, as node_exporter's
//! `interrupts_linux.go` reads it.

use std::collections::HashMap;

use crate::collector::device_filter::DeviceFilter;
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "interrupts",
    default_enabled: false,
    families: &["node_interrupts_"],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    let (exclude, include) = (
        &flag::INTERRUPTS_NAME_EXCLUDE,
        &flag::INTERRUPTS_NAME_INCLUDE,
    );
    // Both patterns are applied when both are given, as upstream does.
    let given = [exclude, include].map(|f| f.text(o).is_some_and(|t| !t.is_empty()));
    let filter = given
        .contains(&true)
        .then(|| DeviceFilter::of(o, exclude, include))
        .transpose()?;
    Ok(Box::new(Interrupts {
        filter,
        include_zeros: o.interrupts_include_zeros,
        file: None,
    }))
}

struct Interrupts {
    filter: Option<DeviceFilter>,
    include_zeros: bool,
    file: Option<TextFile>,
}

/// One interrupt line: its name (`0`, `NMI`, `IPI0`), the per-CPU counts as written,
/// and the text after them — for a numbered interrupt the first word is `info` (the
/// controller) and the rest `devices`; otherwise all of it is `info`.
#[derive(Debug, PartialEq, Eq)]
struct Interrupt<'a> {
    name: &'a str,
    info: String,
    devices: String,
    values: Vec<&'a str>,
}

/// Parses `/proc/interrupts`: the header's words count the CPUs; each `NAME:` line with
/// a count per CPU and at least one word more is an interrupt (`ERR`, `MIS` and other
/// short lines are skipped; a name given twice keeps its last line). An empty file is an
/// error.
fn parse(text: &str) -> Result<Vec<Interrupt<'_>>, ParseError> {
    let mut lines = text.lines();
    let header = lines
        .next()
        .ok_or_else(|| ParseError::new(1, "interrupts empty"))?;
    let cpus = header.split_whitespace().count();
    let mut out: Vec<Interrupt<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for line in lines {
        // On aarch64 the name and a large first count may touch: split at the colon.
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let parts: Vec<&str> = rest.split_whitespace().collect();
        if parts.len() < cpus + 1 {
            continue;
        }
        let name = name.trim_start_matches(' ');
        let (info, devices) = if name.parse::<i64>().is_ok() {
            (parts[cpus].to_owned(), parts[cpus + 1..].join(" "))
        } else {
            (parts[cpus..].join(" "), String::new())
        };
        let irq = Interrupt {
            name,
            info,
            devices,
            values: parts[..cpus].to_vec(),
        };
        match index.get(name) {
            Some(&i) => out[i] = irq,
            None => {
                index.insert(name, out.len());
                out.push(irq);
            }
        }
    }
    Ok(out)
}

/// Go's `strconv.ParseFloat(s, 64)` for what the kernel writes: a number (a value out
/// of range is an error, as in Go), or `inf`/`nan` spelled out.
fn go_float(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    (v.is_finite() || !s.bytes().any(|b| b.is_ascii_digit())).then_some(v)
}

impl Collector for Interrupts {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("interrupts")));
        let text = file.read()?;
        let interrupts = parse(text).map_err(|e| Error::parse(ctx.roots.proc("interrupts"), e))?;
        let cpus: Vec<String> = (0..interrupts.first().map_or(0, |i| i.values.len()))
            .map(|c| c.to_string())
            .collect();
        for irq in &interrupts {
            if let Some(f) = &self.filter
                && f.ignored(&format!("{};{};{}", irq.name, irq.info, irq.devices))
            {
                continue;
            }
            for (cpu, value) in cpus.iter().zip(&irq.values) {
                let v = go_float(value).ok_or_else(|| Error::Invalid {
                    path: ctx.roots.proc("interrupts"),
                    message: format!("invalid value {value} in interrupts ({})", irq.name),
                })?;
                if !self.include_zeros && v == 0.0 {
                    continue;
                }
                out.counter(
                    "node_interrupts_total",
                    "Interrupt details.",
                    &[
                        ("cpu", cpu),
                        ("type", irq.name),
                        ("info", &irq.info),
                        ("devices", &irq.devices),
                    ],
                    v,
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

    const X86: &str = "           CPU0       CPU1       \n  \
        0:         18          0  IR-IO-APIC-edge      timer\n \
        16:     328511     322879  IR-IO-APIC-fasteoi   ehci_hcd:usb1, mmc0\n \
        40:          0          0  DMAR_MSI-edge\n\
        NMI:         47       5031   Non-maskable interrupts\n\
        ERR:          0\n\
        MIS:          0\n";

    #[test]
    fn numbered_and_named_interrupts() {
        let i = parse(X86).unwrap();
        assert_eq!(i.len(), 4, "ERR and MIS are skipped");
        assert_eq!(
            i[1],
            Interrupt {
                name: "16",
                info: "IR-IO-APIC-fasteoi".into(),
                devices: "ehci_hcd:usb1, mmc0".into(),
                values: vec!["328511", "322879"],
            }
        );
        assert_eq!(
            (i[2].info.as_str(), i[2].devices.as_str()),
            ("DMAR_MSI-edge", "")
        );
        assert_eq!(i[3].name, "NMI");
        assert_eq!(i[3].info, "Non-maskable interrupts");
        assert_eq!(i[3].devices, "");
    }

    #[test]
    fn aarch64_names_touching_their_counts_and_repeated_names() {
        let i = parse(
            "   CPU0  CPU1\n\
             IPI0:3287008667 1  Rescheduling interrupts\n\
             IPI0:2 3  Again\n 10: 1 2 GICv3  27 Level     arch_timer\n",
        )
        .unwrap();
        assert_eq!(i.len(), 2);
        assert_eq!((i[0].name, i[0].values[0]), ("IPI0", "2"));
        assert_eq!(i[0].info, "Again");
        assert_eq!(
            (i[1].info.as_str(), i[1].devices.as_str()),
            ("GICv3", "27 Level arch_timer")
        );
    }

    #[test]
    fn empty_file_and_bad_values() {
        assert_eq!(parse("").unwrap_err().message, "interrupts empty");
        assert_eq!(parse("CPU0\n").unwrap(), []);
        assert_eq!(go_float("17960"), Some(17960.0));
        assert!(go_float("1e400").is_none(), "out of range");
        assert!(go_float("x").is_none());
        assert!(go_float("NaN").is_some_and(f64::is_nan));
    }

    fn scrape(dir: &std::path::Path, o: &Options) -> Result<Scrape, Error> {
        testing::scrape_tree(&mut *build(o)?, dir)
    }

    fn count(s: &Scrape) -> usize {
        s.family("node_interrupts_total")
            .map_or(0, |f| f.series.len())
    }

    #[test]
    fn filters_and_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let o = Options::default();
        assert!(scrape(dir.path(), &o).unwrap_err().is_not_found());
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(dir.path().join("proc/interrupts"), X86).unwrap();
        assert_eq!(count(&scrape(dir.path(), &o).unwrap()), 8);
        let no_zeros = Options {
            interrupts_include_zeros: false,
            ..Options::default()
        };
        assert_eq!(count(&scrape(dir.path(), &no_zeros).unwrap()), 5);
        let include = Options {
            interrupts_name_include: Some("^[0-9]+;IR-".into()),
            ..Options::default()
        };
        assert_eq!(count(&scrape(dir.path(), &include).unwrap()), 4);
        let both = Options {
            interrupts_name_exclude: Some("mmc0".into()),
            ..include
        };
        assert_eq!(count(&scrape(dir.path(), &both).unwrap()), 2);
        let bad = Options {
            interrupts_name_exclude: Some("(".into()),
            ..Options::default()
        };
        assert!(matches!(
            scrape(dir.path(), &bad).unwrap_err(),
            Error::Pattern {
                what: "collector.interrupts.name-exclude",
                ..
            }
        ));
        // A bad count is an error, unless its interrupt is filtered out first.
        std::fs::write(
            dir.path().join("proc/interrupts"),
            "CPU0\n  0: x  IO-APIC timer\n  1: 2  IO-APIC i8042\n",
        )
        .unwrap();
        let e = scrape(dir.path(), &o).unwrap_err();
        assert!(e.to_string().contains("invalid value x"), "{e}");
        let skip = Options {
            interrupts_name_exclude: Some("timer".into()),
            ..Options::default()
        };
        assert_eq!(count(&scrape(dir.path(), &skip).unwrap()), 1);
    }
}
