//! The `time` collector: `node_time_seconds`, `node_time_zone_offset_seconds` and the
//! clocksources of `<sysfs>/devices/system/clocksource/clocksource*`
//! (`node_time_clocksource_available_info`, `node_time_clocksource_current_info`).
//!
//! The wall clock and the local time zone are this process's (`TZ`, else
//! `/etc/localtime`), as in node_exporter.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "time",
    default_enabled: true,
    families: &[
        "node_time_seconds",
        "node_time_zone_",
        "node_time_clocksource_",
    ],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Time {
        clocksources: HashMap::new(),
        names: Vec::new(),
        listed: None,
    }))
}

/// How long a listing of the clocksource devices is reused. The kernel registers them
/// at boot (a driver loaded later may add one); listing the sysfs directory every scrape
/// costs more than the rest of the collector.
const RELIST_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

struct Time {
    /// `available_clocksource` and `current_clocksource` of each clocksource directory,
    /// kept open between scrapes.
    clocksources: HashMap<String, (TextFile, TextFile)>,
    /// The devices (`clocksource0`, …) in name order, as last listed.
    names: Vec<String>,
    /// When `names` was listed.
    listed: Option<std::time::Instant>,
}

impl Collector for Time {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        out.gauge(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
            &[],
            now.as_nanos() as f64 / 1e9,
        );
        let (zone, offset) = local_zone(now.as_secs() as i64);
        out.gauge(
            "node_time_zone_offset_seconds",
            "System time zone offset in seconds.",
            &[("time_zone", &zone)],
            offset as f64,
        );
        self.clocksources(ctx, out)
    }
}

impl Time {
    fn clocksources(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let dir = ctx.roots.sys("devices/system/clocksource");
        // node_exporter globs `clocksource[0-9]*` (a missing directory matches nothing)
        // and numbers the matches in name order: the `device` label is that index.
        if self.listed.is_none_or(|t| t.elapsed() > RELIST_AFTER) {
            self.names = match std::fs::read_dir(&dir) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| is_clocksource(n))
                    .collect(),
                Err(_) => Vec::new(),
            };
            self.names.sort_unstable();
            let names = &self.names;
            self.clocksources.retain(|n, _| names.contains(n));
            self.listed = Some(std::time::Instant::now());
        }
        for (i, name) in self.names.iter().enumerate() {
            let (available, current) = self.clocksources.entry(name.clone()).or_insert_with(|| {
                let d = dir.join(name);
                (
                    TextFile::new(d.join("available_clocksource")),
                    TextFile::new(d.join("current_clocksource")),
                )
            });
            let device = i.to_string();
            for cs in available.read()?.split_whitespace() {
                out.gauge(
                    "node_time_clocksource_available_info",
                    "Available clocksources read from '/sys/devices/system/clocksource'.",
                    &[("device", &device), ("clocksource", cs)],
                    1.0,
                );
            }
            out.gauge(
                "node_time_clocksource_current_info",
                "Current clocksource read from '/sys/devices/system/clocksource'.",
                &[("device", &device), ("clocksource", current.read()?.trim())],
                1.0,
            );
        }
        Ok(())
    }
}

