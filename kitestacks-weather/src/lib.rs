//! kitestacks-weather: current weather from wttr.in or Open-Meteo behind one
//! [`WeatherProvider`] trait, as clean typed data or a clear error.
//!
//! Principal types:
//! - [`WeatherProvider`]: the object-safe trait a server holds as `Arc<dyn WeatherProvider>`.
//! - [`WttrProvider`] (`GET {base}/{location}?format=j1`) and [`OpenMeteoProvider`]
//!   (`GET {base}/v1/forecast?latitude=…`), each with a builder for base URL, timeout and
//!   user agent. Bodies are capped at 1 MiB; a redirect to another origin is never
//!   followed (at most [`MAX_REDIRECTS`] within it).
//! - [`Weather`] (with [`Today`], [`Condition`], [`Compass`], [`Provider`]): metric values
//!   with their units in the field names, `Serialize` + `utoipa::ToSchema` for the portal.
//! - [`Location`]: a place name or `latitude,longitude`, parsed from configuration text.
//! - [`Error`] and its stable [`ErrorKind`] (`unknown_location`, `unavailable`, `timeout`…).
//!
//! wttr.in writes numbers as strings (`"-0"`), pads descriptions, and answers failures with
//! 200 and plain text as often as with 500 or 503: every such answer becomes a specific
//! [`Error`], never a panic or a made-up number. This crate knows nothing of HTTP servers,
//! and it does not cache: wttr.in renews its data only every 10 to 45 minutes and
//! Open-Meteo's current values move in 15-minute steps, so ask at most every 15 minutes.
//! The portal puts each provider behind its one upstream cache (single flight,
//! stale-on-error, back-off), shared with Forgejo.
//!
//! ```
//! use kitestacks_weather::{Condition, ErrorKind, Location, OpenMeteoProvider};
//!
//! let paris: Location = "48.85,2.35".parse()?;
//! assert_eq!(paris.as_coordinates(), Some((48.85, 2.35)));
//! let berlin: Location = "Berlin".parse()?;
//! assert_eq!(berlin, Location::Name("Berlin".into()));
//!
//! // Both providers' codes map to one set of conditions a page draws icons for.
//! assert_eq!(Condition::from_wwo_code(122), Condition::Overcast);
//! assert_eq!(Condition::from_wmo_code(3).as_str(), "overcast");
//!
//! // Open-Meteo needs coordinates, and says so when built.
//! let err = OpenMeteoProvider::new(berlin).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Config);
//! # Ok::<(), kitestacks_weather::Error>(())
//! ```
//!
//! Asking wttr.in (network, so not run here):
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use kitestacks_weather::{WeatherProvider, WttrProvider};
//!
//! # async fn demo() -> Result<(), kitestacks_weather::Error> {
//! let wttr = WttrProvider::builder("Berlin".parse()?)
//!     .timeout(Duration::from_secs(10))
//!     .build()?;
//! let provider: Arc<dyn WeatherProvider> = Arc::new(wttr);
//! match provider.current().await {
//!     Ok(w) => println!("{}: {} °C, {}", w.location, w.temperature_celsius, w.description),
//!     Err(e) => eprintln!("no weather ({}): {e}", e.kind()),
//! }
//! # Ok(())
//! # }
//! ```

mod clock;
mod error;
mod json;
mod location;
mod open_meteo;
#[cfg(test)]
mod props;
mod provider;
mod upstream;
mod weather;
mod wttr;

pub use error::{Error, ErrorKind, Transport};
pub use location::Location;
pub use open_meteo::{OpenMeteoBuilder, OpenMeteoProvider};
pub use provider::WeatherProvider;
pub use upstream::{DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, MAX_REDIRECTS};
pub use weather::{Compass, Condition, Provider, Today, Weather};
pub use wttr::{WttrBuilder, WttrProvider};

/// The README's example, run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
