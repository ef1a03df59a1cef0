//! Integration tests of the portal: routes driven without a socket, the server loop over
//! real loopback sockets, the OpenAPI drift check, and the binary's flags.

mod attacks;
mod cli;
mod exporter;
mod fake;
mod http;
mod metrics;
mod openapi;
mod page;
mod routes;
mod schema;
mod server;
mod status;
mod tidy;
mod upstreams;
mod webconfig;
