//! The one mount pipeline of the [`Sampler`](crate::Sampler) and the `filesystem`
//! collector: the mount table, read from a kept-open mountinfo and parsed again only when
//! the kernel signals a change, and a `statfs(2)` that cannot hang its caller.
//!
//! The two consumers select and label mounts differently (df-style figures for the
//! portal, node_exporter's labels for `/metrics`); what they share is here:
//! - `MountTable`: `<procfs>/1/mountinfo` (the host's mount namespace when the host's
//!   `/proc` is mounted in a container), else `<procfs>/self/mountinfo` (`hidepid`),
//!   kept open and re-parsed when `poll` says the table changed; the consumer's
//!   selection is kept with it.
//! - `Guard`: asks a probe (by default [`statfs`]) about a list of paths from one
//!   long-lived worker thread and waits at most a timeout per path. A path that does
//!   not answer (a dead NFS server, a hung USB disk) is reported as stuck, the worker is
//!   left to it, and a fresh worker asks about the rest; while that call is still
//!   hanging the path is reported stuck at once, without asking again. A call costs one
//!   hand-over to the worker, not a thread per mount. The consumer says which paths are
//!   guarded: the sampler guards all; the collector guards network filesystems
//!   ([`is_network`]) and asks local ones directly, because two thread wake-ups per
//!   scrape would cost more than the rest of the collector.
//!
//! What is public: [`FsStats`], [`statfs`], the [`StatfsFn`] type a test injects with
//! [`Sampler::with_statfs`](crate::Sampler::with_statfs), [`is_network`] and
//! [`DEFAULT_MOUNT_TIMEOUT`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::mountinfo::{self, Mount};
use crate::roots::Roots;
use crate::source::TextFile;

/// How long a `statfs(2)` may take before its mount is reported as not answering:
/// node_exporter's `--collector.filesystem.mount-timeout` default.
pub const DEFAULT_MOUNT_TIMEOUT: Duration = Duration::from_secs(5);

/// What `statfs(2)` says of a mounted filesystem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FsStats {
    /// `f_bsize`: the block size.
    pub block_size: u64,
    /// `f_frsize`: the fragment size, the unit of the block counts (0 on some
    /// filesystems: then `block_size` is).
    pub fragment_size: u64,
    /// `f_blocks`: size in fragments.
    pub blocks: u64,
    /// `f_bfree`: free fragments.
    pub blocks_free: u64,
    /// `f_bavail`: fragments free to unprivileged users.
    pub blocks_available: u64,
    /// `f_files`: inodes.
    pub files: u64,
    /// `f_ffree`: free inodes.
    pub files_free: u64,
    /// `ST_RDONLY` in `f_flag`: mounted read-only.
    pub read_only: bool,
}

/// A `statfs(2)` implementation: [`statfs`], or one a test passes in (one that blocks,
/// to stand for a dead NFS server).
pub type StatfsFn = dyn Fn(&Path) -> std::io::Result<FsStats> + Send + Sync;

/// Filesystem types whose `statfs(2)` can hang when their server is gone.
pub fn is_network(fs_type: &str) -> bool {
    matches!(
        fs_type,
        "nfs"
            | "nfs4"
            | "cifs"
            | "smb3"
            | "smbfs"
            | "ceph"
            | "glusterfs"
            | "9p"
            | "afs"
            | "davfs"
            | "lustre"
            | "gpfs"
            | "ncpfs"
            | "coda"
            | "ocfs2"
            | "beegfs"
    ) || fs_type.starts_with("fuse.")
}

/// The real `statfs(2)` of `path` (it follows symbolic links, as `statfs` does).
pub fn statfs(path: &Path) -> std::io::Result<FsStats> {
    let s = rustix::fs::statvfs(path)?;
    Ok(FsStats {
        block_size: s.f_bsize,
        fragment_size: s.f_frsize,
        blocks: s.f_blocks,
        blocks_free: s.f_bfree,
        blocks_available: s.f_bavail,
        files: s.f_files,
        files_free: s.f_ffree,
        read_only: s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
    })
}

