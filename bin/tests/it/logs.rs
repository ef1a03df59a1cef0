//! Test helper: the log lines a test's code emits, captured from `tracing` (no ANSI, no
//! timestamps) for as long as the returned guard lives on this thread. `#[tokio::test]`
//! runs spawned tasks on the test's thread, so their lines are captured too.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The captured text, shared with the subscriber's writer.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The lines at `level` (`WARN`, `INFO`…) that contain `needle`.
    pub fn at(&self, level: &str, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.trim_start().starts_with(level) && l.contains(needle))
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// Where this thread's events go while a test captures them.
    static SINK: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Captures until dropped.
pub struct Capturing(());

impl Drop for Capturing {
    fn drop(&mut self) {
        SINK.with(|s| s.borrow_mut().take());
    }
}

/// Writes to the current thread's sink, if it has one.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|s| {
            if let Some(logs) = s.borrow_mut().as_mut() {
                logs.write_all(buf)?;
            }
            Ok(buf.len())
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every event at `debug` and above, formatted as the portal's stderr is.
///
/// One process-wide subscriber writes each thread's events to that thread's sink. A
/// subscriber per test (`set_default`) lost events: tracing caches each call site's
/// interest for the whole process, and a site first reached while tests on other
/// threads had other subscribers could be cached as uninteresting to this one.
pub fn capture() -> (Capturing, Logs) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .with_writer(|| ThreadSink)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
    let logs = Logs::default();
    SINK.with(|s| *s.borrow_mut() = Some(logs.clone()));
    (Capturing(()), logs)
}
