//! The `processes` collector (off by default): processes and threads per state, the
//! thread and PID counts and their limits, from every `/proc/<pid>/stat` and
//! `/proc/<pid>/task/<tid>/stat`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "processes",
    default_enabled: false,
    families: &["node_processes_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Processes {
        buf: Vec::with_capacity(1024),
        path: PathBuf::new(),
        num: attr::Attrs::default(),
    }))
}

struct Processes {
    /// Reused for every stat file.
    buf: Vec<u8>,
    /// Reused for every path.
    path: PathBuf,
    num: attr::Attrs,
}

/// Counts per state letter (`R`, `S`, `D`, `I`, ...), in first-seen order.
#[derive(Debug, Default, PartialEq, Eq)]
struct States(Vec<(String, u64)>);

impl States {
    fn add(&mut self, state: &str) {
        match self.0.iter_mut().find(|(s, _)| s == state) {
            Some((_, n)) => *n += 1,
            None => self.0.push((state.to_owned(), 1)),
        }
    }
}

impl Collector for Processes {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let proc = &ctx.roots.procfs;
        let read_err = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Read { path, source }
        };
        let (mut pids, mut threads) = (0u64, 0i64);
        let mut states = States::default();
        let mut thread_states = States::default();
        let mut pid_state = String::new();
        for entry in std::fs::read_dir(proc).map_err(read_err(proc))? {
            let entry = entry.map_err(read_err(proc))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(pid) = name.parse::<i64>() else {
                continue;
            };
            set_path(&mut self.path, proc, &[name, "stat"]);
            // A process can exit between the listing and the read.
            if let Some(e) = read(&self.path, &mut self.buf).err() {
                if vanished(&e) {
                    continue;
                }
                return Err(read_err(&self.path)(e));
            }
            let (state, n) = parse_stat(&self.buf).map_err(|e| Error::parse(&self.path, e))?;
            pids += 1;
            threads += n;
            states.add(state);
            pid_state.clear();
            pid_state.push_str(state);
            self.thread_states(proc, name, pid, &pid_state, &mut thread_states)?;
        }

        out.gauge(
            "node_processes_threads",
            "Allocated threads in system",
            &[],
            threads as f64,
        );
        let max_threads = attr::read_u64(&proc.join("sys/kernel/threads-max"), &mut self.num)?;
        out.gauge(
            "node_processes_max_threads",
            "Limit of threads in the system",
            &[],
            max_threads as f64,
        );
        for (state, n) in &states.0 {
            out.gauge(
                "node_processes_state",
                "Number of processes in each state.",
                &[("state", state)],
                *n as f64,
            );
        }
        for (state, n) in &thread_states.0 {
            out.gauge(
                "node_processes_threads_state",
                "Number of threads in each state.",
                &[("thread_state", state)],
                *n as f64,
            );
        }
        let pid_max = attr::read_u64(&proc.join("sys/kernel/pid_max"), &mut self.num)?;
        out.gauge("node_processes_pids", "Number of PIDs", &[], pids as f64);
        out.gauge(
            "node_processes_max_processes",
            "Number of max PIDs limit",
            &[],
            pid_max as f64,
        );
        Ok(())
    }
}

impl Processes {
    /// Counts the states of one process's threads (the main thread counts with the
    /// process's own state).
    fn thread_states(
        &mut self,
        proc: &Path,
        name: &str,
        pid: i64,
        pid_state: &str,
        counts: &mut States,
    ) -> Result<(), Error> {
        set_path(&mut self.path, proc, &[name, "task"]);
        let task_dir = self.path.clone();
        let entries = match std::fs::read_dir(&task_dir) {
            Ok(rd) => rd,
            Err(e) if vanished(&e) => return Ok(()),
            Err(source) => {
                return Err(Error::Read {
                    path: task_dir,
                    source,
                });
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if vanished(&e) => return Ok(()),
                Err(source) => {
                    return Err(Error::Read {
                        path: task_dir,
                        source,
                    });
                }
            };
            let tid = entry.file_name();
            let Some(tid) = tid.to_str() else { continue };
            let Ok(tid_num) = tid.parse::<i64>() else {
                continue;
            };
            if tid_num == pid {
                counts.add(pid_state);
                continue;
            }
            set_path(&mut self.path, proc, &[name, "task", tid, "stat"]);
            if let Some(e) = read(&self.path, &mut self.buf).err() {
                if vanished(&e) {
                    continue;
                }
                return Err(Error::Read {
                    path: self.path.clone(),
                    source: e,
                });
            }
            let (state, _) = parse_stat(&self.buf).map_err(|e| Error::parse(&self.path, e))?;
            counts.add(state);
        }
        Ok(())
    }
}

/// `path = base/parts[0]/parts[1]/...`, reusing its allocation.
fn set_path(path: &mut PathBuf, base: &Path, parts: &[&str]) {
    path.as_mut_os_string().clear();
    path.push(base);
    for p in parts {
        path.push(p);
    }
}

