//! Name resolution and TCP connections for the checks, each failure named, and the `tcp`
//! check itself (connect, TLS on top when asked, an expected banner).

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};

use kitestacks_core::ProbeSpec;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::{Context, Fail, Failed, Found, Phase, Reason, Trace};

/// The most of a banner read (one line is all a banner check looks at).
const BANNER_LIMIT: usize = 1024;

/// The addresses of `host` (an address or a name; brackets around IPv6 allowed), with the
/// `dns` phase timed when a lookup was needed.
pub async fn resolve(host: &str, port: u16, trace: &mut Trace) -> Result<Vec<SocketAddr>, Fail> {
    let bare = host.trim_matches(['[', ']']);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    trace.begin(Phase::Dns);
    let found = tokio::net::lookup_host((bare, port)).await;
    trace.end();
    match found {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(Fail::new(
                    Reason::DnsNotFound,
                    format!("{bare}: no address"),
                ))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(Fail::new(lookup_reason(&e), format!("{bare}: {e}"))),
    }
}

/// The reason of a failed system lookup: getaddrinfo's "try again" (the resolver did not
/// answer) is a timeout; everything else means the name is not there.
fn lookup_reason(e: &std::io::Error) -> Reason {
    let text = e.to_string();
    if e.kind() == ErrorKind::TimedOut || text.contains("Temporary failure") {
        Reason::DnsTimeout
    } else {
        Reason::DnsNotFound
    }
}

/// The reason of a failed connect.
pub fn connect_reason(e: &std::io::Error) -> Reason {
    match e.kind() {
        ErrorKind::ConnectionRefused => Reason::ConnectRefused,
        ErrorKind::TimedOut => Reason::ConnectTimeout,
        _ => Reason::ConnectFailed,
    }
}

/// A TCP connection to the first of `addrs` that accepts, the `connect` phase timed; the
/// last address's failure names the reason.
pub async fn connect(addrs: &[SocketAddr], trace: &mut Trace) -> Result<TcpStream, Fail> {
    trace.begin(Phase::Connect);
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                trace.end();
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    trace.end();
    Err(match last {
        Some((addr, e)) => Fail::new(connect_reason(&e), format!("connect to {addr}: {e}")),
        None => Fail::new(Reason::DnsNotFound, "no address to connect to"),
    })
}

/// A `tcp` check: connect to `host`:`port`, then the TLS handshake if `tls`, then, if
/// `expect` is set, read the server's first line and look for it there.
pub async fn check(spec: &ProbeSpec, cx: &Context, trace: &mut Trace) -> Result<Found, Failed> {
    let host = spec.host.as_deref().unwrap_or_default();
    let port = spec.port.unwrap_or_default();
    let addrs = resolve(host, port, trace)
        .await
        .map_err(|f| (f, None, None))?;
    let stream = connect(&addrs, trace).await.map_err(|f| (f, None, None))?;
    let mut detail = format!("connected to {}", addrs[0]);
    let (facts, banner) = if spec.tls {
        let (mut stream, facts) =
            super::tls::handshake(stream, host, spec, cx, None, trace).await?;
        let banner = match &spec.expect {
            Some(_) => Some(read_banner(&mut stream, trace).await),
            None => None,
        };
        (Some(facts), banner)
    } else {
        let mut stream = stream;
        let banner = match &spec.expect {
            Some(_) => Some(read_banner(&mut stream, trace).await),
            None => None,
        };
        (None, banner)
    };
    let mut failed = None;
    if let (Some(expect), Some(banner)) = (&spec.expect, banner) {
        let banner = banner.map_err(|f| (f, None, facts.clone()))?;
        if banner.contains(expect.as_str()) {
            detail = format!("banner {:?}", banner.trim_end());
        } else {
            failed = Some(Reason::BodyMismatch);
            detail = format!("banner {:?} lacks {expect:?}", banner.trim_end());
        }
    }
    Ok(Found {
        http_status: None,
        tls: facts,
        failed,
        detail,
    })
}

/// The server's first line (up to [`BANNER_LIMIT`] bytes), the `first_byte` phase timed.
async fn read_banner<S: AsyncReadExt + Unpin>(
    stream: &mut S,
    trace: &mut Trace,
) -> Result<String, Fail> {
    trace.begin(Phase::FirstByte);
    let mut buf = vec![0u8; BANNER_LIMIT];
    let mut len = 0;
    loop {
        match stream.read(&mut buf[len..]).await {
            Ok(0) => break,
            Ok(n) => {
                if len == 0 {
                    trace.end();
                }
                len += n;
                if len == buf.len() || buf[..len].contains(&b'\n') {
                    break;
                }
            }
            Err(e) => {
                return Err(Fail::new(
                    Reason::Protocol,
                    format!("reading the banner: {e}"),
                ));
            }
        }
    }
    if len == 0 {
        trace.end();
        return Err(Fail::new(Reason::Protocol, "closed without a banner"));
    }
    let line = buf[..len].split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(String::from_utf8_lossy(line).into_owned())
}
