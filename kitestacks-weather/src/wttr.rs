//! The wttr.in provider: `GET {base}/{location}?format=j1`, its quirks turned into data or errors.
//!
//! wttr.in writes every value as a string (`"-0"`, `"Overcast "`), answers some failures
//! with 200 and plain text and others with 500 or 503, sometimes sends nothing, and renews
//! its data only every ~10 minutes (cache its answers: see the crate docs).

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
use crate::weather::{Compass, Condition, Provider, Today, Weather};

/// Current weather from wttr.in for one location (a name or coordinates).
#[derive(Debug, Clone)]
pub struct WttrProvider {
    http: Http,
    base: Url,
    location: Location,
}

/// Settings for a [`WttrProvider`]: base URL, timeout, user agent.
#[derive(Debug, Clone)]
pub struct WttrBuilder {
    location: Location,
    base_url: String,
    timeout: Duration,
    user_agent: String,
}

impl WttrProvider {
    /// The public service.
    pub const DEFAULT_BASE_URL: &'static str = "https://wttr.in";

    /// A provider for `location` with the default settings.
    pub fn new(location: Location) -> Result<WttrProvider, Error> {
        WttrProvider::builder(location).build()
    }

    /// Settings for a provider for `location`, starting from the defaults.
    pub fn builder(location: Location) -> WttrBuilder {
        WttrBuilder {
            location,
            base_url: WttrProvider::DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }

    /// The URL asked: `{base}/{location}?format=j1`, the location percent-encoded as one
    /// path segment.
    pub fn request_url(&self) -> Url {
        let mut url = upstream::join(&self.base, &[&self.location.to_string()]);
        url.set_query(Some("format=j1"));
        url
    }
}

impl WttrBuilder {
    /// The service's base URL (default [`WttrProvider::DEFAULT_BASE_URL`]); a path prefix
    /// is kept (`http://proxy/wttr` asks `http://proxy/wttr/Berlin?format=j1`).
    pub fn base_url(mut self, url: impl Into<String>) -> WttrBuilder {
        self.base_url = url.into();
        self
    }

    /// The time allowed for the whole request (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> WttrBuilder {
        self.timeout = timeout;
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> WttrBuilder {
        self.user_agent = user_agent.into();
        self
    }

    /// The provider; fails on a base URL that is not absolute `http(s)` without query, or
    /// when the HTTP client cannot be built.
    pub fn build(self) -> Result<WttrProvider, Error> {
        Ok(WttrProvider {
            base: upstream::base_url(Provider::Wttr, &self.base_url)?,
            http: Http::new(Provider::Wttr, self.timeout, &self.user_agent)?,
            location: self.location,
        })
    }
}

#[async_trait]
impl WeatherProvider for WttrProvider {
    fn provider(&self) -> Provider {
        Provider::Wttr
    }

    fn location(&self) -> &Location {
        &self.location
    }

