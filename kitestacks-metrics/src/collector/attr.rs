//! One-value kernel attribute files (`/sys/.../topology/core_id`,
//! `/proc/sys/kernel/pid_max`): read whole, trimmed and parsed, as node_exporter's
//! `readUintFromFile` does. A caller-owned buffer is reused across reads.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, ParseError};

/// Reads the file into `buf` (cleared first) and returns its text without surrounding
/// whitespace.
pub(crate) fn read_trimmed<'a>(path: &Path, buf: &'a mut String) -> Result<&'a str, Error> {
    buf.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_string(buf))
        .map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(buf.trim())
}

/// Reads a file holding one unsigned decimal number.
pub(crate) fn read_u64(path: &Path, buf: &mut String) -> Result<u64, Error> {
    let text = read_trimmed(path, buf)?;
    parse_u64(text).map_err(|e| Error::parse(path, e))
}

/// Parses the (trimmed) text of a one-number file.
pub(crate) fn parse_u64(text: &str) -> Result<u64, ParseError> {
    text.parse()
        .map_err(|_| ParseError::new(1, format!("{text:?} is not an unsigned integer")))
}

/// Whether a read failed because the file is absent or unreadable to us (cpufreq's
/// root-only `cpuinfo_cur_freq`): node_exporter treats both as "no value".
pub(crate) fn is_absent(e: &Error) -> bool {
    matches!(e, Error::Read { source, .. }
        if matches!(source.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_trimmed_and_bad_text_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = String::new();
        let good = dir.path().join("good");
        std::fs::write(&good, " 42\n").unwrap();
        assert_eq!(read_u64(&good, &mut buf).unwrap(), 42);
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "-1\n").unwrap();
        let err = read_u64(&bad, &mut buf).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 1, .. }), "{err}");
        assert!(err.to_string().contains("bad"), "{err}");
        assert!(parse_u64("").is_err());
        let missing = read_u64(&dir.path().join("nope"), &mut buf).unwrap_err();
        assert!(is_absent(&missing) && missing.is_not_found());
        assert!(!is_absent(&err));
    }
}
