//! `[fleet]`: where the portal reads the whole fleet (every host) from: a Prometheus'
//! query API, with the label that names a host and the registry hosts' label values.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::{ConfigDuration, LONGEST_TIMEOUT, Validator};
use crate::registry::Host;

/// The environment variable the `[fleet]` bearer token is read from (it wins over
/// `token_file`).
pub const FLEET_TOKEN_ENV: &str = "KITESTACKS_FLEET_TOKEN";

/// The environment variable the `[fleet]` basic-auth password is read from (it wins over
/// `password_file`).
pub const FLEET_PASSWORD_ENV: &str = "KITESTACKS_FLEET_PASSWORD";

/// How the portal authenticates to Prometheus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetAuth {
    /// HTTP basic auth.
    Basic {
        /// The user name (not a secret: it may be in the TOML).
        username: String,
        /// The password, from `KITESTACKS_FLEET_PASSWORD` or `password_file`.
        password: crate::Secret,
    },
    /// `Authorization: Bearer`, from `KITESTACKS_FLEET_TOKEN` or `token_file`.
    Bearer(crate::Secret),
}

/// `[fleet]`: every host of the homelab, read from Prometheus (`/api/fleet`). Off
/// without the section (the default): the fleet routes answer 503 `not_configured` and
/// no Prometheus is contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    /// The Prometheus base URL (`http://prometheus:9090/`); the query API is under it.
    pub prometheus_url: Url,
    /// Basic auth or a bearer token; none by default.
    pub auth: Option<FleetAuth>,
    /// How long one request to Prometheus may take (default 5 s).
    pub timeout: Duration,
    /// How long the fleet's figures are served before Prometheus is asked again
    /// (default 15 s, Prometheus' usual scrape interval).
    pub refresh: Duration,
    /// The label whose value names a host (default `instance`).
    pub host_label: String,
    /// Label matchers added to every query, e.g. `job="node"` (default none), so that
    /// only the exporters' series are read when Prometheus scrapes other targets under
    /// the same host label.
    pub selector: String,
    /// Registry host id → its `host_label` value in Prometheus (`monk = "monk:9100"`).
    /// Label values not mapped are shown under their own name.
    pub hosts: BTreeMap<String, String>,
    /// The registry host this portal runs on: `/api/fleet` says it served the answer.
    pub this_host: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    prometheus_url: Option<String>,
    username: Option<String>,
    password_file: Option<std::path::PathBuf>,
    token_file: Option<std::path::PathBuf>,
    timeout: Option<ConfigDuration>,
    refresh: Option<ConfigDuration>,
    host_label: Option<String>,
    selector: Option<String>,
    hosts: Option<BTreeMap<String, String>>,
    this_host: Option<String>,
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Label matchers as they go inside `{…}`: `name op "value"` separated by commas, each
/// value a double-quoted string without a newline. Returns what is wrong.
fn check_selector(text: &str) -> Result<(), String> {
    let mut rest = text.trim();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if !is_label_name(name) {
            return Err("expected a label name".into());
        }
        rest = rest[name_end..].trim_start();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or("expected =, !=, =~ or !~ after a label name")?;
        rest = rest[op.len()..].trim_start();
        let Some(value) = rest.strip_prefix('"') else {
            return Err("expected a double-quoted value".into());
        };
        let mut escaped = false;
        let end = value
            .char_indices()
            .find(|&(_, c)| {
                let end = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                end
            })
            .map(|(i, _)| i)
            .ok_or("a value is not closed")?;
        if value[..end].contains('\n') {
            return Err("a value holds a newline".into());
        }
        rest = value[end + 1..].trim_start();
        match rest.strip_prefix(',') {
            Some(r) => rest = r.trim_start(),
            None if rest.is_empty() => {}
            None => return Err("expected a comma between matchers".into()),
        }
    }
    Ok(())
}

