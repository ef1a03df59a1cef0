//! The `cpu` collector: seconds per CPU and mode from `/proc/stat`, guest time,
//! `/proc/cpuinfo` details (`--collector.cpu.info`), thermal throttle counts, isolated
//! and online CPUs from `/sys/devices/system/cpu`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use regex::Regex;

use crate::collector::attr;
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;
use crate::stat::{self, CpuTimes};

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "cpu",
    default_enabled: true,
    families: &[
        "node_cpu_bug_info",
        "node_cpu_core_throttles_total",
        "node_cpu_flag_info",
        "node_cpu_frequency_hertz",
        "node_cpu_guest_seconds_total",
        "node_cpu_info",
        "node_cpu_isolated",
        "node_cpu_online",
        "node_cpu_package_throttles_total",
        "node_cpu_seconds_total",
    ],
    build,
};

/// `/proc/stat` counts in USER_HZ ticks; the kernel fixes USER_HZ at 100.
const USER_HZ: f64 = 100.0;
/// An idle counter going back by this many seconds means the CPU was replugged: its
/// remembered counters are dropped (node_exporter's `jumpBackSeconds`).
const JUMP_BACK_SECONDS: f64 = 3.0;

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    let flags_include = flag::CPU_INFO_FLAGS_INCLUDE.optional_regex(o)?;
    let bugs_include = flag::CPU_INFO_BUGS_INCLUDE.optional_regex(o)?;
    // Setting either filter turns the info metrics on, as node_exporter does.
    let info = o.cpu_info || flags_include.is_some() || bugs_include.is_some();
    Ok(Box::new(Cpu {
        guest: o.cpu_guest,
        info,
        frequency: info && o.cpufreq_enabled,
        flags_include,
        bugs_include,
        cpuinfo: None,
        stat: None,
        counters: Vec::new(),
        isolated: None,
        buf: attr::Attrs::default(),
        cpu_dirs: None,
    }))
}

struct Cpu {
    guest: bool,
    info: bool,
    frequency: bool,
    flags_include: Option<Regex>,
    bugs_include: Option<Regex>,
    cpuinfo: Option<TextFile>,
    stat: Option<TextFile>,
    /// The counters last reported per CPU (kept monotonic across small jumps back).
    counters: Vec<Option<CpuTimes>>,
    /// `/sys/devices/system/cpu/isolated`, read once (it is fixed at boot).
    isolated: Option<Vec<u32>>,
    buf: attr::Attrs,
    /// `/sys/devices/system/cpu/cpu*` and when they were listed.
    cpu_dirs: Option<(std::time::Instant, Vec<(std::path::PathBuf, String)>)>,
}

/// How long the list of CPU directories is reused.
const CPU_DIRS_FOR: std::time::Duration = std::time::Duration::from_secs(60);

impl Collector for Cpu {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        if self.info {
            self.update_info(ctx, out)?;
        }
        self.update_stat(ctx, out)?;
        self.update_isolated(ctx, out)?;
        // The CPU directories change only with hot-plug: listed again once a minute.
        if self
            .cpu_dirs
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() > CPU_DIRS_FOR)
        {
            let dirs = cpu_dirs(&ctx.roots.sys("devices/system/cpu"));
            self.cpu_dirs = Some((std::time::Instant::now(), dirs));
        }
        let cpus = self
            .cpu_dirs
            .as_ref()
            .map(|(_, d)| d.as_slice())
            .unwrap_or_default();
        update_throttles(cpus, &mut self.buf, out);
        update_online(cpus, &mut self.buf, out);
        Ok(())
    }
}