fn read(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    File::open(path)?.read_to_end(buf).map(|_| ())
}

/// The process or thread went away while we looked (`ENOENT`, or `ESRCH` from a read).
fn vanished(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error())
}

/// The state letter and thread count of a `/proc/<pid>/stat` line:
/// `pid (comm) state ppid ... num_threads ...`. The command name may hold spaces and
/// parentheses (and need not be UTF-8), so the fields start after the last `)`.
fn parse_stat(data: &[u8]) -> Result<(&str, i64), ParseError> {
    let close = data
        .iter()
        .rposition(|&b| b == b')')
        .filter(|_| data.contains(&b'('))
        .ok_or_else(|| ParseError::new(1, "no `(comm)` field"))?;
    let rest = data
        .get(close + 1..)
        .and_then(|r| std::str::from_utf8(r).ok())
        .ok_or_else(|| ParseError::new(1, "fields after `(comm)` are not text"))?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields
        .next()
        .ok_or_else(|| ParseError::new(1, "missing field state"))?;
    // num_threads is the 18th field after the state (field 20 of proc(5)).
    let raw = fields
        .nth(16)
        .ok_or_else(|| ParseError::new(1, "missing field num_threads (truncated?)"))?;
    let threads = raw
        .parse()
        .map_err(|_| ParseError::new(1, format!("num_threads: {raw:?} is not a number")))?;
    Ok((state, threads))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const SYSTEMD: &[u8] = b"1 (systemd) S 0 1 1 0 -1 4194560 9061 9416027 94 2620 36 98 54406 13885 20 0 1 0 29 109604864 2507\n";

    #[test]
    fn state_and_thread_count() {
        assert_eq!(parse_stat(SYSTEMD).unwrap(), ("S", 1));
        let odd =
            b"7 (a) b (c)) R 0 1 1 0 -1 4194560 9061 9416027 94 2620 36 98 54406 13885 20 0 12 0\n";
        assert_eq!(parse_stat(odd).unwrap(), ("R", 12));
        let mut bin = b"8 (\xff\xfe) D ".to_vec();
        bin.extend_from_slice(&b"0 ".repeat(16));
        bin.extend_from_slice(b"3\n");
        assert_eq!(parse_stat(&bin).unwrap(), ("D", 3));
    }

    #[test]
    fn malformed_and_truncated_stat_is_an_error() {
        assert!(
            parse_stat(b"1 systemd S 0\n")
                .unwrap_err()
                .message
                .contains("comm")
        );
        assert!(
            parse_stat(b"1 (systemd)")
                .unwrap_err()
                .message
                .contains("state")
        );
        assert!(
            parse_stat(&SYSTEMD[..40])
                .unwrap_err()
                .message
                .contains("truncated")
        );
        let bad =
            b"1 (x) S 0 1 1 0 -1 4194560 9061 9416027 94 2620 36 98 54406 13885 20 0 many 0\n";
        assert!(parse_stat(bad).unwrap_err().message.contains("num_threads"));
    }

    #[test]
    fn counts_processes_threads_and_states_from_a_small_tree() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().join("proc");
        let write = |rel: &str, text: &[u8]| {
            let p = proc.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("1/stat", SYSTEMD);
        let two =
            b"2 (worker) R 0 1 1 0 -1 4194560 9061 9416027 94 2620 36 98 54406 13885 20 0 3 0\n";
        write("2/stat", two);
        write("2/task/2/stat", two);
        write(
            "2/task/3/stat",
            b"3 (worker) D 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0\n",
        );
        write("2/task/4/comm", b"gone\n"); // exited: no stat
        std::fs::create_dir_all(proc.join("5")).unwrap(); // exited: no stat
        write("sys/kernel/threads-max", b"7801\n");
        write("sys/kernel/pid_max", b"123\n");
        write("self/stat", b"not a pid\n");
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let s = testing::text(&mut *c, &ctx).unwrap();
        for line in [
            "node_processes_max_processes 123\n",
            "node_processes_max_threads 7801\n",
            "node_processes_pids 2\n",
            "node_processes_state{state=\"R\"} 1\nnode_processes_state{state=\"S\"} 1\n",
            "node_processes_threads 4\n",
            "node_processes_threads_state{thread_state=\"D\"} 1\nnode_processes_threads_state{thread_state=\"R\"} 1\n",
        ] {
            assert!(s.contains(line), "{line} missing in\n{s}");
        }
        std::fs::remove_file(proc.join("sys/kernel/pid_max")).unwrap();
        // A fresh collector (a running one keeps the file open: procfs files never vanish).
        let mut c = build(&Options::default()).unwrap();
        assert!(
            c.update(&ctx, &mut Scrape::new())
                .unwrap_err()
                .is_not_found()
        );
        write("1/stat", b"1 (x) S 0\n");
        let err = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(
            matches!(err, Error::Parse { .. }) && err.to_string().contains("1/stat"),
            "{err}"
        );
    }
}
