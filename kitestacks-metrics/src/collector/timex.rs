//! The `timex` collector: `node_timex_*`, the kernel clock discipline's state from
//! adjtimex(2) (offset, frequency, error estimates, PPS counters, sync status).
//!
//! adjtimex(2) describes the running kernel, not a tree under the roots (node_exporter's
//! end-to-end test switches the collector off). rustix has no wrapper for it, so this
//! file holds the crate's one libc call for it; everything else is a pure conversion.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::Error;
use crate::exposition::Scrape;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "timex",
    default_enabled: true,
    families: &["node_timex_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(TimexCollector))
}

struct TimexCollector;

impl Collector for TimexCollector {
    fn update(&mut self, _: &Context, out: &mut Scrape) -> Result<(), Error> {
        match adjtimex() {
            Ok(t) => {
                emit(&t, out);
                Ok(())
            }
            // Not allowed (a seccomp profile, say): nothing to report, as node_exporter.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(()),
            Err(source) => Err(Error::Read {
                path: "adjtimex(2)".into(),
                source,
            }),
        }
    }
}

/// The fields of `struct timex` the metrics use (as numbers: their C types differ by
/// architecture), plus adjtimex's return value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Timex {
    /// adjtimex's return value: the clock state (`TIME_OK` ... `TIME_ERROR`).
    state: i64,
    offset: f64,
    freq: f64,
    maxerror: f64,
    esterror: f64,
    status: i64,
    constant: f64,
    tick: f64,
    ppsfreq: f64,
    jitter: f64,
    shift: f64,
    stabil: f64,
    jitcnt: f64,
    calcnt: f64,
    errcnt: f64,
    stbcnt: f64,
    tai: f64,
}

/// `TIME_ERROR`: the clock is not synchronised to a reliable server.
const TIME_ERROR: i64 = 5;
/// `STA_NANO`: offsets and jitter are in nanoseconds, not microseconds.
const STA_NANO: i64 = 0x2000;
/// Scaled ppm (ppm with a 16-bit fractional part) to a ratio, see adjtimex(2) NOTES.
const PPM16FRAC: f64 = 1_000_000.0 * 65536.0;

/// Reads the kernel's clock state without changing it (`modes = 0`).
#[allow(unsafe_code)]
fn adjtimex() -> std::io::Result<Timex> {
    // SAFETY: `libc::timex` is a plain C struct of integers for which all-zero bytes are
    // a valid value (it has private padding fields, so it cannot be built field by
    // field). adjtimex only writes into the struct we pass, which lives for the whole
    // call; `modes = 0` asks it to read, not to adjust, the clock.
    let (state, t) = unsafe {
        let mut t: libc::timex = std::mem::zeroed();
        (libc::adjtimex(&mut t), t)
    };
    if state < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Timex {
        state: i64::from(state),
        offset: t.offset as f64,
        freq: t.freq as f64,
        maxerror: t.maxerror as f64,
        esterror: t.esterror as f64,
        status: i64::from(t.status),
        constant: t.constant as f64,
        tick: t.tick as f64,
        ppsfreq: t.ppsfreq as f64,
        jitter: t.jitter as f64,
        shift: t.shift as f64,
        stabil: t.stabil as f64,
        jitcnt: t.jitcnt as f64,
        calcnt: t.calcnt as f64,
        errcnt: t.errcnt as f64,
        stbcnt: t.stbcnt as f64,
        tai: t.tai as f64,
    })
}

