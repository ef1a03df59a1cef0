//! wttr.in: the j1 fixtures decoded to hand-checked values, every failure body to its error.

use std::sync::Arc;

use kitestacks_weather::{
    Compass, Condition, DEFAULT_USER_AGENT, Error, ErrorKind, Location, Provider, Today, Weather,
    WeatherProvider, WttrProvider,
};
use serde_json::{Value, json};

use crate::fake::{Answer, Fake, Seen, fixture};

const TEXT: Option<&str> = Some("text/plain; charset=utf-8");
const JSON: Option<&str> = Some("application/json");

fn location(s: &str) -> Location {
    s.parse().unwrap()
}

fn provider(fake: &Fake, at: &str) -> WttrProvider {
    WttrProvider::builder(location(at))
        .base_url(fake.base_url())
        .build()
        .unwrap()
}

/// The weather `body` (answered with 200 and `content_type`) decodes to.
async fn weather(content_type: Option<&'static str>, body: Vec<u8>) -> Weather {
    let fake = Fake::serving(Answer::new(200, content_type, body)).await;
    provider(&fake, "Heideck").current().await.unwrap()
}

/// The error the fixture `name`, served with `status`, turns into when asking for Berlin.
async fn error(name: &str, status: u16, content_type: Option<&'static str>) -> Error {
    let fake = Fake::serving(Answer::new(status, content_type, fixture("wttr", name))).await;
    let err = provider(&fake, "Berlin").current().await.unwrap_err();
    assert_eq!(fake.seen().len(), 1);
    err
}

/// j1-ok.json, edited.
fn j1_with(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(&fixture("wttr", "j1-ok.json")).unwrap();
    edit(&mut doc);
    serde_json::to_vec(&doc).unwrap()
}

fn heideck() -> Weather {
    Weather {
        provider: Provider::Wttr,
        location: "Heideck".into(),
        region: Some("Bayern".into()),
        country: Some("Germany".into()),
        latitude: 49.117,
        longitude: 11.117,
        observed_local: "2026-04-03T22:37".into(),
        utc_offset_seconds: Some(2 * 3600),
        temperature_celsius: 9.0,
        temperature_fahrenheit: 48.0,
        feels_like_celsius: 8.0,
        feels_like_fahrenheit: 46.0,
        humidity_percent: 58.0,
        wind_speed_kmh: 8.0,
        wind_gust_kmh: None,
        wind_direction_degrees: 235.0,
        wind_direction_compass: Compass::SouthWest,
        pressure_hpa: 1018.0,
        precipitation_mm: 0.0,
        uv_index: Some(0.0),
        visibility_km: Some(10.0),
        cloud_cover_percent: 100.0,
        is_day: None,
        description: "Overcast".into(),
        condition: Condition::Overcast,
        provider_code: 122,
        today: Some(Today {
            date: "2026-04-03".into(),
            min_celsius: 1.0,
            max_celsius: 11.0,
            sunrise_local: Some("06:49".into()),
            sunset_local: Some("19:49".into()),
        }),
    }
}

#[tokio::test]
async fn j1_decodes_to_the_hand_checked_values() {
    let fake = Fake::serving(Answer::new(200, TEXT, fixture("wttr", "j1-ok.json"))).await;
    let w = provider(&fake, "Heideck").current().await.unwrap();
    assert_eq!(w, heideck());
    assert_eq!(
        fake.seen(),
        vec![Seen {
            target: "/Heideck?format=j1".into(),
            user_agent: Some(DEFAULT_USER_AGENT.into()),
        }]
    );
}

#[tokio::test]
async fn j1_serialises_with_units_in_the_names() {
    let w = weather(TEXT, fixture("wttr", "j1-ok.json")).await;
    let json = serde_json::to_value(&w).unwrap();
    assert_eq!(json["provider"], "wttr");
    assert_eq!(json["temperature_celsius"], 9.0);
    assert_eq!(json["feels_like_fahrenheit"], 46.0);
    assert_eq!(json["wind_speed_kmh"], 8.0);
    assert_eq!(json["wind_direction_compass"], "SW");
    assert_eq!(json["pressure_hpa"], 1018.0);
    assert_eq!(json["humidity_percent"], 58.0);
    assert_eq!(json["condition"], "overcast");
    assert_eq!(json["today"]["sunset_local"], "19:49");
    assert_eq!(json["wind_gust_kmh"], Value::Null);
}

