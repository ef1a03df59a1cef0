//! `[fleet]`: off without the section, on with a Prometheus URL; its secrets come from a
//! file or the environment only and never print.

use kitestacks_core::{Config, FleetAuth};

const HOSTS: &str = r#"
[[hosts]]
name = "monk"
role = "home"

[[hosts]]
name = "kscloud1"
role = "cloud"
"#;

fn load(fleet: &str, env: &[(&str, &str)]) -> Result<Config, String> {
    let text = format!("{HOSTS}\n{fleet}");
    let lookup = |k: &str| {
        env.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    };
    Config::from_toml_with_env(&text, "<test>", None, &lookup).map_err(|e| e.to_string())
}

#[test]
fn without_the_section_the_fleet_is_off_and_contacts_nobody() {
    let c = load("", &[]).unwrap();
    assert!(c.fleet.is_none());
    assert!(Config::default_embedded().fleet.is_none());
    assert!(Config::default_embedded().contacts().is_empty());
}

#[test]
fn a_prometheus_url_turns_it_on_with_the_documented_defaults() {
    let c = load(
        "[fleet]\nprometheus_url = \"http://127.0.0.1:9090/\"\nthis_host = \"monk\"\n\
         [fleet.hosts]\nmonk = \"monk:9100\"\n",
        &[],
    )
    .unwrap();
    let f = c.fleet.as_ref().unwrap();
    assert_eq!(f.host_label, "instance");
    assert_eq!(f.selector, "");
    assert_eq!(f.timeout.as_secs(), 5);
    assert_eq!(f.refresh.as_secs(), 15);
    assert_eq!(f.auth, None);
    assert_eq!(f.this_host.as_deref(), Some("monk"));
    assert_eq!(f.hosts.get("monk").map(String::as_str), Some("monk:9100"));
    let contact = c.contacts().pop().unwrap();
    assert_eq!(contact.what, "fleet (Prometheus query API)");
    assert_eq!(contact.url.as_str(), "http://127.0.0.1:9090/");
    assert!(
        c.summary().contains(
            "\n  fleet      http://127.0.0.1:9090/ every 15s, hosts by label \"instance\""
        )
    );
}

#[test]
fn credentials_come_from_the_environment_or_a_file_and_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "from-the-file\n").unwrap();
    let with_file = format!(
        "[fleet]\nprometheus_url = \"http://127.0.0.1:9090/\"\ntoken_file = {:?}\n",
        file.display().to_string()
    );
    let c = load(&with_file, &[]).unwrap();
    let auth = c.fleet.as_ref().unwrap().auth.clone().unwrap();
    assert!(matches!(&auth, FleetAuth::Bearer(t) if t.expose() == "from-the-file"));
    assert!(!format!("{c:?}").contains("from-the-file"));
    let c = load(&with_file, &[("KITESTACKS_FLEET_TOKEN", "from-env")]).unwrap();
    assert!(
        matches!(c.fleet.unwrap().auth, Some(FleetAuth::Bearer(t)) if t.expose() == "from-env"),
        "the environment wins over the file"
    );

    let basic = "[fleet]\nprometheus_url = \"http://127.0.0.1:9090/\"\nusername = \"portal\"\n";
    let c = load(basic, &[("KITESTACKS_FLEET_PASSWORD", "pw")]).unwrap();
    assert!(matches!(
        c.fleet.unwrap().auth,
        Some(FleetAuth::Basic { username, password }) if username == "portal" && password.expose() == "pw"
    ));
    let both = load(
        basic,
        &[
            ("KITESTACKS_FLEET_PASSWORD", "pw"),
            ("KITESTACKS_FLEET_TOKEN", "t"),
        ],
    )
    .unwrap_err();
    assert!(
        both.contains("fleet.token_file: set either a bearer token or basic auth (username and password), not both"),
        "{both}"
    );
    let password_only = load(
        "[fleet]\nprometheus_url = \"http://127.0.0.1:9090/\"\n",
        &[("KITESTACKS_FLEET_PASSWORD", "pw")],
    )
    .unwrap_err();
    assert!(
        password_only.contains("fleet.username: is required with a password"),
        "{password_only}"
    );
    let missing_url = load("[fleet]\nhost_label = \"host\"\n", &[]).unwrap_err();
    assert!(
        missing_url.contains("fleet.prometheus_url: is required in [fleet]"),
        "{missing_url}"
    );
}
