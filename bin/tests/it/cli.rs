//! The `kitestacks-portal` binary's flags and exit codes.

use std::process::Command;

use kitestacks_core::DEFAULT_CONFIG_TOML;

fn portal_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kitestacks-portal"));
    c.env_remove("KITESTACKS_CONFIG");
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
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kitestacks-portal"))
            .args(["--check-config", "--listen", form])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{form}: {text}");
        assert!(text.contains(&format!("listen {shown}")), "{form}: {text}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kitestacks-portal"))
        .args(["--check-config", "--listen", ":eighty"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a socket address"));
}
