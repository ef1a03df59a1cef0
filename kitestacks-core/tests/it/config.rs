//! The embedded default and loading files.

use std::io::Write;

use kitestacks_core::api::ServicesResponse;
use kitestacks_core::{
    AuthMethod, Category, Config, ConfigError, DEFAULT_CONFIG_TOML, HostRole, ProbeMethod,
    Visibility,
};

#[test]
fn the_default_config_parses_and_validates() {
    let c = Config::from_toml(DEFAULT_CONFIG_TOML, "<embedded default>", None).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8000");
    assert_eq!(c.homelab.base_domain.as_deref(), Some("kitestacks.com"));
    let hosts: Vec<_> = c
        .registry
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.role))
        .collect();
    assert_eq!(
        hosts,
        [("monk", HostRole::Home), ("kscloud1", HostRole::Cloud)]
    );
    assert!(
        c.server.cors_allow_origins.is_empty(),
        "CORS is off by default"
    );
    assert_eq!(c, Config::default_embedded());
}

#[test]
fn the_default_has_the_eleven_public_services_on_the_base_domain() {
    let c = Config::default_embedded();
    let public: Vec<(&str, &str)> = c
        .registry
        .services
        .iter()
        .filter(|s| s.visibility == Visibility::Public)
        .map(|s| (s.name.as_str(), s.url.as_ref().unwrap().as_str()))
        .collect();
    assert_eq!(
        public,
        [
            ("Portal", "https://www.kitestacks.com/"),
            ("Authentik", "https://auth.kitestacks.com/"),
            ("Forgejo", "https://gitforge.kitestacks.com/"),
            ("Open WebUI", "https://ai.kitestacks.com/"),
            ("Karakeep", "https://links.kitestacks.com/"),
            ("Kavita", "https://kavita.kitestacks.com/"),
            ("Grafana", "https://grafana.kitestacks.com/"),
            ("Uptime Kuma", "https://status.kitestacks.com/"),
            ("BookStack", "https://wiki.kitestacks.com/"),
            ("OSTicket", "https://tasks.kitestacks.com/"),
            ("Portainer", "https://portainer.kitestacks.com/"),
        ]
    );
    let internal: Vec<&str> = c
        .registry
        .services
        .iter()
        .filter(|s| s.visibility == Visibility::Internal)
        .map(|s| s.id.as_str())
        .collect();
    for id in [
        "cloudflared",
        "prometheus",
        "node-exporter",
        "blackbox-exporter",
        "litellm",
        "portal-api",
        "ntfy",
        "flux",
        "authentik-worker",
        "authentik-ldap",
        "postgresql",
        "redis",
    ] {
        assert!(internal.contains(&id), "internal service {id} missing");
    }
    // Flux is the homelab's GitOps controller (it deploys what lands in Forgejo), not an
    // application a visitor opens.
    let flux = c.registry.service("flux").unwrap();
    assert_eq!(flux.category, Category::Infrastructure);
    assert!(flux.description.contains("GitOps"), "{}", flux.description);
    let grafana = c.registry.service("grafana").unwrap();
    assert_eq!(grafana.category, Category::Monitoring);
    assert_eq!(grafana.auth, AuthMethod::Oidc);
    let probe = grafana.probe.as_ref().unwrap();
    assert_eq!(
        probe.url.as_ref().unwrap().as_str(),
        "https://grafana.kitestacks.com/api/health"
    );
    assert_eq!(probe.method, ProbeMethod::Get);
    assert!(probe.accepts(200) && !probe.accepts(302));
    let kuma = c
        .registry
        .service("status")
        .unwrap()
        .probe
        .as_ref()
        .unwrap();
    assert!(kuma.accepts(302) && kuma.accepts(401) && kuma.accepts(403) && !kuma.accepts(500));
    assert_eq!(kuma.timeout_ms, 5000);
    assert!(kuma.tls_verify);
}

#[test]
fn the_base_domain_is_set_once_for_every_public_url_and_probe_path() {
    let text = DEFAULT_CONFIG_TOML.replace(
        "base_domain = \"kitestacks.com\"",
        "base_domain = \"lab.example.org\"",
    );
    let c = Config::from_toml(&text, "<test>", None).unwrap();
    for s in c
        .registry
        .services
        .iter()
        .filter(|s| s.visibility == Visibility::Public)
    {
        let url = s.url.as_ref().unwrap();
        assert!(
            url.host_str().unwrap().ends_with(".lab.example.org"),
            "{url}"
        );
        let url = s.probe.as_ref().unwrap().url.as_ref().unwrap();
        assert!(
            url.host_str().unwrap().ends_with(".lab.example.org"),
            "{url}"
        );
    }
}

