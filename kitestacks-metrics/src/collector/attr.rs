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

/// Parses the (trimmed) text of a one-number file.
pub(crate) fn parse_u64(text: &str) -> Result<u64, ParseError> {
    text.parse()
        .map_err(|_| ParseError::new(1, format!("{text:?} is not an unsigned integer")))
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
