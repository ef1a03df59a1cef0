//! Prints the current weather for a location, from wttr.in or (with `--open-meteo`) Open-Meteo.
//!
//! Run with: cargo run -p kitestacks-examples --example weather -- Berlin
//!
//! Or `-- Berlin --open-meteo 52.52,13.41` (Open-Meteo needs coordinates; the name only
//! labels them), and `--base-url http://127.0.0.1:8080` to ask a local fake instead.

use std::sync::Arc;

use anyhow::Context;
use kitestacks_weather::{OpenMeteoProvider, Weather, WeatherProvider, WttrProvider};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut location = None;
    let mut open_meteo = None;
    let mut base_url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--open-meteo" => open_meteo = Some(args.next().context("--open-meteo needs LAT,LON")?),
            "--base-url" => base_url = Some(args.next().context("--base-url needs a URL")?),
            _ => location = Some(arg),
        }
    }

    let provider: Arc<dyn WeatherProvider> = match open_meteo {
        Some(point) => {
            let mut builder = OpenMeteoProvider::builder(point.parse()?);
            if let Some(name) = location {
                builder = builder.name(name);
            }
            if let Some(url) = base_url {
                builder = builder.base_url(url);
            }
            Arc::new(builder.build()?)
        }
        None => {
            let place = location.unwrap_or_else(|| "Berlin".to_owned());
            let mut builder = WttrProvider::builder(place.parse()?);
            if let Some(url) = base_url {
                builder = builder.base_url(url);
            }
            Arc::new(builder.build()?)
        }
    };

    match provider.current().await {
        Ok(weather) => print(&weather),
        Err(e) => anyhow::bail!(
            "no weather from {} ({}): {e}",
            provider.provider(),
            e.kind()
        ),
    }
    Ok(())
}

fn print(w: &Weather) {
    let place = [
        Some(w.location.as_str()),
        w.region.as_deref(),
        w.country.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    println!("{place} ({}, observed {})", w.provider, w.observed_local);
    println!(
        "  {} ({}): {} °C / {} °F, feels like {} °C",
        w.description,
        w.condition,
        w.temperature_celsius,
        w.temperature_fahrenheit,
        w.feels_like_celsius
    );
    println!(
        "  wind {} km/h from {} ({}°), humidity {} %, pressure {} hPa",
        w.wind_speed_kmh,
        w.wind_direction_compass,
        w.wind_direction_degrees,
        w.humidity_percent,
        w.pressure_hpa
    );
    println!(
        "  precipitation {} mm, cloud cover {} %",
        w.precipitation_mm, w.cloud_cover_percent
    );
    if let Some(today) = &w.today {
        let sun = |t: &Option<String>| t.clone().unwrap_or_else(|| "-".to_owned());
        println!(
            "  today {}: {} to {} °C, sunrise {}, sunset {}",
            today.date,
            today.min_celsius,
            today.max_celsius,
            sun(&today.sunrise_local),
            sun(&today.sunset_local)
        );
    }
}
