//! Every route's status, content type and body, driven through `Portal::handle`.

use crate::http::{call, portal};

#[tokio::test]
async fn health_answers_exactly_like_the_original() {
    let p = portal(None);
    let r = call(&p, "GET", "/api/health", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(&r.body[..], br#"{"ok":true}"#);
    let h = call(&p, "HEAD", "/api/health", &[]).await;
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    assert_eq!(h.header("content-length"), Some("11"));
    assert_eq!(h.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn services_lists_the_registry() {
    let r = call(&portal(None), "GET", "/api/services", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["base_domain"], "kitestacks.com");
    assert_eq!(v["hosts"].as_array().unwrap().len(), 2);
    let services = v["services"].as_array().unwrap();
    assert_eq!(
        services
            .iter()
            .filter(|s| s["visibility"] == "public")
            .count(),
        11
    );
    let forgejo = services.iter().find(|s| s["id"] == "gitforge").unwrap();
    assert_eq!(forgejo["name"], "Forgejo");
    assert_eq!(forgejo["url"], "https://gitforge.kitestacks.com/");
    assert_eq!(forgejo["auth"], "oidc");
    assert_eq!(forgejo["hosts"], serde_json::json!(["monk"]));
}

#[tokio::test]
async fn openapi_document_is_served_as_json() {
    let r = call(&portal(None), "GET", "/api/openapi.json", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/health",
        "/api/services",
        "/api/openapi.json",
        "/api/docs",
        "/api/docs/{file}",
    ] {
        assert!(v["paths"].get(path).is_some(), "{path} is not documented");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let p = portal(None);
    let r = call(&p, "GET", "/api/docs", &[]).await;
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some("/api/docs/"));
    let r = call(&p, "GET", "/api/docs/", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(String::from_utf8_lossy(&r.body).contains("swagger-ui"));
    let r = call(&p, "GET", "/api/docs/swagger-initializer.js", &[]).await;
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("/api/openapi.json"));
    let r = call(&p, "GET", "/api/docs/swagger-ui-bundle.js", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.len() > 100_000, "the vendored bundle is embedded");
    let r = call(&p, "GET", "/api/docs/nope.js", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
}

#[tokio::test]
async fn unknown_paths_are_404_json_never_html() {
    let p = portal(None);
    // "/" and "/index.html" are the embedded page (tests/it/page.rs)
    for path in ["/api/nope", "/api", "/nope.html", "/api/health/extra"] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.error_code(), "not_found");
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(path)
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let p = portal(None);
    for (method, path) in [
        ("POST", "/api/health"),
        ("DELETE", "/api/services"),
        ("PUT", "/api/openapi.json"),
    ] {
        let r = call(&p, method, path, &[]).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
        assert_eq!(r.error_code(), "method_not_allowed");
    }
    let r = call(&p, "OPTIONS", "/api/health", &[]).await;
    assert_eq!(r.status, 405, "OPTIONS without CORS");
    let r = call(&p, "POST", "/api/nope", &[]).await;
    assert_eq!(r.status, 404);
}

const CORS: &str = r#"
[server]
cors_allow_origins = ["https://www.kitestacks.com", "http://localhost:5173"]
"#;

#[tokio::test]
async fn cors_is_off_by_default() {
    let r = call(
        &portal(None),
        "GET",
        "/api/health",
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn cors_allows_only_the_listed_origins() {
    let p = portal(Some(CORS));
    let r = call(
        &p,
        "GET",
        "/api/services",
        &[("origin", "https://www.kitestacks.com")],
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://www.kitestacks.com")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    let r = call(
        &p,
        "GET",
        "/api/services",
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);

    let pre = [
        ("origin", "http://localhost:5173"),
        ("access-control-request-method", "GET"),
    ];
    let r = call(&p, "OPTIONS", "/api/metrics", &pre).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("GET, HEAD"));
    let r = call(
        &p,
        "OPTIONS",
        "/api/health",
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "forbidden");
    let r = call(&p, "POST", "/api/health", &[]).await;
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
}

pub fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("css")).unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>portal</title>",
    )
    .unwrap();
    std::fs::write(site.join("app.js"), "console.log('hi')").unwrap();
    std::fs::write(site.join("css/site.css"), "body{}").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "root:x:0:0").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), site.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path(), site.join("up")).unwrap();
    std::os::unix::fs::symlink(site.join("app.js"), site.join("alias.js")).unwrap();
    dir
}

pub fn site_config(dir: &tempfile::TempDir) -> String {
    format!(
        "[server]\nstatic_dir = {:?}\n",
        dir.path().join("site").display().to_string()
    )
}

#[tokio::test]
async fn static_files_have_their_content_types() {
    let dir = site();
    let p = portal(Some(&site_config(&dir)));
    for (path, ct, body) in [
        ("/", "text/html; charset=utf-8", "<!doctype html>"),
        ("/index.html", "text/html; charset=utf-8", "<!doctype html>"),
        ("/app.js", "text/javascript; charset=utf-8", "console.log"),
        ("/css/site.css", "text/css; charset=utf-8", "body"),
        ("/css/", "text/html; charset=utf-8", "<!doctype html>"),
        ("/alias.js", "text/javascript; charset=utf-8", "console.log"),
    ] {
        let r = call(&p, "GET", path, &[]).await;
        if path == "/css/" {
            // a directory without index.html is not listed
            assert_eq!(r.status, 404, "{path}");
            continue;
        }
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ct), "{path}");
        assert!(String::from_utf8_lossy(&r.body).starts_with(body), "{path}");
    }
    let r = call(&p, "GET", "/missing.png", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
    let r = call(&p, "POST", "/index.html", &[]).await;
    assert_eq!(r.status, 405);
    // the API keeps its own 404s under /api/ even with a site
    let r = call(&p, "GET", "/api/nope", &[]).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn dotfiles_are_not_served_and_big_files_are_streamed_whole() {
    let dir = site();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join(".git")).unwrap();
    std::fs::create_dir_all(site.join(".well-known")).unwrap();
    std::fs::write(site.join(".env"), "DB_PASSWORD=hunter2").unwrap();
    std::fs::write(site.join(".git/config"), "[remote] url = hunter2").unwrap();
    std::os::unix::fs::symlink(site.join(".env"), site.join("env.txt")).unwrap();
    std::fs::write(site.join(".well-known/security.txt"), "Contact: x").unwrap();
    // Larger than one chunk of a streamed file many times over.
    let big: Vec<u8> = (0..5 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    std::fs::write(site.join("big.bin"), &big).unwrap();
    let p = portal(Some(&site_config(&dir)));
    for path in ["/.env", "/.git/config", "/.git/", "/%2eenv", "/env.txt"] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.error_code(), "not_found", "{path}");
        assert!(
            !String::from_utf8_lossy(&r.body).contains("hunter2"),
            "{path}"
        );
    }
    let r = call(&p, "GET", "/.well-known/security.txt", &[]).await;
    assert_eq!(r.status, 200);
    let r = call(&p, "GET", "/big.bin", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body == big, "the streamed file differs from the file");
    let r = call(&p, "HEAD", "/big.bin", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(
        r.header("content-length"),
        Some(big.len().to_string().as_str())
    );
}

#[tokio::test]
async fn symlinks_out_of_the_site_are_refused() {
    let dir = site();
    let p = portal(Some(&site_config(&dir)));
    for path in ["/leak.txt", "/up/secret.txt"] {
        let r = call(&p, "GET", path, &[]).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.error_code(), "forbidden");
        assert!(!String::from_utf8_lossy(&r.body).contains("root:x"));
    }
}
