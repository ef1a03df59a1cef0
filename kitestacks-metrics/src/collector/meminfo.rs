//! The `meminfo` collector: `node_memory_<Field>_bytes` (and the `HugePages_*` counts)
//! for every `/proc/meminfo` line, in bytes. node_exporter up to 1.9 published every
//! line this way; later versions only a fixed list (the `FIELDS` below, which the fixture
//! comparison checks): publishing every line keeps both the old families a dashboard may
//! use (`KReclaimable`, `Hugetlb`, ...) and the new ones.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use std::borrow::Cow;

use crate::exposition::{self, MetricType, Name, Scrape};
use crate::meminfo;
use crate::source::TextFile;

/// Declares the field table and the family list from one list of
/// `"meminfo name" => "metric suffix"` pairs.
macro_rules! fields {
    ($($kernel:literal => $suffix:literal,)*) => {
        /// `(name in /proc/meminfo, metric name, help)`, sorted by the kernel's name.
        /// Kernel field, family and help of node_exporter's fixed list (checked against the
        /// generic naming rule in the tests).
        #[cfg(test)]
        const FIELDS: &[(&str, &str, &str)] = &[$((
            $kernel,
            concat!("node_memory_", $suffix),
            concat!("Memory information field ", $suffix, "."),
        ),)*];
        /// Every metric name (exact names, so `node_memory_numa_*` of the
        /// `meminfo_numa` collector is not claimed).
        const FAMILIES: &[&str] = &[$(concat!("node_memory_", $suffix),)*];
    };
}

// node_exporter's list (meminfo_linux.go): the families the fixture comparison claims.
fields! {
    "Active" => "Active_bytes",
    "Active(anon)" => "Active_anon_bytes",
    "Active(file)" => "Active_file_bytes",
    "AnonHugePages" => "AnonHugePages_bytes",
    "AnonPages" => "AnonPages_bytes",
    "Bounce" => "Bounce_bytes",
    "Buffers" => "Buffers_bytes",
    "Cached" => "Cached_bytes",
    "CmaFree" => "CmaFree_bytes",
    "CmaTotal" => "CmaTotal_bytes",
    "CommitLimit" => "CommitLimit_bytes",
    "Committed_AS" => "Committed_AS_bytes",
    "DirectMap1G" => "DirectMap1G_bytes",
    "DirectMap2M" => "DirectMap2M_bytes",
    "DirectMap4k" => "DirectMap4k_bytes",
    "Dirty" => "Dirty_bytes",
    "HardwareCorrupted" => "HardwareCorrupted_bytes",
    "HugePages_Free" => "HugePages_Free",
    "HugePages_Rsvd" => "HugePages_Rsvd",
    "HugePages_Surp" => "HugePages_Surp",
    "HugePages_Total" => "HugePages_Total",
    "Hugepagesize" => "Hugepagesize_bytes",
    "Inactive" => "Inactive_bytes",
    "Inactive(anon)" => "Inactive_anon_bytes",
    "Inactive(file)" => "Inactive_file_bytes",
    "KernelStack" => "KernelStack_bytes",
    "Mapped" => "Mapped_bytes",
    "MemAvailable" => "MemAvailable_bytes",
    "MemFree" => "MemFree_bytes",
    "MemTotal" => "MemTotal_bytes",
    "Mlocked" => "Mlocked_bytes",
    "NFS_Unstable" => "NFS_Unstable_bytes",
    "PageTables" => "PageTables_bytes",
    "Percpu" => "Percpu_bytes",
    "SReclaimable" => "SReclaimable_bytes",
    "SUnreclaim" => "SUnreclaim_bytes",
    "Shmem" => "Shmem_bytes",
    "ShmemHugePages" => "ShmemHugePages_bytes",
    "ShmemPmdMapped" => "ShmemPmdMapped_bytes",
    "Slab" => "Slab_bytes",
    "SwapCached" => "SwapCached_bytes",
    "SwapFree" => "SwapFree_bytes",
    "SwapTotal" => "SwapTotal_bytes",
    "Unevictable" => "Unevictable_bytes",
    "VmallocChunk" => "VmallocChunk_bytes",
    "VmallocTotal" => "VmallocTotal_bytes",
    "VmallocUsed" => "VmallocUsed_bytes",
    "Writeback" => "Writeback_bytes",
    "WritebackTmp" => "WritebackTmp_bytes",
    "Zswap" => "Zswap_bytes",
    "Zswapped" => "Zswapped_bytes",
}

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "meminfo",
    default_enabled: true,
    families: FAMILIES,
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Meminfo {
        file: None,
        names: Vec::new(),
    }))
}

