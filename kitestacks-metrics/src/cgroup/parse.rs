//! Sans-IO parsers of the cgroup files, v2 and v1: each takes the file's text and
//! returns typed data or a [`ParseError`] naming the line.

use crate::error::ParseError;

/// Visits every `key value` line of a flat-keyed file (`cpu.stat`, `memory.stat`,
/// `memory.events`, `cpuacct.stat`, v1 `cpu.stat`, `memory.oom_control`). Blank lines are
/// skipped; a line without a key and an unsigned value is an error.
pub fn flat_keyed(text: &str, mut f: impl FnMut(&str, u64)) -> Result<(), ParseError> {
    for (i, line) in text.lines().enumerate() {
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else { continue };
        let value = fields
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| ParseError::new(i + 1, format!("{key}: no unsigned value")))?;
        f(key, value);
    }
    Ok(())
}

/// A single-value file (`memory.current`, `memory.max`, `pids.current`, `pids.max`,
/// `memory.usage_in_bytes`): `None` for `max` (no limit).
pub fn single(text: &str) -> Result<Option<u64>, ParseError> {
    let v = text.trim();
    if v == "max" {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| ParseError::new(1, format!("{v:?} is neither a number nor max")))
}

/// A v1 signed single value (`cpu.cfs_quota_us`, where `-1` means no quota): `None` for
/// a negative value.
pub fn signed(text: &str) -> Result<Option<u64>, ParseError> {
    let v = text.trim();
    let n: i64 = v
        .parse()
        .map_err(|_| ParseError::new(1, format!("{v:?} is not an integer")))?;
    Ok(u64::try_from(n).ok())
}

/// A CPU bandwidth limit: `quota` microseconds of CPU time per `period` microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuMax {
    /// CPU time allowed per period, microseconds.
    pub quota_usec: u64,
    /// The period, microseconds.
    pub period_usec: u64,
}

impl CpuMax {
    /// The limit in cores (`quota / period`); `None` for a zero period.
    pub fn cores(&self) -> Option<f64> {
        (self.period_usec > 0).then(|| self.quota_usec as f64 / self.period_usec as f64)
    }
}

/// Parses v2 `cpu.max`: `max 100000` (no limit: `None`) or `50000 100000`.
pub fn cpu_max(text: &str) -> Result<Option<CpuMax>, ParseError> {
    let mut f = text.split_ascii_whitespace();
    let (Some(quota), Some(period)) = (f.next(), f.next()) else {
        return Err(ParseError::new(1, "expected quota and period"));
    };
    let period_usec = period
        .parse()
        .map_err(|_| ParseError::new(1, format!("period {period:?} is not a number")))?;
    if quota == "max" {
        return Ok(None);
    }
    let quota_usec = quota
        .parse()
        .map_err(|_| ParseError::new(1, format!("quota {quota:?} is neither a number nor max")))?;
    Ok(Some(CpuMax {
        quota_usec,
        period_usec,
    }))
}

/// Block I/O of one device, from v2 `io.stat` or v1 `blkio` files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoStat {
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Read operations.
    pub reads: u64,
    /// Write operations.
    pub writes: u64,
}

fn device(s: &str, line: usize) -> Result<(u32, u32), ParseError> {
    s.split_once(':')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| ParseError::new(line, format!("{s:?} is not major:minor")))
}

/// Parses v2 `io.stat`: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` per line.
/// Other keys are ignored; absent ones count 0.
pub fn io_stat(text: &str) -> Result<Vec<IoStat>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut fields = line.split_ascii_whitespace();
        let Some(dev) = fields.next() else { continue };
        let (major, minor) = device(dev, n)?;
        let mut s = IoStat {
            major,
            minor,
            ..IoStat::default()
        };
        for field in fields {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| ParseError::new(n, format!("{field:?} is not key=value")))?;
            let slot = match key {
                "rbytes" => &mut s.read_bytes,
                "wbytes" => &mut s.write_bytes,
                "rios" => &mut s.reads,
                "wios" => &mut s.writes,
                _ => continue,
            };
            *slot = value
                .parse()
                .map_err(|_| ParseError::new(n, format!("{key}: {value:?} is not a number")))?;
        }
        out.push(s);
    }
    Ok(out)
}

/// What a v1 `blkio` file counts: bytes (`io_service_bytes`) or operations
/// (`io_serviced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlkioKind {
    /// `blkio.throttle.io_service_bytes[_recursive]`.
    Bytes,
    /// `blkio.throttle.io_serviced[_recursive]`.
    Operations,
}

