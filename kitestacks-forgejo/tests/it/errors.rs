//! Every error answer and every broken answer maps to its `Error` variant, never a panic:
//! also a body past the cap and a redirect to another origin.

use std::time::Duration;

use kitestacks_forgejo::{Error, ErrorKind, MAX_BODY_BYTES, MAX_REDIRECTS};

use crate::fake::{Fake, Reply, fixture};

const SEARCH: &str = "/api/v1/repos/search";

/// The error `repos/search` gives when the fake answers it with `reply`.
async fn search_error(reply: Reply) -> Error {
    // Short only for the hanging server: a loaded machine must not turn others into timeouts.
    let timeout = match reply {
        Reply::Hang => Duration::from_millis(300),
        _ => Duration::from_secs(10),
    };
    let fake = Fake::start().await;
    fake.route(SEARCH, reply);
    let client = fake.client_with(|b| b.timeout(timeout));
    let e = client.search_repos(1, 10).await.unwrap_err();
    assert_eq!(e.endpoint(), Some(SEARCH), "{e:?}");
    e
}

async fn check(status: u16, file: &str, expected: ErrorKind) -> Error {
    let e = search_error(Reply::fixture(status, file)).await;
    assert_eq!(e.kind(), expected, "{file}: {e:?}");
    assert_eq!(e.status(), Some(status), "{file}");
    e
}

