//! kitestacks-weather: current weather from wttr.in (and Open-Meteo) behind a
//! `WeatherProvider` trait.
//!
//! Nothing is implemented yet: the provider trait, the providers and the error type
//! arrive with the weather work (see ARCHITECTURE.md). The crate exists now so that the
//! workspace has its final shape.