impl Cpu {
    fn update_info(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .cpuinfo
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("cpuinfo")));
        let text = file.read()?;
        let cpus = parse_cpuinfo(text).map_err(|e| Error::parse(ctx.roots.proc("cpuinfo"), e))?;
        let mut num = String::new();
        for c in &cpus {
            num.clear();
            let _ = write!(num, "{}", c.processor);
            out.gauge(
                "node_cpu_info",
                "CPU information from /proc/cpuinfo.",
                &[
                    ("package", c.physical_id),
                    ("core", c.core_id),
                    ("cpu", &num),
                    ("vendor", c.vendor),
                    ("family", c.family),
                    ("model", c.model),
                    ("model_name", c.model_name),
                    ("microcode", c.microcode),
                    ("stepping", c.stepping),
                    ("cachesize", c.cache_size),
                ],
                1.0,
            );
            if self.frequency {
                out.gauge(
                    "node_cpu_frequency_hertz",
                    "CPU frequency in hertz from /proc/cpuinfo.",
                    &[
                        ("package", c.physical_id),
                        ("core", c.core_id),
                        ("cpu", &num),
                    ],
                    c.mhz * 1e6,
                );
            }
        }
        if let Some(first) = cpus.first() {
            if let Some(re) = &self.flags_include {
                for flag in first.flags.split_ascii_whitespace() {
                    if re.is_match(flag) {
                        out.gauge(
                            "node_cpu_flag_info",
                            "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.",
                            &[("flag", flag)],
                            1.0,
                        );
                    }
                }
            }
            if let Some(re) = &self.bugs_include {
                for bug in first.bugs.split_ascii_whitespace() {
                    if re.is_match(bug) {
                        out.gauge(
                            "node_cpu_bug_info",
                            "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.",
                            &[("bug", bug)],
                            1.0,
                        );
                    }
                }
            }
        }
        Ok(())
    }

    fn update_stat(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let path = ctx.roots.proc("stat");
        let file = self.stat.get_or_insert_with(|| TextFile::new(path.clone()));
        // Read once per scrape for this collector and the stat collector.
        let stat = out.memo(&path, || file.parse(stat::parse))?;
        remember(&mut self.counters, &stat.cores);
        let mut num = String::new();
        for (i, t) in self.counters.iter().enumerate() {
            let Some(t) = t else { continue };
            num.clear();
            let _ = write!(num, "{i}");
            for (mode, ticks) in [
                ("user", t.user),
                ("nice", t.nice),
                ("system", t.system),
                ("idle", t.idle),
                ("iowait", t.iowait),
                ("irq", t.irq),
                ("softirq", t.softirq),
                ("steal", t.steal),
            ] {
                out.counter(
                    "node_cpu_seconds_total",
                    "Seconds the CPUs spent in each mode.",
                    &[("cpu", &num), ("mode", mode)],
                    ticks as f64 / USER_HZ,
                );
            }
            if self.guest {
                // Guest time is also counted in user and nice; exposed separately.
                for (mode, ticks) in [("user", t.guest), ("nice", t.guest_nice)] {
                    out.counter(
                        "node_cpu_guest_seconds_total",
                        "Seconds the CPUs spent in guests (VMs) for each mode.",
                        &[("cpu", &num), ("mode", mode)],
                        ticks as f64 / USER_HZ,
                    );
                }
            }
        }
        Ok(())
    }

    fn update_isolated(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        if self.isolated.is_none() {
            let path = ctx.roots.sys("devices/system/cpu/isolated");
            let cpus = match attr::read_trimmed(&path, &mut self.buf) {
                Ok(text) => parse_cpu_list(text).map_err(|e| Error::parse(&path, e))?,
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(e),
            };
            self.isolated = Some(cpus);
        }
        for cpu in self.isolated.iter().flatten() {
            out.gauge(
                "node_cpu_isolated",
                "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
                &[("cpu", &cpu.to_string())],
                1.0,
            );
        }
        Ok(())
    }
}

/// Takes the new counters of each CPU, never letting one go backwards (the kernel's
/// per-CPU sums can dip slightly), but starting afresh when idle went back by several
/// seconds (a replugged CPU). CPUs that disappeared are forgotten.
fn remember(counters: &mut Vec<Option<CpuTimes>>, now: &[Option<CpuTimes>]) {
    counters.resize(now.len(), None);
    for (old, new) in counters.iter_mut().zip(now) {
        let Some(n) = new else {
            *old = None;
            continue;
        };
        let mut c = old.unwrap_or_default();
        if c.idle as f64 / USER_HZ - n.idle as f64 / USER_HZ >= JUMP_BACK_SECONDS {
            c = CpuTimes::default();
        }
        *old = Some(CpuTimes {
            user: c.user.max(n.user),
            nice: c.nice.max(n.nice),
            system: c.system.max(n.system),
            idle: c.idle.max(n.idle),
            iowait: c.iowait.max(n.iowait),
            irq: c.irq.max(n.irq),
            softirq: c.softirq.max(n.softirq),
            steal: c.steal.max(n.steal),
            guest: c.guest.max(n.guest),
            guest_nice: c.guest_nice.max(n.guest_nice),
        });
    }
}

