//! kitestacks: the service binaries' shared code. This is the only crate that knows
//! hyper, flags, signals, exit codes and the logging setup.
//!
//! Two wings, one per binary, over a shared floor:
//! - [`portal`]: the portal API of `kitestacks-portal` ([`portal::Portal`], its route
//!   table [`portal::routes`], its flags [`portal::cli`], the OpenAPI document
//!   [`portal::openapi`]). [`Portal::handle`](portal::Portal::handle) answers a request
//!   without a socket, which is how the tests drive it.
//! - [`exporter`]: the node-exporter-compatible `/metrics` endpoint of
//!   `kitestacks-exporter`, with node_exporter's flags ([`exporter::cli`]).
//! - Shared by both: [`server`] (the one server loop: limits, timeouts, graceful
//!   shutdown, panics answered as 500), [`response`], [`webconfig`] (the exporter-toolkit
//!   web config: TLS, basic auth, headers), [`resident`] and [`logging`].
//!
//! ```
//! use kitestacks::portal::Portal;
//! use kitestacks_core::Config;
//!
//! let portal = Portal::new(&Config::default_embedded()).unwrap();
//! let req = hyper::Request::get("/api/health").body(()).unwrap();
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let resp = rt.block_on(portal.handle(req));
//! assert_eq!(resp.status(), 200);
//! ```

pub mod body;
pub mod exporter;
pub mod logging;
pub mod portal;
pub mod query;
pub mod resident;
pub mod response;
pub mod server;
pub mod webconfig;
