//! The process's CPU time, for benches that report CPU rather than wall time.

/// The CPU time of the whole process (every thread) so far.
pub fn cpu_time() -> std::time::Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}
