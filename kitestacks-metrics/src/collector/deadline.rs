//! Collectors under a deadline: a scrape's collectors run in turn on one long-lived
//! worker thread while the caller waits at most the deadline for each ([`Running`]).
//!
//! One hand-over per scrape, not one per collector (a thread wake-up costs about as much
//! as a cheap collector). Each collector sits behind its own lock, held by whoever runs
//! it. When one overruns, the caller reports it as failed for that scrape, gives the
//! worker up to it and runs the rest on a fresh worker; the collectors that had already
//! run in that scrape run again there, because their output went with the stuck worker.
//! While the stuck call hangs, its lock stays held: the collector is skipped (success 0)
//! rather than run a second time, so a hung kernel file costs one thread, not one per
//! scrape. When the call returns, the old worker ends and the collector is used again.
//! node_exporter has no such deadline.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::{Collector, Context, NodeCollector, Report};
use crate::error::Error;
use crate::exposition::Scrape;

/// One collector behind its own lock: whoever runs it holds the lock for the call.
pub(super) struct Slot {
    /// Its name.
    pub(super) name: &'static str,
    /// The collector.
    pub(super) collector: Mutex<Box<dyn Collector>>,
}

/// Runs the collector of `slot` into `out` (its partial output dropped when it fails)
/// and adds its `node_scrape_collector_{duration_seconds,success}`. A collector whose
/// lock is held, by a call that missed its deadline, is not run: it reports success 0.
pub(super) fn run_one(slot: &Slot, ctx: &Context, out: &mut Scrape, report: &mut Report) {
    let start = Instant::now();
    let mut collector = match slot.collector.try_lock() {
        Ok(c) => c,
        // A collector that panicked is used again, as a fresh call would be.
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => {
            report.failures.push((
                slot.name,
                Error::StillRunning {
                    collector: slot.name,
                },
            ));
            status(out, slot.name, 0.0, false);
            return;
        }
    };
    let before = out.checkpoint();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| collector.update(ctx, out)))
        .unwrap_or(Err(Error::Panicked {
            collector: slot.name,
        }));
    let mut warnings = Vec::new();
    collector.warnings(&mut warnings);
    drop(collector);
    report
        .warnings
        .extend(warnings.into_iter().map(|e| (slot.name, e)));
    let secs = start.elapsed().as_secs_f64();
    let success = match result {
        Ok(()) => true,
        Err(e) => {
            out.rollback(&before);
            report.failures.push((slot.name, e));
            false
        }
    };
    status(out, slot.name, secs, success);
}

/// `node_scrape_collector_duration_seconds` and `node_scrape_collector_success`.
pub(super) fn status(out: &mut Scrape, name: &str, secs: f64, success: bool) {
    out.gauge(
        "node_scrape_collector_duration_seconds",
        "node_exporter: Duration of a collector scrape.",
        &[("collector", name)],
        secs,
    );
    out.gauge(
        "node_scrape_collector_success",
        "node_exporter: Whether a collector succeeded.",
        &[("collector", name)],
        if success { 1.0 } else { 0.0 },
    );
}

/// What a worker thread and its caller share.
pub(super) struct Worker {
    state: Mutex<Job>,
    /// The caller handed over a job, or gave the worker up.
    to_worker: Condvar,
    /// The worker finished the job.
    to_caller: Condvar,
}

