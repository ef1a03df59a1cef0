//! The logging setup of both binaries: `tracing` events on stderr.

/// Sets up `tracing` logs on stderr; the level comes from `RUST_LOG` (default `info`).
pub fn init_portal() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// Sets up logs for the exporter from node_exporter's `--log.level` and `--log.format`
/// (`logfmt`: one plain line per event; `json`: one JSON object per line). `RUST_LOG`,
/// when set, overrides the level.
pub fn init_exporter(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