/// Whether a directory entry matches the glob `clocksource[0-9]*`.
fn is_clocksource(name: &str) -> bool {
    name.strip_prefix("clocksource")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// The local time zone's abbreviation and UTC offset in seconds at `unix_secs`
/// (`UTC`, 0 if the C library cannot tell).
fn local_zone(unix_secs: i64) -> (String, i64) {
    localtime(unix_secs).unwrap_or_else(|| ("UTC".to_owned(), 0))
}

/// localtime_r(3): the C library's reading of `TZ` / `/etc/localtime`, the same source
/// Go's `time.Local` uses. Neither std nor rustix exposes it.
#[allow(unsafe_code)]
fn localtime(unix_secs: i64) -> Option<(String, i64)> {
    let t = libc::time_t::try_from(unix_secs).ok()?;
    // SAFETY: `libc::tm` is a plain C struct for which all-zero bytes are a valid value;
    // localtime_r (the reentrant variant) writes only into the `tm` we pass and reads
    // only `t`, both alive for the whole call. On success `tm_zone` is null or points to
    // a NUL-terminated string the C library keeps for the life of the process; it is
    // copied out at once.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return None;
        }
        let zone = if tm.tm_zone.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(tm.tm_zone)
                .to_string_lossy()
                .into_owned()
        };
        // `c_long`: i64 here, i32 on 32-bit targets.
        #[allow(clippy::useless_conversion)]
        let offset = i64::from(tm.tm_gmtoff);
        Some((zone, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn clocksource_names_follow_the_glob() {
        assert!(is_clocksource("clocksource0"));
        assert!(is_clocksource("clocksource12x"));
        assert!(!is_clocksource("clocksource"));
        assert!(!is_clocksource("clocksourcex1"));
        assert!(!is_clocksource("power"));
    }

    fn scrape(ctx: &Context) -> Result<String, Error> {
        let mut s = testing::update(&mut *build(&Options::default())?, ctx)?;
        let t = s.family("node_time_seconds").unwrap().series[0].value;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((now - t).abs() < 3600.0, "{t} vs {now}");
        s.retain(|f| f.name.starts_with("node_time_clocksource"));
        Ok(testing::render(&mut s))
    }

    #[test]
    fn clocksources_are_numbered_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("sys/devices/system/clocksource");
        for (name, available, current) in [
            ("clocksource0", "tsc hpet acpi_pm\n", "tsc\n"),
            ("clocksource10", "kvm-clock\n", "kvm-clock\n"),
            ("clocksource2", "", "jiffies\n"),
        ] {
            std::fs::create_dir_all(base.join(name)).unwrap();
            std::fs::write(base.join(name).join("available_clocksource"), available).unwrap();
            std::fs::write(base.join(name).join("current_clocksource"), current).unwrap();
        }
        std::fs::create_dir_all(base.join("power")).unwrap();
        let ctx = testing::context(dir.path());
        assert_eq!(
            scrape(&ctx).unwrap(),
            "# HELP node_time_clocksource_available_info Available clocksources read from '/sys/devices/system/clocksource'.\n\
             # TYPE node_time_clocksource_available_info gauge\n\
             node_time_clocksource_available_info{clocksource=\"acpi_pm\",device=\"0\"} 1\n\
             node_time_clocksource_available_info{clocksource=\"hpet\",device=\"0\"} 1\n\
             node_time_clocksource_available_info{clocksource=\"kvm-clock\",device=\"1\"} 1\n\
             node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"} 1\n\
             # HELP node_time_clocksource_current_info Current clocksource read from '/sys/devices/system/clocksource'.\n\
             # TYPE node_time_clocksource_current_info gauge\n\
             node_time_clocksource_current_info{clocksource=\"jiffies\",device=\"2\"} 1\n\
             node_time_clocksource_current_info{clocksource=\"kvm-clock\",device=\"1\"} 1\n\
             node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"} 1\n"
        );

        // A clocksource directory without its files fails the collector, naming the file.
        std::fs::remove_file(base.join("clocksource2/current_clocksource")).unwrap();
        let err = scrape(&ctx).unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(err.to_string().contains("clocksource2"), "{err}");

        // No clocksource directory at all: only the clock.
        let empty = tempfile::tempdir().unwrap();
        let ctx = testing::context(empty.path());
        assert_eq!(scrape(&ctx).unwrap(), "");
    }

    #[test]
    fn the_zone_is_the_c_librarys() {
        let (zone, offset) = local_zone(1_700_000_000);
        assert!(!zone.is_empty());
        assert!(offset.abs() <= 14 * 3600, "{offset}");
        let date = std::process::Command::new("date")
            .args(["-d", "@1700000000", "+%Z %z"])
            .output()
            .unwrap();
        let date = String::from_utf8(date.stdout).unwrap();
        let (z, o) = date.trim().split_once(' ').unwrap();
        assert_eq!(zone, z);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let hhmm: i64 = o[1..].parse().unwrap();
        assert_eq!(offset, sign * ((hhmm / 100) * 3600 + (hhmm % 100) * 60));
    }
}