/// The `cpu[0-9]*` entries of `/sys/devices/system/cpu`, sorted by name (as a shell glob
/// lists them): `(path, number)`. A missing or unreadable directory has none.
pub(super) fn cpu_dirs(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut cpus: Vec<(std::path::PathBuf, String)> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let num = name.strip_prefix("cpu")?;
            num.starts_with(|c: char| c.is_ascii_digit())
                .then(|| (e.path(), num.to_owned()))
        })
        .collect();
    cpus.sort_by(|a, b| a.0.cmp(&b.0));
    cpus
}

/// Thermal throttle counts: one per package and one per (package, core), each read
/// from the first CPU of that package or core (node_exporter's order and rules: a CPU
/// without a readable topology is skipped; a missing count is simply not reported).
fn update_throttles(
    cpus: &[(std::path::PathBuf, String)],
    buf: &mut attr::Attrs,
    out: &mut Scrape,
) {
    let mut packages: BTreeMap<u64, u64> = BTreeMap::new();
    let mut cores: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for (dir, _) in cpus {
        let Ok(package) = attr::read_u64(&dir.join("topology/physical_package_id"), buf) else {
            continue;
        };
        let Ok(core) = attr::read_u64(&dir.join("topology/core_id"), buf) else {
            continue;
        };
        if let std::collections::btree_map::Entry::Vacant(v) = cores.entry((package, core))
            && let Ok(n) = attr::read_u64(&dir.join("thermal_throttle/core_throttle_count"), buf)
        {
            v.insert(n);
        }
        if let std::collections::btree_map::Entry::Vacant(v) = packages.entry(package)
            && let Ok(n) = attr::read_u64(&dir.join("thermal_throttle/package_throttle_count"), buf)
        {
            v.insert(n);
        }
    }
    for (package, n) in packages {
        out.counter(
            "node_cpu_package_throttles_total",
            "Number of times this CPU package has been throttled.",
            &[("package", &package.to_string())],
            n as f64,
        );
    }
    for ((package, core), n) in cores {
        out.counter(
            "node_cpu_core_throttles_total",
            "Number of times this CPU core has been throttled.",
            &[
                ("package", &package.to_string()),
                ("core", &core.to_string()),
            ],
            n as f64,
        );
    }
}

/// `node_cpu_online` for each CPU, unless the first CPU has no `online` file (most x86
/// machines: CPU 0 cannot be unplugged), which node_exporter takes as "not supported".
fn update_online(cpus: &[(std::path::PathBuf, String)], buf: &mut attr::Attrs, out: &mut Scrape) {
    let Some((first, _)) = cpus.first() else {
        return;
    };
    if let Err(e) = attr::read_trimmed(&first.join("online"), buf)
        && e.is_not_found()
    {
        return;
    }
    for (dir, num) in cpus {
        let online = matches!(attr::read_trimmed(&dir.join("online"), buf), Ok("1"));
        out.gauge(
            "node_cpu_online",
            "CPUs that are online and being scheduled.",
            &[("cpu", num)],
            if online { 1.0 } else { 0.0 },
        );
    }
}

/// Parses a kernel CPU list such as `0-3,8,10-11` (sysfs `isolated`, `offline`); empty
/// text is an empty list.
pub(super) fn parse_cpu_list(text: &str) -> Result<Vec<u32>, ParseError> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| ParseError::new(1, format!("bad CPU number {s:?} in {part:?}")))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if b < a || b - a > 65_536 {
                    return Err(ParseError::new(1, format!("bad CPU range {part:?}")));
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(num(part)?),
        }
    }
    Ok(cpus)
}

