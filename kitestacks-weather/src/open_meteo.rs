//! The Open-Meteo provider: `GET {base}/v1/forecast` for a point, WMO codes mapped to conditions.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use crate::clock;
use crate::error::{Error, message};
use crate::json::{FieldError, Node};
use crate::location::Location;
use crate::provider::WeatherProvider;
use crate::upstream::{self, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, Http, Reply};
use crate::weather::{Compass, Condition, Provider, Today, Weather, fahrenheit};

/// The `current=` variables asked for.
const CURRENT: &str = "temperature_2m,relative_humidity_2m,apparent_temperature,is_day,\
                       precipitation,weather_code,cloud_cover,pressure_msl,wind_speed_10m,\
                       wind_direction_10m,wind_gusts_10m";

/// The `daily=` variables asked for (one day: today).
const DAILY: &str = "temperature_2m_max,temperature_2m_min,sunrise,sunset";

/// Current weather from Open-Meteo for one point.
#[derive(Debug, Clone)]
pub struct OpenMeteoProvider {
    http: Http,
    base: Url,
    location: Location,
    latitude: f64,
    longitude: f64,
    name: String,
}

/// Settings for an [`OpenMeteoProvider`]: display name, base URL, timeout, user agent.
#[derive(Debug, Clone)]
pub struct OpenMeteoBuilder {
    location: Location,
    name: Option<String>,
    base_url: String,
    timeout: Duration,
    user_agent: String,
}

impl OpenMeteoProvider {
    /// The public (free, non-commercial) service.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.open-meteo.com";

    /// A provider for `location` with the default settings; `location` must be coordinates.
    pub fn new(location: Location) -> Result<OpenMeteoProvider, Error> {
        OpenMeteoProvider::builder(location).build()
    }

    /// Settings for a provider for `location`, starting from the defaults.
    pub fn builder(location: Location) -> OpenMeteoBuilder {
        OpenMeteoBuilder {
            location,
            name: None,
            base_url: OpenMeteoProvider::DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }

    /// The URL asked: `{base}/v1/forecast?latitude=…&longitude=…&current=…&daily=…&forecast_days=1&timezone=auto`.
    pub fn request_url(&self) -> Url {
        let mut url = upstream::join(&self.base, &["v1", "forecast"]);
        url.set_query(Some(&format!(
            "latitude={}&longitude={}&current={CURRENT}&daily={DAILY}&forecast_days=1&timezone=auto",
            self.latitude, self.longitude
        )));
        url
    }
}

impl OpenMeteoBuilder {
    /// The place name reported in [`Weather::location`] (Open-Meteo knows only the point;
    /// default: the coordinates as `latitude,longitude`).
    pub fn name(mut self, name: impl Into<String>) -> OpenMeteoBuilder {
        self.name = Some(name.into());
        self
    }

    /// The service's base URL (default [`OpenMeteoProvider::DEFAULT_BASE_URL`]); a path
    /// prefix is kept.
    pub fn base_url(mut self, url: impl Into<String>) -> OpenMeteoBuilder {
        self.base_url = url.into();
        self
    }

    /// The time allowed for the whole request (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> OpenMeteoBuilder {
        self.timeout = timeout;
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> OpenMeteoBuilder {
        self.user_agent = user_agent.into();
        self
    }

    /// The provider; fails with [`Error::NeedsCoordinates`] for a place name, and on a bad
    /// base URL or HTTP client.
    pub fn build(self) -> Result<OpenMeteoProvider, Error> {
        let (latitude, longitude) = match &self.location {
            Location::Coordinates {
                latitude,
                longitude,
            } => (*latitude, *longitude),
            Location::Name(name) => {
                return Err(Error::NeedsCoordinates {
                    provider: Provider::OpenMeteo,
                    name: name.clone(),
                });
            }
        };
        Ok(OpenMeteoProvider {
            base: upstream::base_url(Provider::OpenMeteo, &self.base_url)?,
            http: Http::new(Provider::OpenMeteo, self.timeout, &self.user_agent)?,
            name: self
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| self.location.to_string()),
            location: self.location,
            latitude,
            longitude,
        })
    }
}

#[async_trait]
impl WeatherProvider for OpenMeteoProvider {
    fn provider(&self) -> Provider {
        Provider::OpenMeteo
    }

    fn location(&self) -> &Location {
        &self.location
    }

