//! `/proc/net/dev`: traffic counters per network interface.

use crate::error::ParseError;
use crate::source::u64_field;

/// One interface's counters since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetDev {
    /// Interface name, e.g. `eth0`.
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errs: u64,
    /// Received packets dropped.
    pub rx_drop: u64,
    /// Receive FIFO errors.
    pub rx_fifo: u64,
    /// Receive frame errors.
    pub rx_frame: u64,
    /// Compressed packets received.
    pub rx_compressed: u64,
    /// Multicast packets received.
    pub rx_multicast: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errs: u64,
    /// Transmitted packets dropped.
    pub tx_drop: u64,
    /// Transmit FIFO errors.
    pub tx_fifo: u64,
    /// Collisions.
    pub tx_colls: u64,
    /// Carrier errors.
    pub tx_carrier: u64,
    /// Compressed packets sent.
    pub tx_compressed: u64,
}

/// Parses the text of `/proc/net/dev` (two header lines, then one line per interface).
pub fn parse(text: &str) -> Result<Vec<NetDev>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if n <= 2 || line.trim().is_empty() {
            if n <= 2 && !line.contains('|') {
                return Err(ParseError::new(n, "not the /proc/net/dev header"));
            }
            continue;
        }
        let (name, rest) = line
            .split_once(':')
            .ok_or_else(|| ParseError::new(n, format!("no ':' in {line:?}")))?;
        let mut f = rest.split_ascii_whitespace();
        let mut v = [0u64; 16];
        for (k, slot) in v.iter_mut().enumerate() {
            *slot = u64_field(f.next(), n, COLUMNS[k])?;
        }
        out.push(NetDev {
            name: name.trim().to_owned(),
            rx_bytes: v[0],
            rx_packets: v[1],
            rx_errs: v[2],
            rx_drop: v[3],
            rx_fifo: v[4],
            rx_frame: v[5],
            rx_compressed: v[6],
            rx_multicast: v[7],
            tx_bytes: v[8],
            tx_packets: v[9],
            tx_errs: v[10],
            tx_drop: v[11],
            tx_fifo: v[12],
            tx_colls: v[13],
            tx_carrier: v[14],
            tx_compressed: v[15],
        });
    }
    Ok(out)
}

const COLUMNS: [&str; 16] = [
    "rx bytes",
    "rx packets",
    "rx errs",
    "rx drop",
    "rx fifo",
    "rx frame",
    "rx compressed",
    "rx multicast",
    "tx bytes",
    "tx packets",
    "tx errs",
    "tx drop",
    "tx fifo",
    "tx colls",
    "tx carrier",
    "tx compressed",
];

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "Inter-|   Receive                                                |  Transmit\n \
        face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

    #[test]
    fn parses_interfaces() {
        let text = format!(
            "{HEAD}    lo:  598602    1791    0    0    0     0          0         0   598602    1791    0    0    0     0       0          0\n\
             eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
        );
        let d = parse(&text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].name.as_str(), d[0].rx_bytes, d[0].tx_packets),
            ("lo", 598_602, 1791)
        );
        assert_eq!(
            (d[1].name.as_str(), d[1].rx_bytes, d[1].tx_compressed),
            ("eth0", 1, 16)
        );
    }

    #[test]
    fn malformed_and_truncated() {
        assert_eq!(parse("garbage\n").unwrap_err().line, 1);
        let e = parse(&format!("{HEAD}eth0: 1 2 3\n")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("rx drop"), "{}", e.message);
        assert_eq!(parse(&format!("{HEAD}eth0 1 2\n")).unwrap_err().line, 3);
        assert!(parse(HEAD).unwrap().is_empty());
    }
}
