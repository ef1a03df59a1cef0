//! One-value kernel attribute files (`/sys/.../topology/core_id`,
//! `/proc/sys/kernel/pid_max`): read whole, trimmed and parsed, as node_exporter's
//! `readUintFromFile` does. The files are kept open between scrapes and re-read with
//! `pread` from offset 0 (sysfs and procfs regenerate the value on every read), which
//! saves an open and a close per attribute per scrape.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, ParseError};

/// How many attribute files one collector keeps open at most; past that, files are
/// opened and closed per read (a host with thousands of interfaces must not run the
/// exporter out of descriptors).
const MAX_OPEN: usize = 256;

/// How long a file found missing is taken to stay missing (attributes appear with a
/// driver or a hot-plugged device; a minute's delay in noticing is harmless, asking the
/// kernel for the same missing files every scrape is not free).
const MISSING_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// A collector's attribute reader: open files by path, recently missing files, and a
/// reused buffer.
#[derive(Debug, Default)]
pub(crate) struct Attrs {
    buf: Vec<u8>,
    files: HashMap<PathBuf, File>,
    missing: std::collections::HashSet<PathBuf>,
    missing_since: Option<std::time::Instant>,
}

impl Attrs {
    fn read(&mut self, path: &Path) -> std::io::Result<()> {
        if self
            .missing_since
            .is_some_and(|t| t.elapsed() > MISSING_FOR)
        {
            self.missing.clear();
            self.missing_since = None;
        }
        if self.missing.contains(path) {
            return Err(std::io::ErrorKind::NotFound.into());
        }
        if let Some(f) = self.files.get(path) {
            if pread_all(f, &mut self.buf).is_ok() {
                return Ok(());
            }
            // The file went away (a device was removed, perhaps re-created): reopen.
            self.files.remove(path);
        }
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                if e.kind() == std::io::ErrorKind::NotFound && self.missing.len() < MAX_OPEN {
                    self.missing.insert(path.to_owned());
                    self.missing_since
                        .get_or_insert_with(std::time::Instant::now);
                }
                return Err(e);
            }
        };
        pread_all(&f, &mut self.buf)?;
        if self.files.len() < MAX_OPEN {
            self.files.insert(path.to_owned(), f);
        }
        Ok(())
    }
}

fn pread_all(f: &File, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    let mut chunk = [0u8; 512];
    loop {
        let n = f.read_at(&mut chunk, buf.len() as u64)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads the file and returns its text without surrounding whitespace.
pub(crate) fn read_trimmed<'a>(path: &Path, attrs: &'a mut Attrs) -> Result<&'a str, Error> {
    attrs.read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = std::str::from_utf8(&attrs.buf)
        .map_err(|_| Error::parse(path, ParseError::new(1, "not UTF-8 text")))?;
    Ok(text.trim())
}

/// Reads a file holding one unsigned decimal number.
pub(crate) fn read_u64(path: &Path, buf: &mut Attrs) -> Result<u64, Error> {
    let text = read_trimmed(path, buf)?;
    parse_u64(text).map_err(|e| Error::parse(path, e))
}

/// Parses the (trimmed) text of a one-number file, as Go's `strconv.ParseUint(s, 10, 64)`.
pub(crate) fn parse_u64(text: &str) -> Result<u64, ParseError> {
    go_parse_uint(text, 10)
        .ok_or_else(|| ParseError::new(1, format!("{text:?} is not an unsigned integer")))
}

