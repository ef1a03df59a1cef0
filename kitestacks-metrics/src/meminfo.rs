//! `/proc/meminfo`: memory and swap, in bytes.

use crate::error::ParseError;

/// The figures a dashboard needs, in bytes. An exporter that publishes every line reads
/// them with [`for_each`], without allocating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meminfo {
    /// `MemTotal`.
    pub total: u64,
    /// `MemFree`.
    pub free: u64,
    /// `MemAvailable` (estimated from free + reclaimable on kernels before 3.14).
    pub available: u64,
    /// `Buffers`.
    pub buffers: u64,
    /// `Cached` + `SReclaimable` (what `free` shows as cache).
    pub cached: u64,
    /// `SwapTotal`.
    pub swap_total: u64,
    /// `SwapFree`.
    pub swap_free: u64,
}

/// Calls `f(name, value, in_bytes)` for each line, without allocating.
pub fn for_each(text: &str, mut f: impl FnMut(&str, u64, bool)) -> Result<(), ParseError> {
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let (name, rest) = line
            .split_once(':')
            .ok_or_else(|| ParseError::new(n, format!("no ':' in {line:?}")))?;
        let mut parts = rest.split_ascii_whitespace();
        let raw = parts
            .next()
            .ok_or_else(|| ParseError::new(n, format!("{name}: no value")))?;
        let value: u64 = raw.parse().map_err(|_| {
            ParseError::new(n, format!("{name}: {raw:?} is not an unsigned integer"))
        })?;
        match parts.next() {
            None => f(name, value, false),
            Some("kB") => f(name, value.saturating_mul(1024), true),
            Some(unit) => return Err(ParseError::new(n, format!("{name}: unknown unit {unit:?}"))),
        }
    }
    Ok(())
}

/// Parses the text of `/proc/meminfo`.
pub fn parse(text: &str) -> Result<Meminfo, ParseError> {
    let mut m = Meminfo::default();
    let (mut has_total, mut has_available, mut sreclaimable) = (false, false, 0);
    for_each(text, |name, value, _| match name {
        "MemTotal" => {
            m.total = value;
            has_total = true;
        }
        "MemFree" => m.free = value,
        "MemAvailable" => {
            m.available = value;
            has_available = true;
        }
        "Buffers" => m.buffers = value,
        "Cached" => m.cached = value,
        "SReclaimable" => sreclaimable = value,
        "SwapTotal" => m.swap_total = value,
        "SwapFree" => m.swap_free = value,
        _ => {}
    })?;
    if !has_total {
        return Err(ParseError::new(
            text.lines().count().max(1),
            "no MemTotal line (truncated?)",
        ));
    }
    m.cached = m.cached.saturating_add(sreclaimable);
    if !has_available {
        m.available = m
            .free
            .saturating_add(m.buffers)
            .saturating_add(m.cached)
            .min(m.total);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bytes_counts_and_every_entry() {
        let text = "MemTotal:  1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\nBuffers: 10 kB\nCached: 200 kB\n\
             SReclaimable: 50 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\nHugePages_Total: 3\nActive(anon): 7 kB\n";
        let m = parse(text).unwrap();
        assert_eq!(m.total, 1_024_000);
        assert_eq!(m.available, 614_400);
        assert_eq!(m.cached, 250 * 1024);
        let mut entries = Vec::new();
        for_each(text, |name, value, in_bytes| {
            entries.push((name.to_owned(), value, in_bytes))
        })
        .unwrap();
        assert_eq!(entries.len(), 10, "every line, in file order");
        assert_eq!(entries[8], ("HugePages_Total".to_owned(), 3, false));
        assert_eq!(entries[9], ("Active(anon)".to_owned(), 7 * 1024, true));
    }

    #[test]
    fn old_kernels_without_memavailable_get_an_estimate() {
        let m = parse("MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 1 kB\nCached: 2 kB\n").unwrap();
        assert_eq!(m.available, 13 * 1024);
    }

    #[test]
    fn huge_values_do_not_overflow() {
        // Found by the property tests (tests/it/props.rs): the sums overflowed.
        let m = parse("MemTotal: 3742148 kB\nMemFree: 18014398508529056 kB\nBuffers: 22040 kB\n")
            .unwrap();
        assert_eq!(m.free, 18_014_398_508_529_056 * 1024);
        assert_eq!(m.available, m.total);
        let m =
            parse("MemTotal: 1 kB\nCached: 18014398509481983 kB\nSReclaimable: 2 kB\n").unwrap();
        assert_eq!(m.cached, u64::MAX);
    }

    #[test]
    fn malformed_and_truncated_input_is_an_error_with_a_line() {
        assert_eq!(parse("MemTotal: 1 kB\nMemFree 2 kB\n").unwrap_err().line, 2);
        assert_eq!(parse("MemTotal: x kB\n").unwrap_err().line, 1);
        assert!(
            parse("MemTotal: 1 MB\n")
                .unwrap_err()
                .message
                .contains("unit")
        );
        assert!(
            parse("MemTotal:\n")
                .unwrap_err()
                .message
                .contains("no value")
        );
        assert!(
            parse("MemFree: 1 kB\n")
                .unwrap_err()
                .message
                .contains("MemTotal")
        );
    }
}
