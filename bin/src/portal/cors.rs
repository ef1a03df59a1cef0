//! CORS: off unless `[server] cors_allow_origins` lists origins (the page is normally
//! served from the same origin, behind nginx).

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use super::routes::{ALLOW, ALLOW_WITH_OPTIONS};
use crate::response;
use crate::server::Body;

/// The allowed origins.
#[derive(Debug, Clone)]
pub struct Cors {
    any: bool,
    origins: Vec<String>,
}

impl Cors {
    /// From the configured list (`*` allows any origin).
    pub fn new(allowed: &[String]) -> Self {
        Self {
            any: allowed.iter().any(|o| o == "*"),
            origins: allowed
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether any origin is allowed at all.
    pub fn enabled(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The `Allow` header value for the API's routes.
    pub fn allow_header(&self) -> &'static str {
        if self.enabled() {
            ALLOW_WITH_OPTIONS
        } else {
            ALLOW
        }
    }

    fn allowed(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?;
        if self.any {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?.to_ascii_lowercase();
        self.origins.contains(&text).then(|| origin.clone())
    }

    /// Adds `Access-Control-Allow-Origin` to a response for an allowed origin.
    pub fn decorate(&self, origin: Option<&HeaderValue>, response: &mut Response<Body>) {
        if !self.enabled() {
            return;
        }
        if let Some(value) = self.allowed(origin) {
            response
                .headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        if !self.any {
            response
                .headers_mut()
                .append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }

    /// Answers a preflight `OPTIONS` request.
    pub fn preflight(&self, origin: Option<&HeaderValue>, headers: &HeaderMap) -> Response<Body> {
        let Some(value) = self.allowed(origin) else {
            return response::error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this origin is not in [server] cors_allow_origins",
            );
        };
        let mut r = Response::new(Body::default());
        *r.status_mut() = StatusCode::NO_CONTENT;
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW),
        );
        if let Some(req_headers) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, req_headers.clone());
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        if !self.any {
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        r
    }
}
