//! The `nfsd` collector: NFS server statistics from `<procfs>/net/rpc/nfsd` — reply cache,
//! stale file handles, disk bytes, threads, read-ahead cache, packets and connections,
//! RPC errors and `node_nfsd_requests_total{proto,method}` per NFSv2/v3/v4 operation.
//! No file (no NFS server module loaded) is no data.

use crate::collector::nfs::{V2_NAMES, V3_NAMES, counted, exact, values};
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::OrAbsent as _;
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "nfsd",
    default_enabled: true,
    families: &["node_nfsd_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Nfsd { file: None }))
}

struct Nfsd {
    file: Option<TextFile>,
}

/// NFSv4 operations of the `proc4ops` line, in the kernel's order; `None` for those
/// node_exporter does not report (the unused slots, PUTPUBFH, PUTROOTFH).
const V4_OPS: [Option<&str>; 40] = [
    None,
    None,
    None,
    Some("Access"),
    Some("Close"),
    Some("Commit"),
    Some("Create"),
    Some("DelegPurge"),
    Some("DelegReturn"),
    Some("GetAttr"),
    Some("GetFH"),
    Some("Link"),
    Some("Lock"),
    Some("Lockt"),
    Some("Locku"),
    Some("Lookup"),
    Some("LookupRoot"),
    Some("Nverify"),
    Some("Open"),
    Some("OpenAttr"),
    Some("OpenConfirm"),
    Some("OpenDgrd"),
    Some("PutFH"),
    None,
    None,
    Some("Read"),
    Some("ReadDir"),
    Some("ReadLink"),
    Some("Remove"),
    Some("Rename"),
    Some("Renew"),
    Some("RestoreFH"),
    Some("SaveFH"),
    Some("SecInfo"),
    Some("SetAttr"),
    Some("SetClientID"),
    Some("SetClientIDConfirm"),
    Some("Verify"),
    Some("Write"),
    Some("RelLockOwner"),
];

/// `/proc/net/rpc/nfsd`. Lines the file lacks stay zero, as upstream reports them.
#[derive(Debug, PartialEq, Eq)]
struct ServerStats {
    /// `rc`: hits, misses, nocache.
    rc: [u64; 3],
    /// `fh`: stale, and four unused counters.
    fh: [u64; 5],
    /// `io`: bytes read, bytes written.
    io: [u64; 2],
    /// `th`: threads, and a counter no longer kept.
    th: [u64; 2],
    /// `ra`: cache size, ten histogram buckets, not found.
    ra: [u64; 12],
    /// `net`: packets, udp, tcp, tcp connections.
    net: [u64; 4],
    /// `rpc`: calls, bad calls, bad format, bad auth, bad client.
    rpc: [u64; 5],
    proc2: [u64; 18],
    proc3: [u64; 22],
    /// `proc4ops` (RELEASE_LOCKOWNER, the 40th, is 0 on kernels without it).
    proc4ops: [u64; 40],
    wdeleg_getattr: u64,
}

impl Default for ServerStats {
    fn default() -> Self {
        Self {
            rc: [0; 3],
            fh: [0; 5],
            io: [0; 2],
            th: [0; 2],
            ra: [0; 12],
            net: [0; 4],
            rpc: [0; 5],
            proc2: [0; 18],
            proc3: [0; 22],
            proc4ops: [0; 40],
            wdeleg_getattr: 0,
        }
    }
}

