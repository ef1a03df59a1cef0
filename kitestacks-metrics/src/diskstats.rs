//! `/proc/diskstats`: I/O counters per block device.

use crate::error::ParseError;
use crate::source::u64_field;

/// One line of `/proc/diskstats`. Fields that older kernels lack are 0 and counted in
/// [`DiskStat::fields`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskStat {
    /// Major device number.
    pub major: u32,
    /// Minor device number.
    pub minor: u32,
    /// Device name, e.g. `sda`, `nvme0n1`, `dm-0`.
    pub name: String,
    /// Reads completed.
    pub reads_completed: u64,
    /// Reads merged.
    pub reads_merged: u64,
    /// Sectors read (512 bytes each, whatever the device's sector size).
    pub sectors_read: u64,
    /// Milliseconds spent reading.
    pub read_time_ms: u64,
    /// Writes completed.
    pub writes_completed: u64,
    /// Writes merged.
    pub writes_merged: u64,
    /// Sectors written (512 bytes each).
    pub sectors_written: u64,
    /// Milliseconds spent writing.
    pub write_time_ms: u64,
    /// I/Os in progress now.
    pub io_in_progress: u64,
    /// Milliseconds the device had I/O in flight (utilisation).
    pub io_time_ms: u64,
    /// Weighted milliseconds doing I/O.
    pub weighted_io_time_ms: u64,
    /// Discards completed (kernel 4.18+).
    pub discards_completed: u64,
    /// Discards merged.
    pub discards_merged: u64,
    /// Sectors discarded.
    pub sectors_discarded: u64,
    /// Milliseconds spent discarding.
    pub discard_time_ms: u64,
    /// Flush requests completed (kernel 5.5+).
    pub flushes_completed: u64,
    /// Milliseconds spent flushing.
    pub flush_time_ms: u64,
    /// How many statistics columns the line had (11, 15 or 17).
    pub fields: usize,
}

impl DiskStat {
    /// Bytes read since boot.
    pub fn read_bytes(&self) -> u64 {
        self.sectors_read.saturating_mul(512)
    }

    /// Bytes written since boot.
    pub fn written_bytes(&self) -> u64 {
        self.sectors_written.saturating_mul(512)
    }
}

/// Parses the text of `/proc/diskstats`.
pub fn parse(text: &str) -> Result<Vec<DiskStat>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut f = line.split_ascii_whitespace();
        let Some(major) = f.next() else { continue };
        let major = u32::try_from(u64_field(Some(major), n, "major")?)
            .map_err(|_| ParseError::new(n, "major number out of range"))?;
        let minor = u32::try_from(u64_field(f.next(), n, "minor")?)
            .map_err(|_| ParseError::new(n, "minor number out of range"))?;
        let name = f
            .next()
            .ok_or_else(|| ParseError::new(n, "missing device name"))?
            .to_owned();
        let mut vals = [0u64; 17];
        let mut count = 0;
        for v in f {
            if count == vals.len() {
                break;
            }
            vals[count] = u64_field(Some(v), n, "counter")?;
            count += 1;
        }
        if count < 11 {
            return Err(ParseError::new(
                n,
                format!("{name}: {count} counters, expected at least 11"),
            ));
        }
        out.push(DiskStat {
            major,
            minor,
            name,
            reads_completed: vals[0],
            reads_merged: vals[1],
            sectors_read: vals[2],
            read_time_ms: vals[3],
            writes_completed: vals[4],
            writes_merged: vals[5],
            sectors_written: vals[6],
            write_time_ms: vals[7],
            io_in_progress: vals[8],
            io_time_ms: vals[9],
            weighted_io_time_ms: vals[10],
            discards_completed: vals[11],
            discards_merged: vals[12],
            sectors_discarded: vals[13],
            discard_time_ms: vals[14],
            flushes_completed: vals[15],
            flush_time_ms: vals[16],
            fields: count,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_11_15_and_17_column_lines() {
        let d = parse(
            "   8       0 sda 25354637 34367663 1003346126 18492372 28444756 11134226 505697032 63877960 0 9653880 82621804\n\
             254       0 vda 48846 6570 4779098 68767 6735 32151 7541248 22207 0 8156 91560 6043 59 593352 580 164 6\n\
             259 0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n",
        )
        .unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].name, "sda");
        assert_eq!(d[0].read_bytes(), 1_003_346_126 * 512);
        assert_eq!(d[0].io_time_ms, 9_653_880);
        assert_eq!(d[0].fields, 11);
        assert_eq!(
            (d[1].flushes_completed, d[1].flush_time_ms, d[1].fields),
            (164, 6, 17)
        );
        assert_eq!((d[2].discard_time_ms, d[2].fields), (15, 15));
    }

    #[test]
    fn malformed_and_truncated() {
        assert_eq!(parse("8 0 sda 1 2 3\n").unwrap_err().line, 1);
        assert!(
            parse("8 0 sda 1 2 3\n")
                .unwrap_err()
                .message
                .contains("3 counters")
        );
        assert_eq!(parse("\n8 0\n").unwrap_err().line, 2);
        assert!(parse("8 0 sda 1 2 3 4 5 6 7 8 9 10 -11\n").is_err());
        assert!(
            parse("x 0 sda 1 2 3 4 5 6 7 8 9 10 11\n")
                .unwrap_err()
                .message
                .contains("major")
        );
    }
}
