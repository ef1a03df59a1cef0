//! What the portal says at start: which configuration it uses, and what it will contact
//! beyond this machine and how often (probe targets, Forgejo, the weather provider), or
//! that it contacts nobody. URLs are logged [`redacted`](kitestacks_core::redacted).

use std::path::Path;
use std::time::Duration;

use kitestacks_core::{Config, ProbeMethod, WeatherProviderKind, redacted};
use kitestacks_weather::{OpenMeteoProvider, WttrProvider};

/// Logs [`lines`] at info, one event each.
pub fn log(config: &Config, file: Option<&Path>) {
    for line in lines(config, file) {
        tracing::info!("{line}");
    }
}

/// The start-up lines: the configuration's source (`file`, or the embedded default when
/// none is named), then the probes, Forgejo and weather, each with its target and period
/// or saying it is off.
pub fn lines(config: &Config, file: Option<&Path>) -> Vec<String> {
    let mut out = vec![match file {
        Some(path) => format!("configuration: {}", path.display()),
        None => "configuration: the embedded default (name a file with --config or \
                 KITESTACKS_CONFIG)"
            .to_owned(),
    }];
    let status = &config.status;
    let probes: Vec<_> = config
        .registry
        .services
        .iter()
        .filter_map(|s| s.probe.as_ref().map(|p| (&s.id, p)))
        .collect();
    let probing = status.enabled && !probes.is_empty();
    if !status.enabled {
        out.push("probes off ([status] enabled = false)".to_owned());
    } else if probes.is_empty() {
        out.push("probes off (no service has a probe)".to_owned());
    } else {
        out.push(format!(
            "probes: {} {} every {}, at most {} at once",
            probes.len(),
            if probes.len() == 1 {
                "service"
            } else {
                "services"
            },
            human(status.interval),
            status.concurrency.max(1),
        ));
        for (id, spec) in &probes {
            let method = match spec.method {
                ProbeMethod::Get => "GET",
                ProbeMethod::Head => "HEAD",
            };
            out.push(format!("probe {id}: {method} {}", redacted(&spec.url)));
        }
    }
    let forgejo = &config.forgejo;
    match &forgejo.url {
        Some(url) => out.push(format!(
            "forgejo: {} every {}",
            redacted(url),
            human(forgejo.refresh)
        )),
        None => out.push("forgejo off (no [forgejo] url)".to_owned()),
    }
    let weather = &config.weather;
    match &weather.location {
        Some(location) => {
            let (name, default) = match weather.provider {
                WeatherProviderKind::Wttr => ("wttr.in", WttrProvider::DEFAULT_BASE_URL),
                WeatherProviderKind::OpenMeteo => {
                    ("Open-Meteo", OpenMeteoProvider::DEFAULT_BASE_URL)
                }
            };
            let base = weather
                .base_url
                .as_ref()
                .map_or(default.to_owned(), |u| redacted(u).to_string());
            out.push(format!(
                "weather: {name} at {base} for {location:?} every {}",
                human(weather.refresh)
            ));
        }
        None => out.push("weather off (no [weather] location)".to_owned()),
    }
    if !probing && forgejo.url.is_none() && weather.location.is_none() {
        out.push("contacts nobody beyond this machine".to_owned());
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
