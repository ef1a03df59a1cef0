//! The `http` check: its own connect path (resolve, TCP, TLS, one HTTP/1.1 request over a
//! hyper client connection) so that every phase is timed and every failure named;
//! redirects are answers, never followed; the body is read only to look for `expect`.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::header::{ACCEPT, AUTHORIZATION, CONNECTION, HOST, HeaderValue, USER_AGENT};
use hyper_util::rt::TokioIo;
use kitestacks_core::{ProbeMethod, ProbeSpec};
use tokio::io::{AsyncRead, AsyncWrite};
use url::Url;

use super::{Context, Fail, Failed, Found, Phase, Reason, Trace, net, tls};

/// The most of a body searched for `expect`.
const BODY_LIMIT: usize = 1 << 20;

/// Aborts the connection task when the check ends (or is cut short by its timeout).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An `http` check of `spec.url`.
pub async fn check(spec: &ProbeSpec, cx: &Context, trace: &mut Trace) -> Result<Found, Failed> {
    let Some(url) = spec.url.as_ref() else {
        return Err((Fail::new(Reason::Protocol, "no url"), None, None));
    };
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = net::resolve(host, port, trace)
        .await
        .map_err(|f| (f, None, None))?;
    let stream = net::connect(&addrs, trace)
        .await
        .map_err(|f| (f, None, None))?;
    if url.scheme() == "https" {
        let (stream, facts) =
            tls::handshake(stream, host, spec, cx, Some(b"http/1.1"), trace).await?;
        let mut found = exchange(stream, spec, url, trace)
            .await
            .map_err(|(f, code)| (f, code, Some(facts.clone())))?;
        found.tls = Some(facts);
        Ok(found)
    } else {
        exchange(stream, spec, url, trace)
            .await
            .map_err(|(f, code)| (f, code, None))
    }
}

/// One request over an open connection; the response head times `first_byte`.
async fn exchange<T>(
    io: T,
    spec: &ProbeSpec,
    url: &Url,
    trace: &mut Trace,
) -> Result<Found, (Fail, Option<u16>)>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let protocol = |e: hyper::Error| {
        (
            Fail::new(Reason::Protocol, super::super::failure::chain(&e)),
            None,
        )
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(protocol)?;
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let request = request(spec, url).map_err(|e| (Fail::new(Reason::Protocol, e), None))?;
    trace.begin(Phase::FirstByte);
    let response = sender.send_request(request).await;
    trace.end();
    let response = response.map_err(protocol)?;
    let code = response.status().as_u16();
    if !spec.accepts(code) {
        return Ok(Found {
            http_status: Some(code),
            failed: Some(Reason::HttpStatus),
            detail: format!("status {code}"),
            ..Found::default()
        });
    }
    let Some(expect) = &spec.expect else {
        return Ok(Found {
            http_status: Some(code),
            detail: format!("status {code}"),
            ..Found::default()
        });
    };
    let mut body = response.into_body();
    let mut seen: Vec<u8> = Vec::new();
    let needle = expect.as_bytes();
    let found = loop {
        if contains(&seen, needle) {
            break true;
        }
        if seen.len() >= BODY_LIMIT {
            break false;
        }
        match body.frame().await {
            None => break false,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = BODY_LIMIT - seen.len();
                    seen.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(e)) => return Err(protocol(e)).map_err(|(f, _)| (f, Some(code))),
        }
    };
    Ok(Found {
        http_status: Some(code),
        failed: (!found).then_some(Reason::BodyMismatch),
        detail: if found {
            format!("status {code}, body has {expect:?}")
        } else {
            format!("status {code}, body lacks {expect:?}")
        },
        ..Found::default()
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The request: origin-form target, `Host`, the portal's `User-Agent`, basic auth from
/// the URL's user info, and `Connection: close`.
fn request(spec: &ProbeSpec, url: &Url) -> Result<Request<Empty<Bytes>>, String> {
    let method = match spec.method {
        ProbeMethod::Get => hyper::Method::GET,
        ProbeMethod::Head => hyper::Method::HEAD,
    };
    let mut target = url.path().to_owned();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => String::new(),
    };
    let mut builder = Request::builder()
        .method(method)
        .uri(target)
        .header(HOST, host)
        .header(USER_AGENT, crate::portal::probe::USER_AGENT)
        .header(ACCEPT, "*/*")
        .header(CONNECTION, "close");
    if !url.username().is_empty() || url.password().is_some() {
        use base64::Engine as _;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = decode(url.username());
        let password = decode(url.password().unwrap_or_default());
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut value = HeaderValue::try_from(format!("Basic {token}"))
            .map_err(|_| "credentials not sendable".to_owned())?;
        value.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, value);
    }
    builder
        .body(Empty::new())
        .map_err(|_| "the URL is not a request target".to_owned())
}
