//! Durations written as strings in the configuration: `"2s"`, `"500ms"`, `"15m"`.

use std::time::Duration;

use serde::de::Visitor;
use serde::{Deserialize, Deserializer};

/// A duration parsed from a human-readable string (the `humantime` syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConfigDuration(pub(crate) Duration);

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = ConfigDuration;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a duration string such as \"500ms\", \"2s\" or \"15m\"")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ConfigDuration, E> {
        humantime::parse_duration(text)
            .map(ConfigDuration)
            .map_err(|e| {
                E::custom(format!(
                    "invalid duration {text:?}: {e} (write e.g. \"500ms\", \"2s\", \"15m\")"
                ))
            })
    }
}

/// Formats a duration the way the configuration writes it.
pub(crate) fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}