/// The host's mount table and a consumer's selection `T` from it: parsed on first use and
/// again only when the kernel signals a change of the table.
#[derive(Debug)]
pub(crate) struct MountTable<T> {
    file: Option<TextFile>,
    selected: Option<T>,
}

impl<T> Default for MountTable<T> {
    fn default() -> Self {
        Self {
            file: None,
            selected: None,
        }
    }
}

impl<T> MountTable<T> {
    /// The selection from the current table. When the table is read afresh, `select`
    /// turns its mounts into the selection (it gets the mountinfo path, for errors). A
    /// table that cannot be read or parsed is an error, and read again next time.
    pub(crate) fn get(
        &mut self,
        roots: &Roots,
        select: impl FnOnce(Vec<Mount>, &Path) -> Result<T, Error>,
    ) -> Result<&T, Error> {
        let fresh = self.file.as_ref().is_some_and(|f| !f.changed());
        let selected = match self.selected.take() {
            Some(s) if fresh => s,
            _ => {
                let (all, path) = self.read(roots)?;
                select(all, &path)?
            }
        };
        Ok(self.selected.insert(selected))
    }

    /// Parses `<procfs>/1/mountinfo`, or `<procfs>/self/mountinfo` if there is no PID 1
    /// entry (`hidepid`); node_exporter falls back the same way. Returns the mounts and
    /// the path read.
    fn read(&mut self, roots: &Roots) -> Result<(Vec<Mount>, PathBuf), Error> {
        let primary = roots.proc("1/mountinfo");
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(primary.clone()));
        let all = match file.parse(mountinfo::parse) {
            Err(e) if e.is_not_found() && file.path() == primary => {
                *file = TextFile::new(roots.proc("self/mountinfo"));
                file.parse(mountinfo::parse)
            }
            r => r,
        }?;
        Ok((all, file.path().to_owned()))
    }
}

/// A question asked about one path (a `statfs`), answered by a [`Guard`]'s worker.
pub(crate) type Probe<T> = dyn Fn(&Path) -> T + Send + Sync;

/// A per-path call (a `statfs`) made from a worker thread, so that a call that hangs
/// costs its caller at most the timeout, once.
pub(crate) struct Guard<T> {
    probe: Arc<Probe<T>>,
    timeout: Duration,
    worker: Option<Arc<Worker<T>>>,
    /// Paths whose call is hanging, with the worker left to it.
    hanging: HashMap<PathBuf, Arc<Worker<T>>>,
}

