//! The provider-independent weather model: `Weather`, `Today`, `Condition`, `Compass`, `Provider`.

use serde::Serialize;
use utoipa::ToSchema;

/// The service a [`Weather`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Provider {
    /// wttr.in (data from World Weather Online).
    Wttr,
    /// Open-Meteo (national weather services' models).
    OpenMeteo,
}

impl Provider {
    /// The service's name for people and logs: `wttr.in`, `open-meteo`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Wttr => "wttr.in",
            Provider::OpenMeteo => "open-meteo",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The current weather at one place, in metric units (°F given alongside °C).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Weather {
    /// The provider that produced this reading.
    pub provider: Provider,
    /// The place as the provider resolved it (wttr.in: the nearest area's name;
    /// Open-Meteo: the configured name, or the coordinates asked for).
    pub location: String,
    /// Region or state of the place, when the provider says.
    pub region: Option<String>,
    /// Country of the place, when the provider says.
    pub country: Option<String>,
    /// Latitude of the point the data is for (degrees north).
    pub latitude: f64,
    /// Longitude of the point the data is for (degrees east).
    pub longitude: f64,
    /// Local date and time of the observation at the place, ISO 8601 without offset:
    /// `2026-04-03T22:37`.
    pub observed_local: String,
    /// Offset of the place's local time from UTC in seconds, when known (wttr.in: derived
    /// from its UTC and local observation times).
    pub utc_offset_seconds: Option<i32>,
    /// Air temperature in °C.
    pub temperature_celsius: f64,
    /// Air temperature in °F.
    pub temperature_fahrenheit: f64,
    /// Apparent ("feels like") temperature in °C.
    pub feels_like_celsius: f64,
    /// Apparent ("feels like") temperature in °F.
    pub feels_like_fahrenheit: f64,
    /// Relative humidity in percent.
    pub humidity_percent: f64,
    /// Mean wind speed in km/h.
    pub wind_speed_kmh: f64,
    /// Wind gusts in km/h, when the provider says.
    pub wind_gust_kmh: Option<f64>,
    /// Direction the wind comes from, in degrees clockwise from north (0–360).
    pub wind_direction_degrees: f64,
    /// Direction the wind comes from, as one of 16 compass points.
    pub wind_direction_compass: Compass,
    /// Air pressure (at sea level) in hPa.
    pub pressure_hpa: f64,
    /// Precipitation in mm (wttr.in: the last hour; Open-Meteo: the preceding 15 minutes).
    pub precipitation_mm: f64,
    /// UV index, when the provider says.
    pub uv_index: Option<f64>,
    /// Visibility in km, when the provider says.
    pub visibility_km: Option<f64>,
    /// Cloud cover in percent.
    pub cloud_cover_percent: f64,
    /// Whether the sun is up, when the provider says.
    pub is_day: Option<bool>,
    /// The provider's description, trimmed: `Overcast`, `Light drizzle`.
    pub description: String,
    /// The condition, the same set for every provider: what a page picks its icon from.
    pub condition: Condition,
    /// The provider's own condition code (wttr.in: WWO code; Open-Meteo: WMO code).
    pub provider_code: u16,
    /// Today's range and sun times, when the provider gives them.
    pub today: Option<Today>,
}

/// Today's extremes and sun times at the place.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Today {
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    /// Today's minimum temperature in °C.
    pub min_celsius: f64,
    /// Today's maximum temperature in °C.
    pub max_celsius: f64,
    /// Local time of sunrise, `HH:MM` (24 h); absent in polar night or day.
    pub sunrise_local: Option<String>,
    /// Local time of sunset, `HH:MM` (24 h); absent in polar night or day.
    pub sunset_local: Option<String>,
}

/// What the sky is doing, independent of the provider's own code table.
///
/// Freezing drizzle, freezing rain and ice pellets count as [`Condition::Sleet`]; showers
/// count as rain or snow; any thunder makes it a [`Condition::Thunderstorm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Condition {
    /// Clear sky, sunny.
    Clear,
    /// Some clouds, sun between them.
    PartlyCloudy,
    /// Mostly cloudy.
    Cloudy,
    /// Fully covered.
    Overcast,
    /// Fog or mist.
    Fog,
    /// Drizzle (fine light rain).
    Drizzle,
    /// Rain or rain showers, any intensity.
    Rain,
    /// Sleet, freezing drizzle or rain, ice pellets.
    Sleet,
    /// Snow or snow showers, any intensity, blowing snow.
    Snow,
    /// Thunder, with or without rain, snow or hail.
    Thunderstorm,
    /// A code the tables here do not know.
    Unknown,
}

