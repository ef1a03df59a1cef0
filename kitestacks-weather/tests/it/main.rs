//! Integration tests: both providers against fake upstreams on 127.0.0.1, serving the
//! shared fixtures with their documented statuses.

mod fake;
mod open_meteo;
mod transport;
mod wttr;