#[tokio::test]
async fn unauthorized_both_kinds() {
    for file in [
        "error-401-invalid-token.json",
        "error-401-token-required.json",
    ] {
        let e = check(401, file, ErrorKind::Unauthorized).await;
        assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn forbidden_with_and_without_a_scope() {
    let e = check(403, "error-403-token-scope.json", ErrorKind::Forbidden).await;
    let Error::Forbidden { scope, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(scope.as_deref(), Some("read:repository"));
    assert!(e.to_string().contains("read:repository"), "{e}");

    let e = check(403, "error-403-signin-required.json", ErrorKind::Forbidden).await;
    let Error::Forbidden { scope, message, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(scope, &None);
    assert_eq!(message, "Only signed in user is allowed to call APIs.");
}

#[tokio::test]
async fn not_found_rejected_and_upstream() {
    for file in ["error-404-repo.json", "error-404-user.json"] {
        let e = check(404, file, ErrorKind::NotFound).await;
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    }
    let e = check(422, "error-422-search.json", ErrorKind::Rejected).await;
    let Error::Rejected { message, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(message, "Invalid sort mode: \"newest\"");
    // 409 is an error where it does not mean "empty repository".
    let e = check(409, "error-409-empty-repo.json", ErrorKind::Rejected).await;
    assert!(matches!(e, Error::Rejected { status: 409, .. }), "{e:?}");
    let e = check(500, "error-500.json", ErrorKind::UpstreamError).await;
    assert!(matches!(&e, Error::Upstream { status: 500, message, .. } if message.is_empty()));
    // A proxy's HTML error page: the status counts, the page is cut short.
    let page = format!("<html><body>{}</body></html>", "bad gateway ".repeat(100));
    let e = search_error(Reply::raw(502, "text/html", page)).await;
    let Error::Upstream {
        status, message, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 502);
    assert!(
        message.starts_with("<html>") && message.chars().count() <= 200,
        "{message}"
    );
}

#[tokio::test]
async fn undecodable_bodies() {
    let garbage = Reply::json(200, "\u{1}\u{2}not json at all \u{fffd}");
    let e = search_error(garbage).await;
    assert_eq!(e.kind(), ErrorKind::BadResponse);
    assert!(e.to_string().contains("invalid json"), "{e}");

    let full = fixture("repos-search.json");
    let truncated = Reply::json(200, full[..full.len() / 2].to_owned());
    let Error::Decode { body_prefix, .. } = search_error(truncated).await else {
        panic!()
    };
    assert_eq!(body_prefix.chars().count(), 200);
    assert!(full.starts_with(&body_prefix));

    let login_page = Reply::raw(
        200,
        "text/html; charset=utf-8",
        "<!DOCTYPE html><title>Login</title>",
    );
    let e = search_error(login_page).await;
    let Error::Decode {
        reason,
        body_prefix,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(reason.contains("text/html"), "{reason}");
    assert_eq!(body_prefix, "<!DOCTYPE html><title>Login</title>");

    let empty = search_error(Reply::json(200, "")).await;
    assert_eq!(empty.kind(), ErrorKind::BadResponse);
    let wrong_shape = search_error(Reply::json(200, r#"{"ok":true,"data":{"id":1}}"#)).await;
    assert_eq!(wrong_shape.kind(), ErrorKind::BadResponse);
    let huge_number = search_error(Reply::json(200, r#"{"data":[{"id":1e999}]}"#)).await;
    assert_eq!(huge_number.kind(), ErrorKind::BadResponse);
}

#[tokio::test]
async fn a_connection_cut_mid_body_is_a_connection_error() {
    let body = fixture("repos-search.json");
    let cut = Reply::Cut {
        declared: body.len(),
        body: body[..100].to_owned().into(),
    };
    let e = search_error(cut).await;
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
}

#[tokio::test]
async fn a_hanging_server_gives_a_timeout() {
    let e = search_error(Reply::Hang).await;
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert_eq!(e.kind().as_str(), "timeout");
}

#[tokio::test]
async fn a_closed_port_is_a_connection_error() {
    crate::fake::capture_logs();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = kitestacks_forgejo::Client::builder(format!("http://{addr}/"))
        .build()
        .unwrap();
    let e = client.version().await.unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert_eq!(e.endpoint(), Some("/api/v1/version"));
    assert!(
        e.to_string()
            .starts_with("connection to forgejo failed for /api/v1/version: "),
        "{e}"
    );
}

#[tokio::test]
async fn a_body_past_the_cap_is_refused_without_reading_it_all() {
    let too_large = Error::BodyTooLarge {
        endpoint: SEARCH.into(),
        limit: MAX_BODY_BYTES,
    };
    let e = search_error(Reply::Endless).await;
    assert_eq!(e, too_large);
    assert_eq!(e.kind(), ErrorKind::BadResponse);
    assert_eq!(
        e.to_string(),
        format!("answer from {SEARCH} is larger than {MAX_BODY_BYTES} bytes; not read further")
    );
    // A length announced past the cap is refused at once (the body would never come).
    let announced = Reply::Announce {
        declared: MAX_BODY_BYTES as u64 + 1,
    };
    assert_eq!(search_error(announced).await, too_large);
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let elsewhere = Fake::forgejo().await;
    let fake = Fake::start().await;
    let to = format!("{}/api/v1/version", elsewhere.url());
    fake.route("/api/v1/version", Reply::redirect(&to));
    let e = fake.client().version().await.unwrap_err();
    assert_eq!(
        e,
        Error::Redirected {
            endpoint: "/api/v1/version".into(),
            to: elsewhere.url(),
        }
    );
    assert_eq!(e.kind().as_str(), "redirected");
    assert_eq!(elsewhere.total(), 0, "the other origin is never contacted");
}

#[tokio::test]
async fn redirects_within_the_origin_are_followed_a_bounded_number_of_times() {
    let fake = Fake::forgejo().await;
    let moved = format!("{}/api/v1/moved/version", fake.url());
    fake.route("/api/v1/version", Reply::redirect(&moved));
    fake.route("/api/v1/moved/version", Reply::fixture(200, "version.json"));
    let client = fake.client();
    assert!(client.version().await.is_ok());

    // A redirect loop ends after MAX_REDIRECTS redirects.
    let own = format!("{}/api/v1/version", fake.url());
    fake.route("/api/v1/version", Reply::redirect(&own));
    fake.reset();
    let e = client.version().await.unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert!(e.to_string().contains("redirects"), "{e}");
    assert_eq!(fake.hits("/api/v1/version"), MAX_REDIRECTS + 1);
}