    async fn current(&self) -> Result<Weather, Error> {
        let reply = self.http.get(self.request_url()).await?;
        interpret(&reply, &self.location)
    }
}

/// A wttr.in answer → weather, or the error its status and text mean.
///
/// The texts matched are the ones wttr.in's servers write (see the fixtures' README):
///
/// | status | body | error |
/// | --- | --- | --- |
/// | 200 | j1 JSON | (weather) |
/// | 200 | empty | [`Error::Empty`] |
/// | 200 | `Unknown location; please try ~lat,lon` (Python era) | [`Error::UnknownLocation`] |
/// | 200 | `This query is already being processed` | [`Error::Unavailable`] |
/// | 404 | anything (old server: a j1 of some *other* place) | [`Error::UnknownLocation`] |
/// | 500 | `location not found: …` | [`Error::UnknownLocation`] |
/// | 500 | `weather data source not available` | [`Error::Unavailable`] |
/// | 500 | `ERR003: unknown option: …` | [`Error::Rejected`] |
/// | 503 | `… running out of queries …` | [`Error::OverCapacity`] |
/// | 429 | anything (a proxy in front) | [`Error::OverCapacity`] |
/// | other non-200 | anything | [`Error::Unavailable`] |
/// | 200 | anything else | [`Error::Undecodable`] |
pub(crate) fn interpret(reply: &Reply, location: &Location) -> Result<Weather, Error> {
    let body = reply.body.trim();
    let status = reply.status;
    let text = body.to_ascii_lowercase();
    let unknown_location = |message: String| Error::UnknownLocation {
        provider: Provider::Wttr,
        location: location.to_string(),
        message,
    };
    let with_status = |make: fn(Provider, String, u16, String) -> Error, message: String| {
        make(Provider::Wttr, reply.url.clone(), status, message)
    };
    if status == 404 {
        let message = match body.starts_with('{') {
            true => "not found (404)".to_owned(),
            false => message(body),
        };
        return Err(unknown_location(message));
    }
    if body.is_empty() {
        return Err(match status {
            200..=299 => Error::Empty {
                provider: Provider::Wttr,
                url: reply.url.clone(),
                status,
            },
            _ => with_status(unavailable, "(empty body)".into()),
        });
    }
    if status == 200 && body.starts_with('{') {
        let doc: Value = serde_json::from_str(body)
            .map_err(|e| reply.undecodable(None, format!("not JSON: {e}")))?;
        return parse_j1(&doc).map_err(|e| reply.bad_field(e));
    }
    if text.starts_with("unknown location") || text.contains("location not found") {
        return Err(unknown_location(message(body)));
    }
    if text.contains("running out of queries") || status == 429 {
        return Err(with_status(over_capacity, message(body)));
    }
    if text.contains("unknown option") {
        return Err(with_status(rejected, message(body)));
    }
    if text.contains("already being processed") || text.contains("data source not available") {
        return Err(with_status(unavailable, message(body)));
    }
    if status == 200 {
        return Err(reply.undecodable(None, "expected a j1 JSON document"));
    }
    Err(with_status(unavailable, message(body)))
}

fn unavailable(provider: Provider, url: String, status: u16, message: String) -> Error {
    Error::Unavailable {
        provider,
        url,
        status,
        message,
    }
}

fn over_capacity(provider: Provider, url: String, status: u16, message: String) -> Error {
    Error::OverCapacity {
        provider,
        url,
        status,
        message,
    }
}

fn rejected(provider: Provider, url: String, status: u16, message: String) -> Error {
    Error::Rejected {
        provider,
        url,
        status,
        message,
    }
}

/// A j1 document → weather. Every number is a string and parsed strictly; optional
/// values (`uvIndex`, `visibility`, gusts, today's data) are `None` when absent but an
/// error when present and wrong.
fn parse_j1(doc: &Value) -> Result<Weather, FieldError> {
    let root = Node::root(doc);
    let now = root.key("current_condition").index(0);
    let area = root.key("nearest_area").index(0);

    let code = now.key("weatherCode").code_string()?;
    let condition = Condition::from_wwo_code(code);
    let description = text(&now.key("weatherDesc"))?
        .map(str::to_owned)
        .unwrap_or_else(|| condition.label().to_owned());

    let local = now.key("localObsDateTime");
    let local_text = local.str()?;
    let (observed_local, local_minutes) =
        clock::wttr_local_datetime(local_text).ok_or_else(|| {
            local.error(format!(
                "expected \"YYYY-MM-DD hh:mm AM\", got {local_text:?}"
            ))
        })?;
    let utc = now.key("observation_time");
    let utc_offset_seconds = match utc.is_present() {
        false => None,
        true => {
            let s = utc.str()?;
            let utc_minutes = clock::hhmm_12h(s)
                .ok_or_else(|| utc.error(format!("expected \"hh:mm AM\", got {s:?}")))?;
            Some(clock::utc_offset_seconds(local_minutes, utc_minutes))
        }
    };

    let location = text(&area.key("areaName"))?
        .ok_or_else(|| area.key("areaName").error("empty"))?
        .to_owned();
    let wind_direction_degrees = now.key("winddirDegree").number_string()?;

    Ok(Weather {
        provider: Provider::Wttr,
        location,
        region: text(&area.key("region")).unwrap_or(None).map(str::to_owned),
        country: text(&area.key("country"))
            .unwrap_or(None)
            .map(str::to_owned),
        latitude: area.key("latitude").number_string()?,
        longitude: area.key("longitude").number_string()?,
        observed_local,
        utc_offset_seconds,
        temperature_celsius: now.key("temp_C").number_string()?,
        temperature_fahrenheit: now.key("temp_F").number_string()?,
        feels_like_celsius: now.key("FeelsLikeC").number_string()?,
        feels_like_fahrenheit: now.key("FeelsLikeF").number_string()?,
        humidity_percent: now.key("humidity").number_string()?,
        wind_speed_kmh: now.key("windspeedKmph").number_string()?,
        wind_gust_kmh: optional(&now.key("WindGustKmph"))?,
        wind_direction_degrees,
        wind_direction_compass: Compass::from_degrees(wind_direction_degrees),
        pressure_hpa: now.key("pressure").number_string()?,
        precipitation_mm: now.key("precipMM").number_string()?,
        uv_index: optional(&now.key("uvIndex"))?,
        visibility_km: optional(&now.key("visibility"))?,
        cloud_cover_percent: now.key("cloudcover").number_string()?,
        is_day: None,
        description,
        condition,
        provider_code: code,
        today: today(&root.key("weather").index(0))?,
    })
}

/// wttr.in's text wrapper `[{"value": "Overcast "}]` → `Some("Overcast")`; blank → `None`.
fn text<'a>(node: &Node<'a>) -> Result<Option<&'a str>, FieldError> {
    let s = node.index(0).key("value").str()?.trim();
    Ok((!s.is_empty()).then_some(s))
}

