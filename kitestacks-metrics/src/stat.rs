//! `/proc/stat`: CPU time per mode (total and per core), boot time, context switches,
//! forks, runnable and blocked processes.

use crate::error::ParseError;
use crate::source::u64_field;

/// CPU time spent in each mode, in USER_HZ ticks (1/100 s on every Linux architecture
/// that matters here). `user` and `nice` include `guest` and `guest_nice`, as the kernel
/// counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Normal processes in user mode.
    pub user: u64,
    /// Niced processes in user mode.
    pub nice: u64,
    /// Kernel mode.
    pub system: u64,
    /// Idle.
    pub idle: u64,
    /// Idle while waiting for I/O.
    pub iowait: u64,
    /// Servicing interrupts.
    pub irq: u64,
    /// Servicing softirqs.
    pub softirq: u64,
    /// Stolen by the hypervisor.
    pub steal: u64,
    /// Running a guest (also counted in `user`).
    pub guest: u64,
    /// Running a niced guest (also counted in `nice`).
    pub guest_nice: u64,
}

impl CpuTimes {
    /// All ticks, without double-counting guest time (saturating: a file claiming
    /// counters near `u64::MAX` must not overflow).
    pub fn total(&self) -> u64 {
        [
            self.nice,
            self.system,
            self.idle,
            self.iowait,
            self.irq,
            self.softirq,
            self.steal,
        ]
        .iter()
        .fold(self.user, |sum, t| sum.saturating_add(*t))
    }

    /// Ticks spent not idle (idle and iowait are idle).
    pub fn busy(&self) -> u64 {
        self.total()
            .saturating_sub(self.idle)
            .saturating_sub(self.iowait)
    }
}

/// The parsed `/proc/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    /// The `cpu` line: all cores together.
    pub total: CpuTimes,
    /// The `cpuN` lines, indexed by N (a core that is offline has no line: its slot
    /// stays `None`).
    pub cores: Vec<Option<CpuTimes>>,
    /// Boot time, seconds since the Unix epoch (`btime`).
    pub boot_time: u64,
    /// Context switches since boot (`ctxt`).
    pub context_switches: u64,
    /// Processes and threads created since boot (`processes`).
    pub forks: u64,
    /// Runnable threads now (`procs_running`).
    pub procs_running: u64,
    /// Threads blocked on I/O now (`procs_blocked`).
    pub procs_blocked: u64,
    /// Interrupts serviced since boot (first number of `intr`).
    pub interrupts: u64,
    /// Softirqs since boot, total then per kind (`softirq` line; empty if absent).
    pub softirqs: Vec<u64>,
}

/// Parses the text of `/proc/stat`.
pub fn parse(text: &str) -> Result<Stat, ParseError> {
    let mut stat = Stat::default();
    let mut saw_cpu = false;
    let mut saw_btime = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else { continue };
        if let Some(rest) = key.strip_prefix("cpu") {
            let times = cpu_times(fields, n)?;
            if rest.is_empty() {
                stat.total = times;
                saw_cpu = true;
            } else {
                let idx: usize = rest
                    .parse()
                    .map_err(|_| ParseError::new(n, format!("bad cpu line name {key:?}")))?;
                if idx > 65_536 {
                    return Err(ParseError::new(
                        n,
                        format!("cpu index {idx} is implausible"),
                    ));
                }
                if stat.cores.len() <= idx {
                    stat.cores.resize(idx + 1, None);
                }
                stat.cores[idx] = Some(times);
            }
            continue;
        }
        match key {
            "btime" => {
                stat.boot_time = u64_field(fields.next(), n, "btime")?;
                saw_btime = true;
            }
            "ctxt" => stat.context_switches = u64_field(fields.next(), n, "ctxt")?,
            "processes" => stat.forks = u64_field(fields.next(), n, "processes")?,
            "procs_running" => stat.procs_running = u64_field(fields.next(), n, "procs_running")?,
            "procs_blocked" => stat.procs_blocked = u64_field(fields.next(), n, "procs_blocked")?,
            "intr" => stat.interrupts = u64_field(fields.next(), n, "intr")?,
            "softirq" => {
                stat.softirqs = fields
                    .map(|f| u64_field(Some(f), n, "softirq"))
                    .collect::<Result<_, _>>()?;
            }
            _ => {}
        }
    }
    if !saw_cpu {
        return Err(ParseError::new(
            text.lines().count().max(1),
            "no `cpu` line (truncated?)",
        ));
    }
    if !saw_btime {
        return Err(ParseError::new(
            text.lines().count().max(1),
            "no `btime` line (truncated?)",
        ));
    }
    Ok(stat)
}

