//! kitestacks: the service binaries' shared code. This is the only crate that knows
//! hyper, flags, signals, exit codes and the logging setup.
//!
//! - [`server`]: the one server loop both binaries use (limits, timeouts, graceful
//!   shutdown, panics answered as 500).
//! - [`portal::Portal`]: the portal API's routes; [`Portal::handle`](portal::Portal::handle)
//!   answers a request without a socket, which is how the tests drive it.
//! - [`openapi`]: the generated OpenAPI 3.1 document.
//! - [`cli`]: the `kitestacks-portal` flags and the logging setup.
//! - [`exporter`]: the node-exporter-compatible `/metrics` endpoint of
//!   `kitestacks-exporter`, with node_exporter's flags ([`exporter::cli`]).
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

pub mod activity;
pub mod cli;
mod cors;
pub mod exporter;
pub mod metrics;
pub mod openapi;
mod page;
pub mod portal;
pub mod resident;
pub mod response;
pub mod server;
mod static_files;
pub mod status;
pub mod upstream;
pub mod weather;
pub mod webconfig;
