//! `/proc/loadavg`: load averages and thread counts.

use crate::error::ParseError;

/// The parsed `/proc/loadavg`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadAvg {
    /// Load average over 1 minute.
    pub load1: f64,
    /// Over 5 minutes.
    pub load5: f64,
    /// Over 15 minutes.
    pub load15: f64,
    /// Runnable scheduling entities (threads) now.
    pub runnable: u64,
    /// Scheduling entities (threads) that exist now.
    pub threads: u64,
}

/// Parses the text of `/proc/loadavg`, e.g. `0.21 0.37 0.39 1/719 19737`.
pub fn parse(text: &str) -> Result<LoadAvg, ParseError> {
    let mut f = text.split_ascii_whitespace();
    let mut load = |what: &str| -> Result<f64, ParseError> {
        let v = f
            .next()
            .ok_or_else(|| ParseError::new(1, format!("missing {what}")))?;
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| ParseError::new(1, format!("{what}: {v:?} is not a load average")))
    };
    let (load1, load5, load15) = (load("load1")?, load("load5")?, load("load15")?);
    let threads = f
        .next()
        .ok_or_else(|| ParseError::new(1, "missing runnable/total"))?;
    let (r, t) = threads
        .split_once('/')
        .and_then(|(r, t)| Some((r.parse().ok()?, t.parse().ok()?)))
        .ok_or_else(|| ParseError::new(1, format!("{threads:?} is not runnable/total")))?;
    Ok(LoadAvg {
        load1,
        load5,
        load15,
        runnable: r,
        threads: t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let l = parse("0.21 0.37 0.39 1/719 19737\n").unwrap();
        assert_eq!(
            (l.load1, l.load5, l.load15, l.runnable, l.threads),
            (0.21, 0.37, 0.39, 1, 719)
        );
    }

    #[test]
    fn malformed_and_truncated() {
        assert!(parse("").unwrap_err().message.contains("load1"));
        assert!(parse("0.1 0.2").unwrap_err().message.contains("load15"));
        assert!(
            parse("0.1 0.2 NaN 1/2")
                .unwrap_err()
                .message
                .contains("load15")
        );
        assert!(
            parse("0.1 0.2 0.3 12")
                .unwrap_err()
                .message
                .contains("runnable/total")
        );
        assert!(
            parse("0.1 0.2 0.3")
                .unwrap_err()
                .message
                .contains("missing")
        );
    }
}