fn cpu_times<'a>(mut f: impl Iterator<Item = &'a str>, n: usize) -> Result<CpuTimes, ParseError> {
    // The first four columns exist on every kernel; later ones were added over time.
    let mut next = |what: &str, required: bool| -> Result<u64, ParseError> {
        match f.next() {
            Some(v) => u64_field(Some(v), n, what),
            None if required => Err(ParseError::new(n, format!("missing field {what}"))),
            None => Ok(0),
        }
    };
    Ok(CpuTimes {
        user: next("user", true)?,
        nice: next("nice", true)?,
        system: next("system", true)?,
        idle: next("idle", true)?,
        iowait: next("iowait", false)?,
        irq: next("irq", false)?,
        softirq: next("softirq", false)?,
        steal: next("steal", false)?,
        guest: next("guest", false)?,
        guest_nice: next("guest_nice", false)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "cpu  301854 612 111922 8979004 3552 2 3944 0 44 36
cpu0 44490 19 21045 1087069 220 1 3410 0 2 1
cpu2 46504 36 15916 1112321 441 0 326 0 4 3
intr 8885917 17 0 0 0 0
ctxt 38014093
btime 1418183276
processes 26442
procs_running 2
procs_blocked 1
softirq 5057579 250191 1481983 1647 211099 186066 0 1783454 622196 12499 508444
";

    #[test]
    fn parses_every_field() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.total.user, 301_854);
        assert_eq!(s.total.guest_nice, 36);
        assert_eq!(
            s.total.total(),
            301854 + 612 + 111922 + 8979004 + 3552 + 2 + 3944
        );
        assert_eq!(s.total.busy(), 301854 + 612 + 111922 + 2 + 3944);
        assert_eq!(s.cores.len(), 3);
        assert!(s.cores[1].is_none(), "offline core keeps its slot");
        assert_eq!(s.cores[2].unwrap().idle, 1_112_321);
        assert_eq!(
            (s.boot_time, s.context_switches, s.forks),
            (1_418_183_276, 38_014_093, 26_442)
        );
        assert_eq!(
            (s.procs_running, s.procs_blocked, s.interrupts),
            (2, 1, 8_885_917)
        );
        assert_eq!(s.softirqs.len(), 11);
    }

    #[test]
    fn old_kernels_with_four_columns() {
        let s = parse("cpu 1 2 3 4\nbtime 5\n").unwrap();
        assert_eq!(s.total.iowait, 0);
        assert_eq!(s.total.total(), 10);
    }

    #[test]
    fn counters_near_the_top_of_u64_do_not_overflow() {
        // Found by the property tests (tests/it/props.rs): `total()` overflowed.
        let s = parse("cpu 1 2 3 4\ncpu7 18446744073709551615 2 3 4\nbtime 5\n").unwrap();
        let c = s.cores[7].unwrap();
        assert_eq!((c.total(), c.busy()), (u64::MAX, u64::MAX - 4));
        let idle = CpuTimes {
            idle: u64::MAX,
            iowait: 5,
            ..CpuTimes::default()
        };
        assert_eq!((idle.total(), idle.busy()), (u64::MAX, 0));
    }

    #[test]
    fn malformed_and_truncated_input_is_an_error_with_a_line() {
        assert_eq!(parse("cpu 1 2 x 4\nbtime 1\n").unwrap_err().line, 1);
        assert!(
            parse("cpu 1 2 x 4\n")
                .unwrap_err()
                .message
                .contains("system")
        );
        assert_eq!(
            parse("cpu 1 2\n").unwrap_err().message,
            "missing field system"
        );
        assert!(parse("").unwrap_err().message.contains("no `cpu` line"));
        assert!(parse(&GOOD[..120]).unwrap_err().message.contains("btime"));
        assert_eq!(
            parse("cpu 1 2 3 4\ncpuX 1 2 3 4\nbtime 1")
                .unwrap_err()
                .line,
            2
        );
        assert_eq!(parse("cpu 1 2 3 4\nbtime -1\n").unwrap_err().line, 2);
    }
}
