//! Integration tests of kitestacks-core: the embedded default, invalid configurations,
//! loading from files, property tests of the TOML parsing (`props`).

mod config;
mod fleet;
mod invalid_configs;
#[path = "../../../kitestacks-metrics/tests/it/mutate.rs"]
mod mutate;
mod props;