struct Meminfo {
    file: Option<TextFile>,
    /// Family name and help per kernel field seen so far (built once, not per scrape).
    names: Vec<(String, Name, Name)>,
}

/// `Active(anon)` in kB -> `node_memory_Active_anon_bytes`; `HugePages_Total` (a count)
/// -> `node_memory_HugePages_Total`.
fn family(field: &str, in_bytes: bool) -> (Name, Name) {
    let mut suffix: String = field
        .chars()
        .filter(|c| *c != ')')
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if in_bytes {
        suffix.push_str("_bytes");
    }
    let help = format!("Memory information field {suffix}.");
    // A kernel has a few dozen meminfo fields: interned once, free to clone per scrape.
    (
        Cow::Borrowed(exposition::intern(&format!("node_memory_{suffix}"))),
        Cow::Borrowed(exposition::intern(&help)),
    )
}

impl Collector for Meminfo {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("meminfo")));
        let names = &mut self.names;
        file.parse(|text| {
            meminfo::for_each(text, |field, value, in_bytes| {
                let i = match names.iter().position(|(k, _, _)| k == field) {
                    Some(i) => i,
                    None => {
                        let (name, help) = family(field, in_bytes);
                        names.push((field.to_owned(), name, help));
                        names.len() - 1
                    }
                };
                let (_, name, help) = &names[i];
                // No meminfo name ends in `_total`: all are gauges.
                out.add(
                    name.clone(),
                    help.clone(),
                    MetricType::Gauge,
                    Vec::new(),
                    value as f64,
                );
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    #[test]
    fn the_table_names_families_as_the_generic_rule_does() {
        assert_eq!(FAMILIES.len(), FIELDS.len());
        for (kernel, name, help) in FIELDS {
            let in_bytes = name.ends_with("_bytes");
            let (n, h) = family(kernel, in_bytes);
            assert_eq!((n.as_ref(), h.as_ref()), (*name, *help));
        }
    }

    fn scrape(text: &str) -> Result<String, Error> {
        let dir = tempfile::tempdir().unwrap();
        testing::write(dir.path(), "proc/meminfo", text);
        testing::scrape_once(&mut *build(&Options::default())?, dir.path())
    }

    #[test]
    fn every_field_in_bytes_counts_as_is() {
        let text = scrape(
            "MemTotal:       15666184 kB\nActive(anon):    1 kB\nHugePages_Total:       2\n\
             Hugetlb:        0 kB\nKReclaimable: 5 kB\n",
        )
        .unwrap();
        assert_eq!(
            text,
            "# HELP node_memory_Active_anon_bytes Memory information field Active_anon_bytes.\n\
             # TYPE node_memory_Active_anon_bytes gauge\nnode_memory_Active_anon_bytes 1024\n\
             # HELP node_memory_HugePages_Total Memory information field HugePages_Total.\n\
             # TYPE node_memory_HugePages_Total gauge\nnode_memory_HugePages_Total 2\n\
             # HELP node_memory_Hugetlb_bytes Memory information field Hugetlb_bytes.\n\
             # TYPE node_memory_Hugetlb_bytes gauge\nnode_memory_Hugetlb_bytes 0\n\
             # HELP node_memory_KReclaimable_bytes Memory information field KReclaimable_bytes.\n\
             # TYPE node_memory_KReclaimable_bytes gauge\nnode_memory_KReclaimable_bytes 5120\n\
             # HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.\n\
             # TYPE node_memory_MemTotal_bytes gauge\nnode_memory_MemTotal_bytes 1.6042172416e+10\n"
        );
    }

    #[test]
    fn malformed_input_is_an_error_with_a_line() {
        let err = scrape("MemTotal: 1 kB\nMemFree: x kB\n").unwrap_err();
        assert!(matches!(err, Error::Parse { line: 2, .. }), "{err}");
        let err = scrape("MemTotal: 1 kB\nMemFree 2\n").unwrap_err();
        assert!(matches!(err, Error::Parse { line: 2, .. }), "{err}");
    }
}
