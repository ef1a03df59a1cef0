//! Reading kernel text files cheaply: a file kept open and re-read with `pread` from
//! offset 0 into a reused buffer (procfs regenerates the text on every read), which
//! saves the open and close of every sample.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, ParseError};

/// A text file read again and again, e.g. `/proc/stat`.
#[derive(Debug)]
pub struct TextFile {
    path: PathBuf,
    file: Option<File>,
    buf: Vec<u8>,
}

impl TextFile {
    /// A file at `path`; opened on the first read.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            file: None,
            buf: Vec::with_capacity(4096),
        }
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's current text. On any error the file is closed, to be opened afresh
    /// next time (the file may have been replaced).
    pub fn read(&mut self) -> Result<&str, Error> {
        match self.read_inner() {
            Ok(()) => std::str::from_utf8(&self.buf).map_err(|e| {
                let line = self.buf[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                Error::parse(&self.path, ParseError::new(line, "not UTF-8 text"))
            }),
            Err(source) => {
                self.file = None;
                Err(Error::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    /// Reads the file and parses it with a sans-IO parser, attaching the path to errors.
    pub fn parse<T>(
        &mut self,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, Error> {
        let text = self.read()?;
        parse(text).map_err(|e| Error::parse(&self.path, e))
    }

    /// Whether the kernel signals a change since the last read: `poll` reports
    /// `POLLPRI`/`POLLERR` on a mountinfo file when the mount table changed. A file never
    /// read (or closed after an error) counts as changed; a regular file never does.
    pub fn changed(&self) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let Some(file) = self.file.as_ref() else {
            return true;
        };
        let mut fds = [PollFd::new(file, PollFlags::PRI)];
        match rustix::event::poll(
            &mut fds,
            Some(&Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            }),
        ) {
            Ok(_) => fds[0].revents().intersects(PollFlags::PRI | PollFlags::ERR),
            Err(_) => true,
        }
    }

    fn read_inner(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(File::open(&self.path)?);
        }
        let Some(file) = self.file.as_ref() else {
            return Ok(());
        };
        self.buf.clear();
        let mut offset = 0u64;
        loop {
            if self.buf.len() == self.buf.capacity() {
                self.buf.reserve(self.buf.capacity().max(4096));
            }
            // Into the spare capacity as it is: zeroing it first cost 9 % of a container
            // pass (`perf`), for bytes the kernel overwrites.
            let n = rustix::io::pread(file, rustix::buffer::spare_capacity(&mut self.buf), offset)?;
            if n == 0 {
                return Ok(());
            }
            offset += n as u64;
        }
    }
}

/// Reads a whole small file once (sysfs attributes, os-release).
pub fn read_to_string(path: &Path) -> Result<String, Error> {
    let mut s = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(s)
}

/// The fields of a whitespace-separated line, parsed as unsigned integers.
pub(crate) fn u64_field(field: Option<&str>, line: usize, what: &str) -> Result<u64, ParseError> {
    let f = field.ok_or_else(|| ParseError::new(line, format!("missing field {what}")))?;
    f.parse().map_err(|_| {
        ParseError::new(
            line,
            format!("field {what}: {f:?} is not an unsigned integer"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_reflect_new_content_and_missing_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "one\n").unwrap();
        let mut f = TextFile::new(&p);
        assert_eq!(f.read().unwrap(), "one\n");
        let long = "two, and longer than before\n".repeat(500);
        std::fs::write(&p, &long).unwrap();
        assert_eq!(f.read().unwrap(), long, "past the first 4 KiB, whole");
        std::fs::write(&p, "three\n").unwrap();
        assert_eq!(
            f.read().unwrap(),
            "three\n",
            "nothing of the longer text left"
        );
        let mut missing = TextFile::new(dir.path().join("nope"));
        let err = missing.read().unwrap_err();
        assert!(err.is_not_found());
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn non_utf8_is_a_parse_error_with_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"ok\n\xff\n").unwrap();
        let err = TextFile::new(&p).read().unwrap_err();
        assert!(matches!(err, Error::Parse { line: 2, .. }), "{err}");
    }
}