    async fn current(&self) -> Result<Weather, Error> {
        let reply = self.http.get(self.request_url()).await?;
        interpret(&reply, &self.name)
    }
}

/// An Open-Meteo answer → weather, or the error its status means: 400 → [`Error::Rejected`],
/// 429 → [`Error::OverCapacity`], any other non-200 → [`Error::Unavailable`]; each quoting
/// the `reason` of the JSON error body (or the start of a body that is not one).
pub(crate) fn interpret(reply: &Reply, name: &str) -> Result<Weather, Error> {
    let body = reply.body.trim();
    let status = reply.status;
    if status == 200 {
        if body.is_empty() {
            return Err(Error::Empty {
                provider: Provider::OpenMeteo,
                url: reply.url.clone(),
                status,
            });
        }
        let doc: Value = serde_json::from_str(body)
            .map_err(|e| reply.undecodable(None, format!("not JSON: {e}")))?;
        return parse_forecast(&doc, name).map_err(|e| reply.bad_field(e));
    }
    let reason = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("reason")?.as_str().map(message))
        .unwrap_or_else(|| match body.is_empty() {
            true => "(empty body)".to_owned(),
            false => message(body),
        });
    let (provider, url) = (Provider::OpenMeteo, reply.url.clone());
    Err(match status {
        400 => Error::Rejected {
            provider,
            url,
            status,
            message: reason,
        },
        429 => Error::OverCapacity {
            provider,
            url,
            status,
            message: reason,
        },
        _ => Error::Unavailable {
            provider,
            url,
            status,
            message: reason,
        },
    })
}

/// A `/v1/forecast` document → weather. Numbers are JSON numbers; `wind_gusts_10m`,
/// `is_day` and `daily` may be absent.
fn parse_forecast(doc: &Value, name: &str) -> Result<Weather, FieldError> {
    let root = Node::root(doc);
    let now = root.key("current");
    let units = root.key("current_units");
    for (key, unit) in [
        ("temperature_2m", "°C"),
        ("apparent_temperature", "°C"),
        ("wind_speed_10m", "km/h"),
        ("precipitation", "mm"),
    ] {
        let node = units.key(key);
        if node.is_present() && node.str()? != unit {
            return Err(node.error(format!("expected unit {unit:?}, got {:?}", node.str()?)));
        }
    }

    let code = now.key("weather_code").code()?;
    let (condition, description) = wmo(code);
    let time = now.key("time");
    let time_text = time.str()?;
    let observed_local = clock::iso_local_datetime(time_text)
        .ok_or_else(|| time.error(format!("expected \"YYYY-MM-DDTHH:MM\", got {time_text:?}")))?;
    let offset = root.key("utc_offset_seconds");
    let offset_seconds = offset.number()?;
    if offset_seconds.fract() != 0.0 || offset_seconds.abs() > 86_400.0 {
        return Err(offset.error(format!("expected whole seconds, got {offset_seconds}")));
    }
    let temperature_celsius = now.key("temperature_2m").number()?;
    let feels_like_celsius = now.key("apparent_temperature").number()?;
    let wind_direction_degrees = now.key("wind_direction_10m").number()?;
    let is_day = match now.key("is_day") {
        n if n.is_present() => Some(n.code()? != 0),
        _ => None,
    };

    Ok(Weather {
        provider: Provider::OpenMeteo,
        location: name.to_owned(),
        region: None,
        country: None,
        latitude: root.key("latitude").number()?,
        longitude: root.key("longitude").number()?,
        observed_local,
        utc_offset_seconds: Some(offset_seconds as i32),
        temperature_celsius,
        temperature_fahrenheit: fahrenheit(temperature_celsius),
        feels_like_celsius,
        feels_like_fahrenheit: fahrenheit(feels_like_celsius),
        humidity_percent: now.key("relative_humidity_2m").number()?,
        wind_speed_kmh: now.key("wind_speed_10m").number()?,
        wind_gust_kmh: optional(&now.key("wind_gusts_10m"))?,
        wind_direction_degrees,
        wind_direction_compass: Compass::from_degrees(wind_direction_degrees),
        pressure_hpa: now.key("pressure_msl").number()?,
        precipitation_mm: now.key("precipitation").number()?,
        uv_index: None,
        visibility_km: None,
        cloud_cover_percent: now.key("cloud_cover").number()?,
        is_day,
        description: description.unwrap_or(condition.label()).to_owned(),
        condition,
        provider_code: code,
        today: today(&root.key("daily"))?,
    })
}

