//! Building responses: JSON bodies and the one error shape ([`ErrorBody`]) every error
//! uses. Errors are mapped to a status and a body here and nowhere else.

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use serde::Serialize;

use crate::server::Body;

/// `application/json`.
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A response with a body already serialised as JSON.
pub fn json_bytes(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Body::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, JSON);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Serialises `body` as JSON.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, Bytes::from(bytes)),
        Err(e) => {
            tracing::error!("cannot serialise a response body: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal server error",
            )
        }
    }
}

/// The error body `{"error": {"code": ..., "message": ...}}` with `status`.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response<Body> {
    let body = ErrorBody::new(code, message);
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| {
        br#"{"error":{"code":"internal","message":"internal server error"}}"#.to_vec()
    });
    json_bytes(status, Bytes::from(bytes))
}

/// 404 for a path nothing serves.
pub fn not_found(method: &hyper::Method, path: &str) -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {method} {}", printable(path)),
    )
}

/// 405 with the `Allow` header listing what the path accepts.
pub fn method_not_allowed(
    method: &hyper::Method,
    path: &str,
    allow: &'static str,
) -> Response<Body> {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; allowed: {allow}",
            printable(path)
        ),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// A path quoted back to a client: bounded in length so that a huge URL does not make a
/// huge error body.
fn printable(path: &str) -> String {
    const MAX: usize = 200;
    if path.len() <= MAX {
        return path.to_owned();
    }
    let mut end = MAX;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &path[..end])
}
