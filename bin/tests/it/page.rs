//! The embedded portal page: served at `/` out of the box, and `[server] static_dir` wins
//! when set.

use crate::http::{call, portal};
use crate::routes::{site, site_config};

const PAGE: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", "index.html"),
    ("/index.html", "text/html; charset=utf-8", "index.html"),
    ("/style.css", "text/css; charset=utf-8", "style.css"),
    ("/app.js", "text/javascript; charset=utf-8", "app.js"),
];

fn on_disk(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/portal/");
    std::fs::read(format!("{path}{name}")).unwrap()
}

#[tokio::test]
async fn the_page_is_served_from_the_binary_without_static_dir() {
    let p = portal(None);
    for &(path, ct, file) in PAGE {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ct), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            &r.body[..],
            &on_disk(file)[..],
            "{path} is examples/portal/{file}"
        );

        let h = call(&p, "HEAD", path, &[]).await;
        assert_eq!(h.status, 200, "{path}");
        assert!(h.body.is_empty());
        assert_eq!(
            h.header("content-length"),
            Some(r.body.len().to_string().as_str())
        );
    }
}

#[tokio::test]
async fn only_the_page_files_are_served_and_the_api_keeps_its_errors() {
    let p = portal(None);
    for path in ["/nope.js", "/screenshot.png", "/style.css/", "/api/nope"] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.error_code(), "not_found");
    }
    let r = call(&p, "POST", "/", &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error_code(), "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = call(&p, "POST", "/nope.js", &[]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn static_dir_wins_over_the_embedded_page() {
    let dir = site();
    let p = portal(Some(&site_config(&dir)));
    let r = call(&p, "GET", "/", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"<!doctype html><title>portal</title>");
    let r = call(&p, "GET", "/app.js", &[]).await;
    assert_eq!(&r.body[..], b"console.log('hi')");
    // the site has no style.css: the embedded one is not mixed in
    let r = call(&p, "GET", "/style.css", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
}

#[tokio::test]
async fn the_page_fetches_the_api_with_relative_urls() {
    let js = String::from_utf8(on_disk("app.js")).unwrap();
    for part in ["metrics", "weather", "activity", "services", "status"] {
        assert!(js.contains(&format!("api(\"{part}\")")), "{part}");
    }
    assert!(
        js.contains("fetch(`api/${path}`"),
        "relative, no leading slash"
    );
    assert!(!js.contains("\"/api/"), "no absolute /api/ URLs");
}
