//! The `dns` check: the system resolver, or one query over UDP to a given `server` with a
//! minimal sans-IO codec ([`encode_query`], [`decode_answer`]) for A and AAAA records.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use kitestacks_core::{DnsRecord, ProbeSpec};
use tokio::net::UdpSocket;

use super::{Fail, Found, Phase, Reason, Trace};

/// Why a name cannot be put in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// An empty label (`a..b`).
    EmptyLabel,
    /// A label longer than 63 bytes.
    LongLabel,
    /// A name longer than 255 bytes on the wire.
    LongName,
}

/// A DNS answer, as far as a check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The response code (0 no error, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED…).
    pub rcode: u8,
    /// The A and AAAA records of the answer section.
    pub addrs: Vec<IpAddr>,
}

/// Why a packet is not the answer to our query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Cut short or inconsistent.
    Malformed,
    /// Another query's answer (id) or not an answer at all.
    NotOurs,
}

fn qtype(record: DnsRecord) -> u16 {
    match record {
        DnsRecord::A => 1,
        DnsRecord::Aaaa => 28,
    }
}

/// A recursive query (RD set) for `name` (a trailing dot allowed) and `record`, class IN.
pub fn encode_query(id: u16, name: &str, record: DnsRecord) -> Result<Vec<u8>, NameError> {
    let mut out = Vec::with_capacity(32 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let name = name.strip_suffix('.').unwrap_or(name);
    if !name.is_empty() {
        for label in name.split('.') {
            match label.len() {
                0 => return Err(NameError::EmptyLabel),
                n @ 1..=63 => out.push(u8::try_from(n).unwrap_or(63)),
                _ => return Err(NameError::LongLabel),
            }
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() - 12 > 255 {
        return Err(NameError::LongName);
    }
    out.extend_from_slice(&qtype(record).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    Ok(out)
}

/// The offset just past the (possibly compressed) name at `at`.
fn skip_name(packet: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *packet.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return (at + 2 <= packet.len()).then_some(at + 2),
            l if l & 0xc0 == 0 => at += 1 + usize::from(l),
            _ => return None,
        }
    }
}

fn u16_at(packet: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]))
}

/// The answer to query `id` in `packet`.
pub fn decode_answer(id: u16, packet: &[u8]) -> Result<Answer, DecodeError> {
    use DecodeError::{Malformed, NotOurs};
    if packet.len() < 12 {
        return Err(Malformed);
    }
    if u16_at(packet, 0) != Some(id) || packet[2] & 0x80 == 0 {
        return Err(NotOurs);
    }
    let rcode = packet[3] & 0x0f;
    let questions = u16_at(packet, 4).ok_or(Malformed)?;
    let answers = u16_at(packet, 6).ok_or(Malformed)?;
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(packet, at).ok_or(Malformed)? + 4;
    }
    let mut addrs = Vec::new();
    for _ in 0..answers {
        at = skip_name(packet, at).ok_or(Malformed)?;
        let kind = u16_at(packet, at).ok_or(Malformed)?;
        let len = usize::from(u16_at(packet, at + 8).ok_or(Malformed)?);
        let data = packet.get(at + 10..at + 10 + len).ok_or(Malformed)?;
        match (kind, data.len()) {
            (1, 4) => addrs.push(IpAddr::V4(Ipv4Addr::new(
                data[0], data[1], data[2], data[3],
            ))),
            (28, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(data);
                addrs.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            _ => {}
        }
        at += 10 + len;
    }
    Ok(Answer { rcode, addrs })
}

/// A query id: not secret, only distinct between consecutive checks.
fn query_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    u16::try_from(nanos % 65_521).unwrap_or(1)
}

/// Asks `server` over UDP; answers to other ids are ignored until the check's timeout.
async fn ask(server: SocketAddr, name: &str, record: DnsRecord) -> Result<Answer, Fail> {
    let id = query_id();
    let query = encode_query(id, name, record).map_err(|e| {
        Fail::new(
            Reason::DnsNotFound,
            format!("{name:?} is not a valid name: {e:?}"),
        )
    })?;
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io = |e: std::io::Error| Fail::new(Reason::DnsTimeout, format!("query to {server}: {e}"));
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    socket.send(&query).await.map_err(io)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket.recv(&mut buf).await.map_err(io)?;
        match decode_answer(id, &buf[..n]) {
            Ok(answer) => return Ok(answer),
            Err(DecodeError::NotOurs) => continue,
            Err(DecodeError::Malformed) => {
                return Err(Fail::new(
                    Reason::Protocol,
                    format!("{server}: malformed answer"),
                ));
            }
        }
    }
}