impl<T> std::fmt::Debug for Guard<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("timeout", &self.timeout)
            .field("hanging", &self.hanging.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What a worker thread and its caller share.
struct Worker<T> {
    state: Mutex<Job<T>>,
    /// The caller handed over a job, or gave the worker up.
    to_worker: Condvar,
    /// The worker finished the job.
    to_caller: Condvar,
}

struct Job<T> {
    /// The paths, and which of them to ask about; `None` once the worker has taken it.
    todo: Option<(Arc<[PathBuf]>, Vec<usize>)>,
    /// The answers so far, in the order of the job's indices.
    answers: Vec<T>,
    /// When the call in progress began; `None` between calls.
    busy_since: Option<Instant>,
    /// The whole job is answered.
    done: bool,
    /// The caller gave this worker up: it ends after its current call.
    abandoned: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Worker<T> {
    /// Whether the worker is inside a call (for a worker left to a hanging call: whether
    /// that call is still hanging).
    fn in_call(&self) -> bool {
        lock(&self.state).busy_since.is_some()
    }
}

impl<T: Send + 'static> Guard<T> {
    /// Calls `probe` for each path, waiting at most `timeout` for any one call.
    pub(crate) fn new(probe: Arc<Probe<T>>, timeout: Duration) -> Self {
        Self {
            probe,
            timeout,
            worker: None,
            hanging: HashMap::new(),
        }
    }

    /// The timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The probe.
    pub(crate) fn probe(&self) -> Arc<Probe<T>> {
        self.probe.clone()
    }

    /// The probe's answer for each path, in order; `None` for a path whose call did not
    /// return within the timeout, or is still hanging from an earlier time. Paths for
    /// which `guarded` is false are asked directly on this thread, while the worker
    /// answers the others.
    pub(crate) fn run(
        &mut self,
        paths: &Arc<[PathBuf]>,
        guarded: impl Fn(usize) -> bool,
    ) -> Vec<Option<T>> {
        self.hanging.retain(|_, w| w.in_call());
        let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(paths.len()).collect();
        let mut todo: Vec<usize> = (0..paths.len())
            .filter(|&i| guarded(i) && !self.hanging.contains_key(&paths[i]))
            .collect();
        let mut worker = self.hand_over(paths, &mut todo, &mut out);
        for (i, answer) in out.iter_mut().enumerate() {
            if !guarded(i) {
                *answer = Some((self.probe)(&paths[i]));
            }
        }
        while let Some(w) = worker {
            let mut job = lock(&w.state);
            loop {
                if job.done {
                    break;
                }
                let waited = job.busy_since.map(|t| t.elapsed());
                if waited.is_some_and(|w| w >= self.timeout) {
                    break;
                }
                let wait = self.timeout - waited.unwrap_or_default();
                job = w
                    .to_caller
                    .wait_timeout(job, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            let answered = job.answers.len();
            for (answer, &i) in job.answers.drain(..).zip(&todo) {
                out[i] = Some(answer);
            }
            if job.done {
                break;
            }
            // todo[answered] is hanging: leave the worker to it and go on with a new one.
            job.abandoned = true;
            drop(job);
            self.worker = None;
            self.hanging.insert(paths[todo[answered]].clone(), w);
            todo.drain(..=answered);
            worker = self.hand_over(paths, &mut todo, &mut out);
        }
        out
    }

    /// Hands `todo` to the worker and returns it; `None` if there is nothing to do, or
    /// no thread to be had (then `todo` is asked directly, unguarded, rather than not at
    /// all).
    fn hand_over(
        &mut self,
        paths: &Arc<[PathBuf]>,
        todo: &mut Vec<usize>,
        out: &mut [Option<T>],
    ) -> Option<Arc<Worker<T>>> {
        if todo.is_empty() {
            return None;
        }
        let Some(worker) = self.worker() else {
            for i in todo.drain(..) {
                out[i] = Some((self.probe)(&paths[i]));
            }
            return None;
        };
        let mut job = lock(&worker.state);
        job.answers.clear();
        job.done = false;
        job.todo = Some((paths.clone(), todo.clone()));
        worker.to_worker.notify_one();
        drop(job);
        Some(worker)
    }

    /// The worker thread, started if there is none; `None` if no thread can be started.
    fn worker(&mut self) -> Option<Arc<Worker<T>>> {
        if let Some(w) = &self.worker {
            return Some(w.clone());
        }
        let worker = Arc::new(Worker {
            state: Mutex::new(Job {
                todo: None,
                answers: Vec::new(),
                busy_since: None,
                done: false,
                abandoned: false,
            }),
            to_worker: Condvar::new(),
            to_caller: Condvar::new(),
        });
        let (shared, probe) = (worker.clone(), self.probe.clone());
        std::thread::Builder::new()
            .name("statfs".into())
            .spawn(move || work(&shared, &*probe))
            .ok()?;
        self.worker = Some(worker.clone());
        Some(worker)
    }
}

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            lock(&w.state).abandoned = true;
            w.to_worker.notify_one();
        }
    }
}

