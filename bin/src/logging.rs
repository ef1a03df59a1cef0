//! The logging setup of both binaries: node_exporter's log lines on stderr, logfmt or JSON.
//!
//! node_exporter 1.x logs through Go's `log/slog` as prometheus/common's `promslog` sets
//! it up, and log pipelines parse those lines. Both binaries write the same lines, in
//! one format for the house:
//!
//! ```text
//! time=2026-12-03T10:00:00.000Z level=INFO source=exporter/mod.rs:312 msg="listening" address=[::]:9100 tls=false
//! {"time":"2026-12-03T10:00:00.123456Z","level":"INFO","source":"exporter/mod.rs:312","msg":"listening","address":"[::]:9100","tls":false}
//! ```
//!
//! As slog's handlers write them: the keys `time`, `level`, `source`, `msg`, then the
//! event's fields in order (one named like a built-in key gets promslog's `logged_`
//! prefix); levels `DEBUG`, `INFO`, `WARN`, `ERROR`; in logfmt the time in RFC 3339 with
//! milliseconds, a value quoted (Go's `strconv.Quote`) when it is empty or holds a space,
//! `=`, `"` or a control character; in JSON the time with up to nanoseconds, numbers and
//! booleans unquoted. Two differences: the time is in UTC (slog writes the local zone,
//! which is UTC in most containers), and `source` is the file below its crate's `src/`
//! (`exporter/mod.rs:312`), since Rust files are often called `mod.rs` where Go's base
//! name would do. Span fields are not written (no span is opened).

use std::fmt::Write as _;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The log line formats, node_exporter's `--log.format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `key=value` pairs, slog's `TextHandler` (the default).
    Logfmt,
    /// One JSON object per line, slog's `JSONHandler`.
    Json,
}

/// Sets up the portal's logs: logfmt on stderr; the level comes from `RUST_LOG` (default
/// `info`).
pub fn init_portal() {
    init("info", Format::Logfmt);
}

/// Sets up the exporter's logs from node_exporter's `--log.level` and `--log.format`
/// (`json`, else logfmt). `RUST_LOG`, when set, overrides the level.
pub fn init_exporter(level: &str, format: &str) {
    let format = if format == "json" {
        Format::Json
    } else {
        Format::Logfmt
    };
    init(level, format);
}

/// Logs on stderr in `format`, at `level` unless `RUST_LOG` says otherwise.
fn init(level: &str, format: Format) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(Promslog::new(format))
        .init();
}

/// The [`FormatEvent`] writing promslog's lines.
#[derive(Debug, Clone)]
pub struct Promslog {
    format: Format,
    clock: fn() -> SystemTime,
}

impl Promslog {
    /// Lines in `format`, stamped with the current time.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            clock: SystemTime::now,
        }
    }

    /// Lines stamped by `clock` instead (for tests).
    pub fn with_clock(self, clock: fn() -> SystemTime) -> Self {
        Self { clock, ..self }
    }
}

impl<S, N> FormatEvent<S, N> for Promslog
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = (self.clock)();
        let mut line = Line::new(self.format);
        line.text("time", &timestamp(now, self.format));
        line.text("level", level(*meta.level()));
        if let (Some(file), Some(number)) = (meta.file(), meta.line()) {
            line.text("source", &format!("{}:{number}", source_file(file)));
        }
        line.text("msg", &fields.message);
        for (key, value) in &fields.pairs {
            let key = match *key {
                "time" | "level" | "source" | "msg" => format!("logged_{key}"),
                k => k.to_owned(),
            };
            match value {
                Value::Text(t) => line.text(&key, t),
                Value::Raw(r) => line.raw(&key, r),
            }
        }
        writeln!(writer, "{}", line.finish())
    }
}

