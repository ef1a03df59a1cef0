//! Property tests of the web config (`--web.config.file`, `[server] web_config`): random
//! and mutated YAML (seeded from a config using every key, with real certificate files
//! beside it, and every refused example) never panics, a YAML syntax error names a line of
//! the input, and messages stay proportionate to the input.

use kitestacks::webconfig::WebConfig;
use proptest::prelude::*;

use crate::mutate;
use crate::webconfig::{Pki, setup, tls_yaml};

fn seeds() -> Vec<String> {
    let hash = bcrypt::hash("x", 4).unwrap();
    vec![
        format!(
            "tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: ca.crt
  client_auth_type: RequireAndVerifyClientCert
  client_allowed_sans: [localhost, 127.0.0.1, 'spiffe://x/y']
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: '{hash}'
  \"other\": \"{hash}\"
"
        ),
        tls_yaml("  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n"),
        "basic_auth_users: &users\n  a: b\nhttp_server_config: {headers: {X-Content-Type-Options: nosniff}}\nx: *users\n"
            .to_owned(),
        "---\n# a comment\n{}\n...\n- a list\n".to_owned(),
    ]
}

/// The lines a YAML reader counts: it breaks lines at `\r` too.
fn yaml_lines(text: &str) -> usize {
    text.split(['\n', '\r']).count()
}

proptest! {
    #![proptest_config(mutate::config(128))]

    #[test]
    fn web_config_parse(text in mutate::input(seeds())) {
        let pki = Pki::new();
        let (dir, _) = setup(&pki, "");
        let Err(e) = WebConfig::parse(&text, dir.path()) else { return Ok(()) };
        let message = e.to_string();
        prop_assert!(message.len() <= 16 * text.len() + 4096, "{} bytes of message", message.len());
        if let Some(rest) = message.strip_prefix("not valid YAML: ") {
            let line: usize = rest
                .rsplit_once(" line ")
                .and_then(|(_, l)| l.split(' ').next()?.parse().ok())
                .expect("a YAML error names its line");
            prop_assert!((1..=yaml_lines(&text) + 1).contains(&line), "{message}");
        }
    }
}

/// Nesting that random edits seldom build: refused, not a stack overflow (flow nesting
/// by the YAML scanner's own limit, block nesting by the web config's depth limit).
#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    for n in [1_000, 100_000] {
        for text in [
            format!("a: {}{}", "[".repeat(n), "]".repeat(n)),
            format!("a: {}1{}", "{b: ".repeat(n), "}".repeat(n)),
            format!("{}a", "- ".repeat(n)),
        ] {
            let e = WebConfig::parse(&text, std::path::Path::new(".")).unwrap_err();
            assert!(
                e.0.contains("nests YAML collections more than 64 deep")
                    || e.0.contains("not valid YAML: recursion limit exceeded"),
                "{e}"
            );
        }
    }
}
