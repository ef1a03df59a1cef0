//! Integration tests of kitestacks-forgejo against a fake Forgejo (a real hyper server on
//! 127.0.0.1:0 serving the shared fixtures), one module per topic.

mod calls;
mod errors;
mod fake;
mod recent;
mod secrets;
