//! Integration tests of the portal: routes driven without a socket, the server loop over
//! real loopback sockets, the OpenAPI drift check, the binary's flags, and property tests
//! of the web config's parsing (`props`).

mod alerts;
mod attacks;
mod checks;
mod cli;
mod config_cli;
mod containers;
mod exporter;
mod failures;
mod fake;
mod fleet;
mod http;
mod live;
mod logs;
mod metrics;
#[path = "../../../kitestacks-metrics/tests/it/mutate.rs"]
mod mutate;
mod openapi;
mod page;
mod props;
mod push;
mod routes;
mod schema;
mod server;
mod startup;
mod status;
mod tidy;
mod upstreams;
mod uptime;
mod webconfig;