/// A `dns` check of `spec.name`.
pub async fn check(spec: &ProbeSpec, trace: &mut Trace) -> Result<Found, Fail> {
    let name = spec.name.as_deref().unwrap_or_default();
    trace.begin(Phase::Dns);
    let addrs = match spec.server {
        Some(server) => {
            let answer = ask(server, name, spec.record).await;
            trace.end();
            let answer = answer?;
            match answer.rcode {
                0 => answer.addrs,
                3 => return Err(Fail::new(Reason::DnsNotFound, format!("{name}: NXDOMAIN"))),
                code => {
                    return Err(Fail::new(
                        Reason::DnsNotFound,
                        format!("{name}: the server answered rcode {code}"),
                    ));
                }
            }
        }
        None => {
            let found = tokio::net::lookup_host((name, 0)).await;
            trace.end();
            match found {
                Ok(addrs) => addrs
                    .map(|a| a.ip())
                    .filter(|ip| ip.is_ipv4() == (spec.record == DnsRecord::A))
                    .collect(),
                Err(e) => {
                    let reason = if e.to_string().contains("Temporary failure") {
                        Reason::DnsTimeout
                    } else {
                        Reason::DnsNotFound
                    };
                    return Err(Fail::new(reason, format!("{name}: {e}")));
                }
            }
        }
    };
    if addrs.is_empty() {
        return Err(Fail::new(
            Reason::DnsNotFound,
            format!("{name}: no {:?} record", spec.record),
        ));
    }
    let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let shown = shown.join(", ");
    let failed = match &spec.expect {
        Some(want) if !shown.split(", ").any(|a| a == want.trim()) => Some(Reason::DnsMismatch),
        _ => None,
    };
    Ok(Found {
        failed,
        detail: match (&spec.expect, failed) {
            (Some(want), Some(_)) => format!("{name}: {shown} (expected {want})"),
            _ => format!("{name}: {shown}"),
        },
        ..Found::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_laid_out_as_rfc_1035_says() {
        let q = encode_query(0x1234, "ab.c.", DnsRecord::Aaaa).unwrap();
        assert_eq!(
            q,
            [
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 2, b'a', b'b', 1, b'c', 0, 0, 28,
                0, 1
            ]
        );
    }

    #[test]
    fn names_dns_cannot_carry_are_refused_before_any_query() {
        let long = "a".repeat(64);
        assert_eq!(
            encode_query(1, &long, DnsRecord::A),
            Err(NameError::LongLabel)
        );
        assert_eq!(
            encode_query(1, "a..b", DnsRecord::A),
            Err(NameError::EmptyLabel)
        );
        let name = vec!["a".repeat(63); 5].join(".");
        assert_eq!(
            encode_query(1, &name, DnsRecord::A),
            Err(NameError::LongName)
        );
    }

    #[test]
    fn answers_with_compressed_names_are_read() {
        let mut p = encode_query(7, "x.lan", DnsRecord::A).unwrap();
        p[2] = 0x81;
        p[3] = 0x80;
        p[7] = 2; // two answers
        for last in [10u8, 11] {
            p.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 168, 1, last]);
        }
        let a = decode_answer(7, &p).unwrap();
        assert_eq!(a.rcode, 0);
        assert_eq!(
            a.addrs,
            [
                "192.168.1.10".parse::<IpAddr>().unwrap(),
                "192.168.1.11".parse().unwrap()
            ]
        );
        assert_eq!(decode_answer(8, &p), Err(DecodeError::NotOurs));
        assert_eq!(
            decode_answer(7, &p[..p.len() - 2]),
            Err(DecodeError::Malformed)
        );
        let query = encode_query(7, "x.lan", DnsRecord::A).unwrap();
        assert_eq!(
            decode_answer(7, &query),
            Err(DecodeError::NotOurs),
            "a query is no answer"
        );
    }
}