/// slog's level names (a `TRACE` event, which slog has no level for, says so).
fn level(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// A source file as written in `source`: the path below its crate's `src/`.
fn source_file(file: &str) -> &str {
    file.rsplit_once("src/").map_or(file, |(_, below)| below)
}

/// `now` in UTC as slog writes it: RFC 3339 with milliseconds in logfmt
/// (`2026-12-03T10:00:00.000Z`), with up to nanoseconds and no trailing zeros in JSON
/// (Go's `RFC3339Nano`: `2026-12-03T10:00:00.1234Z`, `2026-12-03T10:00:00Z`).
fn timestamp(now: SystemTime, format: Format) -> String {
    match format {
        Format::Logfmt => humantime::format_rfc3339_millis(now).to_string(),
        Format::Json => {
            let nanos = humantime::format_rfc3339_nanos(now).to_string();
            match nanos.strip_suffix('Z').and_then(|t| t.split_once('.')) {
                Some((seconds, fraction)) => match fraction.trim_end_matches('0') {
                    "" => format!("{seconds}Z"),
                    fraction => format!("{seconds}.{fraction}Z"),
                },
                None => nanos,
            }
        }
    }
}

/// A field's value: text, or a number or boolean (unquoted in JSON).
#[derive(Debug, PartialEq)]
enum Value {
    Text(String),
    Raw(String),
}

/// The message and the other fields of an event, in order.
#[derive(Debug, Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, Value)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        match (field.name(), value) {
            ("message", Value::Text(t) | Value::Raw(t)) => self.message = t,
            (name, value) => self.pairs.push((name, value)),
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, Value::Text(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Text(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, Value::Text(value.to_string()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinities: slog writes them as strings.
        let value = match value {
            v if v.is_nan() => Value::Text("NaN".into()),
            v if v.is_infinite() => Value::Text(if v > 0.0 { "+Inf" } else { "-Inf" }.into()),
            v => Value::Raw(v.to_string()),
        };
        self.push(field, value);
    }
}

/// One line being written.
struct Line {
    format: Format,
    out: String,
}

impl Line {
    fn new(format: Format) -> Self {
        let out = String::with_capacity(160);
        let mut line = Self { format, out };
        if format == Format::Json {
            line.out.push('{');
        }
        line
    }

    fn separator(&mut self) {
        match self.format {
            Format::Logfmt if !self.out.is_empty() => self.out.push(' '),
            Format::Json if self.out.len() > 1 => self.out.push(','),
            _ => {}
        }
    }

    fn key(&mut self, key: &str) {
        self.separator();
        match self.format {
            Format::Logfmt => logfmt_text(&mut self.out, key),
            Format::Json => json_text(&mut self.out, key),
        }
        self.out.push(if self.format == Format::Json {
            ':'
        } else {
            '='
        });
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        match self.format {
            Format::Logfmt => logfmt_text(&mut self.out, value),
            Format::Json => json_text(&mut self.out, value),
        }
    }

    fn raw(&mut self, key: &str, value: &str) {
        self.key(key);
        self.out.push_str(value);
    }

    fn finish(mut self) -> String {
        if self.format == Format::Json {
            self.out.push('}');
        }
        self.out
    }
}

/// slog's `needsQuoting`: empty, or holding a space, `=`, `"`, an ASCII control
/// character, or a Unicode space or control character. A backslash alone does not.
fn needs_quoting(s: &str) -> bool {
    s.is_empty()
        || s.chars().any(|c| {
            matches!(c, ' ' | '=' | '"')
                || (c.is_ascii() && c.is_ascii_control() && c != '\x7f')
                || (!c.is_ascii() && (c.is_whitespace() || c.is_control()))
        })
}

/// Appends `s` as a logfmt key or value: as is, or quoted and escaped as Go's
/// `strconv.Quote` does.
fn logfmt_text(out: &mut String, s: &str) {
    if !needs_quoting(s) {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() || (!c.is_ascii() && c.is_whitespace()) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `s` as a JSON string.
fn json_text(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        // A `str` always serialises; the arm only keeps this total.
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, UNIX_EPOCH};

    /// 2026-12-03T10:00:00.120Z.
    fn clock() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_796_292_000_120)
    }

    /// The lines `log` writes through a [`Promslog`] subscriber in `format`.
    fn lines(format: Format, log: impl FnOnce()) -> String {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::DEBUG)
            .with_writer(move || Sink(sink.clone()))
            .event_format(Promslog::new(format).with_clock(clock))
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn logfmt_lines_are_slogs_text_handler_lines() {
        let line = std::line!() + 2;
        let text = lines(Format::Logfmt, || {
            tracing::warn!(
                flag = "--collector.ntp.server 127.0.0.1",
                count = 3u64,
                ok = true,
                path = "/metrics",
                "node_exporter flag not implemented; ignored"
            );
        });
        assert_eq!(
            text,
            format!(
                "time=2026-12-03T10:00:00.120Z level=WARN source=logging.rs:{line} \
                 msg=\"node_exporter flag not implemented; ignored\" \
                 flag=\"--collector.ntp.server 127.0.0.1\" count=3 ok=true path=/metrics\n"
            )
        );
    }

    #[test]
    fn json_lines_are_slogs_json_handler_lines() {
        let line = std::line!() + 2;
        let text = lines(Format::Json, || {
            tracing::info!(address = %"[::]:9100", tls = false, n = -1i64, "listening");
        });
        assert_eq!(
            text,
            format!(
                "{{\"time\":\"2026-12-03T10:00:00.12Z\",\"level\":\"INFO\",\
                 \"source\":\"logging.rs:{line}\",\"msg\":\"listening\",\
                 \"address\":\"[::]:9100\",\"tls\":false,\"n\":-1}}\n"
            )
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["msg"], "listening");
    }

    #[test]
    fn a_field_named_like_a_built_in_key_is_renamed_as_promslog_does() {
        let text = lines(Format::Logfmt, || {
            tracing::error!(level = "high", msg = "x", "m");
        });
        assert!(
            text.ends_with(" msg=m logged_level=high logged_msg=x\n"),
            "{text}"
        );
    }

    #[test]
    fn values_are_quoted_and_escaped_as_slog_does() {
        let quoted = |s: &str| {
            let mut out = String::new();
            logfmt_text(&mut out, s);
            out
        };
        assert_eq!(quoted("plain"), "plain");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("two words"), "\"two words\"");
        assert_eq!(quoted("a=b"), "\"a=b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(
            quoted("C:\\dir"),
            "C:\\dir",
            "a backslash alone is not quoted"
        );
        assert_eq!(quoted("x\\ y"), "\"x\\\\ y\"");
        assert_eq!(quoted("line\nnext\ttab"), "\"line\\nnext\\ttab\"");
        assert_eq!(quoted("bell\x07esc\x1b"), "\"bell\\aesc\\x1b\"");
        assert_eq!(quoted("é"), "é");
        assert_eq!(quoted("nbsp\u{a0}"), "\"nbsp\\u00a0\"");
        assert_eq!(quoted("^/(dev|proc)($|/)"), "^/(dev|proc)($|/)");
    }

    #[test]
    fn json_times_drop_trailing_zeros_as_gos_rfc3339nano() {
        let at = |nanos: u64| timestamp(UNIX_EPOCH + Duration::from_nanos(nanos), Format::Json);
        assert_eq!(at(1_796_292_000_000_000_000), "2026-12-03T10:00:00Z");
        assert_eq!(at(1_796_292_000_123_400_000), "2026-12-03T10:00:00.1234Z");
        assert_eq!(
            at(1_796_292_000_000_000_001),
            "2026-12-03T10:00:00.000000001Z"
        );
        assert_eq!(
            timestamp(clock(), Format::Logfmt),
            "2026-12-03T10:00:00.120Z"
        );
    }

    #[test]
    fn source_is_the_file_below_its_crates_src() {
        assert_eq!(source_file("bin/src/exporter/mod.rs"), "exporter/mod.rs");
        assert_eq!(
            source_file("/home/u/.cargo/registry/src/index/hyper-1.7.0/src/proto/h1/io.rs"),
            "proto/h1/io.rs"
        );
        assert_eq!(source_file("main.rs"), "main.rs");
    }
}