/// Parses a v1 blkio file (`8:0 Read 4096`, `8:0 Write 0`, … and a closing `Total N`)
/// into `into`, one entry per device, merging with what is there (so the bytes file and
/// the operations file fill the same entries).
pub fn blkio(text: &str, kind: BlkioKind, into: &mut Vec<IoStat>) -> Result<(), ParseError> {
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let f: Vec<&str> = line.split_ascii_whitespace().take(4).collect();
        match f.as_slice() {
            [] | ["Total", _] => continue,
            [dev, op, value] => {
                let (major, minor) = device(dev, n)?;
                let value: u64 = value
                    .parse()
                    .map_err(|_| ParseError::new(n, format!("{op}: {value:?} is not a number")))?;
                let slot = match into
                    .iter()
                    .position(|s| (s.major, s.minor) == (major, minor))
                {
                    Some(p) => &mut into[p],
                    None => {
                        into.push(IoStat {
                            major,
                            minor,
                            ..IoStat::default()
                        });
                        let last = into.len() - 1;
                        &mut into[last]
                    }
                };
                match (op.to_ascii_lowercase().as_str(), kind) {
                    ("read", BlkioKind::Bytes) => slot.read_bytes = value,
                    ("write", BlkioKind::Bytes) => slot.write_bytes = value,
                    ("read", BlkioKind::Operations) => slot.reads = value,
                    ("write", BlkioKind::Operations) => slot.writes = value,
                    _ => {}
                }
            }
            _ => {
                return Err(ParseError::new(
                    n,
                    format!("{line:?} is not device op value"),
                ));
            }
        }
    }
    Ok(())
}

/// The process ids of `cgroup.procs`, one per line: how many, and the first.
pub fn procs(text: &str) -> Result<(u64, Option<u32>), ParseError> {
    let mut count = 0;
    let mut first = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let pid: u32 = line
            .parse()
            .map_err(|_| ParseError::new(i + 1, format!("{line:?} is not a process id")))?;
        first.get_or_insert(pid);
        count += 1;
    }
    Ok((count, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_visits_pairs_and_names_a_bad_line() {
        let mut seen = Vec::new();
        flat_keyed("usage_usec 10\nuser_usec 7\n\nsystem_usec 3\n", |k, v| {
            seen.push((k.to_owned(), v))
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("usage_usec".to_owned(), 10),
                ("user_usec".to_owned(), 7),
                ("system_usec".to_owned(), 3)
            ]
        );
        let e = flat_keyed("a 1\nb x\n", |_, _| {}).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (2, "b: no unsigned value"));
    }

    #[test]
    fn single_and_signed_values() {
        assert_eq!(single("max\n").unwrap(), None);
        assert_eq!(single("536870912\n").unwrap(), Some(536_870_912));
        assert_eq!(
            single("lots").unwrap_err().message,
            "\"lots\" is neither a number nor max"
        );
        assert_eq!(signed("-1\n").unwrap(), None);
        assert_eq!(signed("50000\n").unwrap(), Some(50_000));
        assert!(signed("").is_err());
    }

    #[test]
    fn cpu_max_limits() {
        assert_eq!(cpu_max("max 100000\n").unwrap(), None);
        let m = cpu_max("150000 100000\n").unwrap().unwrap();
        assert_eq!(m.cores(), Some(1.5));
        assert_eq!(
            cpu_max("max").unwrap_err().message,
            "expected quota and period"
        );
        assert!(cpu_max("x 100000").is_err());
    }

    #[test]
    fn io_stat_per_device() {
        let d = io_stat(
            "8:0 rbytes=1048576 wbytes=4096 rios=12 wios=1 dbytes=0 dios=0\n\
             253:1 rbytes=5 wbytes=6 rios=7 wios=8\n",
        )
        .unwrap();
        assert_eq!(
            d[0],
            IoStat {
                major: 8,
                minor: 0,
                read_bytes: 1_048_576,
                write_bytes: 4096,
                reads: 12,
                writes: 1
            }
        );
        assert_eq!((d[1].major, d[1].minor, d[1].writes), (253, 1, 8));
        assert_eq!(io_stat("8:0 rbytes\n").unwrap_err().line, 1);
        assert_eq!(io_stat("\nsda rbytes=1\n").unwrap_err().line, 2);
    }

    #[test]
    fn blkio_merges_bytes_and_operations() {
        let mut d = Vec::new();
        blkio(
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n",
            BlkioKind::Bytes,
            &mut d,
        )
        .unwrap();
        blkio(
            "8:0 Read 2\n8:0 Write 3\nTotal 5\n",
            BlkioKind::Operations,
            &mut d,
        )
        .unwrap();
        assert_eq!(
            d,
            [IoStat {
                major: 8,
                minor: 0,
                read_bytes: 4096,
                write_bytes: 8192,
                reads: 2,
                writes: 3
            }]
        );
        assert_eq!(
            blkio("8:0 Read\n", BlkioKind::Bytes, &mut d)
                .unwrap_err()
                .line,
            1
        );
    }

    #[test]
    fn procs_count_and_first() {
        assert_eq!(procs("41\n42\n").unwrap(), (2, Some(41)));
        assert_eq!(procs("").unwrap(), (0, None));
        assert_eq!(procs("1\nx\n").unwrap_err().line, 2);
    }
}