/// Go's `strconv.ParseUint(s, base, 64)`, the one unsigned integer parser of the
/// collectors (upstream and prometheus/procfs read every number through it): no sign;
/// with `base` 0, a `0x`, `0o` or `0b` prefix (either case) or a leading `0` (octal)
/// picks the radix, else decimal; `base` 2 to 36 takes bare digits. `None` for anything
/// else, including a value past `u64::MAX`.
pub(crate) fn go_parse_uint(s: &str, base: u32) -> Option<u64> {
    let (radix, digits) = match base {
        // The prefix compared byte-wise: this runs per sysfs value, so no allocation.
        0 => match s.as_bytes() {
            [b'0', b'x' | b'X', ..] => (16, &s[2..]),
            [b'0', b'o' | b'O', ..] => (8, &s[2..]),
            [b'0', b'b' | b'B', ..] => (2, &s[2..]),
            [b'0', _, ..] => (8, &s[1..]),
            _ => (10, s),
        },
        _ => (base, s),
    };
    // from_str_radix would also take a leading `+`, which Go refuses.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Go's `strconv.ParseInt(s, base, 64)`: an optional `+` or `-`, then what
/// [`go_parse_uint`] reads, within `i64`.
pub(crate) fn go_parse_int(s: &str, base: u32) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(rest, base)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// The names in a directory, sorted (Go's `os.ReadDir` order); names that are not UTF-8
/// are left out.
pub(crate) fn list_sorted(dir: &Path) -> Result<Vec<String>, Error> {
    list_sorted_where(dir, |_| true)
}

/// [`list_sorted`], of the entries for which `keep` holds (by file type, say).
pub(crate) fn list_sorted_where(
    dir: &Path,
    keep: impl Fn(&std::fs::DirEntry) -> bool,
) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|source| Error::Read {
            path: dir.to_owned(),
            source,
        })?
        .filter_map(|e| e.ok())
        .filter(|e| keep(e))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort_unstable();
    Ok(names)
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
    fn integers_read_like_go_with_base_zero() {
        assert_eq!(go_parse_int("1500", 0), Some(1500));
        assert_eq!(go_parse_int("0x1303", 0), Some(4867));
        assert_eq!(go_parse_int("0X20", 0), Some(32));
        assert_eq!(go_parse_int("-1", 0), Some(-1));
        assert_eq!(go_parse_int("010", 0), Some(8));
        assert_eq!(go_parse_int("0", 0), Some(0));
        assert_eq!(go_parse_int("0b101", 0), Some(5));
        assert_eq!(go_parse_int("-9223372036854775808", 0), Some(i64::MIN));
        assert_eq!(go_parse_int("9223372036854775808", 0), None);
        assert_eq!(go_parse_int("", 0), None);
        assert_eq!(go_parse_int("0x", 0), None);
        assert_eq!(go_parse_int("+-1", 0), None);
        assert_eq!(go_parse_int("12 3", 0), None);
        assert_eq!(go_parse_int("08", 0), None, "octal");
        assert_eq!(go_parse_int("+7", 10), Some(7));
        assert_eq!(go_parse_int("010", 10), Some(10));
    }

    #[test]
    fn unsigned_integers_read_like_go() {
        assert_eq!(go_parse_uint("0x13", 0), Some(19));
        assert_eq!(go_parse_uint("0XfF", 0), Some(255));
        assert_eq!(go_parse_uint("0xffffffffffffffff", 0), Some(u64::MAX));
        assert_eq!(go_parse_uint("42", 0), Some(42));
        assert_eq!(go_parse_uint("010", 0), Some(8));
        assert_eq!(go_parse_uint("0", 0), Some(0));
        assert_eq!(go_parse_uint("0b11", 0), Some(3));
        assert_eq!(go_parse_uint("0x", 0), None);
        assert_eq!(go_parse_uint("+1", 0), None);
        assert_eq!(go_parse_uint("-1", 0), None);
        assert_eq!(go_parse_uint("0x1ffffffffffffffff", 0), None);
        assert_eq!(go_parse_uint("", 0), None);
        assert_eq!(go_parse_uint("+1", 10), None, "no sign, unlike str::parse");
        assert_eq!(go_parse_uint("010", 10), Some(10));
        assert_eq!(go_parse_uint("ff", 16), Some(255));
        assert_eq!(go_parse_uint("0xff", 16), None, "no prefix with a base");
        assert_eq!(go_parse_uint("1a", 10), None);
    }

    #[test]
    fn numbers_are_trimmed_and_bad_text_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Attrs::default();
        let good = dir.path().join("good");
        std::fs::write(&good, " 42\n").unwrap();
        assert_eq!(read_u64(&good, &mut buf).unwrap(), 42);
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "-1\n").unwrap();
        let err = read_u64(&bad, &mut buf).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 1, .. }), "{err}");
        assert!(err.to_string().contains("bad"), "{err}");
        assert!(parse_u64("").is_err());
        assert!(parse_u64("+1").is_err(), "Go's ParseUint takes no sign");
        let missing = read_u64(&dir.path().join("nope"), &mut buf).unwrap_err();
        assert!(is_absent(&missing) && missing.is_not_found());
        assert!(!is_absent(&err));
        // A kept-open file is re-read: new content is seen, a vanished file is an error.
        std::fs::write(&good, "43\n").unwrap();
        assert_eq!(read_u64(&good, &mut buf).unwrap(), 43);
        std::fs::remove_file(&good).unwrap();
        std::fs::write(&good, "44\n").unwrap();
        assert_eq!(
            read_u64(&good, &mut buf).unwrap(),
            43,
            "the open file is the old one until it fails"
        );
    }
}