/// Parses `/proc/net/rpc/nfsd`. An unknown line is an error, as in prometheus/procfs.
fn parse(text: &str) -> Result<ServerStats, ParseError> {
    let mut s = ServerStats::default();
    let mut buf = Vec::with_capacity(80);
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut fields = line.split_ascii_whitespace();
        let key = fields.next().unwrap_or("");
        if key == "th" {
            // The rest of the line is a histogram of floats (always 0 since 2.6.32).
            values(fields.take(2), n, &mut buf)?;
            if buf.len() < 2 {
                return Err(ParseError::new(n, format!("invalid NFSd th line {line:?}")));
            }
        } else {
            values(fields, n, &mut buf)?;
        }
        if buf.is_empty() {
            return Err(ParseError::new(
                n,
                format!("invalid NFSd metric line {line:?}"),
            ));
        }
        match key {
            "rc" => s.rc = exact(&buf, n)?,
            "fh" => s.fh = exact(&buf, n)?,
            "io" => s.io = exact(&buf, n)?,
            "th" => s.th = exact(&buf, n)?,
            "ra" => s.ra = exact(&buf, n)?,
            "net" => s.net = exact(&buf, n)?,
            "rpc" => s.rpc = exact(&buf, n)?,
            "proc2" => s.proc2 = counted(&buf, 18, n)?,
            "proc3" => s.proc3 = counted(&buf, 22, n)?,
            "proc4" => {
                // NULL and COMPOUND: checked, not reported.
                let _: [u64; 2] = counted(&buf, 2, n)?;
                if buf.len() != 3 {
                    return Err(ParseError::new(n, "proc4: want 2 values"));
                }
            }
            "proc4ops" => s.proc4ops = counted(&buf, 39, n)?,
            "wdeleg_getattr" => s.wdeleg_getattr = buf[0],
            _ => {
                return Err(ParseError::new(
                    n,
                    format!("unknown NFSd metric line {key:?}"),
                ));
            }
        }
    }
    Ok(s)
}

impl Collector for Nfsd {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let file = self
            .file
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("net/rpc/nfsd")));
        let Some(s) = file.parse(parse).or_absent()? else {
            return Ok(());
        };
        let plain: [(&'static str, &'static str, u64); 10] = [
            (
                "node_nfsd_reply_cache_hits_total",
                "Total number of NFSd Reply Cache hits (client lost server response).",
                s.rc[0],
            ),
            (
                "node_nfsd_reply_cache_misses_total",
                "Total number of NFSd Reply Cache an operation that requires caching (idempotent).",
                s.rc[1],
            ),
            (
                "node_nfsd_reply_cache_nocache_total",
                "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
                s.rc[2],
            ),
            (
                "node_nfsd_file_handles_stale_total",
                "Total number of NFSd stale file handles",
                s.fh[0],
            ),
            (
                "node_nfsd_disk_bytes_read_total",
                "Total NFSd bytes read.",
                s.io[0],
            ),
            (
                "node_nfsd_disk_bytes_written_total",
                "Total NFSd bytes written.",
                s.io[1],
            ),
            (
                "node_nfsd_read_ahead_cache_not_found_total",
                "Total number of NFSd read ahead cache not found.",
                s.ra[11],
            ),
            (
                "node_nfsd_connections_total",
                "Total number of NFSd TCP connections.",
                s.net[3],
            ),
            (
                "node_nfsd_server_rpcs_total",
                "Total number of NFSd RPCs.",
                s.rpc[0],
            ),
            ("node_nfsd_requests_total", REQUESTS, s.wdeleg_getattr),
        ];
        for (name, help, v) in plain {
            let labels: &[(&str, &str)] = if name == "node_nfsd_requests_total" {
                &[("proto", "4"), ("method", "WdelegGetattr")]
            } else {
                &[]
            };
            out.counter(name, help, labels, v as f64);
        }
        out.gauge(
            "node_nfsd_server_threads",
            "Total number of NFSd kernel threads that are running.",
            &[],
            s.th[0] as f64,
        );
        out.gauge(
            "node_nfsd_read_ahead_cache_size_blocks",
            "How large the read ahead cache is in blocks.",
            &[],
            s.ra[0] as f64,
        );
        const PACKETS: &str = "Total NFSd network packets (sent+received) by protocol type.";
        out.counter(
            "node_nfsd_packets_total",
            PACKETS,
            &[("proto", "udp")],
            s.net[1] as f64,
        );
        out.counter(
            "node_nfsd_packets_total",
            PACKETS,
            &[("proto", "tcp")],
            s.net[2] as f64,
        );
        const ERRORS: &str = "Total number of NFSd RPC errors by error type.";
        for (kind, v) in [("fmt", s.rpc[2]), ("auth", s.rpc[3]), ("cInt", s.rpc[4])] {
            out.counter(
                "node_nfsd_rpc_errors_total",
                ERRORS,
                &[("error", kind)],
                v as f64,
            );
        }
        // NULL is not reported for v2 and v3.
        let mut request = |proto: &str, method: &str, v: u64| {
            out.counter(
                "node_nfsd_requests_total",
                REQUESTS,
                &[("proto", proto), ("method", method)],
                v as f64,
            );
        };
        for (m, v) in V2_NAMES.iter().zip(&s.proc2).skip(1) {
            request("2", m, *v);
        }
        for (m, v) in V3_NAMES.iter().zip(&s.proc3).skip(1) {
            request("3", m, *v);
        }
        for (m, v) in V4_OPS.iter().zip(&s.proc4ops) {
            if let Some(m) = m {
                request("4", m, *v);
            }
        }
        Ok(())
    }
}