/// The worker thread: answers jobs until it is given up.
fn work<T>(shared: &Worker<T>, probe: &Probe<T>) {
    let mut job = lock(&shared.state);
    loop {
        while job.todo.is_none() && !job.abandoned {
            job = shared
                .to_worker
                .wait(job)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if job.abandoned {
            return;
        }
        let Some((paths, indices)) = job.todo.take() else {
            continue;
        };
        for i in indices {
            job.busy_since = Some(Instant::now());
            drop(job);
            let answer = probe(&paths[i]);
            job = lock(&shared.state);
            job.busy_since = None;
            job.answers.push(answer);
            if job.abandoned {
                return;
            }
        }
        job.done = true;
        shared.to_caller.notify_one();
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A `statfs` that blocks for chosen paths, to stand for a dead NFS server.

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, mpsc};

    use super::{FsStats, StatfsFn};

    /// A `statfs` answering [`FsStats`] for every path but those ending in `stuck`, for
    /// which it blocks until the `Stuck` is dropped; it counts those calls.
    pub(crate) struct Stuck {
        release: Option<mpsc::Sender<()>>,
        calls: Arc<AtomicUsize>,
        statfs: Arc<StatfsFn>,
    }

    impl Stuck {
        pub(crate) fn new(stuck: &str) -> Self {
            let (release, wait) = mpsc::channel::<()>();
            let wait = Mutex::new(wait);
            let calls = Arc::new(AtomicUsize::new(0));
            let counted = calls.clone();
            let stuck = PathBuf::from(stuck);
            let statfs = move |p: &Path| {
                if p.ends_with(&stuck) {
                    counted.fetch_add(1, Ordering::SeqCst);
                    // Returns (with an error) only when the sender is dropped.
                    let _ = wait.lock().unwrap().recv();
                    return Err(std::io::ErrorKind::TimedOut.into());
                }
                Ok(FsStats {
                    block_size: 4096,
                    fragment_size: 4096,
                    blocks: 1000,
                    blocks_free: 400,
                    blocks_available: 300,
                    files: 100,
                    files_free: 60,
                    read_only: false,
                })
            };
            Self {
                release: Some(release),
                calls,
                statfs: Arc::new(statfs),
            }
        }

        /// The `statfs` to inject.
        pub(crate) fn statfs(&self) -> Arc<StatfsFn> {
            self.statfs.clone()
        }

        /// How often the stuck path was asked about.
        pub(crate) fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl Drop for Stuck {
        fn drop(&mut self) {
            self.release.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(names: &[&str]) -> Arc<[PathBuf]> {
        names.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn a_hanging_call_costs_one_answer_and_is_not_asked_again_while_it_hangs() {
        let stuck = testing::Stuck::new("nfs");
        let statfs = stuck.statfs();
        let mut guard = Guard::new(
            Arc::new(move |p: &Path| statfs(p).ok()),
            Duration::from_millis(20),
        );
        let list = paths(&["/a", "/nfs", "/b", "/c"]);
        for _ in 0..3 {
            let got = guard.run(&list, |_| true);
            assert!(got[0].as_ref().is_some_and(Option::is_some), "{got:?}");
            assert!(got[1].is_none(), "the hanging one has no answer");
            assert!(
                got[2].is_some() && got[3].is_some(),
                "those after it are asked"
            );
        }
        assert_eq!(stuck.calls(), 1, "asked once while it hangs");
        drop(stuck);
        // Once the call returns, the path is asked again (and here answers at once).
        let mut asked_again = false;
        for _ in 0..500 {
            if guard.run(&list, |_| true)[1].is_some() {
                asked_again = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(asked_again);
    }

    #[test]
    fn mountinfo_falls_back_to_self_and_is_parsed_again_on_change_only() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let mut table = MountTable::<Vec<String>>::default();
        let select =
            |all: Vec<Mount>, _: &Path| Ok(all.into_iter().map(|m| m.mount_point).collect());
        assert!(table.get(&roots, select).unwrap_err().is_not_found());
        std::fs::create_dir_all(dir.path().join("proc/self")).unwrap();
        std::fs::write(
            dir.path().join("proc/self/mountinfo"),
            "1 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
        )
        .unwrap();
        assert_eq!(table.get(&roots, select).unwrap(), &["/"]);
        // A regular file never signals a change: the selection is kept.
        let mut calls = 0;
        table
            .get(&roots, |_, _| {
                calls += 1;
                Ok(Vec::new())
            })
            .unwrap();
        assert_eq!(calls, 0);
    }
}
