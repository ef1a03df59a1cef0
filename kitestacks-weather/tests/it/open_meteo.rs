//! Open-Meteo: the documented request, the current fixture decoded, its error bodies mapped.

use kitestacks_weather::{
    Compass, Condition, Error, ErrorKind, Location, OpenMeteoProvider, Provider, Today,
    WeatherProvider,
};
use serde_json::{Value, json};

use crate::fake::{Answer, Fake, fixture};

const JSON: Option<&str> = Some("application/json; charset=utf-8");

const EXPECTED_QUERY: &str = "latitude=52.52&longitude=13.41\
    &current=temperature_2m,relative_humidity_2m,apparent_temperature,is_day,precipitation,\
    weather_code,cloud_cover,pressure_msl,wind_speed_10m,wind_direction_10m,wind_gusts_10m\
    &daily=temperature_2m_max,temperature_2m_min,sunrise,sunset&forecast_days=1&timezone=auto";

fn provider(fake: &Fake) -> OpenMeteoProvider {
    OpenMeteoProvider::builder("52.52,13.41".parse().unwrap())
        .name("Berlin")
        .base_url(fake.base_url())
        .build()
        .unwrap()
}

async fn serving(status: u16, body: Vec<u8>) -> Fake {
    Fake::serving(Answer::new(status, JSON, body)).await
}

#[tokio::test]
async fn current_decodes_to_the_hand_checked_values() {
    let fake = serving(200, fixture("openmeteo", "open-meteo-current.json")).await;
    let w = provider(&fake).current().await.unwrap();
    assert_eq!(
        fake.seen()[0].target,
        format!("/v1/forecast?{EXPECTED_QUERY}")
    );
    assert_eq!(w.provider, Provider::OpenMeteo);
    assert_eq!(w.location, "Berlin");
    assert_eq!((w.latitude, w.longitude), (52.52, 13.419998));
    assert_eq!(w.observed_local, "2026-11-22T20:30");
    assert_eq!(w.utc_offset_seconds, Some(3600));
    assert_eq!(w.temperature_celsius, 4.7);
    assert_eq!(w.temperature_fahrenheit, 40.5);
    assert_eq!(w.feels_like_celsius, 1.2);
    assert_eq!(w.feels_like_fahrenheit, 34.2);
    assert_eq!(w.humidity_percent, 86.0);
    assert_eq!(w.wind_speed_kmh, 11.2);
    assert_eq!(w.wind_gust_kmh, Some(25.6));
    assert_eq!(w.wind_direction_degrees, 242.0);
    assert_eq!(w.wind_direction_compass, Compass::WestSouthWest);
    assert_eq!(w.pressure_hpa, 1012.4);
    assert_eq!(w.precipitation_mm, 0.0);
    assert_eq!(w.cloud_cover_percent, 100.0);
    assert_eq!(w.is_day, Some(false));
    assert_eq!((w.uv_index, w.visibility_km), (None, None));
    assert_eq!(w.description, "Overcast");
    assert_eq!(w.condition, Condition::Overcast);
    assert_eq!(w.provider_code, 3);
    assert_eq!(w.today, None, "the fixture has no daily block");
    assert_eq!(serde_json::to_value(&w).unwrap()["provider"], "open_meteo");
}

#[tokio::test]
async fn daily_block_gives_today() {
    let mut doc: Value =
        serde_json::from_slice(&fixture("openmeteo", "open-meteo-current.json")).unwrap();
    doc["daily"] = json!({
        "time": ["2026-11-22"],
        "temperature_2m_max": [6.1],
        "temperature_2m_min": [-0.4],
        "sunrise": ["2026-11-22T07:45"],
        "sunset": ["2026-11-22T15:58"]
    });
    doc["current"]["weather_code"] = json!(95);
    let fake = serving(200, serde_json::to_vec(&doc).unwrap()).await;
    let w = provider(&fake).current().await.unwrap();
    assert_eq!(
        w.today,
        Some(Today {
            date: "2026-11-22".into(),
            min_celsius: -0.4,
            max_celsius: 6.1,
            sunrise_local: Some("07:45".into()),
            sunset_local: Some("15:58".into()),
        })
    );
    assert_eq!(w.condition, Condition::Thunderstorm);
    assert_eq!(w.description, "Thunderstorm");
}

#[tokio::test]
async fn non_numeric_temperature_is_undecodable_naming_the_field() {
    let mut doc: Value =
        serde_json::from_slice(&fixture("openmeteo", "open-meteo-current.json")).unwrap();
    doc["current"]["temperature_2m"] = json!("mild");
    let fake = serving(200, serde_json::to_vec(&doc).unwrap()).await;
    let err = provider(&fake).current().await.unwrap_err();
    assert!(
        matches!(&err, Error::Undecodable { field: Some(f), .. } if f == "current.temperature_2m"),
        "{err:?}"
    );
}

#[tokio::test]
async fn error_400_is_rejected_with_its_reason() {
    let fake = serving(400, fixture("openmeteo", "open-meteo-error-400.json")).await;
    let err = provider(&fake).current().await.unwrap_err();
    assert!(
        matches!(&err, Error::Rejected { provider: Provider::OpenMeteo, status: 400, message, .. }
            if message == "Latitude must be in range of -90 to 90°. Given: 95.0."),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Rejected);
}

#[tokio::test]
async fn error_429_is_over_capacity() {
    let fake = serving(429, fixture("openmeteo", "open-meteo-error-429.json")).await;
    let err = provider(&fake).current().await.unwrap_err();
    assert!(
        matches!(&err, Error::OverCapacity { status: 429, message, .. }
            if message == "Minutely API request limit exceeded. Please try again in one minute."),
        "{err:?}"
    );
    assert_eq!(err.kind().as_str(), "over_capacity");
}

#[tokio::test]
async fn server_errors_are_unavailable() {
    let fake = Fake::serving(Answer::new(
        503,
        Some("text/html"),
        "<h1>Service Unavailable</h1>",
    ))
    .await;
    let err = provider(&fake).current().await.unwrap_err();
    assert!(
        matches!(err, Error::Unavailable { status: 503, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn place_names_are_refused_at_construction() {
    let err = OpenMeteoProvider::builder(Location::Name("Berlin".into()))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::NeedsCoordinates { provider: Provider::OpenMeteo, name } if name == "Berlin"),
        "{err:?}"
    );
}

#[tokio::test]
async fn default_name_is_the_coordinates() {
    let fake = serving(200, fixture("openmeteo", "open-meteo-current.json")).await;
    let om = OpenMeteoProvider::builder(Location::coordinates(52.52, 13.41).unwrap())
        .base_url(fake.base_url())
        .build()
        .unwrap();
    assert_eq!(om.current().await.unwrap().location, "52.52,13.41");
}
