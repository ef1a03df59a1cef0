//! The binaries' flags and exit codes: `kitestacks-portal`'s, and `kitestacks-exporter`'s
//! refusal of flags node_exporter does not know and its `--help`.

use std::process::Command;

use kitestacks_core::DEFAULT_CONFIG_TOML;

/// `kitestacks-portal`, without the configuration and token this shell may have set.
pub(crate) fn portal_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kitestacks-portal"));
    c.env_remove("KITESTACKS_CONFIG")
        .env_remove("KITESTACKS_FORGEJO_TOKEN");
    c
}

#[test]
fn print_default_config_prints_the_embedded_default() {
    let out = portal_bin().arg("--print-default-config").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), DEFAULT_CONFIG_TOML);
}

#[test]
fn check_config_accepts_the_default_and_a_good_file() {
    let out = portal_bin().arg("--check-config").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("<embedded default>: ok: 2 hosts, 23 services")
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.toml");
    std::fs::write(&file, DEFAULT_CONFIG_TOML).unwrap();
    let out = portal_bin()
        .args(["--check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_refuses_a_bad_file_with_exit_2_and_the_messages() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"nope\"\nheader_read_timeout = \"0s\"\n",
    )
    .unwrap();
    // named by the environment variable this time
    let out = portal_bin()
        .arg("--check-config")
        .env("KITESTACKS_CONFIG", &file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.listen: \"nope\" is not a socket address"),
        "{err}"
    );
    assert!(
        err.contains("server.header_read_timeout: \"0s\" is impossible"),
        "{err}"
    );
    assert!(err.contains(&file.display().to_string()), "{err}");
}

#[test]
fn a_syntax_error_reports_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:1\"\nmax_connections = \"many\"\n",
    )
    .unwrap();
    let out = portal_bin()
        .args(["--check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:19:", file.display())), "{err}");
    assert!(err.contains("max_connections = \"many\""), "{err}");
}

#[test]
fn a_missing_config_file_is_exit_2() {
    let out = portal_bin()
        .args(["--check-config", "--config", "/nonexistent/k.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/k.toml"));
}

/// Both binaries take the same listen-address forms: the portal's `--listen :8123` works
/// as the exporter's `--web.listen-address=:9100` does.
#[test]
fn the_portal_takes_the_exporters_listen_address_forms() {
    for (form, shown) in [
        (":8123", "[::]:8123"),
        ("localhost:8123", "127.0.0.1:8123"),
        ("127.0.0.1:8123", "127.0.0.1:8123"),
    ] {
        let out = portal_bin()
            .args(["--check-config", "--listen", form])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{form}: {text}");
        assert!(text.contains(&format!("listen {shown}")), "{form}: {text}");
    }
    let out = portal_bin()
        .args(["--check-config", "--listen", ":eighty"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a socket address"));
}

fn exporter_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kitestacks-exporter"));
    c.env_remove("RUST_LOG");
    c
}

/// A flag node_exporter does not know stops the exporter before it starts, with a usage
/// error naming each such flag and the nearest known one, as node_exporter refuses it.
#[test]
fn the_exporter_refuses_a_flag_node_exporter_does_not_know_with_a_suggestion() {
    let out = exporter_bin()
        .args([
            "--web.listen-address=127.0.0.1:0",
            "--collector.cpuu",
            "--collector.filesystem.mount-point-exclude=^/x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "error: unknown long flag '--collector.cpuu', did you mean '--collector.cpu'?\n\
             unknown long flag '--collector.filesystem.mount-point-exclude', did you mean \
             '--collector.filesystem.mount-points-exclude'?\n"
        ),
        "{err}"
    );
    assert!(err.contains("For more information, try '--help'."), "{err}");
    assert!(out.stdout.is_empty());
}

/// `--help` lists the collectors in kingpin's `--[no-]` form with their defaults, and
/// the ignored ones apart.
#[test]
fn the_exporters_help_shows_the_collector_switches() {
    let out = exporter_bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.lines()
            .any(|l| l.trim_start().starts_with("--[no-]collector.cpu ")
                && l.ends_with("Enable the cpu collector [default: enabled]")),
        "{help}"
    );
    assert!(
        help.lines()
            .any(|l| l.trim_start().starts_with("--[no-]collector.zoneinfo ")
                && l.ends_with("Enable the zoneinfo collector [default: disabled]")),
        "{help}"
    );
    let (_, ignored) = help
        .split_once("Known to node_exporter but not implemented here")
        .unwrap();
    assert!(ignored.contains("--[no-]collector.systemd"), "{ignored}");
    assert!(
        ignored.contains("--collector.systemd.unit-include"),
        "{ignored}"
    );
}