#[tokio::test]
async fn python_era_json_content_type_and_j2_decode_the_same() {
    assert_eq!(
        weather(JSON, fixture("wttr", "j1-ok.json")).await,
        heideck()
    );
    assert_eq!(
        weather(TEXT, fixture("wttr", "j2-ok.json")).await,
        heideck()
    );
}

#[tokio::test]
async fn padded_description_and_minus_zero_are_cleaned() {
    let body = j1_with(|doc| {
        let now = &mut doc["current_condition"][0];
        now["weatherDesc"] = json!([{ "value": "Clear " }]);
        now["weatherCode"] = json!("113");
        now["temp_C"] = json!("-0");
        now["FeelsLikeC"] = json!("-3");
    });
    let w = weather(TEXT, body).await;
    assert_eq!(w.description, "Clear");
    assert_eq!(w.condition, Condition::Clear);
    assert_eq!(w.temperature_celsius, 0.0);
    assert!(w.temperature_celsius.is_sign_positive());
    assert_eq!(w.feels_like_celsius, -3.0);
    assert_eq!(
        serde_json::to_value(&w).unwrap()["temperature_celsius"].to_string(),
        "0.0"
    );
}

#[tokio::test]
async fn no_sunrise_is_none() {
    let body = j1_with(|doc| {
        doc["weather"][0]["astronomy"][0]["sunrise"] = json!("No sunrise");
    });
    let today = weather(TEXT, body).await.today.unwrap();
    assert_eq!(today.sunrise_local, None);
    assert_eq!(today.sunset_local.as_deref(), Some("19:49"));
}

#[tokio::test]
async fn non_numeric_temperature_is_undecodable_naming_the_field() {
    let fake = Fake::serving(Answer::new(
        200,
        TEXT,
        j1_with(|doc| doc["current_condition"][0]["temp_C"] = json!("warm")),
    ))
    .await;
    let err = provider(&fake, "Heideck").current().await.unwrap_err();
    let Error::Undecodable {
        provider,
        field,
        reason,
        ..
    } = &err
    else {
        panic!("expected Undecodable, got {err:?}");
    };
    assert_eq!(*provider, Provider::Wttr);
    assert_eq!(field.as_deref(), Some("current_condition[0].temp_C"));
    assert_eq!(reason, "expected a number, got \"warm\"");
    assert_eq!(err.kind(), ErrorKind::BadUpstream);
    assert!(
        err.to_string().contains("current_condition[0].temp_C"),
        "{err}"
    );
}

#[tokio::test]
async fn garbage_json_is_undecodable_quoting_the_body() {
    let garbage = format!(
        "{{\"current_condition\": [{{\"temp_C\": {}",
        "x".repeat(400)
    );
    let fake = Fake::serving(Answer::new(200, JSON, garbage.clone())).await;
    let err = provider(&fake, "Berlin").current().await.unwrap_err();
    let Error::Undecodable {
        field,
        reason,
        body_prefix,
        url,
        ..
    } = &err
    else {
        panic!("expected Undecodable, got {err:?}");
    };
    assert_eq!(*field, None);
    assert!(reason.starts_with("not JSON: "), "{reason}");
    assert_eq!(body_prefix.chars().count(), 201);
    assert!(garbage.starts_with(body_prefix.trim_end_matches('…')));
    assert_eq!(*url, format!("{}/Berlin?format=j1", fake.base_url()));
}

