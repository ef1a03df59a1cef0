//! Integration tests of kitestacks-core: the embedded default, invalid configurations,
//! loading from files.

mod config;
mod invalid_configs;
