//! Attacks on the server loop over loopback: HTTP/2 clients that keep their window shut,
//! clients that stop reading, idle connections, and one address holding every slot.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Request, Response};
use kitestacks::server::{Body, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::server::{Running, serve_on_loopback};

/// Small limits so the attacks run fast; each test changes the one it exercises. The
/// others are long, so that only the limit under test can close a connection.
const LIMITS: Limits = Limits {
    max_connections: 16,
    max_connections_per_address: 0,
    header_read_timeout: Duration::from_secs(60),
    idle_timeout: Duration::from_secs(60),
    write_timeout: Duration::from_secs(60),
    shutdown_grace: Duration::from_secs(60),
};

/// [`LIMITS`] with a write timeout short enough to wait for.
const SHORT_WRITE_TIMEOUT: Limits = Limits {
    write_timeout: Duration::from_millis(500),
    ..LIMITS
};

/// Bigger than any loopback socket buffers: a client that stops reading stalls it.
const BIG: usize = 4 << 20;

/// A generous bound for "the server answered" or "the server closed it".
const BOUND: Duration = Duration::from_secs(20);

/// `/big` answers `BIG` bytes, anything else `ok`.
async fn start(limits: Limits) -> Running {
    let big = Bytes::from(vec![b'x'; BIG]);
    let handler = move |req: Request<hyper::body::Incoming>| {
        let body = if req.uri().path() == "/big" {
            big.clone()
        } else {
            Bytes::from_static(b"ok")
        };
        async move { Response::new(Body::new(body)) }
    };
    serve_on_loopback(limits, handler).await
}

/// A TCP connection from `from` (any address of 127/8) with a small receive buffer.
async fn connect(addr: SocketAddr, from: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Sends `GET /big` and returns without reading a byte of the answer.
async fn stalled_get(addr: SocketAddr, from: Ipv4Addr) -> TcpStream {
    let mut conn = connect(addr, from).await;
    conn.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    conn
}

/// Reads until the server closes the connection; the bytes read, or `None` when it
/// stays open past [`BOUND`].
async fn bytes_until_closed(conn: &mut TcpStream) -> Option<usize> {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0;
    tokio::time::timeout(BOUND, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .ok()
}

/// `GET /` on a new connection from `from`: whether `ok` came back within [`BOUND`].
async fn answered(addr: SocketAddr, from: Ipv4Addr) -> bool {
    tokio::time::timeout(BOUND, async {
        let mut conn = connect(addr, from).await;
        conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer).await;
        answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"ok")
    })
    .await
    .unwrap_or(false)
}

/// HTTP/2 by hand: frame type, flags, stream, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 4;
const HEADERS: u8 = 1;
const DATA: u8 = 0;
const PING: u8 = 6;
const ACK: u8 = 1;

/// An HTTP/2 client that opens with SETTINGS_INITIAL_WINDOW_SIZE = 0 and asks for
/// `path` (HPACK without Huffman: `:method GET`, `:scheme http`, `:path`, `:authority x`).
async fn h2_window_zero(addr: SocketAddr, path: &str) -> TcpStream {
    let mut conn = connect(addr, Ipv4Addr::LOCALHOST).await;
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 0]));
    let mut block = vec![0x82, 0x86, 0x04, u8::try_from(path.len()).unwrap()];
    block.extend_from_slice(path.as_bytes());
    block.extend_from_slice(&[0x01, 1, b'x']);
    out.extend(frame(HEADERS, 0x4 | 0x1, 1, &block));
    conn.write_all(&out).await.unwrap();
    conn
}

/// What an HTTP/2 connection delivered before the server closed it.
#[derive(Debug, Default)]
struct H2Seen {
    headers: usize,
    data_bytes: usize,
}