/// A JSON number that may be absent or `null`.
fn optional(node: &Node<'_>) -> Result<Option<f64>, FieldError> {
    match node.is_present() {
        true => node.number().map(Some),
        false => Ok(None),
    }
}

/// The first day of `daily` (parallel arrays), `None` when not asked for or not given.
fn today(daily: &Node<'_>) -> Result<Option<Today>, FieldError> {
    if !daily.is_present() {
        return Ok(None);
    }
    let date = daily.key("time").index(0);
    let date_text = date.str()?;
    if !clock::is_date(date_text) {
        return Err(date.error(format!("expected \"YYYY-MM-DD\", got {date_text:?}")));
    }
    Ok(Some(Today {
        date: date_text.to_owned(),
        min_celsius: daily.key("temperature_2m_min").index(0).number()?,
        max_celsius: daily.key("temperature_2m_max").index(0).number()?,
        sunrise_local: sun_time(&daily.key("sunrise").index(0))?,
        sunset_local: sun_time(&daily.key("sunset").index(0))?,
    }))
}

/// `2026-11-22T07:45` → `Some("07:45")`; `null` or absent → `None`.
fn sun_time(node: &Node<'_>) -> Result<Option<String>, FieldError> {
    if !node.is_present() {
        return Ok(None);
    }
    let s = node.str()?;
    clock::iso_local_datetime(s)
        .map(|iso| Some(iso[11..].to_owned()))
        .ok_or_else(|| node.error(format!("expected \"YYYY-MM-DDTHH:MM\", got {s:?}")))
}

/// The WMO 4677 codes Open-Meteo emits: condition and Open-Meteo's description.
const WMO: [(u16, Condition, &str); 28] = [
    (0, Condition::Clear, "Clear sky"),
    (1, Condition::Clear, "Mainly clear"),
    (2, Condition::PartlyCloudy, "Partly cloudy"),
    (3, Condition::Overcast, "Overcast"),
    (45, Condition::Fog, "Fog"),
    (48, Condition::Fog, "Depositing rime fog"),
    (51, Condition::Drizzle, "Light drizzle"),
    (53, Condition::Drizzle, "Moderate drizzle"),
    (55, Condition::Drizzle, "Dense drizzle"),
    (56, Condition::Sleet, "Light freezing drizzle"),
    (57, Condition::Sleet, "Dense freezing drizzle"),
    (61, Condition::Rain, "Slight rain"),
    (63, Condition::Rain, "Moderate rain"),
    (65, Condition::Rain, "Heavy rain"),
    (66, Condition::Sleet, "Light freezing rain"),
    (67, Condition::Sleet, "Heavy freezing rain"),
    (71, Condition::Snow, "Slight snowfall"),
    (73, Condition::Snow, "Moderate snowfall"),
    (75, Condition::Snow, "Heavy snowfall"),
    (77, Condition::Snow, "Snow grains"),
    (80, Condition::Rain, "Slight rain showers"),
    (81, Condition::Rain, "Moderate rain showers"),
    (82, Condition::Rain, "Violent rain showers"),
    (85, Condition::Snow, "Slight snow showers"),
    (86, Condition::Snow, "Heavy snow showers"),
    (95, Condition::Thunderstorm, "Thunderstorm"),
    (96, Condition::Thunderstorm, "Thunderstorm with slight hail"),
    (99, Condition::Thunderstorm, "Thunderstorm with heavy hail"),
];

fn wmo(code: u16) -> (Condition, Option<&'static str>) {
    WMO.iter()
        .find(|(c, _, _)| *c == code)
        .map_or((Condition::Unknown, None), |&(_, condition, text)| {
            (condition, Some(text))
        })
}