#[test]
fn services_response_lists_categories_in_page_order() {
    let body =
        serde_json::to_value(ServicesResponse::from_config(&Config::default_embedded())).unwrap();
    let cats: Vec<&str> = body["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(cats, ["identity", "infrastructure", "monitoring", "apps"]);
    let cloudflared = body["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "cloudflared")
        .unwrap();
    assert_eq!(cloudflared["url"], serde_json::Value::Null);
    assert_eq!(cloudflared["probe"], serde_json::Value::Null);
    assert_eq!(cloudflared["auth"], "none");
    assert_eq!(
        body["services"][0]["probe"]["accept_status"][0]["from"],
        200
    );
}

#[test]
fn a_minimal_file_takes_defaults_for_left_out_sections() {
    let c = Config::from_toml("[server]\nlisten = \"0.0.0.0:9000\"\n", "<test>", None).unwrap();
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:9000");
    assert!(c.registry.services.is_empty());
    assert_eq!(c.server.header_read_timeout.as_secs(), 10);
}

/// A file that leaves a key out gets a neutral default, never the author's domain,
/// location or Forgejo; the built-in defaults contain none of them.
#[test]
fn a_file_that_leaves_keys_out_inherits_nothing_of_the_authors() {
    let c = Config::from_toml("", "<test>", None).unwrap();
    assert_eq!(c.homelab.base_domain, None);
    assert_eq!(c.homelab.name, "kitestacks");
    assert_eq!(c.forgejo.url, None);
    assert_eq!(c.weather.location, None);
    assert_eq!(c.weather.base_url, None);
    assert!(c.contacts().is_empty(), "{:?}", c.contacts());
    let shown = format!("{c:?}").to_lowercase();
    for author in ["kitestacks.com", "berlin", "gitforge", "52.52"] {
        assert!(!shown.contains(author), "{author} in {shown}");
    }
}

/// Every URL the portal would request with this configuration (probes when `[status]`
/// is on, Forgejo when it has a url, the weather provider when it has a location),
/// read from the fields themselves rather than through `Config::contacts`.
fn requested(c: &Config) -> Vec<url::Url> {
    let mut urls = Vec::new();
    if c.status.enabled {
        urls.extend(
            c.registry
                .services
                .iter()
                .filter_map(|s| s.probe.as_ref().and_then(|p| p.url.clone())),
        );
    }
    urls.extend(c.forgejo.url.clone());
    if c.weather.location.is_some() {
        urls.push(
            c.weather
                .base_url
                .clone()
                .unwrap_or_else(|| c.weather.provider.default_base_url().parse().unwrap()),
        );
    }
    urls
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[test]
fn a_first_run_contacts_nobody() {
    let c = Config::default_embedded();
    assert!(!c.status.enabled, "probes are off in the embedded default");
    assert_eq!(
        c.forgejo.url, None,
        "forgejo is off in the embedded default"
    );
    assert_eq!(
        c.weather.location, None,
        "weather is off in the embedded default"
    );
    let beyond: Vec<_> = requested(&c)
        .into_iter()
        .filter(|u| !is_loopback(u))
        .collect();
    assert!(
        beyond.is_empty(),
        "the embedded default contacts {beyond:?}"
    );
    assert_eq!(c.contacts(), []);
    // The demo is still complete: every host and service, with their probes.
    assert_eq!(c.registry.hosts.len(), 2);
    assert_eq!(c.registry.services.len(), 23);
    assert_eq!(
        c.registry
            .services
            .iter()
            .filter(|s| s.probe.is_some())
            .count(),
        17
    );
}

/// The embedded default's comments say how to turn each upstream on, and doing just
/// that turns it on.
#[test]
fn the_default_says_how_to_turn_each_upstream_on() {
    let on = DEFAULT_CONFIG_TOML
        .replace(
            "# url = \"https://git.example.com/\"",
            "url = \"https://git.example.com/\"",
        )
        .replace("# location = \"Berlin\"", "location = \"Berlin\"")
        .replace("enabled = false", "enabled = true");
    let c = Config::from_toml(&on, "<test>", None).unwrap();
    let what: Vec<String> = c.contacts().into_iter().map(|c| c.what).collect();
    assert_eq!(what.len(), 17 + 2, "{what:?}");
    assert_eq!(what[0], "probe of service \"portal\"");
    assert_eq!(what[17..], ["forgejo", "weather (wttr)"]);
    let weather = c.contacts().pop().unwrap();
    assert_eq!(weather.url.as_str(), "https://wttr.in/");
    assert_eq!(weather.every.as_secs(), 900);
}

/// `examples/deploy/kitestacks.toml` is the homelab's live configuration: everything on.
#[test]
fn the_deploy_example_is_the_live_homelab() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/deploy/kitestacks.toml");
    // The container's mounts of the host's trees, back at this machine's own.
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("\"/host/proc\"", "\"/proc\"")
        .replace("\"/host/sys\"", "\"/sys\"")
        .replace("\"/host/root\"", "\"/\"");
    let c = Config::from_toml(&text, "<deploy>", None).unwrap();
    assert_eq!(c.homelab.base_domain.as_deref(), Some("kitestacks.com"));
    assert!(c.status.enabled);
    assert_eq!(
        c.forgejo.url.as_ref().map(|u| u.as_str()),
        Some("https://gitforge.kitestacks.com/")
    );
    assert_eq!(c.weather.location.as_deref(), Some("Berlin"));
    let fleet = c
        .fleet
        .as_ref()
        .expect("the deploy example reads both hosts");
    assert_eq!(
        fleet.hosts.len(),
        c.registry.hosts.len(),
        "every host mapped"
    );
    assert_eq!(c.registry, Config::default_embedded().registry);
}

#[test]
fn check_config_summary_says_what_the_portal_will_contact() {
    let c = Config::default_embedded();
    assert_eq!(
        c.summary(),
        "<embedded default>: ok: 2 hosts, 23 services on kitestacks.com; listen 127.0.0.1:8000
  source     the embedded default (no --config FILE or KITESTACKS_CONFIG): a demo that contacts nobody
  probes     off — set [status] enabled = true to turn on (17 services have a probe)
  forgejo    off — set [forgejo] url to turn on
  weather    off — set [weather] location to turn on
  fleet      off — set [fleet] prometheus_url to turn on
  static_dir none (the embedded page is served at /)
  web_config none (plain HTTP, no basic auth)
  cors       off
  timeouts   header_read 10s, idle 1m, write 10s"
    );
    let text = r#"
[forgejo]
url = "https://ci:s3cret@git.example.com/?token=abc"
refresh = "2m"

[weather]
provider = "open-meteo"
location = "52.52,13.41"
base_url = "http://127.0.0.1:9/meteo"

[status]
interval = "45s"
concurrency = 4

[[hosts]]
name = "h"
role = "home"

[[services]]
id = "a"
name = "A"
url = "http://192.168.1.5:3000/"
category = "apps"
hosts = ["h"]
auth = "none"
visibility = "internal"
probe = {}
"#;
    let c = Config::from_toml(text, "lab.toml", None).unwrap();
    let summary = c.summary();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(
        lines[0],
        "lab.toml: ok: 1 hosts, 1 services; listen 127.0.0.1:8000"
    );
    assert_eq!(lines[1], "  source     file lab.toml");
    assert_eq!(lines[2], "  probes     1 service every 45s, 4 at once");
    assert_eq!(
        lines[3],
        "  forgejo    https://git.example.com/?token=REDACTED every 2m, no token (public repositories only)"
    );
    assert_eq!(
        lines[4],
        "  weather    open-meteo \"52.52,13.41\" every 15m (http://127.0.0.1:9/meteo)"
    );
    assert!(!summary.contains("s3cret"), "{summary}");
}

#[test]
fn load_reads_a_file_and_resolves_static_dir_and_web_config_next_to_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("site")).unwrap();
    std::fs::write(dir.path().join("web.yml"), "").unwrap();
    let path = dir.path().join("kitestacks.toml");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(
        f,
        "[server]\nstatic_dir = \"site\"\nweb_config = \"web.yml\"\ncors_allow_origins = [\"*\"]"
    )
    .unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(
        c.server.static_dir.as_deref(),
        Some(dir.path().join("site").as_path())
    );
    assert_eq!(
        c.server.web_config.as_deref(),
        Some(dir.path().join("web.yml").as_path())
    );
    assert_eq!(c.origin, path.display().to_string());
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let err = Config::load(std::path::Path::new("/nonexistent/kitestacks.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string().contains("/nonexistent/kitestacks.toml"),
        "{err}"
    );
}

#[test]
fn the_forgejo_token_comes_from_the_environment_or_a_file_and_is_redacted() {
    use kitestacks_core::FORGEJO_TOKEN_ENV;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "file-token-123\n").unwrap();
    let text = "[forgejo]\nurl = \"https://git.example.com/\"\ntoken_file = \"token\"\n";
    let none = |_: &str| None;
    let c = Config::from_toml_with_env(text, "<test>", Some(dir.path()), &none).unwrap();
    assert_eq!(c.forgejo.token.as_ref().unwrap().expose(), "file-token-123");
    let env = |k: &str| (k == FORGEJO_TOKEN_ENV).then(|| "env-token-456".to_owned());
    let c = Config::from_toml_with_env(text, "<test>", Some(dir.path()), &env).unwrap();
    assert_eq!(c.forgejo.token.as_ref().unwrap().expose(), "env-token-456");
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("env-token-456") && !shown.contains("file-token"),
        "Debug redacts the token"
    );
}

