//! The `nfs` collector: NFS client statistics from `<procfs>/net/rpc/nfs` —
//! `node_nfs_packets_total`, `node_nfs_connections_total`, `node_nfs_rpcs_total`,
//! `node_nfs_rpc_retransmissions_total`, `node_nfs_rpc_authentication_refreshes_total`
//! and `node_nfs_requests_total{proto,method}` for every NFSv2, v3 and v4 procedure.
//! No file (no NFS client module loaded) is no data.
//!
//! Also holds what the `nfsd` collector shares: the procedure names and the parsing of a
//! counted `procN` line.

use crate::collector::{Collector, Context, Definition, Options};
use crate::error::OrAbsent as _;
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "nfs",
    default_enabled: true,
    families: &["node_nfs_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Nfs { file: None }))
}

struct Nfs {
    file: Option<TextFile>,
}

/// NFSv2 procedures, in the kernel's order (prometheus/procfs's field names).
pub(super) const V2_NAMES: [&str; 18] = [
    "Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write",
    "Create", "Remove", "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat",
];

/// NFSv3 procedures, in the kernel's order.
pub(super) const V3_NAMES: [&str; 22] = [
    "Null",
    "GetAttr",
    "SetAttr",
    "Lookup",
    "Access",
    "ReadLink",
    "Read",
    "Write",
    "Create",
    "MkDir",
    "SymLink",
    "MkNod",
    "Remove",
    "RmDir",
    "Rename",
    "Link",
    "ReadDir",
    "ReadDirPlus",
    "FsStat",
    "FsInfo",
    "PathConf",
    "Commit",
];

/// NFSv4 client operations, in the kernel's order.
const V4_NAMES: [&str; 59] = [
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "GetDeviceInfo",
    "LayoutGet",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
];

/// `/proc/net/rpc/nfs`. Lines the file lacks stay zero, as upstream reports them.
#[derive(Debug, PartialEq, Eq)]
struct ClientStats {
    /// `net`: packets, udp, tcp, tcp connections.
    net: [u64; 4],
    /// `rpc`: calls, retransmissions, authentication refreshes.
    rpc: [u64; 3],
    proc2: [u64; 18],
    proc3: [u64; 22],
    proc4: [u64; 59],
}

impl Default for ClientStats {
    fn default() -> Self {
        Self {
            net: [0; 4],
            rpc: [0; 3],
            proc2: [0; 18],
            proc3: [0; 22],
            proc4: [0; 59],
        }
    }
}

/// Parses the whitespace-separated unsigned numbers after a line's key into `buf`.
pub(super) fn values<'a>(
    fields: impl Iterator<Item = &'a str>,
    line: usize,
    buf: &mut Vec<u64>,
) -> Result<(), ParseError> {
    buf.clear();
    for f in fields {
        buf.push(
            f.parse()
                .map_err(|_| ParseError::new(line, format!("{f:?} is not an unsigned integer")))?,
        );
    }
    Ok(())
}

/// Exactly `N` values.
pub(super) fn exact<const N: usize>(v: &[u64], line: usize) -> Result<[u64; N], ParseError> {
    v.try_into()
        .map_err(|_| ParseError::new(line, format!("{} values, want {N}", v.len())))
}

/// A `procN` line: a count, then that many counters (at least `min`). The first `N` are
/// kept (zero-padded when there are fewer).
pub(super) fn counted<const N: usize>(
    v: &[u64],
    min: usize,
    line: usize,
) -> Result<[u64; N], ParseError> {
    let (&count, rest) = v
        .split_first()
        .ok_or_else(|| ParseError::new(line, "no count"))?;
    if count != rest.len() as u64 || rest.len() < min {
        return Err(ParseError::new(
            line,
            format!(
                "count {count} with {} values (at least {min} wanted)",
                rest.len()
            ),
        ));
    }
    let mut out = [0; N];
    let n = rest.len().min(N);
    out[..n].copy_from_slice(&rest[..n]);
    Ok(out)
}

/// Parses `/proc/net/rpc/nfs` (`net`, `rpc`, `proc2`, `proc3`, `proc4` lines). An
/// unknown line is an error, as in prometheus/procfs.
fn parse(text: &str) -> Result<ClientStats, ParseError> {
    let mut s = ClientStats::default();
    let mut buf = Vec::with_capacity(64);
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut fields = line.split_ascii_whitespace();
        let key = fields.next().unwrap_or("");
        values(fields, n, &mut buf)?;
        if buf.is_empty() {
            return Err(ParseError::new(
                n,
                format!("invalid NFS metric line {line:?}"),
            ));
        }
        match key {
            "net" => s.net = exact(&buf, n)?,
            "rpc" => s.rpc = exact(&buf, n)?,
            "proc2" => s.proc2 = counted(&buf, 18, n)?,
            "proc3" => s.proc3 = counted(&buf, 22, n)?,
            "proc4" => s.proc4 = counted(&buf, 0, n)?,
            _ => {
                return Err(ParseError::new(
                    n,
                    format!("unknown NFS metric line {key:?}"),
                ));
            }
        }
    }
    Ok(s)
}

