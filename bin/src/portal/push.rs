//! Push monitors (dead-man checks): `GET`/`POST /api/push/{token}` records a heartbeat of
//! the service whose token it is (`?status=down&msg=…` reports a failure); the prober
//! calls a service down with `missed_heartbeat` once a push is later than its period plus
//! grace. Tokens are compared in constant time, each against every monitor's, and an
//! unknown token is a plain 404 that says nothing about which exist.

use hyper::{Response, StatusCode};
use kitestacks_core::api::ErrorBody;
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::probe::{ProbeState, Status};
use crate::response;
use crate::server::Body;

/// The longest `msg` kept (characters).
const MESSAGE_LIMIT: usize = 200;

/// The answer to a push.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"id": "backup", "state": "up"}))]
pub struct PushAnswer {
    /// The service the token belongs to.
    pub id: String,
    /// Its state after this push.
    pub state: ProbeState,
}

/// The index of the token's monitor among `tokens`, compared in constant time against
/// every one (no early exit: the time taken says nothing about which matched).
pub fn find(tokens: &[(usize, &str)], token: &str) -> Option<usize> {
    let mut found = None;
    for (i, t) in tokens {
        let same = t.as_bytes().ct_eq(token.as_bytes());
        if bool::from(same) {
            found = Some(*i);
        }
    }
    found
}

/// `status` and `msg` from a query string: `(down, message)`.
pub fn parse_query(query: Option<&str>) -> Result<(bool, Option<String>), String> {
    let mut down = false;
    let mut msg = None;
    for (key, value) in crate::query::pairs(query) {
        match key.as_ref() {
            "status" => match value.as_str() {
                "up" | "ok" | "" => down = false,
                "down" | "fail" => down = true,
                other => {
                    let shown: String = other.chars().take(16).collect();
                    return Err(format!("status must be up or down, not {shown:?}"));
                }
            },
            "msg" => {
                let clean: String = value
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MESSAGE_LIMIT)
                    .collect();
                msg = Some(clean).filter(|m| !m.trim().is_empty());
            }
            _ => {}
        }
    }
    Ok((down, msg))
}

// `?status=` as the OpenAPI document's enum (the route matches the query's text).
/// What the job reports.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum PushStatus {
    Up,
    Down,
}

/// Records a push.
#[utoipa::path(
    get,
    path = "/api/push/{token}",
    tag = "portal",
    operation_id = "push",
    summary = "Record a push monitor's heartbeat (POST works too)",
    description = "A service with a `push` monitor is up while its job calls this at least \
                   every `period` (plus `grace`); later, it is down with `missed_heartbeat`. \
                   `status=down` reports a failure now (`pushed_down`), `msg` a line for \
                   the log. POST takes the same query and ignores its body. An unknown \
                   token answers 404.",
    params(
        ("token" = String, Path, description = "The monitor's token"),
        ("status" = inline(Option<PushStatus>), Query, description = "`up` (default) or `down`"),
        ("msg" = Option<String>, Query, description = "A line for the log (200 characters at most)"),
    ),
    responses(
        (status = 200, description = "Recorded", body = PushAnswer),
        (status = 400, description = "A status other than up or down", body = ErrorBody),
        (status = 404, description = "No push monitor has this token", body = ErrorBody),
    )
)]
pub fn route(status: &Status, token: &str, query: Option<&str>) -> Response<Body> {
    let (down, msg) = match parse_query(query) {
        Ok(q) => q,
        Err(e) => return response::error(StatusCode::BAD_REQUEST, "bad_request", e),
    };
    match status.push(token, down, msg.as_deref()) {
        Some((id, state)) => response::json(StatusCode::OK, &PushAnswer { id, state }),
        None => response::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no push monitor has this token",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_whole_and_exactly() {
        let tokens = [(0, "alpha-token-0123456"), (3, "beta-token-98765432")];
        assert_eq!(find(&tokens, "beta-token-98765432"), Some(3));
        assert_eq!(find(&tokens, "beta-token-9876543"), None);
        assert_eq!(find(&tokens, ""), None);
    }

    #[test]
    fn the_query_says_down_and_why() {
        assert_eq!(parse_query(None), Ok((false, None)));
        assert_eq!(
            parse_query(Some("status=down&msg=disk%20full+on%0Anas")),
            Ok((true, Some("disk full onnas".to_owned())))
        );
        assert_eq!(
            parse_query(Some("status=maybe")),
            Err("status must be up or down, not \"maybe\"".to_owned())
        );
    }
}