impl Validator {
    pub(super) fn fleet(
        &mut self,
        raw: Option<RawFleet>,
        hosts: &[Host],
        base_dir: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<FleetConfig> {
        let raw = raw?;
        let Some(url) = raw.prometheus_url.as_deref() else {
            self.problem(
                "fleet.prometheus_url",
                "is required in [fleet] (the Prometheus base URL, e.g. \"http://127.0.0.1:9090/\")",
            );
            return None;
        };
        let url = self.http_url("fleet.prometheus_url", url);
        let resolve = |p: std::path::PathBuf| match base_dir {
            Some(base) if p.is_relative() => base.join(p),
            _ => p,
        };
        let token = crate::Secret::resolve(
            "fleet.token_file",
            FLEET_TOKEN_ENV,
            raw.token_file.map(resolve).as_deref(),
            env,
        );
        let password = crate::Secret::resolve(
            "fleet.password_file",
            FLEET_PASSWORD_ENV,
            raw.password_file.map(resolve).as_deref(),
            env,
        );
        let auth = match (token, password, raw.username) {
            (Err(p), _, _) | (_, Err(p), _) => {
                self.problems.push(p);
                None
            }
            (Ok(Some(_)), Ok(Some(_)), _) | (Ok(Some(_)), _, Some(_)) => {
                self.problem(
                    "fleet.token_file",
                    "set either a bearer token or basic auth (username and password), not both",
                );
                None
            }
            (Ok(Some(t)), Ok(None), None) => Some(FleetAuth::Bearer(t)),
            (Ok(None), Ok(Some(password)), Some(username)) if !username.is_empty() => {
                Some(FleetAuth::Basic { username, password })
            }
            (Ok(None), Ok(Some(_)), _) => {
                self.problem(
                    "fleet.username",
                    "is required with a password (password_file or KITESTACKS_FLEET_PASSWORD)",
                );
                None
            }
            (Ok(None), Ok(None), Some(_)) => {
                self.problem(
                    "fleet.username",
                    "needs a password: set password_file or KITESTACKS_FLEET_PASSWORD",
                );
                None
            }
            (Ok(None), Ok(None), None) => None,
        };
        let mut timeout = Duration::from_secs(5);
        self.duration(
            "fleet.timeout",
            raw.timeout,
            Duration::from_millis(100),
            LONGEST_TIMEOUT,
            &mut timeout,
        );
        let mut refresh = Duration::from_secs(15);
        self.duration(
            "fleet.refresh",
            raw.refresh,
            Duration::from_secs(1),
            Duration::from_secs(3600),
            &mut refresh,
        );
        let host_label = raw.host_label.unwrap_or_else(|| "instance".to_owned());
        if !is_label_name(&host_label) {
            self.problem(
                "fleet.host_label",
                format!("{host_label:?} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
            );
        }
        let selector = raw.selector.unwrap_or_default();
        if let Err(why) = check_selector(&selector) {
            self.problem(
                "fleet.selector",
                format!(
                    "{selector:?} is not a list of label matchers such as 'job=\"node\"': {why}"
                ),
            );
        }
        let known = |h: &str| hosts.iter().any(|known| known.name == h);
        let names = || {
            hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mapped = raw.hosts.unwrap_or_default();
        for (host, value) in &mapped {
            if !known(host) {
                self.problem(
                    format!("fleet.hosts.{host}"),
                    format!("unknown host {host:?} (hosts are: {})", names()),
                );
            } else if value.is_empty() {
                self.problem(format!("fleet.hosts.{host}"), "must not be empty");
            }
        }
        if let Some(h) = &raw.this_host
            && !known(h)
        {
            self.problem(
                "fleet.this_host",
                format!("unknown host {h:?} (hosts are: {})", names()),
            );
        }
        Some(FleetConfig {
            prometheus_url: url?,
            auth,
            timeout,
            refresh,
            host_label,
            selector,
            hosts: mapped,
            this_host: raw.this_host,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_label_matchers() {
        for ok in [
            "",
            "job=\"node\"",
            " job = \"node\" , env=~\"prod|lab\"",
            "a!=\"x\\\"y\",",
        ] {
            assert_eq!(check_selector(ok), Ok(()), "{ok:?}");
        }
        for (bad, why) in [
            ("job", "expected =, !=, =~ or !~ after a label name"),
            ("job=node", "expected a double-quoted value"),
            ("job=\"node", "a value is not closed"),
            (
                "job=\"a\"} or vector(1) {x=\"\"",
                "expected a comma between matchers",
            ),
            ("1x=\"a\"", "expected a label name"),
        ] {
            assert_eq!(check_selector(bad), Err(why.to_owned()), "{bad:?}");
        }
    }
}