struct Job {
    /// The scrape to write into and the collectors to run, in order; the worker takes it.
    todo: Option<(Scrape, Vec<usize>)>,
    /// Which collector of the job runs (its position in the list), and since when.
    running: Option<(usize, Instant)>,
    /// The finished job.
    done: Option<(Scrape, Report)>,
    /// Who to wake when it is done (an async caller).
    waker: Option<Waker>,
    /// The caller gave this worker up: it ends after its current call.
    abandoned: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Worker {
    /// A worker thread over `slots`; `None` if no thread can be started.
    pub(super) fn spawn(slots: Arc<[Slot]>, ctx: Arc<Context>) -> Option<Arc<Self>> {
        let worker = Arc::new(Worker {
            state: Mutex::new(Job {
                todo: None,
                running: None,
                done: None,
                waker: None,
                abandoned: false,
            }),
            to_worker: Condvar::new(),
            to_caller: Condvar::new(),
        });
        let shared = worker.clone();
        std::thread::Builder::new()
            .name("collectors".into())
            .spawn(move || work(&shared, &slots, &ctx))
            .ok()?;
        Some(worker)
    }

    /// Gives the worker up: it ends once its current call (if any) returns.
    pub(super) fn abandon(&self) {
        let mut job = lock(&self.state);
        job.abandoned = true;
        job.waker = None;
        self.to_worker.notify_one();
    }
}

/// The worker thread: runs jobs until it is given up.
fn work(shared: &Worker, slots: &[Slot], ctx: &Context) {
    loop {
        let mut job = shared
            .to_worker
            .wait_while(lock(&shared.state), |j| j.todo.is_none() && !j.abandoned)
            .unwrap_or_else(PoisonError::into_inner);
        let Some((mut out, todo)) = job.todo.take().filter(|_| !job.abandoned) else {
            return;
        };
        drop(job);
        let mut report = Report::default();
        for (pos, &i) in todo.iter().enumerate() {
            run_one(&slots[i], ctx, &mut out, &mut report);
            let mut job = lock(&shared.state);
            if job.abandoned {
                return;
            }
            job.running = todo.get(pos + 1).map(|_| (pos + 1, Instant::now()));
        }
        let mut job = lock(&shared.state);
        job.running = None;
        job.done = Some((out, report));
        let waker = job.waker.take();
        shared.to_caller.notify_one();
        drop(job);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A scrape in progress ([`NodeCollector::start`]): a [`Future`] for an async caller
/// (poll it again by [`Running::next_check`] at the latest, e.g. under a timeout: a
/// worker stuck in a call cannot wake it), or [`Running::wait`] to block. Either gives
/// the scrape and its [`Report`]. Dropped before it finishes, it gives its worker up.
pub struct Running<'a> {
    node: &'a mut NodeCollector,
    /// The collectors wanted, by index.
    wanted: Vec<usize>,
    /// Those that missed their deadline in this scrape, and when they began.
    late: Vec<(usize, Instant)>,
    /// The worker with the job, and the job's list.
    worker: Option<(Arc<Worker>, Vec<usize>)>,
    finished: Option<(Scrape, Report)>,
}

impl std::fmt::Debug for Running<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("wanted", &self.wanted)
            .field("finished", &self.finished.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> Running<'a> {
    pub(super) fn new(node: &'a mut NodeCollector, wanted: Vec<usize>, out: Scrape) -> Self {
        let mut running = Self {
            node,
            wanted,
            late: Vec::new(),
            worker: None,
            finished: None,
        };
        running.hand_over(out);
        running
    }

    /// Hands the wanted collectors (but those late in this scrape) to the worker; runs
    /// them right here when there is no deadline or no thread to be had.
    fn hand_over(&mut self, mut out: Scrape) {
        let todo: Vec<usize> = self
            .wanted
            .iter()
            .copied()
            .filter(|i| !self.late.iter().any(|(l, _)| l == i))
            .collect();
        let worker = match self.node.deadline {
            Some(_) if !todo.is_empty() => self.node.worker(),
            _ => None,
        };
        let Some(worker) = worker else {
            let mut report = Report::default();
            for &i in &todo {
                run_one(
                    &self.node.slots[i],
                    &self.node.context,
                    &mut out,
                    &mut report,
                );
            }
            self.finish(out, report);
            return;
        };
        let mut job = lock(&worker.state);
        job.done = None;
        job.running = Some((0, Instant::now()));
        job.todo = Some((out, todo.clone()));
        worker.to_worker.notify_one();
        drop(job);
        self.worker = Some((worker, todo));
    }

    /// Adds the late collectors' failures to the finished scrape.
    fn finish(&mut self, mut out: Scrape, mut report: Report) {
        let deadline = self.node.deadline.unwrap_or_default();
        for &(i, since) in &self.late {
            let name = self.node.slots[i].name;
            status(&mut out, name, since.elapsed().as_secs_f64(), false);
            report.failures.push((
                name,
                Error::Deadline {
                    collector: name,
                    deadline,
                },
            ));
        }
        self.finished = Some((out, report));
    }

    /// Whether the scrape is finished; if not, registers `waker` and, when the collector
    /// running has overrun the deadline, goes on without it on a fresh worker.
    fn check(&mut self, waker: Option<&Waker>) -> bool {
        let deadline = self.node.deadline.unwrap_or(Duration::MAX);
        loop {
            let Some((worker, todo)) = &self.worker else {
                return self.finished.is_some();
            };
            let mut job = lock(&worker.state);
            if let Some((out, report)) = job.done.take() {
                drop(job);
                self.worker = None;
                self.finish(out, report);
                return true;
            }
            if let Some(w) = waker
                && !job.waker.as_ref().is_some_and(|old| old.will_wake(w))
            {
                job.waker = Some(w.clone());
            }
            let Some((stuck, since)) = job
                .running
                .and_then(|(pos, since)| Some((*todo.get(pos)?, since)))
            else {
                return false;
            };
            if since.elapsed() < deadline {
                return false;
            }
            // It is stuck: leave the worker (and the scrape it holds) to it, and hand the
            // rest to a fresh one (then register the waker with that one).
            job.abandoned = true;
            job.waker = None;
            drop(job);
            self.late.push((stuck, since));
            self.worker = None;
            self.node.worker = None;
            self.hand_over(Scrape::new());
        }
    }

    /// When the collector running now reaches its deadline: poll again by then.
    pub fn next_check(&self) -> Instant {
        let deadline = self.node.deadline.unwrap_or(Duration::from_secs(3600));
        let since = self
            .worker
            .as_ref()
            .and_then(|(w, _)| lock(&w.state).running.map(|(_, since)| since));
        since.unwrap_or_else(Instant::now) + deadline
    }

    /// Blocks until the scrape is finished.
    pub fn wait(mut self) -> (Scrape, Report) {
        loop {
            if self.check(None) {
                return self.finished.take().unwrap_or_default();
            }
            let Some((worker, _)) = &self.worker else {
                continue;
            };
            let wait = self.next_check().saturating_duration_since(Instant::now());
            let job = lock(&worker.state);
            if job.done.is_none() {
                drop(
                    worker
                        .to_caller
                        .wait_timeout(job, wait)
                        .unwrap_or_else(PoisonError::into_inner),
                );
            }
        }
    }
}

impl Future for Running<'_> {
    type Output = (Scrape, Report);

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        if self.check(Some(cx.waker())) {
            Poll::Ready(self.finished.take().unwrap_or_default())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let Some((worker, _)) = self.worker.take() else {
            return;
        };
        let mut job = lock(&worker.state);
        if job.done.take().is_none() {
            // Still at it: give it up rather than wait for it.
            job.abandoned = true;
            job.waker = None;
            drop(job);
            self.node.worker = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    use super::*;
    use crate::collector::testing;

    /// Adds one series.
    struct Quick(&'static str);

    impl Collector for Quick {
        fn update(&mut self, _: &Context, out: &mut Scrape) -> Result<(), Error> {
            out.gauge(self.0, "A test series.", &[], 1.0);
            Ok(())
        }
    }

    /// Blocks in every call until its gate opens (a message, or the sender dropped),
    /// like a read of a hung kernel file; counts its calls.
    struct Stuck {
        gate: mpsc::Receiver<()>,
        calls: Arc<AtomicUsize>,
    }

    impl Collector for Stuck {
        fn update(&mut self, _: &Context, out: &mut Scrape) -> Result<(), Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let _ = self.gate.recv();
            out.gauge("stuck_metric", "A test series.", &[], 1.0);
            Ok(())
        }
    }

    type Scraped = (String, Vec<String>);

    /// One scrape's text and its failures as `collector: error`.
    fn scrape(node: &mut NodeCollector) -> Scraped {
        let (mut s, report) = node.scrape(|_| true);
        let failures = report
            .failures
            .iter()
            .map(|(c, e)| format!("{c}: {e}"))
            .collect();
        (testing::render(&mut s), failures)
    }

    fn success(text: &str, collector: &str, value: u8) -> bool {
        text.contains(&format!(
            "node_scrape_collector_success{{collector=\"{collector}\"}} {value}\n"
        ))
    }

    #[test]
    fn a_collector_past_its_deadline_costs_its_own_figures_and_never_runs_twice() {
        let (open, gate) = mpsc::channel::<()>();
        let calls = Arc::new(AtomicUsize::new(0));
        let collectors: Vec<(&'static str, Box<dyn Collector>)> = vec![
            ("a_quick", Box::new(Quick("a_metric"))),
            (
                "m_stuck",
                Box::new(Stuck {
                    gate,
                    calls: calls.clone(),
                }),
            ),
            ("z_quick", Box::new(Quick("z_metric"))),
        ];
        let mut node = NodeCollector::from_collectors(Context::default(), collectors)
            .with_deadline(Some(Duration::from_millis(50)));
        // The scrapes run on a thread of their own: without the deadline they would hang,
        // and the bounded receive below turns that into a failure.
        let (to_test, from_scraper) = mpsc::channel::<Vec<Scraped>>();
        let (go_on, released) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let stuck: Vec<Scraped> = (0..3).map(|_| scrape(&mut node)).collect();
            let _ = to_test.send(stuck);
            let _ = released.recv();
            // Once the call returns, the collector runs again.
            let mut again = Vec::new();
            for _ in 0..500 {
                let got = scrape(&mut node);
                let done = success(&got.0, "m_stuck", 1);
                again.push(got);
                if done {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = to_test.send(again);
        });
        let bound = Duration::from_secs(10);
        let stuck = from_scraper.recv_timeout(bound).expect("the scrapes hung");
        for (i, (text, failures)) in stuck.iter().enumerate() {
            assert!(text.contains("\na_metric 1\n"), "{text}");
            assert!(text.contains("\nz_metric 1\n"), "{text}");
            assert!(!text.contains("stuck_metric"), "{text}");
            assert!(success(text, "a_quick", 1) && success(text, "z_quick", 1));
            assert!(success(text, "m_stuck", 0), "{text}");
            let why = if i == 0 {
                "did not finish within"
            } else {
                "still in a call"
            };
            assert!(
                failures.len() == 1
                    && failures[0].starts_with("m_stuck: ")
                    && failures[0].contains(why),
                "scrape {i}: {failures:?}"
            );
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "never a second call while stuck"
        );
        // Open the gate for good: the stuck call returns, later ones do not block.
        drop(open);
        go_on.send(()).unwrap();
        let again = from_scraper.recv_timeout(bound).expect("the scrapes hung");
        let (text, failures) = again.last().unwrap();
        assert!(success(text, "m_stuck", 1), "{text}");
        assert!(text.contains("\nstuck_metric 1\n"), "{text}");
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[test]
    fn without_a_deadline_collectors_run_on_the_callers_thread() {
        let caller = std::thread::current().id();
        struct Where(std::thread::ThreadId);
        impl Collector for Where {
            fn update(&mut self, _: &Context, out: &mut Scrape) -> Result<(), Error> {
                let here = std::thread::current().id() == self.0;
                out.gauge(
                    "same_thread",
                    "A test series.",
                    &[],
                    f64::from(u8::from(here)),
                );
                Ok(())
            }
        }
        let collectors: Vec<(&'static str, Box<dyn Collector>)> =
            vec![("where", Box::new(Where(caller)))];
        let mut node = NodeCollector::from_collectors(Context::default(), collectors);
        assert!(scrape(&mut node).0.contains("\nsame_thread 1\n"));
        let mut node = node.with_deadline(Some(Duration::from_secs(60)));
        assert!(scrape(&mut node).0.contains("\nsame_thread 0\n"));
    }
}
