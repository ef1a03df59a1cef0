//! The cost of loading the configuration and of rendering the `/api/services` body.
//!
//! Run with: `cargo bench -p kitestacks-benches --bench config`

#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use kitestacks_core::api::ServicesResponse;
use kitestacks_core::{Config, DEFAULT_CONFIG_TOML};

fn config(c: &mut Criterion) {
    c.bench_function("config/parse_and_validate_default", |b| {
        b.iter(|| Config::from_toml(std::hint::black_box(DEFAULT_CONFIG_TOML), "bench", None))
    });
    let config = Config::default_embedded();
    c.bench_function("config/render_services_json", |b| {
        b.iter(|| {
            serde_json::to_vec(&ServicesResponse::from_config(std::hint::black_box(
                &config,
            )))
        })
    });
}

criterion_group!(benches, config);
criterion_main!(benches);
