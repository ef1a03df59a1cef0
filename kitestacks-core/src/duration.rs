//! Durations written as strings in the configuration: `"2s"`, `"500ms"`, `"15m"`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration parsed from a human-readable string (the `humantime` syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConfigDuration(pub(crate) Duration);

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(ConfigDuration)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "invalid duration {text:?}: {e} (write e.g. \"500ms\", \"2s\", \"15m\")"
                ))
            })
    }
}

/// Formats a duration the way the configuration writes it.
pub(crate) fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}
