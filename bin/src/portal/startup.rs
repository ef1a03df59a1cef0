//! What the portal says at start: which configuration it uses, and what it will contact
//! beyond this machine and how often (probe targets, Forgejo, the weather provider), or
//! that it contacts nobody. URLs are logged [`redacted`](kitestacks_core::redacted).

use std::path::Path;
use std::time::Duration;

use kitestacks_core::Config;

/// Logs [`lines`] at info, one event each.
pub fn log(config: &Config, file: Option<&Path>) {
    for line in lines(config, file) {
        tracing::info!("{line}");
    }
}

/// The start-up lines: the configuration's source (`file`, or the embedded default when
/// none is named); the probes, Forgejo and weather as `--check-config` says them (with
/// how to turn each on when off); then every request the portal will make beyond this
/// machine ([`Config::contacts`]) with its period, or that it contacts nobody.
pub fn lines(config: &Config, file: Option<&Path>) -> Vec<String> {
    let mut out = vec![match file {
        Some(path) => format!("configuration: {}", path.display()),
        None => "configuration: the embedded default (name a file with --config or \
                 KITESTACKS_CONFIG)"
            .to_owned(),
    }];
    for (key, value) in config.settings() {
        if matches!(key, "probes" | "forgejo" | "weather") {
            out.push(format!("{key}: {value}"));
        }
    }
    let contacts = config.contacts();
    if contacts.is_empty() {
        out.push("contacts nobody beyond this machine".to_owned());
    }
    for c in contacts {
        out.push(format!(
            "contacts {}: {} every {}",
            c.what,
            c.url,
            human(c.every)
        ));
    }
    out
}

/// A period as the configuration writes it: `30s`, `15m`, `2h`, `1500ms`.
fn human(d: Duration) -> String {
    let (secs, millis) = (d.as_secs(), d.subsec_millis());
    match (secs, millis) {
        (s, 0) if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        (s, 0) if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        (s, 0) => format!("{s}s"),
        _ => format!("{}ms", d.as_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_as_in_the_configuration() {
        assert_eq!(human(Duration::from_secs(30)), "30s");
        assert_eq!(human(Duration::from_secs(900)), "15m");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
    }
}