/// A number string that may be absent.
fn optional(node: &Node<'_>) -> Result<Option<f64>, FieldError> {
    match node.is_present() {
        true => node.number_string().map(Some),
        false => Ok(None),
    }
}

/// `weather[0]`: today's range and sun times; `None` without a `weather` array.
fn today(day: &Node<'_>) -> Result<Option<Today>, FieldError> {
    if !day.is_present() {
        return Ok(None);
    }
    let date_node = day.key("date");
    let date = date_node.str()?;
    if !clock::is_date(date) {
        return Err(date_node.error(format!("expected \"YYYY-MM-DD\", got {date:?}")));
    }
    let astronomy = day.key("astronomy").index(0);
    Ok(Some(Today {
        date: date.to_owned(),
        min_celsius: day.key("mintempC").number_string()?,
        max_celsius: day.key("maxtempC").number_string()?,
        sunrise_local: sun_time(&astronomy.key("sunrise"))?,
        sunset_local: sun_time(&astronomy.key("sunset"))?,
    }))
}

/// `06:49 AM` → `Some("06:49")`; absent or `No sunrise` / `No sunset` → `None`.
fn sun_time(node: &Node<'_>) -> Result<Option<String>, FieldError> {
    if !node.is_present() {
        return Ok(None);
    }
    let s = node.str()?;
    if s.trim().to_ascii_lowercase().starts_with("no ") {
        return Ok(None);
    }
    clock::hhmm_12h(s)
        .map(|m| Some(clock::format_hhmm(m)))
        .ok_or_else(|| node.error(format!("expected \"hh:mm AM\", got {s:?}")))
}

