//! The `icmp` check: one echo request to `host`, over an unprivileged datagram socket
//! (Linux `net.ipv4.ping_group_range`) first and a raw socket when that is not allowed;
//! where neither is, the check is `unknown` with `icmp_not_permitted`, never `down`.

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use kitestacks_core::ProbeSpec;
use socket2::{Domain, Protocol, Socket, Type};

use super::{Fail, Found, Phase, Reason, Trace, net};

/// The echo payload: recognisable in a packet capture.
const PAYLOAD: &[u8; 16] = b"kitestacks-probe";

/// The internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], chunk.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// An echo request (type 8 for IPv4, 128 for IPv6) with its checksum (the kernel
/// recomputes it for ICMPv6).
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    let sum = checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// Whether `packet` (an ICMP message, or an IPv4 packet from a raw socket) is the echo
/// reply to `seq` (and, on a raw socket, to `id`: a datagram socket's kernel sets the id).
pub fn is_reply(packet: &[u8], v6: bool, raw: bool, id: u16, seq: u16) -> bool {
    let icmp = if raw && !v6 {
        let ihl = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
        packet.get(ihl..).unwrap_or_default()
    } else {
        packet
    };
    icmp.len() >= 8
        && icmp[0] == if v6 { 129 } else { 0 }
        && (!raw || icmp[4..6] == id.to_be_bytes())
        && icmp[6..8] == seq.to_be_bytes()
}

enum PingError {
    NotPermitted(String),
    NoReply,
    Io(String),
}

fn open(v6: bool) -> Result<(Socket, bool), PingError> {
    let (domain, protocol) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    let denied = |e: &std::io::Error| {
        matches!(e.kind(), ErrorKind::PermissionDenied)
            || matches!(
                e.raw_os_error(),
                Some(libc::EPERM | libc::EACCES | libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT)
            )
    };
    match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(s) => Ok((s, false)),
        Err(e) if denied(&e) => match Socket::new(domain, Type::RAW, Some(protocol)) {
            Ok(s) => Ok((s, true)),
            Err(raw) if denied(&raw) => Err(PingError::NotPermitted(format!(
                "datagram ICMP socket: {e}; raw socket: {raw}"
            ))),
            Err(raw) => Err(PingError::Io(raw.to_string())),
        },
        Err(e) => Err(PingError::Io(e.to_string())),
    }
}

/// One echo, blocking, within `limit`: the socket's setup time and the round trip.
fn ping(ip: IpAddr, limit: Duration) -> Result<(Duration, Duration), PingError> {
    let start = Instant::now();
    let v6 = ip.is_ipv6();
    let (mut socket, raw) = open(v6)?;
    let io = |e: std::io::Error| PingError::Io(e.to_string());
    let id = u16::try_from(std::process::id() & 0xffff).unwrap_or(1);
    let seq = u16::try_from(start.elapsed().subsec_nanos() & 0xffff).unwrap_or(1);
    let addr = SocketAddr::new(ip, 0);
    socket.connect(&addr.into()).map_err(io)?;
    let setup = start.elapsed();
    let sent = Instant::now();
    socket.send(&echo_request(v6, id, seq)).map_err(io)?;
    let mut buf = [0u8; 1500];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(PingError::NoReply);
        }
        socket.set_read_timeout(Some(left)).map_err(io)?;
        match socket.read(&mut buf) {
            Ok(n) if is_reply(&buf[..n], v6, raw, id, seq) => return Ok((setup, sent.elapsed())),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(PingError::NoReply);
            }
            Err(e) => return Err(io(e)),
        }
    }
}

/// An `icmp` check of `spec.host`.
pub async fn check(spec: &ProbeSpec, trace: &mut Trace) -> Result<Found, Fail> {
    let host = spec.host.as_deref().unwrap_or_default();
    let addrs = net::resolve(host, 0, trace).await?;
    let ip = addrs[0].ip();
    let limit = Duration::from_millis(spec.timeout_ms);
    trace.begin(Phase::Connect);
    let result = tokio::task::spawn_blocking(move || ping(ip, limit)).await;
    match result {
        Ok(Ok((setup, rtt))) => {
            trace.record(Phase::Connect, setup);
            trace.record(Phase::FirstByte, rtt);
            Ok(Found {
                detail: format!("echo reply from {ip} in {rtt:?}"),
                ..Found::default()
            })
        }
        Ok(Err(PingError::NotPermitted(detail))) => {
            trace.end();
            Err(Fail {
                reason: Reason::IcmpNotPermitted,
                detail,
                unknown: true,
            })
        }
        Ok(Err(PingError::NoReply)) => {
            trace.end();
            Err(Fail::new(
                Reason::IcmpNoReply,
                format!("no echo reply from {ip}"),
            ))
        }
        Ok(Err(PingError::Io(e))) => {
            trace.end();
            Err(Fail::new(
                Reason::ConnectFailed,
                format!("echo to {ip}: {e}"),
            ))
        }
        Err(e) => {
            trace.end();
            Err(Fail::new(Reason::ConnectFailed, format!("echo task: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_request_checksums_to_zero() {
        let p = echo_request(false, 0x0102, 7);
        assert_eq!(&p[..2], &[8, 0]);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to 0");
        assert_eq!(&p[8..], PAYLOAD);
    }

    #[test]
    fn replies_are_matched_by_sequence_and_on_raw_sockets_by_id() {
        let mut reply = echo_request(false, 9, 5);
        reply[0] = 0;
        assert!(
            is_reply(&reply, false, false, 1, 5),
            "datagram: the kernel sets the id"
        );
        assert!(!is_reply(&reply, false, false, 1, 6));
        let mut ip = vec![0x45; 1];
        ip.extend_from_slice(&[0; 19]);
        ip.extend_from_slice(&reply);
        assert!(is_reply(&ip, false, true, 9, 5));
        assert!(!is_reply(&ip, false, true, 8, 5));
        assert!(
            !is_reply(&echo_request(false, 9, 5), false, false, 9, 5),
            "a request is no reply"
        );
    }
}
