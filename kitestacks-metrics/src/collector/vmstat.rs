//! The `vmstat` collector: `/proc/vmstat` fields matching `--collector.vmstat.fields`
//! (default: OOM kills, paging, swapping, page faults), as untyped `node_vmstat_<name>`.

use regex::Regex;

use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::{MetricType, Scrape};
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "vmstat",
    default_enabled: true,
    families: &["node_vmstat_"],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    let fields = flag::VMSTAT_FIELDS.regex(o)?;
    Ok(Box::new(VmStat { fields, file: None }))
}

struct VmStat {
    fields: Regex,
    file: Option<TextFile>,
}

impl Collector for VmStat {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("vmstat")));
        let fields = &self.fields;
        file.parse(|text| {
            for_each(text, |name, value| {
                if fields.is_match(name) {
                    out.add(
                        format!("node_vmstat_{name}"),
                        format!("/proc/vmstat information field {name}."),
                        MetricType::Untyped,
                        Vec::new(),
                        value,
                    );
                }
            })
        })
    }
}

/// Calls `f(name, value)` for each `name value` line of `/proc/vmstat`. Every value must
/// be a number, matched or not (node_exporter parses them all first).
fn for_each(text: &str, mut f: impl FnMut(&str, f64)) -> Result<(), ParseError> {
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.split_ascii_whitespace();
        let Some(name) = parts.next() else {
            return Err(ParseError::new(i + 1, "empty line"));
        };
        let raw = parts
            .next()
            .ok_or_else(|| ParseError::new(i + 1, format!("{name}: no value")))?;
        let value: f64 = raw
            .parse()
            .map_err(|_| ParseError::new(i + 1, format!("{name}: {raw:?} is not a number")))?;
        f(name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    fn collect(text: &str) -> Result<Vec<(String, f64)>, ParseError> {
        let mut v = Vec::new();
        for_each(text, |n, x| v.push((n.to_owned(), x)))?;
        Ok(v)
    }

    #[test]
    fn name_value_lines() {
        assert_eq!(
            collect("nr_free_pages 1\npgfault 2320168809\n").unwrap(),
            vec![
                ("nr_free_pages".into(), 1.0),
                ("pgfault".into(), 2_320_168_809.0)
            ]
        );
    }

    #[test]
    fn malformed_and_truncated_input_is_an_error_with_a_line() {
        assert_eq!(collect("a 1\nb\n").unwrap_err().line, 2);
        assert_eq!(collect("a x\n").unwrap_err().line, 1);
        assert_eq!(collect("a 1\n\nb 2\n").unwrap_err().line, 2);
    }

    #[test]
    fn only_matching_fields_are_reported_untyped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(
            dir.path().join("proc/vmstat"),
            "nr_free_pages 1\npgpgin 7344136\noom_kill 0\npgmajfault 507162\n",
        )
        .unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let s = testing::text(&mut *c, &ctx).unwrap();
        assert_eq!(
            s,
            "# HELP node_vmstat_oom_kill /proc/vmstat information field oom_kill.\n\
             # TYPE node_vmstat_oom_kill untyped\nnode_vmstat_oom_kill 0\n\
             # HELP node_vmstat_pgmajfault /proc/vmstat information field pgmajfault.\n\
             # TYPE node_vmstat_pgmajfault untyped\nnode_vmstat_pgmajfault 507162\n\
             # HELP node_vmstat_pgpgin /proc/vmstat information field pgpgin.\n\
             # TYPE node_vmstat_pgpgin untyped\nnode_vmstat_pgpgin 7.344136e+06\n"
        );
        let bad = Options {
            vmstat_fields: "(".into(),
            ..Options::default()
        };
        assert!(matches!(build(&bad).err(), Some(Error::Pattern { .. })));
    }
}