impl Condition {
    /// The wire name (`partly_cloudy`), also a handy icon name.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Clear => "clear",
            Condition::PartlyCloudy => "partly_cloudy",
            Condition::Cloudy => "cloudy",
            Condition::Overcast => "overcast",
            Condition::Fog => "fog",
            Condition::Drizzle => "drizzle",
            Condition::Rain => "rain",
            Condition::Sleet => "sleet",
            Condition::Snow => "snow",
            Condition::Thunderstorm => "thunderstorm",
            Condition::Unknown => "unknown",
        }
    }

    /// A short label for people: `Partly cloudy`.
    pub fn label(self) -> &'static str {
        match self {
            Condition::Clear => "Clear",
            Condition::PartlyCloudy => "Partly cloudy",
            Condition::Cloudy => "Cloudy",
            Condition::Overcast => "Overcast",
            Condition::Fog => "Fog",
            Condition::Drizzle => "Drizzle",
            Condition::Rain => "Rain",
            Condition::Sleet => "Sleet",
            Condition::Snow => "Snow",
            Condition::Thunderstorm => "Thunderstorm",
            Condition::Unknown => "Unknown",
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the 16 compass points, serialised as its abbreviation (`"NNE"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub enum Compass {
    /// North, 0°.
    #[serde(rename = "N")]
    North,
    /// North-northeast, 22.5°.
    #[serde(rename = "NNE")]
    NorthNorthEast,
    /// Northeast, 45°.
    #[serde(rename = "NE")]
    NorthEast,
    /// East-northeast, 67.5°.
    #[serde(rename = "ENE")]
    EastNorthEast,
    /// East, 90°.
    #[serde(rename = "E")]
    East,
    /// East-southeast, 112.5°.
    #[serde(rename = "ESE")]
    EastSouthEast,
    /// Southeast, 135°.
    #[serde(rename = "SE")]
    SouthEast,
    /// South-southeast, 157.5°.
    #[serde(rename = "SSE")]
    SouthSouthEast,
    /// South, 180°.
    #[serde(rename = "S")]
    South,
    /// South-southwest, 202.5°.
    #[serde(rename = "SSW")]
    SouthSouthWest,
    /// Southwest, 225°.
    #[serde(rename = "SW")]
    SouthWest,
    /// West-southwest, 247.5°.
    #[serde(rename = "WSW")]
    WestSouthWest,
    /// West, 270°.
    #[serde(rename = "W")]
    West,
    /// West-northwest, 292.5°.
    #[serde(rename = "WNW")]
    WestNorthWest,
    /// Northwest, 315°.
    #[serde(rename = "NW")]
    NorthWest,
    /// North-northwest, 337.5°.
    #[serde(rename = "NNW")]
    NorthNorthWest,
}

impl Compass {
    /// All 16 points clockwise from north.
    pub const ALL: [Compass; 16] = [
        Compass::North,
        Compass::NorthNorthEast,
        Compass::NorthEast,
        Compass::EastNorthEast,
        Compass::East,
        Compass::EastSouthEast,
        Compass::SouthEast,
        Compass::SouthSouthEast,
        Compass::South,
        Compass::SouthSouthWest,
        Compass::SouthWest,
        Compass::WestSouthWest,
        Compass::West,
        Compass::WestNorthWest,
        Compass::NorthWest,
        Compass::NorthNorthWest,
    ];

    /// The nearest point to a bearing in degrees (any value; it is taken modulo 360).
    pub fn from_degrees(degrees: f64) -> Compass {
        let sector = (degrees.rem_euclid(360.0) / 22.5).round() as usize % 16;
        Compass::ALL[sector]
    }

    /// The abbreviation: `N`, `NNE`, … `NNW`.
    pub fn abbreviation(self) -> &'static str {
        const NAMES: [&str; 16] = [
            "N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW",
            "NW", "NNW",
        ];
        NAMES[self as usize]
    }
}

impl std::fmt::Display for Compass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.abbreviation())
    }
}

/// °C to °F, rounded to a tenth.
pub(crate) fn fahrenheit(celsius: f64) -> f64 {
    round1(celsius * 9.0 / 5.0 + 32.0)
}

/// Rounded to one decimal, with `-0.0` made `0.0`.
pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compass_from_degrees() {
        let check = |deg: f64, expected: &str| {
            assert_eq!(
                Compass::from_degrees(deg).abbreviation(),
                expected,
                "{deg}°"
            );
        };
        check(0.0, "N");
        check(11.2, "N");
        check(11.3, "NNE");
        check(90.0, "E");
        check(235.0, "SW");
        check(242.0, "WSW");
        check(348.75, "N");
        check(359.9, "N");
        check(360.0, "N");
        check(-90.0, "W");
    }

    #[test]
    fn compass_serialises_as_abbreviation() {
        for point in Compass::ALL {
            let json = serde_json::to_string(&point).unwrap();
            assert_eq!(json, format!("\"{}\"", point.abbreviation()));
        }
    }

    #[test]
    fn condition_wire_names_match_serde() {
        for c in [
            Condition::PartlyCloudy,
            Condition::Thunderstorm,
            Condition::Unknown,
        ] {
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        }
    }

    #[test]
    fn schema_documents_the_fields() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(Weather::schema()).unwrap();
        let props = &schema["properties"];
        assert_eq!(
            props["temperature_celsius"]["description"],
            "Air temperature in °C."
        );
        assert_eq!(props["condition"]["$ref"], "#/components/schemas/Condition");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(required.contains(&"wind_speed_kmh"));
        assert!(!required.contains(&"uv_index"));
        let mut nested = Vec::new();
        <Weather as utoipa::ToSchema>::schemas(&mut nested);
        let names: Vec<&str> = nested.iter().map(|(name, _)| name.as_str()).collect();
        for name in ["Provider", "Compass", "Condition", "Today"] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
    }

    #[test]
    fn fahrenheit_conversion() {
        assert_eq!(fahrenheit(0.0), 32.0);
        assert_eq!(fahrenheit(4.7), 40.5);
        assert_eq!(fahrenheit(-40.0), -40.0);
        assert_eq!(round1(-0.04).to_string(), "0");
    }
}
