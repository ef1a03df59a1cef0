//! Integration tests of kitestacks-forgejo against a fake Forgejo (a real hyper server on
//! 127.0.0.1:0 serving the shared fixtures), one module per topic, and property tests of
//! the models' deserialisation (`props`).

mod calls;
mod errors;
mod fake;
#[path = "../../../kitestacks-metrics/tests/it/mutate.rs"]
mod mutate;
mod props;
mod recent;
mod secrets;
