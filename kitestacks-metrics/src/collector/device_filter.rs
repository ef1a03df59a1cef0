//! node_exporter's include/exclude name filter (`deviceFilter`), shared by the collectors
//! with `device-include` / `device-exclude` style flags (diskstats, filesystem, netdev).

use regex::Regex;

use crate::collector::Options;
use crate::collector::options::Flag;
use crate::error::Error;
use crate::filters::compile;

/// An optional exclude pattern and an optional include pattern. An empty pattern is no
/// pattern (node_exporter's rule: `""` never filters, although as a regex it would match
/// everything). Patterns match anywhere in the name unless anchored, as Go's
/// `MatchString` does.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeviceFilter {
    exclude: Option<Regex>,
    include: Option<Regex>,
}

impl DeviceFilter {
    /// Compiles the two patterns; `what` names the flags in errors.
    pub(crate) fn new(
        exclude: (&'static str, &str),
        include: (&'static str, &str),
    ) -> Result<Self, Error> {
        let opt = |(what, pattern): (&'static str, &str)| {
            (!pattern.is_empty())
                .then(|| compile(what, pattern))
                .transpose()
        };
        Ok(Self {
            exclude: opt(exclude)?,
            include: opt(include)?,
        })
    }

    /// node_exporter's rule for an exclude flag with a default and an include flag: giving
    /// the include pattern drops the default exclusion; giving both is an error. (We cannot
    /// tell an exclude pattern set explicitly to its default value from an unset one; such
    /// a pattern is taken as unset.)
    pub(crate) fn exclusive(
        exclude: (&'static str, &str),
        default_exclude: &str,
        include: (&'static str, Option<&str>),
    ) -> Result<Self, Error> {
        let include_pattern = include.1.unwrap_or("");
        let mut exclude_pattern = exclude.1;
        if !include_pattern.is_empty() {
            if exclude_pattern == default_exclude {
                exclude_pattern = "";
            } else if !exclude_pattern.is_empty() {
                return Err(Error::Pattern {
                    what: exclude.0,
                    pattern: exclude_pattern.to_owned(),
                    message: format!("mutually exclusive with {}", include.0),
                });
            }
        }
        Self::new((exclude.0, exclude_pattern), (include.0, include_pattern))
    }

    /// [`DeviceFilter::new`] from two string flags of the option table and their values
    /// in `o` (an absent pattern is the empty one).
    pub(crate) fn of(o: &Options, exclude: &Flag, include: &Flag) -> Result<Self, Error> {
        let text = |f: &Flag| f.text(o).unwrap_or("");
        Self::new((exclude.name, text(exclude)), (include.name, text(include)))
    }

    /// [`DeviceFilter::exclusive`] from an exclude flag of the option table and the
    /// include flag the table makes it exclusive with (none: no include pattern); the
    /// default exclusion is the exclude flag's default.
    pub(crate) fn exclusive_of(o: &Options, exclude: &Flag) -> Result<Self, Error> {
        let include = exclude.exclusive_with;
        Self::exclusive(
            (exclude.name, exclude.text(o).unwrap_or("")),
            exclude.text(&Options::default()).unwrap_or(""),
            (
                include.map_or("", |f| f.name),
                include.and_then(|f| f.text(o)),
            ),
        )
    }

    /// Whether `name` is left out: it matches the exclude pattern, or there is an include
    /// pattern and it does not match.
    pub(crate) fn ignored(&self, name: &str) -> bool {
        self.exclude.as_ref().is_some_and(|r| r.is_match(name))
            || self.include.as_ref().is_some_and(|r| !r.is_match(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_patterns_filter_nothing_and_include_drops_the_default_exclude() {
        let none = DeviceFilter::new(("x", ""), ("y", "")).unwrap();
        assert!(!none.ignored("anything"));
        let f = DeviceFilter::exclusive(("ex", "^sd"), "^sd", ("in", Some("^sda$"))).unwrap();
        assert!(!f.ignored("sda"), "default exclusion dropped");
        assert!(f.ignored("sdb"));
        let f = DeviceFilter::exclusive(("ex", "^loop"), "^loop", ("in", None)).unwrap();
        assert!(f.ignored("loop0") && !f.ignored("sda"));
        let e = DeviceFilter::exclusive(("ex", "^x"), "^loop", ("in", Some("^sd"))).unwrap_err();
        assert!(e.to_string().contains("mutually exclusive with in"), "{e}");
        let e = DeviceFilter::new(("ex", "("), ("in", "")).unwrap_err();
        assert!(matches!(e, Error::Pattern { what: "ex", .. }), "{e}");
    }

    #[test]
    fn option_rows_give_the_names_the_partner_and_the_default() {
        use crate::collector::options as flag;
        let o = Options {
            diskstats_device_include: Some("^sda".into()),
            netdev_device_include: Some("^eth".into()),
            netdev_device_exclude: Some("lo".into()),
            hwmon_chip_exclude: Some("(".into()),
            ..Options::default()
        };
        // The include pattern drops diskstats' default exclusion of partitions.
        let f = DeviceFilter::exclusive_of(&o, &flag::DISKSTATS_DEVICE_EXCLUDE).unwrap();
        assert!(!f.ignored("sda1") && f.ignored("nvme0n1"));
        let e = DeviceFilter::exclusive_of(&o, &flag::NETDEV_DEVICE_EXCLUDE).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid collector.netdev.device-exclude pattern \"lo\": \
             mutually exclusive with collector.netdev.device-include"
        );
        let e = DeviceFilter::of(&o, &flag::HWMON_CHIP_EXCLUDE, &flag::HWMON_CHIP_INCLUDE);
        assert!(
            matches!(
                e,
                Err(Error::Pattern {
                    what: "collector.hwmon.chip-exclude",
                    ..
                })
            ),
            "{e:?}"
        );
    }
}