#[tokio::test]
async fn html_is_undecodable() {
    let fake = Fake::serving(Answer::new(
        200,
        Some("text/html"),
        "<html><body>Weather report</body></html>",
    ))
    .await;
    let err = provider(&fake, "Berlin").current().await.unwrap_err();
    assert!(
        matches!(err, Error::Undecodable { field: None, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_location_bodies() {
    for (name, status, content_type) in [
        ("200-unknown-location-legacy.txt", 200, JSON),
        ("500-location-not-found.txt", 500, TEXT),
        ("500-location-not-found-repeat.txt", 500, TEXT),
    ] {
        let err = error(name, status, content_type).await;
        let Error::UnknownLocation {
            provider,
            location,
            message,
        } = &err
        else {
            panic!("{name}: expected UnknownLocation, got {err:?}");
        };
        assert_eq!((*provider, location.as_str()), (Provider::Wttr, "Berlin"));
        let expected = String::from_utf8(fixture("wttr", name)).unwrap();
        assert_eq!(message, expected.trim(), "{name}");
        assert_eq!(err.kind().as_str(), "unknown_location");
    }
}

#[tokio::test]
async fn wrong_place_404_is_unknown_location() {
    // The Python-era server answered unknown names with 404 and a j1 for another place.
    let fake = Fake::serving(Answer::new(404, JSON, fixture("wttr", "j1-ok.json"))).await;
    let err = provider(&fake, "Nowhere").current().await.unwrap_err();
    assert!(
        matches!(&err, Error::UnknownLocation { location, .. } if location == "Nowhere"),
        "{err:?}"
    );
}

#[tokio::test]
async fn data_source_unavailable_is_unavailable() {
    let err = error("500-data-source-unavailable.txt", 500, TEXT).await;
    assert!(
        matches!(&err, Error::Unavailable { status: 500, message, .. }
            if message == "weather data source not available"),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn already_processing_is_unavailable_despite_200() {
    let err = error("200-already-processing.txt", 200, TEXT).await;
    assert!(
        matches!(&err, Error::Unavailable { status: 200, message, .. }
            if message == "This query is already being processed"),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn capacity_limit_is_over_capacity() {
    let err = error("503-capacity-limit-legacy.txt", 503, JSON).await;
    assert!(
        matches!(&err, Error::OverCapacity { status: 503, message, .. }
            if message.starts_with("Sorry, we are running out of queries")),
        "{err:?}"
    );
    assert_eq!(err.kind().as_str(), "over_capacity");
}

#[tokio::test]
async fn unknown_option_is_rejected() {
    let err = error("500-unknown-option.txt", 500, TEXT).await;
    assert!(
        matches!(&err, Error::Rejected { status: 500, message, .. }
            if message == "ERR003: unknown option: nocache"),
        "{err:?}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn empty_200_is_empty() {
    let err = error("200-empty.txt", 200, None).await;
    assert!(matches!(err, Error::Empty { status: 200, .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn other_statuses_are_unavailable() {
    let fake = Fake::serving(Answer::new(
        502,
        Some("text/html"),
        "<h1>502 Bad Gateway</h1>",
    ))
    .await;
    let err = provider(&fake, "Berlin").current().await.unwrap_err();
    assert!(
        matches!(err, Error::Unavailable { status: 502, .. }),
        "{err:?}"
    );
}

/// A fake that answers the j1 fixture only at `expected`, 404 elsewhere.
async fn only_at(expected: &'static str) -> Fake {
    Fake::start(move |seen| match seen.target == expected {
        true => Answer::new(200, TEXT, fixture("wttr", "j1-ok.json")),
        false => Answer::new(404, TEXT, format!("unexpected {}", seen.target)),
    })
    .await
}

#[tokio::test]
async fn location_is_percent_encoded_in_the_path() {
    for (at, expected) in [
        ("São Paulo", "/S%C3%A3o%20Paulo?format=j1"),
        ("Frankfurt/Main", "/Frankfurt%2FMain?format=j1"),
        ("Paris, France", "/Paris,%20France?format=j1"),
        ("what?#", "/what%3F%23?format=j1"),
        ("48.85,2.35", "/48.85,2.35?format=j1"),
    ] {
        let fake = only_at(expected).await;
        let result = provider(&fake, at).current().await;
        assert_eq!(fake.seen()[0].target, expected, "{at:?}");
        assert!(result.is_ok(), "{at:?}: {result:?}");
    }
}

#[tokio::test]
async fn base_url_path_prefix_and_user_agent_are_kept() {
    let fake = only_at("/wttr/Berlin?format=j1").await;
    let wttr = WttrProvider::builder(location("Berlin"))
        .base_url(format!("{}/wttr/", fake.base_url()))
        .user_agent("kitestacks-test/1")
        .build()
        .unwrap();
    assert_eq!(
        wttr.request_url().as_str(),
        format!("{}/wttr/Berlin?format=j1", fake.base_url())
    );
    let shared: Arc<dyn WeatherProvider> = Arc::new(wttr);
    assert_eq!(shared.provider(), Provider::Wttr);
    assert_eq!(shared.location(), &location("Berlin"));
    shared.current().await.unwrap();
    assert_eq!(
        fake.seen()[0].user_agent.as_deref(),
        Some("kitestacks-test/1")
    );
}