/// Adds the families, with node_exporter's unit conversions.
fn emit(t: &Timex, out: &mut Scrape) {
    let divisor = if t.status & STA_NANO != 0 { 1e9 } else { 1e6 };
    let g = |out: &mut Scrape, name, help, v: f64| out.gauge(name, help, &[], v);
    let c = |out: &mut Scrape, name, help, v: f64| out.counter(name, help, &[], v);
    g(
        out,
        "node_timex_sync_status",
        "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
        if t.state == TIME_ERROR { 0.0 } else { 1.0 },
    );
    g(
        out,
        "node_timex_offset_seconds",
        "Time offset in between local system and reference clock.",
        t.offset / divisor,
    );
    g(
        out,
        "node_timex_frequency_adjustment_ratio",
        "Local clock frequency adjustment.",
        1.0 + t.freq / PPM16FRAC,
    );
    g(
        out,
        "node_timex_maxerror_seconds",
        "Maximum error in seconds.",
        t.maxerror / 1e6,
    );
    g(
        out,
        "node_timex_estimated_error_seconds",
        "Estimated error in seconds.",
        t.esterror / 1e6,
    );
    g(
        out,
        "node_timex_status",
        "Value of the status array bits.",
        t.status as f64,
    );
    g(
        out,
        "node_timex_loop_time_constant",
        "Phase-locked loop time constant.",
        t.constant,
    );
    g(
        out,
        "node_timex_tick_seconds",
        "Seconds between clock ticks.",
        t.tick / 1e6,
    );
    g(
        out,
        "node_timex_pps_frequency_hertz",
        "Pulse per second frequency.",
        t.ppsfreq / PPM16FRAC,
    );
    g(
        out,
        "node_timex_pps_jitter_seconds",
        "Pulse per second jitter.",
        t.jitter / divisor,
    );
    g(
        out,
        "node_timex_pps_shift_seconds",
        "Pulse per second interval duration.",
        t.shift,
    );
    g(
        out,
        "node_timex_pps_stability_hertz",
        "Pulse per second stability, average of recent frequency changes.",
        t.stabil / PPM16FRAC,
    );
    c(
        out,
        "node_timex_pps_jitter_total",
        "Pulse per second count of jitter limit exceeded events.",
        t.jitcnt,
    );
    c(
        out,
        "node_timex_pps_calibration_total",
        "Pulse per second count of calibration intervals.",
        t.calcnt,
    );
    c(
        out,
        "node_timex_pps_error_total",
        "Pulse per second count of calibration errors.",
        t.errcnt,
    );
    c(
        out,
        "node_timex_pps_stability_exceeded_total",
        "Pulse per second count of stability limit exceeded events.",
        t.stbcnt,
    );
    g(
        out,
        "node_timex_tai_offset_seconds",
        "International Atomic Time (TAI) offset.",
        t.tai,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::MetricType;

    fn value(s: &Scrape, name: &str) -> f64 {
        let f = s.family(name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(f.series.len(), 1);
        assert!(f.series[0].labels.is_empty());
        f.series[0].value
    }

    #[test]
    fn converts_units_like_node_exporter() {
        let t = Timex {
            state: TIME_ERROR,
            offset: -1500.0,
            freq: 65536.0 * 10.0, // +10 ppm
            maxerror: 16_000_000.0,
            esterror: 250.0,
            status: 0x40 | STA_NANO,
            constant: 7.0,
            tick: 10_000.0,
            ppsfreq: -65536.0,
            jitter: 2_000.0,
            shift: 4.0,
            stabil: 65536.0 / 2.0,
            jitcnt: 1.0,
            calcnt: 2.0,
            errcnt: 3.0,
            stbcnt: 4.0,
            tai: 37.0,
        };
        let mut s = Scrape::new();
        emit(&t, &mut s);
        assert_eq!(value(&s, "node_timex_sync_status"), 0.0);
        assert_eq!(
            value(&s, "node_timex_offset_seconds"),
            -1.5e-6,
            "STA_NANO: ns"
        );
        assert_eq!(value(&s, "node_timex_frequency_adjustment_ratio"), 1.00001);
        assert_eq!(value(&s, "node_timex_maxerror_seconds"), 16.0);
        assert_eq!(value(&s, "node_timex_estimated_error_seconds"), 0.00025);
        assert_eq!(value(&s, "node_timex_status"), f64::from(0x2040));
        assert_eq!(value(&s, "node_timex_loop_time_constant"), 7.0);
        assert_eq!(value(&s, "node_timex_tick_seconds"), 0.01);
        assert_eq!(value(&s, "node_timex_pps_frequency_hertz"), -1e-6);
        assert_eq!(value(&s, "node_timex_pps_jitter_seconds"), 2e-6);
        assert_eq!(value(&s, "node_timex_pps_shift_seconds"), 4.0);
        assert_eq!(value(&s, "node_timex_pps_stability_hertz"), 0.5e-6);
        assert_eq!(value(&s, "node_timex_pps_jitter_total"), 1.0);
        assert_eq!(value(&s, "node_timex_pps_calibration_total"), 2.0);
        assert_eq!(value(&s, "node_timex_pps_error_total"), 3.0);
        assert_eq!(value(&s, "node_timex_pps_stability_exceeded_total"), 4.0);
        assert_eq!(value(&s, "node_timex_tai_offset_seconds"), 37.0);

        // Without STA_NANO, offset and jitter are microseconds; any state but
        // TIME_ERROR counts as synchronised.
        let mut s = Scrape::new();
        emit(
            &Timex {
                state: 0,
                status: 0,
                ..t
            },
            &mut s,
        );
        assert_eq!(value(&s, "node_timex_sync_status"), 1.0);
        assert_eq!(value(&s, "node_timex_offset_seconds"), -0.0015);
        assert_eq!(value(&s, "node_timex_pps_jitter_seconds"), 0.002);
    }

    #[test]
    fn the_live_host_has_all_families_with_plausible_values() {
        let mut c = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        c.update(&Context::default(), &mut s).unwrap();
        let counters = [
            "node_timex_pps_calibration_total",
            "node_timex_pps_error_total",
            "node_timex_pps_jitter_total",
            "node_timex_pps_stability_exceeded_total",
        ];
        let names: Vec<&str> = s.families().map(|f| f.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "node_timex_estimated_error_seconds",
                "node_timex_frequency_adjustment_ratio",
                "node_timex_loop_time_constant",
                "node_timex_maxerror_seconds",
                "node_timex_offset_seconds",
                counters[0],
                counters[1],
                "node_timex_pps_frequency_hertz",
                "node_timex_pps_jitter_seconds",
                counters[2],
                "node_timex_pps_shift_seconds",
                counters[3],
                "node_timex_pps_stability_hertz",
                "node_timex_status",
                "node_timex_sync_status",
                "node_timex_tai_offset_seconds",
                "node_timex_tick_seconds",
            ]
        );
        for f in s.families() {
            let want = if counters.contains(&f.name.as_ref()) {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            assert_eq!(f.kind, want, "{}", f.name);
            assert!(f.series[0].value.is_finite(), "{}", f.name);
        }
        // The kernel keeps the frequency within ±500 ppm, a tick is 1 ms to 100 ms, the
        // maximum error is capped at 16 s (NTP_PHASE_LIMIT), the estimate is not negative.
        let ratio = value(&s, "node_timex_frequency_adjustment_ratio");
        assert!((0.9995..=1.0005).contains(&ratio), "{ratio}");
        let tick = value(&s, "node_timex_tick_seconds");
        assert!((0.001..=0.1).contains(&tick), "{tick}");
        let maxerror = value(&s, "node_timex_maxerror_seconds");
        assert!((0.0..=16.0).contains(&maxerror), "{maxerror}");
        let esterror = value(&s, "node_timex_estimated_error_seconds");
        assert!(esterror >= 0.0, "{esterror}");
        let sync = value(&s, "node_timex_sync_status");
        assert!(sync == 0.0 || sync == 1.0);
        let status = value(&s, "node_timex_status");
        assert!(status >= 0.0 && status.fract() == 0.0);
        let tai = value(&s, "node_timex_tai_offset_seconds");
        assert!((0.0..=100.0).contains(&tai), "{tai}");
        for name in counters {
            assert!(value(&s, name) >= 0.0, "{name}");
        }
    }
}
