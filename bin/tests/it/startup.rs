//! What the portal logs at start: the configuration it uses and what it will contact,
//! how often (or that it contacts nobody), URLs without credentials; checked on the
//! start-up lines and on the binary's stderr.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use kitestacks::portal::startup::lines;
use kitestacks_core::Config;

use crate::cli::portal_bin;

fn config(text: &str) -> Config {
    Config::from_toml(text, "<test>", None).unwrap()
}

const NOTHING: &str = "[status]\nenabled = false\n";

#[test]
fn a_configuration_that_turns_everything_off_says_it_contacts_nobody() {
    assert_eq!(
        lines(
            &config(NOTHING),
            Some(Path::new("/etc/kitestacks/portal.toml"))
        ),
        [
            "configuration: /etc/kitestacks/portal.toml",
            "probes: off — set [status] enabled = true to turn on (0 services have a probe)",
            "forgejo: off — set [forgejo] url to turn on",
            "weather: off — set [weather] location to turn on",
            "contacts nobody beyond this machine",
        ]
    );
    let none_probed = config("[[hosts]]\nname = \"monk\"\nrole = \"home\"\n");
    assert_eq!(
        lines(&none_probed, None)[..2],
        [
            "configuration: the embedded default (name a file with --config or KITESTACKS_CONFIG)",
            "probes: on, but no service has a `probe`",
        ]
    );
}

#[test]
fn every_target_is_named_with_its_period_and_without_credentials() {
    let text = "[status]\ninterval = \"2m\"\nconcurrency = 4\n\n\
        [forgejo]\nurl = \"https://bot:hunter2@git.example.org/?token=hunter2\"\nrefresh = \"90s\"\n\n\
        [weather]\nprovider = \"open-meteo\"\nlocation = \"52.52,13.41\"\n\n\
        [[hosts]]\nname = \"monk\"\nrole = \"home\"\n\n\
        [[services]]\nid = \"grafana\"\nname = \"Grafana\"\nurl = \"https://admin:hunter2@grafana.example.org/\"\n\
        category = \"apps\"\nhosts = [\"monk\"]\nauth = \"none\"\nvisibility = \"internal\"\n\
        probe = { path = \"/api/health\", method = \"HEAD\" }\n";
    let got = lines(&config(text), Some(Path::new("k.toml")));
    assert_eq!(
        got,
        [
            "configuration: k.toml",
            "probes: 1 service every 2m, 4 at once",
            "forgejo: https://git.example.org/?token=REDACTED every 1m 30s, no token (public repositories only)",
            "weather: open-meteo \"52.52,13.41\" every 15m (https://api.open-meteo.com)",
            "contacts probe of service \"grafana\": https://grafana.example.org/api/health every 2m",
            "contacts forgejo: https://git.example.org/?token=REDACTED every 90s",
            "contacts weather (open-meteo): https://api.open-meteo.com/ every 15m",
        ]
    );
    assert!(got.iter().all(|l| !l.contains("hunter2")));
}

#[test]
fn the_binary_logs_its_configuration_file_and_what_it_contacts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portal.toml");
    std::fs::write(
        &file,
        format!("[server]\nlisten = \"127.0.0.1:0\"\n\n{NOTHING}"),
    )
    .unwrap();
    let mut child = portal_bin()
        .arg("--config")
        .arg(&file)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let listening = line.contains("listening on");
        seen.push(line);
        if listening {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let info = |text: &str| {
        seen.iter()
            .any(|l| l.contains(" level=INFO ") && l.ends_with(&format!("msg={:?}", text)))
    };
    assert!(
        info(&format!("configuration: {}", file.display())),
        "{seen:#?}"
    );
    assert!(
        info("probes: off — set [status] enabled = true to turn on (0 services have a probe)"),
        "{seen:#?}"
    );
    assert!(info("contacts nobody beyond this machine"), "{seen:#?}");
}