impl Condition {
    /// The condition for a World Weather Online code, as wttr.in gives in `weatherCode`.
    ///
    /// | WWO codes | meaning | condition |
    /// | --- | --- | --- |
    /// | 113 | clear / sunny | `Clear` |
    /// | 116 | partly cloudy | `PartlyCloudy` |
    /// | 119 | cloudy | `Cloudy` |
    /// | 122 | overcast | `Overcast` |
    /// | 143, 248, 260 | mist, fog, freezing fog | `Fog` |
    /// | 263, 266 | patchy light drizzle, light drizzle | `Drizzle` |
    /// | 176, 293, 296, 299, 302, 305, 308, 353, 356, 359 | rain (patchy … torrential, showers) | `Rain` |
    /// | 179, 182, 185, 281, 284, 311, 314, 317, 320, 350, 362, 365, 374, 377 | sleet, freezing drizzle or rain, ice pellets (179 "patchy snow possible" as wttr.in draws it: sleet) | `Sleet` |
    /// | 227, 230, 323, 326, 329, 332, 335, 338, 368, 371, 395 | blowing snow, blizzard, snow, snow showers, heavy snow with thunder | `Snow` |
    /// | 200, 386, 389, 392 | thundery outbreaks, rain or light snow with thunder | `Thunderstorm` |
    /// | anything else | | `Unknown` |
    ///
    /// Source: WWO's weather condition code list, as wttr.in's `WWO_CODE` table uses it.
    /// 395 ("moderate or heavy snow with thunder") is `Snow` because wttr.in draws it as
    /// heavy snow showers.
    pub fn from_wwo_code(code: u16) -> Condition {
        match code {
            113 => Condition::Clear,
            116 => Condition::PartlyCloudy,
            119 => Condition::Cloudy,
            122 => Condition::Overcast,
            143 | 248 | 260 => Condition::Fog,
            263 | 266 => Condition::Drizzle,
            176 | 293 | 296 | 299 | 302 | 305 | 308 | 353 | 356 | 359 => Condition::Rain,
            179 | 182 | 185 | 281 | 284 | 311 | 314 | 317 | 320 | 350 | 362 | 365 | 374 | 377 => {
                Condition::Sleet
            }
            227 | 230 | 323 | 326 | 329 | 332 | 335 | 338 | 368 | 371 | 395 => Condition::Snow,
            200 | 386 | 389 | 392 => Condition::Thunderstorm,
            _ => Condition::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every WWO code wttr.in knows (its `WWO_CODE` table).
    const WWO_CODES: [u16; 48] = [
        113, 116, 119, 122, 143, 176, 179, 182, 185, 200, 227, 230, 248, 260, 263, 266, 281, 284,
        293, 296, 299, 302, 305, 308, 311, 314, 317, 320, 323, 326, 329, 332, 335, 338, 350, 353,
        356, 359, 362, 365, 368, 371, 374, 377, 386, 389, 392, 395,
    ];

    #[test]
    fn every_wwo_code_is_mapped() {
        for code in WWO_CODES {
            assert_ne!(Condition::from_wwo_code(code), Condition::Unknown, "{code}");
        }
        assert_eq!(Condition::from_wwo_code(0), Condition::Unknown);
        assert_eq!(Condition::from_wwo_code(999), Condition::Unknown);
    }

    #[test]
    fn wwo_mapping_samples() {
        let check = |code: u16, expected: Condition| {
            assert_eq!(Condition::from_wwo_code(code), expected, "{code}");
        };
        check(113, Condition::Clear);
        check(116, Condition::PartlyCloudy);
        check(119, Condition::Cloudy);
        check(122, Condition::Overcast);
        check(248, Condition::Fog);
        check(266, Condition::Drizzle);
        check(296, Condition::Rain);
        check(359, Condition::Rain);
        check(281, Condition::Sleet);
        check(311, Condition::Sleet);
        check(338, Condition::Snow);
        check(227, Condition::Snow);
        check(200, Condition::Thunderstorm);
        check(389, Condition::Thunderstorm);
        check(392, Condition::Thunderstorm);
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            provider: Provider::Wttr,
            url: "http://127.0.0.1:1/Berlin?format=j1".into(),
            status,
            body: body.into(),
        }
    }

    fn minimal() -> Value {
        json!({
            "current_condition": [{
                "FeelsLikeC": "-3", "FeelsLikeF": "27", "cloudcover": "75", "humidity": "80",
                "localObsDateTime": "2026-01-10 07:15 AM", "observation_time": "06:15 AM",
                "precipMM": "0.1", "pressure": "1002", "temp_C": "-0", "temp_F": "32",
                "weatherCode": "326", "weatherDesc": [{"value": "Light snow "}],
                "winddirDegree": "10", "windspeedKmph": "14"
            }],
            "nearest_area": [{
                "areaName": [{"value": "Berlin"}], "country": [{"value": ""}],
                "latitude": "52.517", "longitude": "13.389"
            }]
        })
    }

    #[test]
    fn minimal_document_without_optional_parts() {
        let w = parse_j1(&minimal()).unwrap();
        assert_eq!(w.temperature_celsius.to_string(), "0");
        assert_eq!(w.description, "Light snow");
        assert_eq!(w.condition, Condition::Snow);
        assert_eq!(w.wind_direction_compass, Compass::North);
        assert_eq!(w.observed_local, "2026-01-10T07:15");
        assert_eq!(w.utc_offset_seconds, Some(3600));
        assert_eq!((w.region, w.country), (None, None));
        assert_eq!((w.uv_index, w.visibility_km, w.today), (None, None, None));
    }

    #[test]
    fn blank_description_falls_back_to_the_condition() {
        let mut doc = minimal();
        doc["current_condition"][0]["weatherDesc"] = json!([{"value": "  "}]);
        assert_eq!(parse_j1(&doc).unwrap().description, "Snow");
    }

    #[test]
    fn bad_values_name_their_field() {
        let check = |path: &[&str], value: Value, field: &str| {
            let mut doc = minimal();
            let mut slot = &mut doc;
            for key in path {
                slot = match key.parse::<usize>() {
                    Ok(i) => &mut slot[i],
                    Err(_) => &mut slot[*key],
                };
            }
            *slot = value;
            let err = parse_j1(&doc).unwrap_err();
            assert_eq!(err.field, field, "{err:?}");
        };
        check(
            &["current_condition", "0", "temp_C"],
            json!("warm"),
            "current_condition[0].temp_C",
        );
        check(
            &["current_condition", "0", "humidity"],
            json!(80),
            "current_condition[0].humidity",
        );
        check(
            &["current_condition", "0", "weatherCode"],
            json!("sun"),
            "current_condition[0].weatherCode",
        );
        check(
            &["current_condition", "0", "uvIndex"],
            json!("high"),
            "current_condition[0].uvIndex",
        );
        check(
            &["current_condition", "0", "localObsDateTime"],
            json!("now"),
            "current_condition[0].localObsDateTime",
        );
        check(
            &["nearest_area"],
            json!([]),
            "nearest_area[0].areaName[0].value",
        );
        check(
            &["current_condition"],
            json!({}),
            "current_condition[0].weatherCode",
        );
    }

    #[test]
    fn texts_map_to_errors() {
        let kind = |status: u16, body: &str| {
            interpret(&reply(status, body), &Location::Name("Berlin".into()))
                .unwrap_err()
                .kind()
                .as_str()
        };
        assert_eq!(kind(200, ""), "unavailable");
        assert_eq!(
            kind(200, "Unknown location; please try ~52.5,13.3"),
            "unknown_location"
        );
        assert_eq!(
            kind(200, "This query is already being processed"),
            "unavailable"
        );
        assert_eq!(kind(200, "<html>hello</html>"), "bad_upstream");
        assert_eq!(kind(200, "{\"current_condition\": ["), "bad_upstream");
        assert_eq!(kind(404, "{}"), "unknown_location");
        assert_eq!(kind(429, "Too Many Requests"), "over_capacity");
        assert_eq!(
            kind(500, "location not found: location not found\n"),
            "unknown_location"
        );
        assert_eq!(
            kind(500, "weather data source not available\n"),
            "unavailable"
        );
        assert_eq!(kind(500, "ERR003: unknown option: nocache\n"), "rejected");
        assert_eq!(kind(502, "Bad Gateway"), "unavailable");
        assert_eq!(kind(503, ""), "unavailable");
        assert_eq!(
            kind(
                503,
                "\nSorry, we are running out of queries to the weather service"
            ),
            "over_capacity"
        );
    }

    #[test]
    fn unknown_location_quotes_the_request() {
        let err = interpret(
            &reply(500, "location not found: location not found\n"),
            &Location::Name("Atlantis".into()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "wttr.in does not know the location \"Atlantis\": location not found: location not found"
        );
    }
}