/// One processor of `/proc/cpuinfo`: the fields node_exporter reports, as written.
#[derive(Debug, Clone, Default, PartialEq)]
struct CpuInfo<'a> {
    processor: u32,
    vendor: &'a str,
    family: &'a str,
    model: &'a str,
    model_name: &'a str,
    stepping: &'a str,
    microcode: &'a str,
    mhz: f64,
    cache_size: &'a str,
    physical_id: &'a str,
    core_id: &'a str,
    flags: &'a str,
    bugs: &'a str,
}

/// Parses `/proc/cpuinfo` in its x86 layout (`key<tabs>: value` lines, one block per
/// processor, each opened by `processor`). ARM's `Features` line is read as the flags.
fn parse_cpuinfo(text: &str) -> Result<Vec<CpuInfo<'_>>, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .skip_while(|(_, l)| l.trim().is_empty());
    let first = lines.next();
    let Some((i, first)) = first else {
        return Err(ParseError::new(1, "empty file (truncated?)"));
    };
    let number = |v: &str, n: usize| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| ParseError::new(n, format!("processor: {v:?} is not a number")))
    };
    let value = first
        .strip_prefix("processor")
        .and_then(|_| first.split_once(": "))
        .map(|(_, v)| v)
        .ok_or_else(|| {
            ParseError::new(i + 1, format!("expected a `processor` line, got {first:?}"))
        })?;
    let mut cpus = vec![CpuInfo {
        processor: number(value, i + 1)?,
        ..CpuInfo::default()
    }];
    for (i, line) in lines {
        let n = i + 1;
        // node_exporter splits on ": "; a line without it (`power management:`) is skipped.
        let Some((key, v)) = line.split_once(": ") else {
            continue;
        };
        let key = key.trim();
        if key == "processor" {
            cpus.push(CpuInfo {
                processor: number(v, n)?,
                ..CpuInfo::default()
            });
            continue;
        }
        let Some(c) = cpus.last_mut() else { continue };
        match key {
            "vendor" | "vendor_id" => c.vendor = v,
            "cpu family" => c.family = v,
            "model" => c.model = v,
            "model name" => c.model_name = v,
            "stepping" => c.stepping = v,
            "microcode" => c.microcode = v,
            "cpu MHz" => {
                c.mhz = v
                    .trim()
                    .parse()
                    .map_err(|_| ParseError::new(n, format!("cpu MHz: {v:?} is not a number")))?;
            }
            "cache size" => c.cache_size = v,
            "physical id" => c.physical_id = v,
            "core id" => c.core_id = v,
            "flags" | "Features" => c.flags = v,
            "bugs" => c.bugs = v,
            _ => {}
        }
    }
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 142
model name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz
stepping\t: 10
microcode\t: 0xb4
cpu MHz\t\t: 799.998
cache size\t: 8192 KB
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu vme aes avx avx2 constant_tsc avx512f
bugs\t\t: cpu_meltdown spectre_v1 l1tf
power management:

