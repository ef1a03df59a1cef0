//! Reading kernel text files cheaply: a file kept open and re-read with `pread` from
//! offset 0 (procfs regenerates the text on every read), which saves the open and close
//! of every sample, into a reused buffer: its own ([`TextFile`]) or one lent
//! ([`OpenFile`]).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, ParseError};

/// A text file read again and again, e.g. `/proc/stat`, into a buffer of its own.
#[derive(Debug)]
pub struct TextFile {
    file: OpenFile,
    buf: Vec<u8>,
}

impl TextFile {
    /// A file at `path`; opened on the first read.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::from(OpenFile::new(path))
    }

    /// A file whose whole text the kernel writes in one go: see [`OpenFile::one_record`].
    pub fn one_record(path: impl Into<PathBuf>) -> Self {
        Self::from(OpenFile::one_record(path))
    }

    /// The path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The file's current text. On any error the file is closed, to be opened afresh
    /// next time (the file may have been replaced).
    pub fn read(&mut self) -> Result<&str, Error> {
        self.file.read_into(&mut self.buf)
    }

    /// Reads the file and parses it with a sans-IO parser, attaching the path to errors.
    pub fn parse<T>(
        &mut self,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, Error> {
        self.file.parse_into(&mut self.buf, parse)
    }

    /// See [`OpenFile::changed`].
    pub fn changed(&self) -> bool {
        self.file.changed()
    }
}

impl From<OpenFile> for TextFile {
    fn from(file: OpenFile) -> Self {
        Self {
            file,
            buf: Vec::with_capacity(4096),
        }
    }
}

/// A text file kept open and re-read from offset 0 into a buffer the caller lends: one
/// buffer for many files (the container pass reads some 900 small files, and a buffer
/// each would be 4 MiB of memory touched per pass).
#[derive(Debug)]
pub struct OpenFile {
    path: PathBuf,
    file: Option<File>,
    ends: Ends,
}

/// How a read is known to have reached the end of the text without one more read that
/// returns nothing.
#[derive(Debug, Clone, Copy)]
enum Ends {
    /// Only by a read that returns nothing.
    Empty,
    /// By a read that leaves room in the buffer ([`OpenFile::one_record`]).
    Short,
    /// By a read that leaves room and is shorter than a page by more than this longest
    /// record ([`OpenFile::records`]).
    ShortOfAPage(usize),
}

/// The smallest page size Linux has; `seq_file` hands out at most its buffer, at
/// least a page, per read.
const PAGE: usize = 4096;

impl OpenFile {
    /// A file at `path`; opened on the first read.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            file: None,
            ends: Ends::Empty,
        }
    }

    /// A file whose whole text the kernel writes in one go, so that a read which leaves
    /// room in the buffer has read all of it and the read that would return 0 bytes is
    /// saved: a kernfs attribute (a cgroup control file such as `memory.stat` or
    /// `cpu.pressure`, a sysfs attribute), whose `seq_file` has a single record, or a
    /// regular file. Not for files of many records (`cgroup.procs`, `/proc/net/dev`):
    /// `seq_file` may stop such a read short at a page boundary with more to come.
    pub fn one_record(path: impl Into<PathBuf>) -> Self {
        Self {
            ends: Ends::Short,
            ..Self::new(path)
        }
    }

    /// A `seq_file` of records of at most `longest` bytes each (`cgroup.procs`,
    /// `/proc/<pid>/net/dev`). A read fills its buffer until the next record would not
    /// fit, and the buffer is at least a page, so a read more than `longest` short of a
    /// page, with room left in ours, has reached the end: one read instead of two for a
    /// text under a page.
    pub fn records(path: impl Into<PathBuf>, longest: usize) -> Self {
        Self {
            ends: Ends::ShortOfAPage(longest),
            ..Self::new(path)
        }
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's current text, in `buf`. On any error the file is closed, to be opened
    /// afresh next time (the file may have been replaced).
    pub fn read_into<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<&'b str, Error> {
        match self.read_inner(buf) {
            Ok(()) => std::str::from_utf8(buf).map_err(|e| {
                let line = buf[..e.valid_up_to()]
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

    /// Reads the file into `buf` and parses it with a sans-IO parser, attaching the
    /// path to errors.
    pub fn parse_into<T>(
        &mut self,
        buf: &mut Vec<u8>,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, Error> {
        let text = self.read_into(buf)?;
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

    fn read_inner(&mut self, buf: &mut Vec<u8>) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(File::open(&self.path)?);
        }
        let Some(file) = self.file.as_ref() else {
            return Ok(());
        };
        buf.clear();
        let mut offset = 0u64;
        loop {
            if buf.len() == buf.capacity() {
                buf.reserve(buf.capacity().max(4096));
            }
            let room = buf.capacity() - buf.len();
            // Into the spare capacity as it is: zeroing it first cost 9 % of a container
            // pass (`perf`), for bytes the kernel overwrites.
            let n = rustix::io::pread(file, rustix::buffer::spare_capacity(&mut *buf), offset)?;
            let end = match self.ends {
                Ends::Empty => n == 0,
                Ends::Short => n < room,
                Ends::ShortOfAPage(longest) => n < room && n + longest < PAGE,
            };
            if n == 0 || end {
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
        rereads(TextFile::new);
    }

    #[test]
    fn a_one_record_file_rereads_alike() {
        rereads(TextFile::one_record);
    }

    #[test]
    fn a_records_file_rereads_alike() {
        rereads(|p| TextFile::from(OpenFile::records(p, 64)));
    }

    /// A `seq_file` of many pages read by records is the text a plain read gives: its
    /// short reads at a page's end are not taken for the end.
    #[test]
    fn a_seq_file_of_many_pages_reads_whole_by_records() {
        // Lines of an address, a type, a name (at most 512 bytes) and a module's name.
        let path = "/proc/kallsyms";
        let Ok(plain) = std::fs::read_to_string(path) else {
            eprintln!("skipped: no {path}");
            return;
        };
        assert!(plain.len() > 4 * PAGE, "{path} is {} bytes", plain.len());
        let mut f = OpenFile::records(path, 640);
        let mut buf = Vec::new();
        assert_eq!(f.read_into(&mut buf).unwrap(), plain);
    }

    /// A kernfs attribute read as one record is the text a plain read gives.
    #[test]
    fn a_one_record_kernfs_attribute_reads_whole() {
        let found = [
            "/sys/fs/cgroup/memory.stat",
            "/sys/fs/cgroup/memory/memory.stat",
        ]
        .into_iter()
        .chain(["/sys/kernel/mm/transparent_hugepage/enabled"])
        .find(|p| Path::new(p).is_file());
        let Some(path) = found else {
            eprintln!("skipped: no cgroup or sysfs attribute on this machine");
            return;
        };
        let mut f = TextFile::one_record(path);
        let text = f.read().unwrap().to_owned();
        let plain = std::fs::read_to_string(path).unwrap();
        // memory.stat moves between two reads; its keys and shape do not.
        let keys = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.split(' ').next().unwrap_or("").to_owned())
                .collect()
        };
        assert!(text.ends_with('\n'), "{path}: {text:?}");
        assert_eq!(keys(&text), keys(&plain), "{path}");
    }

    fn rereads(open: fn(PathBuf) -> TextFile) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "one\n").unwrap();
        let mut f = open(p.clone());
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
        let mut missing = open(dir.path().join("nope"));
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