#[test]
fn private_repositories_stay_out_of_activity_unless_opted_in() {
    assert!(!Config::default_embedded().forgejo.include_private);
    let text = "[forgejo]\nurl = \"https://git.example.com/\"\ninclude_private = true\n";
    let c = Config::from_toml(text, "<t>", None).unwrap();
    assert!(c.forgejo.include_private);
}

#[test]
fn service_and_probe_urls_may_carry_credentials_and_are_published_redacted() {
    let text = r#"
[homelab]
name = "t"
base_domain = "example.com"

[[hosts]]
name = "h"
role = "home"
description = "d"

[[services]]
id = "grafana"
name = "Grafana"
url = "https://admin:hunter2@grafana.example.com/?orgId=1&auth_token=s3cret"
category = "monitoring"
description = "d"
container = "grafana"
hosts = ["h"]
auth = "own-login"
visibility = "public"
probe = { url = "https://probe:pr0be@grafana.example.com/api/health?key=k3y" }
"#;
    let c = Config::from_toml(text, "<t>", None).unwrap();
    let s = c.registry.service("grafana").unwrap();
    // The typed values keep the credentials: the prober uses them.
    assert_eq!(s.url.as_ref().unwrap().password(), Some("hunter2"));
    assert_eq!(
        s.probe.as_ref().unwrap().url.as_ref().unwrap().query(),
        Some("key=k3y")
    );
    let json =
        serde_json::to_string(&kitestacks_core::api::ServicesResponse::from_config(&c)).unwrap();
    for secret in ["admin", "hunter2", "s3cret", "probe:", "pr0be", "k3y"] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
    assert!(
        json.contains(r#""url":"https://grafana.example.com/?orgId=REDACTED&auth_token=REDACTED""#),
        "{json}"
    );
    assert!(
        json.contains(r#""url":"https://grafana.example.com/api/health?key=REDACTED""#),
        "{json}"
    );
}

#[test]
fn upstream_settings_are_read() {
    let c = Config::default_embedded();
    assert_eq!(c.forgejo.refresh.as_secs(), 60);
    assert_eq!(c.weather.refresh.as_secs(), 900);
    let c = Config::from_toml(
        "[weather]\nprovider = \"open-meteo\"\nlocation = \"52.52, 13.41\"\n",
        "<t>",
        None,
    )
    .unwrap();
    assert_eq!(c.weather.location.as_deref(), Some("52.52, 13.41"));
}

/// The example in the README's configuration reference is a valid file, and it contacts
/// what the reference says: the probes (the internal one on loopback, from the server),
/// Forgejo and the weather.
#[test]
fn the_readmes_configuration_example_is_valid() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    let section = &readme[readme.find("## Configuration reference").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let c = Config::from_toml(example, "README.md", None).unwrap();
    let contacts: Vec<(String, String)> = c
        .contacts()
        .into_iter()
        .map(|c| (c.what, c.url.to_string()))
        .collect();
    assert_eq!(
        contacts,
        [
            (
                "probe of service \"git\"".to_owned(),
                "https://git.example.org/api/healthz".to_owned()
            ),
            (
                "probe of service \"prometheus\"".to_owned(),
                "http://127.0.0.1:9090/-/healthy".to_owned()
            ),
            ("forgejo".to_owned(), "https://git.example.org/".to_owned()),
            ("weather (wttr)".to_owned(), "https://wttr.in/".to_owned()),
        ]
    );
}

#[test]
fn history_file_is_relative_to_the_configuration_and_may_not_exist_yet() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "[history]\nfile = \"state/history.bin\"\nmax_series = 64\n\n[events]\nmax_streams = 5\n";
    std::fs::create_dir(dir.path().join("state")).unwrap();
    let c = Config::from_toml(text, "lab.toml", Some(dir.path())).unwrap();
    assert_eq!(c.history.file, Some(dir.path().join("state/history.bin")));
    assert_eq!(c.history.max_series, 64);
    assert_eq!(
        c.history.snapshot_interval,
        std::time::Duration::from_secs(300)
    );
    assert_eq!(c.events.max_streams, 5);
    assert_eq!(c.events.keepalive, std::time::Duration::from_secs(15));
    let d = Config::default_embedded();
    assert_eq!(
        (
            d.history.file.clone(),
            d.history.max_series,
            d.events.max_streams
        ),
        (None, 384, 1000)
    );
}
