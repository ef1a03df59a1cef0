//! The `cpufreq` collector: per-CPU frequencies and governor from
//! `/sys/devices/system/cpu/cpuN/cpufreq/` (kHz there, hertz here).

use std::path::Path;

use crate::collector::cpu::{cpu_dirs, parse_cpu_list};
use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::Error;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "cpufreq",
    default_enabled: true,
    families: &["node_cpu_frequency_", "node_cpu_scaling_"],
    build,
};

/// The one-number files reported: file name, metric, help.
const FREQUENCIES: &[(&str, &str, &str)] = &[
    (
        "cpuinfo_cur_freq",
        "node_cpu_frequency_hertz",
        "Current CPU thread frequency in hertz.",
    ),
    (
        "cpuinfo_avg_freq",
        "node_cpu_frequency_avg_hertz",
        "Average CPU thread frequency in hertz.",
    ),
    (
        "cpuinfo_min_freq",
        "node_cpu_frequency_min_hertz",
        "Minimum CPU thread frequency in hertz.",
    ),
    (
        "cpuinfo_max_freq",
        "node_cpu_frequency_max_hertz",
        "Maximum CPU thread frequency in hertz.",
    ),
    (
        "scaling_cur_freq",
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_min_freq",
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_max_freq",
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
    ),
];

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(CpuFreq {
        buf: attr::Attrs::default(),
        governors: attr::Attrs::default(),
    }))
}

struct CpuFreq {
    buf: attr::Attrs,
    governors: attr::Attrs,
}

impl Collector for CpuFreq {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let dir = ctx.roots.sys("devices/system/cpu");
        let mut cpus = cpu_dirs(&dir);
        // Offline CPUs keep their directories but their cpufreq files are stale.
        let offline_path = dir.join("offline");
        let offline = attr::read_trimmed(&offline_path, &mut self.buf)?;
        let offline = parse_cpu_list(offline).map_err(|e| Error::parse(&offline_path, e))?;
        cpus.retain(|(_, num)| num.parse::<u32>().map_or(true, |n| !offline.contains(&n)));
        if cpus.is_empty() {
            return Err(Error::Read {
                path: dir,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no cpufreq directories"),
            });
        }
        for (cpu_dir, num) in &cpus {
            let freq_dir = cpu_dir.join("cpufreq");
            match std::fs::metadata(&freq_dir) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(Error::Read {
                        path: freq_dir,
                        source,
                    });
                }
            }
            self.update_cpu(&freq_dir, num, out)?;
        }
        Ok(())
    }
}

impl CpuFreq {
    fn update_cpu(&mut self, dir: &Path, num: &str, out: &mut Scrape) -> Result<(), Error> {
        for &(file, name, help) in FREQUENCIES {
            match attr::read_u64(&dir.join(file), &mut self.buf) {
                Ok(khz) => out.gauge(name, help, &[("cpu", num)], khz as f64 * 1000.0),
                // Absent on this driver, or root-only (cpuinfo_cur_freq).
                Err(e) if attr::is_absent(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let governor = attr::read_trimmed(&dir.join("scaling_governor"), &mut self.buf)?;
        if governor.is_empty() {
            return Ok(());
        }
        let available = attr::read_trimmed(
            &dir.join("scaling_available_governors"),
            &mut self.governors,
        )?;
        // Split on single spaces, as node_exporter does.
        for g in available.split(' ') {
            out.gauge(
                "node_cpu_scaling_governor",
                "Current enabled CPU frequency governor.",
                &[("cpu", num), ("governor", g)],
                if g == governor { 1.0 } else { 0.0 },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    fn tree() -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = testing::context(dir.path());
        (dir, ctx)
    }

    fn write(ctx: &Context, rel: &str, text: &str) {
        let p = ctx.roots.sys(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn scrape(ctx: &Context) -> Result<String, Error> {
        let mut s = testing::update(&mut *build(&Options::default())?, ctx)?;
        Ok(testing::render(&mut s))
    }

    #[test]
    fn frequencies_in_hertz_and_one_governor_series_each() {
        let (_dir, ctx) = tree();
        let base = "devices/system/cpu";
        write(&ctx, &format!("{base}/offline"), "2\n");
        for n in 0..3 {
            let f = format!("{base}/cpu{n}/cpufreq");
            write(&ctx, &format!("{f}/scaling_cur_freq"), "1699981\n");
            write(&ctx, &format!("{f}/cpuinfo_max_freq"), "4200000\n");
            write(&ctx, &format!("{f}/scaling_governor"), "powersave\n");
            write(
                &ctx,
                &format!("{f}/scaling_available_governors"),
                "performance powersave\n",
            );
        }
        write(&ctx, &format!("{base}/cpu3/topology/core_id"), "0\n");
        let text = scrape(&ctx).unwrap();
        assert_eq!(
            text,
            "# HELP node_cpu_frequency_max_hertz Maximum CPU thread frequency in hertz.\n\
             # TYPE node_cpu_frequency_max_hertz gauge\n\
             node_cpu_frequency_max_hertz{cpu=\"0\"} 4.2e+09\n\
             node_cpu_frequency_max_hertz{cpu=\"1\"} 4.2e+09\n\
             # HELP node_cpu_scaling_frequency_hertz Current scaled CPU thread frequency in hertz.\n\
             # TYPE node_cpu_scaling_frequency_hertz gauge\n\
             node_cpu_scaling_frequency_hertz{cpu=\"0\"} 1.699981e+09\n\
             node_cpu_scaling_frequency_hertz{cpu=\"1\"} 1.699981e+09\n\
             # HELP node_cpu_scaling_governor Current enabled CPU frequency governor.\n\
             # TYPE node_cpu_scaling_governor gauge\n\
             node_cpu_scaling_governor{cpu=\"0\",governor=\"performance\"} 0\n\
             node_cpu_scaling_governor{cpu=\"0\",governor=\"powersave\"} 1\n\
             node_cpu_scaling_governor{cpu=\"1\",governor=\"performance\"} 0\n\
             node_cpu_scaling_governor{cpu=\"1\",governor=\"powersave\"} 1\n"
        );
    }

    #[test]
    fn missing_offline_file_bad_numbers_and_no_cpus_are_errors() {
        let (_dir, ctx) = tree();
        assert!(scrape(&ctx).unwrap_err().is_not_found());
        write(&ctx, "devices/system/cpu/offline", "\n");
        assert!(scrape(&ctx).unwrap_err().is_not_found(), "no CPUs at all");
        write(
            &ctx,
            "devices/system/cpu/cpu0/cpufreq/scaling_cur_freq",
            "fast\n",
        );
        write(
            &ctx,
            "devices/system/cpu/cpu0/cpufreq/scaling_governor",
            "\n",
        );
        let err = scrape(&ctx).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 1, .. }), "{err}");
        write(&ctx, "devices/system/cpu/offline", "x\n");
        assert!(matches!(scrape(&ctx).unwrap_err(), Error::Parse { .. }));
    }
}