impl Condition {
    /// The condition for a WMO 4677 weather code, as Open-Meteo gives in `weather_code`.
    ///
    /// | WMO codes | meaning | condition |
    /// | --- | --- | --- |
    /// | 0, 1 | clear sky, mainly clear | `Clear` |
    /// | 2 | partly cloudy | `PartlyCloudy` |
    /// | 3 | overcast | `Overcast` |
    /// | 45, 48 | fog, depositing rime fog | `Fog` |
    /// | 51, 53, 55 | drizzle | `Drizzle` |
    /// | 56, 57, 66, 67 | freezing drizzle, freezing rain | `Sleet` |
    /// | 61, 63, 65, 80, 81, 82 | rain, rain showers | `Rain` |
    /// | 71, 73, 75, 77, 85, 86 | snowfall, snow grains, snow showers | `Snow` |
    /// | 95, 96, 99 | thunderstorm, with hail | `Thunderstorm` |
    /// | anything else | | `Unknown` |
    pub fn from_wmo_code(code: u16) -> Condition {
        wmo(code).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wmo_mapping() {
        let check = |code: u16, expected: Condition| {
            assert_eq!(Condition::from_wmo_code(code), expected, "{code}");
        };
        check(0, Condition::Clear);
        check(1, Condition::Clear);
        check(2, Condition::PartlyCloudy);
        check(3, Condition::Overcast);
        check(48, Condition::Fog);
        check(53, Condition::Drizzle);
        check(57, Condition::Sleet);
        check(63, Condition::Rain);
        check(67, Condition::Sleet);
        check(77, Condition::Snow);
        check(82, Condition::Rain);
        check(86, Condition::Snow);
        check(99, Condition::Thunderstorm);
        check(4, Condition::Unknown);
        check(100, Condition::Unknown);
        assert_eq!(wmo(96).1, Some("Thunderstorm with slight hail"));
    }

    fn current() -> Value {
        json!({
            "latitude": 52.52, "longitude": 13.419998, "utc_offset_seconds": 3600,
            "current": {
                "time": "2026-11-22T20:30", "temperature_2m": 24, "relative_humidity_2m": 86,
                "apparent_temperature": 1.2, "precipitation": 0.0, "weather_code": 42,
                "cloud_cover": 100, "pressure_msl": 1012.4, "wind_speed_10m": 11.2,
                "wind_direction_10m": 242
            }
        })
    }

    #[test]
    fn integers_and_absent_optionals() {
        let w = parse_forecast(&current(), "52.52,13.41").unwrap();
        assert_eq!(w.temperature_celsius, 24.0);
        assert_eq!(w.temperature_fahrenheit, 75.2);
        assert_eq!(w.condition, Condition::Unknown);
        assert_eq!(w.description, "Unknown");
        assert_eq!((w.wind_gust_kmh, w.is_day, w.today), (None, None, None));
    }

    #[test]
    fn wrong_units_and_types_name_their_field() {
        let mut doc = current();
        doc["current_units"] = json!({ "temperature_2m": "°F" });
        assert_eq!(
            parse_forecast(&doc, "x").unwrap_err().field,
            "current_units.temperature_2m"
        );
        let mut doc = current();
        doc["current"]["temperature_2m"] = json!("24");
        let err = parse_forecast(&doc, "x").unwrap_err();
        assert_eq!(err.field, "current.temperature_2m");
        assert_eq!(err.reason, "expected a number, got \"24\"");
        let mut doc = current();
        doc["daily"] = json!({ "time": ["2026-11-22"], "temperature_2m_min": [null] });
        assert_eq!(
            parse_forecast(&doc, "x").unwrap_err().field,
            "daily.temperature_2m_min[0]"
        );
    }

    #[test]
    fn error_statuses() {
        let reply = |status: u16, body: &str| Reply {
            provider: Provider::OpenMeteo,
            url: "http://127.0.0.1:1/v1/forecast".into(),
            status,
            body: body.into(),
        };
        let err = interpret(
            &reply(
                400,
                r#"{"error":true,"reason":"Latitude must be in range"}"#,
            ),
            "x",
        )
        .unwrap_err();
        assert_eq!(err.kind().as_str(), "rejected");
        assert!(
            err.to_string().ends_with(": Latitude must be in range"),
            "{err}"
        );
        let err = interpret(&reply(502, "<html>bad gateway</html>"), "x").unwrap_err();
        assert_eq!(err.kind().as_str(), "unavailable");
        assert!(
            err.to_string().ends_with(": <html>bad gateway</html>"),
            "{err}"
        );
        let err = interpret(&reply(200, ""), "x").unwrap_err();
        assert!(matches!(err, Error::Empty { status: 200, .. }), "{err:?}");
    }

    #[test]
    fn names_are_refused() {
        let err = OpenMeteoProvider::new(Location::Name("Berlin".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "open-meteo needs coordinates as \"latitude,longitude\" (e.g. \"52.52,13.41\"), \
             not the place name \"Berlin\""
        );
        assert_eq!(err.kind().as_str(), "config");
    }
}