const REQUESTS: &str = "Total number NFSd Requests by method and protocol.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;

    const FIXTURE: &str = "rc 0 6 18622\n\
        fh 0 0 0 0 0\n\
        io 157286400 72864\n\
        th 8 0 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000\n\
        ra 32 0 0 0 0 0 0 0 0 0 0 0\n\
        net 972 55 917 1\n\
        rpc 18628 3 1 2 0\n\
        proc2 18 2 69 0 0 4410 0 0 0 0 0 0 0 0 0 0 0 99 2\n\
        proc3 22 2 112 0 2719 111 0 0 0 0 0 0 0 0 0 0 0 27 216 0 2 1 0\n\
        proc4 2 2 10853\n\
        proc4ops 72 0 0 0 1098 2 0 0 0 0 8179 5896 0 0 0 0 5900 0 0 2 0 2 0 9609 0 2 150 1272 0 0 0 1236 0 0 0 0 3 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
        wdeleg_getattr 15\n";

    #[test]
    fn the_fixture_parses() {
        let s = parse(FIXTURE).unwrap();
        assert_eq!(s.rc, [0, 6, 18622]);
        assert_eq!(s.th, [8, 0]);
        assert_eq!(s.ra[0], 32);
        assert_eq!(s.rpc, [18628, 3, 1, 2, 0]);
        assert_eq!(s.proc4ops[3], 1098);
        assert_eq!(s.wdeleg_getattr, 15);
        // Older kernels: 39 operations, no RELEASE_LOCKOWNER.
        let old = format!("proc4ops 39{}\n", " 1".repeat(39));
        assert_eq!(parse(&old).unwrap().proc4ops[39], 0);
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line() {
        for (text, line) in [
            ("rc 1 2\n", 1),
            ("rc 1 2 3\nth 8\n", 2),
            ("th 8 x\n", 1),
            ("proc4 3 1 2 3\n", 1),
            ("proc4ops 2 1 2\n", 1),
            ("io 1 2\nwdeleg_getattr\n", 2),
            ("nope 1\n", 1),
            ("io 1 2.5\n", 1),
        ] {
            assert_eq!(parse(text).unwrap_err().line, line, "{text:?}");
        }
    }

    #[test]
    fn the_collector_reports_the_fixture() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = testing::context(dir.path());
        let mut c = build(&Options::default()).unwrap();
        let mut s = Scrape::new();
        c.update(&ctx, &mut s).unwrap();
        assert!(s.families().next().is_none(), "no file: no data");
        std::fs::create_dir_all(dir.path().join("proc/net/rpc")).unwrap();
        std::fs::write(dir.path().join("proc/net/rpc/nfsd"), FIXTURE).unwrap();
        c.update(&ctx, &mut s).unwrap();
        // 17 + 21 + 35 operations and WdelegGetattr.
        assert_eq!(
            s.family("node_nfsd_requests_total").unwrap().series.len(),
            74
        );
        assert_eq!(
            s.family("node_nfsd_server_threads").unwrap().series[0].value,
            8.0
        );
    }
}