processor\t: 1
vendor_id\t: GenuineIntel
cpu MHz\t\t: 800.037
core id\t\t: 1
";

    #[test]
    fn cpuinfo_blocks_become_processors() {
        let cpus = parse_cpuinfo(CPUINFO).unwrap();
        assert_eq!(cpus.len(), 2);
        let c = &cpus[0];
        assert_eq!(
            (c.processor, c.vendor, c.family, c.model, c.stepping),
            (0, "GenuineIntel", "6", "142", "10")
        );
        assert_eq!(c.model_name, "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz");
        assert_eq!((c.microcode, c.cache_size), ("0xb4", "8192 KB"));
        assert_eq!(c.mhz * 1e6, 799_998_000.0);
        assert_eq!(c.bugs, "cpu_meltdown spectre_v1 l1tf");
        assert_eq!((cpus[1].processor, cpus[1].core_id), (1, "1"));
        assert_eq!(cpus[1].model, "");
    }

    #[test]
    fn arm_features_are_flags() {
        let cpus =
            parse_cpuinfo("\nprocessor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd aes\n")
                .unwrap();
        assert_eq!(cpus[0].flags, "fp asimd aes");
    }

    #[test]
    fn malformed_and_truncated_cpuinfo_is_an_error_with_a_line() {
        assert!(parse_cpuinfo("").unwrap_err().message.contains("empty"));
        assert_eq!(parse_cpuinfo("\nvendor_id\t: X\n").unwrap_err().line, 2);
        assert_eq!(parse_cpuinfo("processor:0\n").unwrap_err().line, 1);
        assert_eq!(parse_cpuinfo("processor\t: x\n").unwrap_err().line, 1);
        assert_eq!(
            parse_cpuinfo("processor\t: 0\ncpu MHz\t\t: fast\n")
                .unwrap_err()
                .line,
            2
        );
        assert_eq!(
            parse_cpuinfo("processor\t: 0\nprocessor\t: \n")
                .unwrap_err()
                .line,
            2
        );
    }

    #[test]
    fn cpu_lists_expand_ranges() {
        assert_eq!(parse_cpu_list("1,3-5,9\n").unwrap(), vec![1, 3, 4, 5, 9]);
        assert_eq!(parse_cpu_list("\n").unwrap(), Vec::<u32>::new());
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert!(parse_cpu_list("1-x").is_err());
        assert!(parse_cpu_list("5-3").is_err());
        assert!(parse_cpu_list("a").is_err());
    }

    fn t(user: u64, idle: u64) -> CpuTimes {
        CpuTimes {
            user,
            idle,
            ..CpuTimes::default()
        }
    }

    #[test]
    fn counters_never_go_back_unless_idle_jumps_back_by_seconds() {
        let mut c = Vec::new();
        remember(&mut c, &[Some(t(100, 1000)), Some(t(50, 500))]);
        // A small dip keeps the old value; a CPU that vanished is forgotten.
        remember(&mut c, &[Some(t(99, 1001))]);
        assert_eq!(c, vec![Some(t(100, 1001))]);
        // Idle back by 3 s (300 ticks) or more: replugged, start afresh.
        remember(&mut c, &[Some(t(5, 701)), None, Some(t(1, 1))]);
        assert_eq!(c, vec![Some(t(5, 701)), None, Some(t(1, 1))]);
    }

    #[test]
    fn throttles_and_online_from_a_small_tree() {
        let dir = tempfile::tempdir().unwrap();
        let cpu = dir.path().join("devices/system/cpu");
        let write = |rel: &str, text: &str| {
            let p = cpu.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        for (n, pkg, core, ct, pt) in [(0, 0, 0, 5, 30), (1, 0, 0, 7, 31), (10, 1, 0, 2, 6)] {
            write(
                &format!("cpu{n}/topology/physical_package_id"),
                &format!("{pkg}\n"),
            );
            write(&format!("cpu{n}/topology/core_id"), &format!("{core}\n"));
            write(
                &format!("cpu{n}/thermal_throttle/core_throttle_count"),
                &format!("{ct}\n"),
            );
            write(
                &format!("cpu{n}/thermal_throttle/package_throttle_count"),
                &format!("{pt}\n"),
            );
        }
        write("cpu2/topology/physical_package_id", "-1\n");
        write("cpu0/online", "1\n");
        write("cpu1/online", "0\n");
        write("cpufreq/x", "");
        let cpus = cpu_dirs(&cpu);
        let names: Vec<&str> = cpus.iter().map(|c| c.1.as_str()).collect();
        assert_eq!(names, ["0", "1", "10", "2"]);
        let mut out = Scrape::new();
        let mut buf = attr::Attrs::default();
        update_throttles(&cpus, &mut buf, &mut out);
        update_online(&cpus, &mut buf, &mut out);
        let mut text = String::new();
        out.render(&mut text);
        assert!(
            text.contains("node_cpu_core_throttles_total{core=\"0\",package=\"0\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("node_cpu_core_throttles_total{core=\"0\",package=\"1\"} 2\n"));
        assert!(text.contains("node_cpu_package_throttles_total{package=\"0\"} 30\n"));
        assert!(text.contains("node_cpu_package_throttles_total{package=\"1\"} 6\n"));
        assert!(text.contains("node_cpu_online{cpu=\"0\"} 1\nnode_cpu_online{cpu=\"1\"} 0\n"));
        assert!(text.contains("node_cpu_online{cpu=\"10\"} 0\n"));
        assert_eq!(cpu_dirs(&dir.path().join("nope")), Vec::new());
    }
}
