//! The crate's error type: a file that could not be read or parsed.

use std::path::PathBuf;

/// A parse failure of one file's text, before the path is known (sans-IO parsers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// A problem at `line` (1-based).
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Why a metric could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written (a history snapshot).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A history could not be made, queried or restored: the message says why.
    #[error("{0}")]
    History(String),
    /// The file's text is not what the kernel writes.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No collector has this name.
    #[error("unknown collector {0:?}")]
    UnknownCollector(String),
    /// A value in a file is outside what the kernel documents (a collector's own check).
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A mounted filesystem did not answer `statfs(2)` in time (a dead NFS server, a hung
    /// disk). It is left out, and not asked again while that call hangs.
    #[error("{path}: no answer to statfs within {timeout:?}, left out")]
    MountTimeout {
        /// The mount point, under the rootfs.
        path: PathBuf,
        /// How long it was waited for.
        timeout: std::time::Duration,
    },
    /// A sensor file did not answer in time (a driver asking a failing disk or a hung
    /// bus). The sensor is left out, and not asked again while that read hangs.
    #[error("{path}: no answer within {timeout:?}, left out")]
    SensorTimeout {
        /// The sensor's value file.
        path: PathBuf,
        /// How long it was waited for.
        timeout: std::time::Duration,
    },
    /// A collector did not finish within the deadline: it reports success 0 for that
    /// scrape, and its call is left to finish on a thread of its own.
    #[error("collector {collector} did not finish within {deadline:?}; left to finish on its own")]
    Deadline {
        /// The collector.
        collector: &'static str,
        /// The deadline it missed.
        deadline: std::time::Duration,
    },
    /// A collector's call that missed its deadline in an earlier scrape has not returned
    /// yet: the collector is not run a second time meanwhile, and reports success 0.
    #[error("collector {collector} is still in a call that missed its deadline; skipped")]
    StillRunning {
        /// The collector.
        collector: &'static str,
    },
    /// A collector panicked; what it had added is dropped.
    #[error("collector {collector} panicked")]
    Panicked {
        /// The collector.
        collector: &'static str,
    },
    /// A filter (regular expression) is invalid.
    #[error("invalid {what} pattern {pattern:?}: {message}")]
    Pattern {
        /// Which filter.
        what: &'static str,
        /// The pattern as given.
        pattern: String,
        /// The regex engine's message.
        message: String,
    },
    /// Two flags that may not be given together were (node_exporter's message).
    #[error("--{first} and --{second} are mutually exclusive")]
    ExclusiveFlags {
        /// One flag of the pair.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A flag's value is not of the flag's kind (a duration that does not parse).
    #[error("--{flag}: {value:?} {message}")]
    FlagValue {
        /// The flag.
        flag: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// Attaches the path to a sans-IO parse error.
    pub fn parse(path: impl Into<PathBuf>, e: ParseError) -> Self {
        Error::Parse {
            path: path.into(),
            line: e.line,
            message: e.message,
        }
    }

    /// Whether the file simply does not exist (a collector with nothing to report).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// For a collector reading something that may simply not exist on this host (no NFS,
/// no bonding driver, no CONFIG_SCHEDSTATS): not-found becomes `Ok(None)`, "nothing to
/// report", and every other error stays an error.
pub(crate) trait OrAbsent<T> {
    /// `Ok(None)` when the file or directory does not exist.
    fn or_absent(self) -> Result<Option<T>, Error>;
}

impl<T> OrAbsent<T> for Result<T, Error> {
    fn or_absent(self) -> Result<Option<T>, Error> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
