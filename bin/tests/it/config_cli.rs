//! The portal's configuration as a new user meets it: what a first run contacts (nobody),
//! what `--check-config` says, and how a file with several mistakes is refused.

use std::process::Output;

use kitestacks_core::{Config, WeatherProviderKind};

use crate::cli::portal_bin;
use crate::http::{call, portal};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// With the embedded default both upstream routes answer 503 `not_configured`, saying
/// which key turns them on, and every service's status is unknown: nothing was asked.
#[tokio::test]
async fn the_embedded_default_asks_no_upstream() {
    let p = portal(None);
    for (path, hint) in [
        ("/api/activity", "set [forgejo] url to show recent commits"),
        ("/api/weather", "set [weather] location to show the weather"),
    ] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 503, "{path}");
        assert_eq!(r.error_code(), "not_configured", "{path}");
        assert_eq!(r.json()["error"]["message"], hint, "{path}");
    }
    let status = call(&p, "GET", "/api/status", &[]).await.json();
    let services = status["services"].as_array().unwrap();
    assert!(!services.is_empty(), "{status}");
    assert!(services.iter().all(|s| s["state"] == "unknown"), "{status}");
}

#[test]
fn check_config_of_the_embedded_default_says_it_contacts_nobody() {
    let out = portal_bin().arg("--check-config").output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim_end(), Config::default_embedded().summary());
    for line in [
        "<embedded default>: ok: 2 hosts, 23 services on kitestacks.com; listen 127.0.0.1:8000",
        "  source     the embedded default (no --config FILE or KITESTACKS_CONFIG): a demo that contacts nobody",
        "  probes     off — set [status] enabled = true to turn on (17 services have a probe)",
        "  forgejo    off — set [forgejo] url to turn on",
        "  weather    off — set [weather] location to turn on",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "{line:?} not in\n{stdout}"
        );
    }
}

/// The summary of a file: its path, the listen address a `--listen` beside it puts in
/// effect, the upstreams (the Forgejo URL without its credentials), the probes and
/// their interval, and the static and web-config paths.
#[test]
fn check_config_of_a_file_says_what_matters() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("site")).unwrap();
    std::fs::write(dir.path().join("web.yml"), "").unwrap();
    let file = dir.path().join("lab.toml");
    std::fs::write(
        &file,
        r#"
[homelab]
base_domain = "lab.example"

[server]
listen = "127.0.0.1:8000"
static_dir = "site"
web_config = "web.yml"

[forgejo]
url = "https://bot:hunter2@git.lab.example/"

[weather]
location = "Lisbon"
refresh = "30m"

[status]
interval = "1m"

[[hosts]]
name = "nas"
role = "home"

[[services]]
id = "git"
name = "Git"
subdomain = "git"
category = "apps"
hosts = ["nas"]
auth = "oidc"
visibility = "public"
probe = { path = "/api/healthz" }

[[services]]
id = "photos"
name = "Photos"
subdomain = "photos"
category = "apps"
hosts = ["nas"]
auth = "own-login"
visibility = "public"
probe = {}

[[services]]
id = "backup"
name = "Backup"
category = "infrastructure"
hosts = ["nas"]
auth = "none"
visibility = "internal"
"#,
    )
    .unwrap();
    let out = portal_bin()
        .args(["--check-config", "--listen", ":9000", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let path = file.display();
    let dir = dir.path().display();
    assert_eq!(
        stdout,
        format!(
            "{path}: ok: 1 hosts, 3 services on lab.example; listen [::]:9000
  source     file {path}
  probes     2 services every 1m, 8 at once
  forgejo    https://git.lab.example/ every 1m, no token (public repositories only)
  weather    wttr \"Lisbon\" every 30m (https://wttr.in)
  fleet      off — set [fleet] prometheus_url to turn on
  static_dir {dir}/site
  web_config {dir}/web.yml
  cors       off
  timeouts   header_read 10s, idle 1m, write 10s
"
        )
    );
    assert!(!stdout.contains("hunter2"));
}

/// Every mistake of a file in one run, each with its line and the line quoted.
#[test]
fn check_config_reports_every_mistake_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[server]\nlisen = \"127.0.0.1:1\"\nidle_timeout = \"0s\"\n\n[wether]\nlocation = \"Lisbon\"\n",
    )
    .unwrap();
    let out = portal_bin()
        .args(["--check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let path = file.display();
    assert_eq!(
        stderr,
        format!(
            "kitestacks-portal: invalid configuration: {path}: 3 problems:
  - {path}:2:1: server: unknown key `lisen`, did you mean `listen`?
      | lisen = \"127.0.0.1:1\"
  - {path}:3:16: server.idle_timeout: \"0s\" is impossible (must be more than 0 and at most 5m)
      | idle_timeout = \"0s\"
  - {path}:5:2: wether: unknown section `wether`, did you mean `weather`?
      | [wether]
"
        )
    );
}

/// The configuration names the providers' public services for the summary and the
/// start-up log; they are the weather crate's own defaults.
#[test]
fn the_weather_providers_default_urls_agree_with_the_weather_crate() {
    assert_eq!(
        WeatherProviderKind::Wttr.default_base_url(),
        kitestacks_weather::WttrProvider::DEFAULT_BASE_URL
    );
    assert_eq!(
        WeatherProviderKind::OpenMeteo.default_base_url(),
        kitestacks_weather::OpenMeteoProvider::DEFAULT_BASE_URL
    );
}
