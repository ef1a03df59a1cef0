//! The `os` collector: `node_os_info`, `node_os_version` and
//! `node_os_support_end_timestamp_seconds` from os-release under the root filesystem
//! (`<rootfs>/etc/os-release`, else `<rootfs>/usr/lib/os-release`), parsed by
//! [`os_release`](crate::os_release) like the portal's host info.

use std::path::PathBuf;

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;
use crate::os_release::{self, OsRelease};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "os",
    default_enabled: true,
    families: &["node_os_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Os))
}

struct Os;

impl Collector for Os {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        // Read afresh every scrape: an upgrade replaces the file. Only a missing file
        // moves on to the next candidate; none at all is "no data".
        let mut found = None;
        for candidate in ["/etc/os-release", "/usr/lib/os-release"] {
            let path = ctx.roots.root(candidate);
            match crate::source::read_to_string(&path) {
                Ok(text) => {
                    found = Some((path, text));
                    break;
                }
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
        }
        let Some((path, text)) = found else {
            return Ok(());
        };
        emit(&os_release::parse(&text), path, out)
    }
}

fn emit(o: &OsRelease, path: PathBuf, out: &mut Scrape) -> Result<(), Error> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let support_end = match o.support_end.as_deref() {
        Some(d) if !d.is_empty() => Some(date_to_unix(d).ok_or_else(|| Error::Invalid {
            path,
            message: format!("SUPPORT_END {d:?} is not a YYYY-MM-DD date"),
        })?),
        _ => None,
    };
    out.gauge(
        "node_os_info",
        "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, \
         image_version, name, pretty_name, variant, variant_id, version, version_codename, \
         version_id.",
        &[
            ("build_id", &s(&o.build_id)),
            ("id", &s(&o.id)),
            ("id_like", &s(&o.id_like)),
            ("image_id", &s(&o.image_id)),
            ("image_version", &s(&o.image_version)),
            ("name", &s(&o.name)),
            ("pretty_name", &s(&o.pretty_name)),
            ("variant", &s(&o.variant)),
            ("variant_id", &s(&o.variant_id)),
            ("version", &s(&o.version)),
            ("version_codename", &s(&o.version_codename)),
            ("version_id", &s(&o.version_id)),
        ],
        1.0,
    );
    let version = major_minor(o.version_id.as_deref().unwrap_or(""));
    if version > 0.0 {
        out.gauge(
            "node_os_version",
            "Metric containing the major.minor part of the OS version.",
            &[
                ("id", &s(&o.id)),
                ("id_like", &s(&o.id_like)),
                ("name", &s(&o.name)),
            ],
            version,
        );
    }
    if let Some(ts) = support_end {
        out.gauge(
            "node_os_support_end_timestamp_seconds",
            "Metric containing the end-of-life date timestamp of the OS.",
            &[],
            ts as f64,
        );
    }
    Ok(())
}

/// The leading `major[.minor]` of a `VERSION_ID` as a number (`"20.04"` -> 20.04,
/// `"12"` -> 12, `"2024.1.3"` -> 2024.1, `"rolling"` -> 0).
fn major_minor(version_id: &str) -> f64 {
    let b = version_id.as_bytes();
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let major_end = digits(0);
    if major_end == 0 {
        return 0.0;
    }
    let end = if b.get(major_end) == Some(&b'.') {
        digits(major_end + 1)
    } else {
        major_end
    };
    version_id[..end].parse().unwrap_or(0.0)
}

/// Midnight UTC of a `YYYY-MM-DD` date as Unix seconds (Go's `time.DateOnly` layout:
/// exactly four-digit year, two-digit month and day, the day valid for the month).
fn date_to_unix(date: &str) -> Option<i64> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = &date[r];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&d) {
        return None;
    }
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn versions_and_dates_convert_like_node_exporter() {
        assert_eq!(major_minor("20.04"), 20.04);
        assert_eq!(major_minor("12"), 12.0);
        assert_eq!(major_minor("2024.1.3"), 2024.1);
        assert_eq!(major_minor("7."), 7.0);
        assert_eq!(major_minor("rolling"), 0.0);
        assert_eq!(major_minor(""), 0.0);
        assert_eq!(major_minor(".5"), 0.0);
        assert_eq!(date_to_unix("1970-01-01"), Some(0));
        assert_eq!(date_to_unix("2025-06-30"), Some(1_751_241_600));
        assert_eq!(date_to_unix("2024-02-29"), Some(1_709_164_800));
        assert_eq!(date_to_unix("2023-02-29"), None);
        assert_eq!(date_to_unix("2023-13-01"), None);
        assert_eq!(date_to_unix("2023-1-01"), None);
        assert_eq!(date_to_unix("2023-01-01 "), None);
        assert_eq!(date_to_unix("20x3-01-01"), None);
        assert_eq!(date_to_unix("+023-01-01"), None);
        assert_eq!(date_to_unix(""), None);
    }

    fn scrape(root: &std::path::Path) -> Result<String, Error> {
        testing::scrape_once(&mut *build(&Options::default())?, root)
    }

    #[test]
    fn etc_comes_first_and_a_bad_support_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(scrape(dir.path()).unwrap(), "", "no os-release: no data");
        std::fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("usr/lib/os-release"), "ID=lib\n").unwrap();
        assert!(scrape(dir.path()).unwrap().contains("id=\"lib\""));
        std::fs::write(
            dir.path().join("etc/os-release"),
            "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\nSUPPORT_END=2028-06-30\n",
        )
        .unwrap();
        assert_eq!(
            scrape(dir.path()).unwrap(),
            "# HELP node_os_info A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.\n\
             # TYPE node_os_info gauge\n\
             node_os_info{build_id=\"\",id=\"debian\",id_like=\"\",image_id=\"\",image_version=\"\",name=\"Debian GNU/Linux\",pretty_name=\"\",variant=\"\",variant_id=\"\",version=\"\",version_codename=\"\",version_id=\"12\"} 1\n\
             # HELP node_os_support_end_timestamp_seconds Metric containing the end-of-life date timestamp of the OS.\n\
             # TYPE node_os_support_end_timestamp_seconds gauge\n\
             node_os_support_end_timestamp_seconds 1.845936e+09\n\
             # HELP node_os_version Metric containing the major.minor part of the OS version.\n\
             # TYPE node_os_version gauge\n\
             node_os_version{id=\"debian\",id_like=\"\",name=\"Debian GNU/Linux\"} 12\n"
        );
        std::fs::write(dir.path().join("etc/os-release"), "SUPPORT_END=soon\n").unwrap();
        let err = scrape(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("etc/os-release"), "{err}");
    }
}