/// Reads frames (acknowledging SETTINGS and answering PINGs, as a live client does, but
/// never opening a window) until the server closes; `None` when it stays open past
/// [`BOUND`].
async fn h2_until_closed(conn: &mut TcpStream) -> Option<H2Seen> {
    let mut seen = H2Seen::default();
    tokio::time::timeout(BOUND, async {
        let mut head = [0u8; 9];
        loop {
            if conn.read_exact(&mut head).await.is_err() {
                return;
            }
            let len =
                (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
            let mut payload = vec![0u8; len];
            if conn.read_exact(&mut payload).await.is_err() {
                return;
            }
            let reply = match (head[3], head[4] & ACK) {
                (SETTINGS, 0) => frame(SETTINGS, ACK, 0, &[]),
                (PING, 0) => frame(PING, ACK, 0, &payload),
                (HEADERS, _) => {
                    seen.headers += 1;
                    continue;
                }
                (DATA, _) => {
                    seen.data_bytes += len;
                    continue;
                }
                _ => continue,
            };
            if conn.write_all(&reply).await.is_err() {
                return;
            }
        }
    })
    .await
    .ok()
    .map(|()| seen)
}

#[tokio::test]
async fn an_http2_client_with_a_shut_window_is_closed_after_the_write_timeout() {
    let srv = start(SHORT_WRITE_TIMEOUT).await;
    for path in ["/", "/big"] {
        let mut conn = h2_window_zero(srv.addr, path).await;
        let seen = h2_until_closed(&mut conn)
            .await
            .unwrap_or_else(|| panic!("{path}: the stalled HTTP/2 connection was kept open"));
        assert_eq!(
            seen.headers, 1,
            "{path}: the response was started: {seen:?}"
        );
        assert_eq!(
            seen.data_bytes, 0,
            "{path}: the window stayed shut: {seen:?}"
        );
    }
    assert!(answered(srv.addr, Ipv4Addr::LOCALHOST).await);
    srv.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_after_the_write_timeout() {
    let srv = start(SHORT_WRITE_TIMEOUT).await;
    let mut conn = stalled_get(srv.addr, Ipv4Addr::LOCALHOST).await;
    // The attack: read nothing for well over the write timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let read = bytes_until_closed(&mut conn)
        .await
        .expect("the connection of a client that stopped reading was kept open");
    assert!(
        read < BIG,
        "the server delivered the whole response ({read} bytes) instead of closing"
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_stalled_connection_does_not_hold_up_shutdown_past_the_write_timeout() {
    let mut srv = start(SHORT_WRITE_TIMEOUT).await;
    let mut h1 = stalled_get(srv.addr, Ipv4Addr::LOCALHOST).await;
    let mut h2 = h2_window_zero(srv.addr, "/big").await;
    let h2_closed = tokio::spawn(async move { h2_until_closed(&mut h2).await.is_some() });
    // Both requests are in: the HTTP/2 one has its response headers.
    assert!(answered(srv.addr, Ipv4Addr::LOCALHOST).await);
    let stopped = tokio::time::timeout(BOUND, srv.begin_stop()).await;
    assert!(
        stopped.is_ok(),
        "shutdown waited for stalled connections for its whole grace"
    );
    assert!(
        h2_closed.await.unwrap(),
        "the HTTP/2 connection stayed open"
    );
    assert!(bytes_until_closed(&mut h1).await.is_some_and(|n| n < BIG));
}

#[tokio::test]
async fn a_connection_that_sends_no_request_is_closed_after_the_header_timeout() {
    let srv = start(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..LIMITS
    })
    .await;
    // Not a byte.
    let mut silent = connect(srv.addr, Ipv4Addr::LOCALHOST).await;
    assert_eq!(bytes_until_closed(&mut silent).await, Some(0));
    // An HTTP/2 preface and SETTINGS, then no request.
    let mut preface = connect(srv.addr, Ipv4Addr::LOCALHOST).await;
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    preface.write_all(&out).await.unwrap();
    let seen = h2_until_closed(&mut preface).await;
    assert!(
        seen.is_some(),
        "a connection with only a preface was kept open"
    );
    // Half a request head (HTTP/1).
    let mut half = connect(srv.addr, Ipv4Addr::LOCALHOST).await;
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(bytes_until_closed(&mut half).await.is_some());
    srv.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed_first_when_slots_run_short() {
    let srv = start(LIMITS).await;
    // Four times as many idle connections as slots, none of which sends a byte; the
    // header timeout is a minute away.
    let mut idle = Vec::new();
    for _ in 0..LIMITS.max_connections * 4 {
        idle.push(connect(srv.addr, Ipv4Addr::LOCALHOST).await);
    }
    assert!(
        answered(srv.addr, Ipv4Addr::LOCALHOST).await,
        "a new client was not served while idle connections held the slots"
    );
    // A keep-alive client between requests is idle too and makes room as well.
    let mut between = connect(srv.addr, Ipv4Addr::LOCALHOST).await;
    between
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    assert!(between.read(&mut buf).await.unwrap() > 0);
    for _ in 0..LIMITS.max_connections {
        idle.push(connect(srv.addr, Ipv4Addr::LOCALHOST).await);
    }
    assert!(answered(srv.addr, Ipv4Addr::LOCALHOST).await);
    srv.stop().await;
}

#[tokio::test]
async fn one_address_holding_stalled_connections_leaves_room_for_another() {
    // The write timeout is longer than the test may take: only the share can help.
    let srv = start(Limits {
        max_connections_per_address: 4,
        shutdown_grace: Duration::from_secs(1),
        ..LIMITS
    })
    .await;
    // 127.0.0.1 tries to take every slot with requests it never reads.
    let mut stalled = Vec::new();
    for _ in 0..LIMITS.max_connections {
        stalled.push(stalled_get(srv.addr, Ipv4Addr::LOCALHOST).await);
    }
    assert!(
        answered(srv.addr, Ipv4Addr::new(127, 0, 0, 2)).await,
        "a client from another address was not served"
    );
    srv.stop().await;
}

/// The server tells HTTP/2 from HTTP/1 by peeking at a connection's first bytes: a
/// client whose first bytes arrive alone, or look like the HTTP/2 preface for a while,
/// is still served in its own protocol.
#[tokio::test]
async fn the_protocol_is_told_from_first_bytes_that_arrive_piecemeal() {
    let srv = start(LIMITS).await;
    // HTTP/1: a lone "P" could begin the HTTP/2 preface.
    let mut h1 = connect(srv.addr, Ipv4Addr::LOCALHOST).await;
    h1.write_all(b"P").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    h1.write_all(b"OST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, h1.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    // HTTP/2: the preface in two pieces, then a request for /.
    let mut h2 = connect(srv.addr, Ipv4Addr::LOCALHOST).await;
    h2.write_all(&PREFACE[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut out = PREFACE[10..].to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    // HEADERS, END_STREAM | END_HEADERS, HPACK indexed: :method GET (2), :scheme http
    // (6), :path / (4), then :authority "x" as a literal without indexing.
    out.extend(frame(
        HEADERS,
        0x5,
        1,
        &[0x82, 0x86, 0x84, 0x01, 0x01, b'x'],
    ));
    h2.write_all(&out).await.unwrap();
    let mut kinds = Vec::new();
    tokio::time::timeout(BOUND, async {
        let mut head = [0u8; 9];
        while kinds.last() != Some(&DATA) {
            h2.read_exact(&mut head).await.unwrap();
            let len =
                (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
            let mut payload = vec![0u8; len];
            h2.read_exact(&mut payload).await.unwrap();
            kinds.push(head[3]);
            if head[3] == DATA {
                assert_eq!(payload, b"ok");
            }
        }
    })
    .await
    .expect("an answer in time");
    assert_eq!(
        kinds.first(),
        Some(&SETTINGS),
        "the server speaks HTTP/2: {kinds:?}"
    );
    assert!(kinds.contains(&HEADERS), "{kinds:?}");
    drop(h2);
    srv.stop().await;
}
