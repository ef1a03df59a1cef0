//! Serving the portal page from `[server] static_dir`, with no way out of the directory:
//! `..` (plain or percent-encoded), encoded separators, NUL bytes and symlinks leading
//! outside are all refused. Dotfiles and dot-directories (`.env`, `.git/`), asked for
//! directly or reached through a symlink, are not served (404, as if missing), except
//! `.well-known/` (RFC 8615). A file is streamed from disk as the client takes it
//! ([`Body::file`]: 64 KiB at a time), so a large file costs a request no more memory
//! than a small one.

use std::path::{Component, Path, PathBuf};

use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use crate::response;
use crate::server::Body;

/// The one dot-directory served: RFC 8615's well-known URIs (`security.txt`, ACME).
const WELL_KNOWN: &str = ".well-known";

/// The root of the static files, canonicalised once at start.
#[derive(Debug, Clone)]
pub struct StaticDir {
    root: PathBuf,
}

/// Why a request path cannot be served.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// The path tries to leave the directory or is not a plain path.
    BadPath,
    /// The path resolves outside the directory (a symlink out).
    Outside,
    /// Nothing there, or a dotfile: answered alike.
    Missing,
}

impl StaticDir {
    /// Opens `dir`; fails if it is not a directory.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        let root = dir.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(Self { root })
    }

    /// Serves the file for a request path (as sent, still percent-encoded).
    pub async fn serve(&self, method: &hyper::Method, raw_path: &str) -> Response<Body> {
        match self.resolve(raw_path).await {
            Ok(file) => match open(&file).await {
                Ok(body) => {
                    let mut r = Response::new(body);
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(content_type(&file)),
                    );
                    r.headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                    r.headers_mut().insert(
                        header::X_CONTENT_TYPE_OPTIONS,
                        HeaderValue::from_static("nosniff"),
                    );
                    r
                }
                Err(e) => {
                    tracing::warn!(file = %file.display(), "cannot read static file: {e}");
                    response::not_found(method, raw_path)
                }
            },
            Err(Refusal::BadPath) => response::error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the path is not a plain path inside the site (no '..', encoded '/' or '\\', or NUL)",
            ),
            Err(Refusal::Outside) => {
                tracing::warn!(
                    path = raw_path,
                    "refused a path that resolves outside static_dir"
                );
                response::error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "the path leads outside the site",
                )
            }
            Err(Refusal::Missing) => response::not_found(method, raw_path),
        }
    }

    async fn resolve(&self, raw_path: &str) -> Result<PathBuf, Refusal> {
        let relative = sanitize(raw_path)?;
        let mut candidate = self.root.join(relative);
        let meta = tokio::fs::metadata(&candidate)
            .await
            .map_err(|_| Refusal::Missing)?;
        if meta.is_dir() {
            candidate.push("index.html");
        }
        // canonicalize follows every symlink: what it returns must still be inside.
        let real = tokio::fs::canonicalize(&candidate)
            .await
            .map_err(|_| Refusal::Missing)?;
        let Ok(inside) = real.strip_prefix(&self.root) else {
            return Err(Refusal::Outside);
        };
        // A symlink may lead to a dotfile inside the site: check what it resolved to.
        if inside.components().any(|c| match c {
            Component::Normal(name) => name.to_str().is_none_or(is_hidden),
            _ => false,
        }) {
            return Err(Refusal::Missing);
        }
        if !tokio::fs::metadata(&real)
            .await
            .map_err(|_| Refusal::Missing)?
            .is_file()
        {
            return Err(Refusal::Missing);
        }
        Ok(real)
    }
}

/// Opens a file to stream it: its length is taken from the opened file, so what is
/// announced is what that file held when it was opened.
async fn open(file: &Path) -> std::io::Result<Body> {
    let f = tokio::fs::File::open(file).await?;
    let len = f.metadata().await?.len();
    Ok(Body::file(f, len))
}

/// Whether a path segment names a dotfile or dot-directory that is not served.
fn is_hidden(segment: &str) -> bool {
    segment.starts_with('.') && segment != WELL_KNOWN
}

/// Turns a request path into a relative path of plain segments, or refuses it.
fn sanitize(raw_path: &str) -> Result<PathBuf, Refusal> {
    let mut out = PathBuf::new();
    for raw in raw_path.split('/') {
        let seg = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| Refusal::BadPath)?;
        if seg.is_empty() || seg == "." {
            continue;
        }
        if seg == ".." || seg.contains(['/', '\\', '\0']) || seg.contains(':') {
            return Err(Refusal::BadPath);
        }
        if is_hidden(&seg) {
            return Err(Refusal::Missing);
        }
        out.push(seg.as_ref());
    }
    Ok(out)
}

/// The content type for a file, by its extension.
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_become_relative_paths() {
        assert_eq!(sanitize("/"), Ok(PathBuf::new()));
        assert_eq!(sanitize("/css/site.css"), Ok(PathBuf::from("css/site.css")));
        assert_eq!(sanitize("//a/./b%20c.txt"), Ok(PathBuf::from("a/b c.txt")));
    }

    #[test]
    fn traversal_and_tricks_are_refused() {
        for p in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/a/%2e%2e%2f%2e%2e/etc",
            "/%2Fetc%2Fpasswd",
            "/..%5c..%5cwindows",
            "/a%00.html",
            "/C:/x",
            "/%ff%fe",
        ] {
            assert_eq!(sanitize(p), Err(Refusal::BadPath), "{p}");
        }
    }

    #[test]
    fn dotfiles_and_dot_directories_are_missing() {
        for p in [
            "/.env",
            "/.git/config",
            "/a/.htpasswd",
            "/%2egit/HEAD",
            "/.%65nv",
        ] {
            assert_eq!(sanitize(p), Err(Refusal::Missing), "{p}");
        }
        assert_eq!(
            sanitize("/.well-known/security.txt"),
            Ok(PathBuf::from(".well-known/security.txt"))
        );
        assert_eq!(sanitize("/a.b/c.d"), Ok(PathBuf::from("a.b/c.d")));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("app.JS")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("x.unknown")),
            "application/octet-stream"
        );
    }
}
