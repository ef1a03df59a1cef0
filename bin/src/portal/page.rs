//! The portal page (examples/portal/), embedded in the binary and served at `/` when
//! `[server] static_dir` is unset, so the portal shows its page out of the box.

use bytes::Bytes;
use hyper::Response;
use hyper::header::{self, HeaderValue};

use crate::server::Body;

/// One embedded file: its request paths, its content type and its bytes.
struct File {
    paths: &'static [&'static str],
    content_type: &'static str,
    body: &'static str,
}

const FILES: &[File] = &[
    File {
        paths: &["/", "/index.html"],
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../../examples/portal/index.html"),
    },
    File {
        paths: &["/style.css"],
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../examples/portal/style.css"),
    },
    File {
        paths: &["/app.js"],
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../examples/portal/app.js"),
    },
];

fn find(path: &str) -> Option<&'static File> {
    FILES.iter().find(|f| f.paths.contains(&path))
}

/// Whether `path` is one of the embedded page's files.
pub fn serves(path: &str) -> bool {
    find(path).is_some()
}

/// The embedded file for `path`, with the headers the static directory sends too
/// (`Cache-Control: no-cache`, `X-Content-Type-Options: nosniff`); `None` if there is
/// no such file.
pub fn serve(path: &str) -> Option<Response<Body>> {
    let file = find(path)?;
    let mut r = Response::new(Body::new(Bytes::from_static(file.body.as_bytes())));
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_embedded_and_found() {
        for f in FILES {
            assert!(!f.body.is_empty());
            for p in f.paths {
                assert!(serves(p), "{p}");
            }
        }
        assert!(!serves("/nope.js"));
        assert!(!serves("/api/health"));
    }

    #[test]
    fn the_page_loads_only_its_own_files() {
        let html = find("/").unwrap().body;
        assert!(html.contains(r#"href="style.css""#));
        assert!(html.contains(r#"src="app.js""#));
        for f in FILES {
            // The SVG namespace of the sparklines is a name, never fetched.
            let body = f.body.replace("\"http://www.w3.org/2000/svg\"", "");
            assert!(!body.contains("http://"), "no external resources");
            assert!(!body.contains("https://"), "no external resources");
        }
    }
}