impl Collector for Nfs {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("net/rpc/nfs")));
        let Some(s) = file.parse(parse).or_absent()? else {
            return Ok(());
        };
        const PACKETS: &str = "Total NFSd network packets (sent+received) by protocol type.";
        out.counter(
            "node_nfs_packets_total",
            PACKETS,
            &[("protocol", "udp")],
            s.net[1] as f64,
        );
        out.counter(
            "node_nfs_packets_total",
            PACKETS,
            &[("protocol", "tcp")],
            s.net[2] as f64,
        );
        out.counter(
            "node_nfs_connections_total",
            "Total number of NFSd TCP connections.",
            &[],
            s.net[3] as f64,
        );
        out.counter(
            "node_nfs_rpcs_total",
            "Total number of RPCs performed.",
            &[],
            s.rpc[0] as f64,
        );
        out.counter(
            "node_nfs_rpc_retransmissions_total",
            "Number of RPC transmissions performed.",
            &[],
            s.rpc[1] as f64,
        );
        out.counter(
            "node_nfs_rpc_authentication_refreshes_total",
            "Number of RPC authentication refreshes performed.",
            &[],
            s.rpc[2] as f64,
        );
        let tables: [(&str, &[&str], &[u64]); 3] = [
            ("2", &V2_NAMES, &s.proc2),
            ("3", &V3_NAMES, &s.proc3),
            ("4", &V4_NAMES, &s.proc4),
        ];
        for (proto, names, counts) in tables {
            for (method, v) in names.iter().zip(counts) {
                out.counter(
                    "node_nfs_requests_total",
                    "Number of NFS procedures invoked.",
                    &[("proto", proto), ("method", method)],
                    *v as f64,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const FIXTURE: &str = "net 70 70 69 45\n\
        rpc 1218785755 374636 1218815394\n\
        proc2 18 16 57 74 52 71 73 45 86 0 52 83 61 17 53 50 23 70 82\n\
        proc3 22 0 1061909262 48906 4077635 117661341 5 29391916 2570425 2993289 590 0 0 7815 15 1130 0 3983 92385 13332 2 1 23729\n\
        proc4 48 98 51 54 83 85 23 24 1 28 73 68 83 12 84 39 68 59 58 88 29 74 69 96 21 84 15 53 86 54 66 56 97 36 49 32 85 81 11 58 32 67 13 28 35 1 90 26 0\n";

    #[test]
    fn the_fixture_parses_and_short_v4_lines_are_padded() {
        let s = parse(FIXTURE).unwrap();
        assert_eq!(s.net, [70, 70, 69, 45]);
        assert_eq!(s.rpc, [1218785755, 374636, 1218815394]);
        assert_eq!(s.proc2[0], 16);
        assert_eq!(s.proc2[17], 82);
        assert_eq!(s.proc3[21], 23729);
        assert_eq!(s.proc4[0], 98);
        assert_eq!(s.proc4[47], 0);
        assert_eq!(s.proc4[58], 0);
        assert_eq!(parse(""), Ok(ClientStats::default()));
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line() {
        for (text, line) in [
            ("net 1 2 3\n", 1),
            ("net 1 2 3 4\nrpc 1 x 3\n", 2),
            ("proc2 3 1 2 3\n", 1),
            ("proc3 22 1\n", 1),
            ("proc4 3 1 2\n", 1),
            ("net\n", 1),
            ("bogus 1\n", 1),
        ] {
            assert_eq!(parse(text).unwrap_err().line, line, "{text:?}");
        }
        let e = parse("rpc 1 -2 3\n").unwrap_err();
        assert!(e.message.contains("\"-2\""), "{e}");
    }

    #[test]
    fn the_collector_reports_every_procedure() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        c.update(&ctx, &mut s).unwrap();
        assert!(s.families().next().is_none(), "no file: no data");
        std::fs::create_dir_all(dir.path().join("proc/net/rpc")).unwrap();
        std::fs::write(dir.path().join("proc/net/rpc/nfs"), FIXTURE).unwrap();
        c.update(&ctx, &mut s).unwrap();
        let req = s.family("node_nfs_requests_total").unwrap();
        assert_eq!(req.series.len(), 18 + 22 + 59);
        assert_eq!(
            s.family("node_nfs_connections_total").unwrap().series[0].value,
            45.0
        );
        std::fs::write(dir.path().join("proc/net/rpc/nfs"), "net 1\n").unwrap();
        let e = c.update(&ctx, &mut Scrape::new()).unwrap_err();
        assert!(e.to_string().contains("rpc/nfs:1"), "{e}");
    }
}
