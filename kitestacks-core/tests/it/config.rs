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
    assert_eq!(c.homelab.base_domain, "kitestacks.com");
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
        probe.url.as_str(),
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
        let probe = s.probe.as_ref().unwrap();
        assert!(
            probe.url.host_str().unwrap().ends_with(".lab.example.org"),
            "{}",
            probe.url
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
    assert_eq!(c.homelab.base_domain, "kitestacks.com");
    assert!(c.registry.services.is_empty());
    assert_eq!(c.server.header_read_timeout.as_secs(), 10);
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
    assert_eq!(s.probe.as_ref().unwrap().url.query(), Some("key=k3y"));
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
fn the_default_configures_both_upstreams() {
    let c = Config::default_embedded();
    assert_eq!(
        c.forgejo.url.as_ref().map(|u| u.as_str()),
        Some("https://gitforge.kitestacks.com/")
    );
    assert_eq!(c.forgejo.refresh.as_secs(), 60);
    assert_eq!(c.weather.location.as_deref(), Some("Berlin"));
    assert_eq!(c.weather.refresh.as_secs(), 900);
    let c = Config::from_toml(
        "[weather]\nprovider = \"open-meteo\"\nlocation = \"52.52, 13.41\"\n",
        "<t>",
        None,
    )
    .unwrap();
    assert_eq!(c.weather.location.as_deref(), Some("52.52, 13.41"));
}
