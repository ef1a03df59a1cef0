//! The `mountstats` collector: per-mount NFS client statistics from
//! `<procfs>/self/mountstats`, with the server address taken from the same entry of
//! `<procfs>/self/mountinfo` — `node_mountstats_nfs_*`: age, byte and page counters,
//! events, per-operation and per-transport counters, and `mountpoint_info`, as
//! node_exporter's `mountstats_linux.go` reports them from prometheus/procfs's parser.

use std::collections::HashSet;

use crate::collector::{Collector, Context, Definition, Options, attr};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::source::TextFile;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "mountstats",
    default_enabled: false,
    families: &["node_mountstats_"],
    build,
};

fn build(_: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(MountStats {
        stats: None,
        info: None,
    }))
}

struct MountStats {
    stats: Option<TextFile>,
    info: Option<TextFile>,
}

/// One `device ... mounted on ... with fstype ...` entry.
#[derive(Debug, PartialEq)]
struct Mount<'a> {
    device: &'a str,
    mount_point: &'a str,
    fs_type: &'a str,
    /// The statistics that follow an NFS entry with `statvers=`.
    nfs: Option<Nfs<'a>>,
}

/// An NFS mount's statistics.
#[derive(Debug, Default, PartialEq)]
struct Nfs<'a> {
    /// `age:` as a duration, in seconds.
    age_seconds: f64,
    /// `bytes:` (read, write, direct read, direct write, read total, write total, read
    /// pages, write pages).
    bytes: [u64; BYTES_LEN],
    /// `events:`, in the kernel's order.
    events: [u64; EVENTS_LEN],
    operations: Vec<Operation<'a>>,
    transports: Vec<Transport<'a>>,
}

/// A `per-op statistics` line: the operation and its first eight counters (requests,
/// transmissions, major timeouts, bytes sent, bytes received, queue, response and
/// request milliseconds).
#[derive(Debug, PartialEq)]
struct Operation<'a> {
    name: &'a str,
    counters: [u64; 8],
}

/// An `xprt:` line, laid out as procfs lays out tcp's: port, bind, connect, connect
/// idle time, idle time, sends, receives, bad xids, cumulative active requests,
/// cumulative backlog, maximum slots, cumulative sending and pending queue. Fields the
/// protocol or statistics version lacks are 0.
#[derive(Debug, PartialEq)]
struct Transport<'a> {
    protocol: &'a str,
    counters: [u64; TRANSPORT_LEN],
}

const DEVICE_ENTRY_LEN: usize = 8;
const BYTES_LEN: usize = 8;
const EVENTS_LEN: usize = 27;
const TRANSPORT_LEN: usize = 13;
/// How many numbers procfs makes room for in an `xprt:` line (more make it panic).
const TRANSPORT_MAX: usize = 31;

/// A Go `strconv.ParseUint(s, 10, 64)`: no sign.
fn uint(s: &str, line: usize, what: &str) -> Result<u64, ParseError> {
    attr::go_parse_uint(s, 10)
        .ok_or_else(|| ParseError::new(line, format!("{what}: {s:?} is not an unsigned integer")))
}

/// Parses `/proc/<pid>/mountstats` as prometheus/procfs does: every `device` line is a
/// mount; an NFS one with a statistics version is followed by its `opts:`, `age:`,
/// `bytes:`, `events:` and `xprt:` lines up to `per-op statistics`, then one line per
/// operation up to a blank line. Statistics on a mount that is not `nfs`/`nfs4` are an
/// error.
fn parse(text: &str) -> Result<Vec<Mount<'_>>, ParseError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let mut mounts = Vec::new();
    while let Some((n, line)) = lines.next() {
        let ss: Vec<&str> = line.split_whitespace().collect();
        if ss.first() != Some(&"device") {
            continue;
        }
        let mut mount = parse_mount(&ss, n)?;
        if ss.len() > DEVICE_ENTRY_LEN {
            if mount.fs_type != "nfs" && mount.fs_type != "nfs4" {
                return Err(ParseError::new(
                    n,
                    format!("cannot parse statistics of a {:?} mount", mount.fs_type),
                ));
            }
            let version = ss[8].strip_prefix("statvers=").unwrap_or(ss[8]);
            mount.nfs = Some(parse_nfs(&mut lines, version)?);
        }
        mounts.push(mount);
    }
    Ok(mounts)
}

/// `device <device> mounted on <mount point> with fstype <type>`.
fn parse_mount<'a>(ss: &[&'a str], n: usize) -> Result<Mount<'a>, ParseError> {
    let words = [
        (0, "device"),
        (2, "mounted"),
        (3, "on"),
        (5, "with"),
        (6, "fstype"),
    ];
    if ss.len() < DEVICE_ENTRY_LEN || words.iter().any(|&(i, w)| ss[i] != w) {
        return Err(ParseError::new(
            n,
            format!("invalid device entry {:?}", ss.join(" ")),
        ));
    }
    Ok(Mount {
        device: ss[1],
        mount_point: ss[4],
        fs_type: ss[7],
        nfs: None,
    })
}

fn parse_nfs<'a>(
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
    version: &str,
) -> Result<Nfs<'a>, ParseError> {
    let mut nfs = Nfs::default();
    for (n, line) in lines.by_ref() {
        let ss: Vec<&str> = line.split_whitespace().collect();
        let Some(&key) = ss.first() else {
            break;
        };
        let incomplete = || ParseError::new(n, format!("incomplete {key} line"));
        match key {
            "opts:" | "age:" | "bytes:" | "events:" if ss.len() < 2 => return Err(incomplete()),
            "xprt:" if ss.len() < 3 => return Err(incomplete()),
            "age:" => nfs.age_seconds = go_duration_seconds(&format!("{}s", ss[1]), n)?,
            "bytes:" => nfs.bytes = numbers(&ss[1..], n, "bytes")?,
            "events:" => nfs.events = numbers(&ss[1..], n, "events")?,
            "xprt:" => nfs.transports.push(parse_transport(&ss[1..], version, n)?),
            // Only the presence of mount options is checked: nothing reports them.
            _ => {}
        }
        if key == "per-op" {
            break;
        }
    }
    // The per-operation lines run to the next blank line. (Like procfs, a mount without
    // them goes on to read the lines that follow as operations.)
    for (n, line) in lines {
        let ss: Vec<&str> = line.split_whitespace().collect();
        if ss.is_empty() {
            break;
        }
        if ss.len() < 9 {
            return Err(ParseError::new(
                n,
                format!(
                    "{} fields in a per-operation line, want at least 9",
                    ss.len()
                ),
            ));
        }
        let mut counters = [0; 8];
        for (i, f) in ss[1..].iter().enumerate() {
            let v = uint(f, n, ss[0])?;
            if let Some(c) = counters.get_mut(i) {
                *c = v;
            }
        }
        nfs.operations.push(Operation {
            name: ss[0].strip_suffix(':').unwrap_or(ss[0]),
            counters,
        });
    }
    Ok(nfs)
}

/// Exactly `N` unsigned integers.
fn numbers<const N: usize>(ss: &[&str], n: usize, what: &str) -> Result<[u64; N], ParseError> {
    if ss.len() != N {
        return Err(ParseError::new(
            n,
            format!("{} {what} fields, want {N}", ss.len()),
        ));
    }
    let mut out = [0; N];
    for (o, s) in out.iter_mut().zip(ss) {
        *o = uint(s, n, what)?;
    }
    Ok(out)
}

/// An `xprt:` line after the key: the protocol, then its numbers, whose count depends
/// on the protocol and the statistics version (1.0: tcp 10, udp 7; 1.1: tcp 13, udp 10,
/// rdma at least 20).
fn parse_transport<'a>(
    ss: &[&'a str],
    version: &str,
    n: usize,
) -> Result<Transport<'a>, ParseError> {
    let (protocol, rest) = (ss[0], &ss[1..]);
    let ok = match (version, protocol) {
        ("1.0", "tcp") => rest.len() == 10,
        ("1.0", "udp") => rest.len() == 7,
        ("1.1", "tcp") => rest.len() == 13,
        ("1.1", "udp") => rest.len() == 10,
        ("1.1", "rdma") => (20..=TRANSPORT_MAX).contains(&rest.len()),
        ("1.0" | "1.1", _) => {
            return Err(ParseError::new(
                n,
                format!("invalid NFS protocol {protocol:?} in a stats {version} xprt line"),
            ));
        }
        _ => {
            return Err(ParseError::new(
                n,
                format!("unrecognized NFS transport stats version {version:?}"),
            ));
        }
    };
    if !ok {
        return Err(ParseError::new(
            n,
            format!(
                "{} numbers in a stats {version} {protocol} xprt line",
                rest.len()
            ),
        ));
    }
    let mut ns = [0u64; TRANSPORT_MAX];
    for (o, s) in ns.iter_mut().zip(rest) {
        *o = uint(s, n, "xprt")?;
    }
    let mut counters = [0; TRANSPORT_LEN];
    match protocol {
        // udp has no connect count, connect idle time or idle time.
        "udp" => {
            counters[..2].copy_from_slice(&ns[..2]);
            counters[5..].copy_from_slice(&ns[2..10]);
        }
        // rdma's own counters follow the first ten; the 1.1 queue fields stay 0.
        "rdma" => counters[..10].copy_from_slice(&ns[..10]),
        _ => counters.copy_from_slice(&ns[..TRANSPORT_LEN]),
    }
    Ok(Transport { protocol, counters })
}

/// Go's `time.ParseDuration(s).Seconds()`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` with units
/// ns, us (µs, μs), ms, s, m, h, to the nanosecond, at most 2^63-1 ns.
fn go_duration_seconds(s: &str, n: usize) -> Result<f64, ParseError> {
    const LIMIT: u64 = 1 << 63;
    let err = || ParseError::new(n, format!("invalid duration {s:?}"));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let b = rest.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(err());
        }
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &c in &b[..digits] {
            if v > LIMIT / 10 {
                return Err(err());
            }
            v = v * 10 + u64::from(c - b'0');
            if v > LIMIT {
                return Err(err());
            }
        }
        rest = &rest[digits..];
        let (mut frac, mut scale, mut post) = (0u64, 1f64, false);
        if let Some(after) = rest.strip_prefix('.') {
            let b = after.as_bytes();
            let fd = b.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for &c in &b[..fd] {
                if overflow {
                    continue;
                }
                if frac > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = frac * 10 + u64::from(c - b'0');
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                frac = y;
                scale *= 10.0;
            }
            post = fd > 0;
            rest = &after[fd..];
        }
        if digits == 0 && !post {
            return Err(err());
        }
        let unit_len = rest
            .bytes()
            .take_while(|c| !(*c == b'.' || c.is_ascii_digit()))
            .count();
        let unit: u64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(err()),
        };
        rest = &rest[unit_len..];
        if v > LIMIT / unit {
            return Err(err());
        }
        v *= unit;
        if frac > 0 {
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(err());
            }
        }
        total += v;
        if total > LIMIT {
            return Err(err());
        }
    }
    if !neg && total > LIMIT - 1 {
        return Err(err());
    }
    // Duration.Seconds(): whole seconds plus the nanoseconds.
    let (sec, nsec) = (total / 1_000_000_000, total % 1_000_000_000);
    let secs = sec as f64 + nsec as f64 / 1e9;
    Ok(if neg { -secs } else { secs })
}

/// The `addr=` superblock option of every `/proc/<pid>/mountinfo` line, in order (`""`
/// where there is none), checking each line as procfs does: at least ten space-separated
/// fields, `-` fourth from the end, integer mount and parent IDs.
fn parse_mountinfo_addrs(text: &str) -> Result<Vec<&str>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 10 {
            return Err(ParseError::new(n, "too few fields in mount string"));
        }
        if f[f.len() - 4] != "-" {
            return Err(ParseError::new(
                n,
                format!(
                    "couldn't find separator in expected field: {:?}",
                    f[f.len() - 4]
                ),
            ));
        }
        for (k, what) in [(0, "mount ID"), (1, "parent ID")] {
            f[k].parse::<i64>()
                .map_err(|_| ParseError::new(n, format!("{what}: {:?}", f[k])))?;
        }
        // Go map semantics: the last `addr` option wins; `a=b=c` is `b`.
        let mut addr = "";
        for opt in f[f.len() - 1].split(',') {
            let mut kv = opt.split('=');
            if kv.next() == Some("addr") {
                addr = kv.next().unwrap_or("");
            }
        }
        out.push(addr);
    }
    Ok(out)
}

/// 2^53: upstream reports counters that may exceed a float's integers modulo this.
const FLOAT64_MANTISSA: u64 = 1 << 53;

const BYTES: [(&str, &str); BYTES_LEN] = [
    (
        "node_mountstats_nfs_read_bytes_total",
        "Number of bytes read using the read() syscall.",
    ),
    (
        "node_mountstats_nfs_write_bytes_total",
        "Number of bytes written using the write() syscall.",
    ),
    (
        "node_mountstats_nfs_direct_read_bytes_total",
        "Number of bytes read using the read() syscall in O_DIRECT mode.",
    ),
    (
        "node_mountstats_nfs_direct_write_bytes_total",
        "Number of bytes written using the write() syscall in O_DIRECT mode.",
    ),
    (
        "node_mountstats_nfs_total_read_bytes_total",
        "Number of bytes read from the NFS server, in total.",
    ),
    (
        "node_mountstats_nfs_total_write_bytes_total",
        "Number of bytes written to the NFS server, in total.",
    ),
    (
        "node_mountstats_nfs_read_pages_total",
        "Number of pages read directly via mmap()'d files.",
    ),
    (
        "node_mountstats_nfs_write_pages_total",
        "Number of pages written directly via mmap()'d files.",
    ),
];

/// The reported events: index in the `events:` line, name, HELP (upstream's, including
/// its copied texts for vfs_open and vfs_setattr). Index 18 (congestion wait) is not
/// reported.
const EVENTS: [(usize, &str, &str); 26] = [
    (
        0,
        "node_mountstats_nfs_event_inode_revalidate_total",
        "Number of times cached inode attributes are re-validated from the server.",
    ),
    (
        1,
        "node_mountstats_nfs_event_dnode_revalidate_total",
        "Number of times cached dentry nodes are re-validated from the server.",
    ),
    (
        2,
        "node_mountstats_nfs_event_data_invalidate_total",
        "Number of times an inode cache is cleared.",
    ),
    (
        3,
        "node_mountstats_nfs_event_attribute_invalidate_total",
        "Number of times cached inode attributes are invalidated.",
    ),
    (
        4,
        "node_mountstats_nfs_event_vfs_open_total",
        "Number of times cached inode attributes are invalidated.",
    ),
    (
        5,
        "node_mountstats_nfs_event_vfs_lookup_total",
        "Number of times a directory lookup has occurred.",
    ),
    (
        6,
        "node_mountstats_nfs_event_vfs_access_total",
        "Number of times permissions have been checked.",
    ),
    (
        7,
        "node_mountstats_nfs_event_vfs_update_page_total",
        "Number of updates (and potential writes) to pages.",
    ),
    (
        8,
        "node_mountstats_nfs_event_vfs_read_page_total",
        "Number of pages read directly via mmap()'d files.",
    ),
    (
        9,
        "node_mountstats_nfs_event_vfs_read_pages_total",
        "Number of times a group of pages have been read.",
    ),
    (
        10,
        "node_mountstats_nfs_event_vfs_write_page_total",
        "Number of pages written directly via mmap()'d files.",
    ),
    (
        11,
        "node_mountstats_nfs_event_vfs_write_pages_total",
        "Number of times a group of pages have been written.",
    ),
    (
        12,
        "node_mountstats_nfs_event_vfs_getdents_total",
        "Number of times directory entries have been read with getdents().",
    ),
    (
        13,
        "node_mountstats_nfs_event_vfs_setattr_total",
        "Number of times directory entries have been read with getdents().",
    ),
    (
        14,
        "node_mountstats_nfs_event_vfs_flush_total",
        "Number of pending writes that have been forcefully flushed to the server.",
    ),
    (
        15,
        "node_mountstats_nfs_event_vfs_fsync_total",
        "Number of times fsync() has been called on directories and files.",
    ),
    (
        16,
        "node_mountstats_nfs_event_vfs_lock_total",
        "Number of times locking has been attempted on a file.",
    ),
    (
        17,
        "node_mountstats_nfs_event_vfs_file_release_total",
        "Number of times files have been closed and released.",
    ),
    (
        19,
        "node_mountstats_nfs_event_truncation_total",
        "Number of times files have been truncated.",
    ),
    (
        20,
        "node_mountstats_nfs_event_write_extension_total",
        "Number of times a file has been grown due to writes beyond its existing end.",
    ),
    (
        21,
        "node_mountstats_nfs_event_silly_rename_total",
        "Number of times a file was removed while still open by another process.",
    ),
    (
        22,
        "node_mountstats_nfs_event_short_read_total",
        "Number of times the NFS server gave less data than expected while reading.",
    ),
    (
        23,
        "node_mountstats_nfs_event_short_write_total",
        "Number of times the NFS server wrote less data than expected while writing.",
    ),
    (
        24,
        "node_mountstats_nfs_event_jukebox_delay_total",
        "Number of times the NFS server indicated EJUKEBOX; retrieving data from offline storage.",
    ),
    (
        25,
        "node_mountstats_nfs_event_pnfs_read_total",
        "Number of NFS v4.1+ pNFS reads.",
    ),
    (
        26,
        "node_mountstats_nfs_event_pnfs_write_total",
        "Number of NFS v4.1+ pNFS writes.",
    ),
];

/// Per-operation counters: index in [`Operation::counters`], name, HELP.
const OPERATION_COUNTS: [(usize, &str, &str); 5] = [
    (
        0,
        "node_mountstats_nfs_operations_requests_total",
        "Number of requests performed for a given operation.",
    ),
    (
        1,
        "node_mountstats_nfs_operations_transmissions_total",
        "Number of times an actual RPC request has been transmitted for a given operation.",
    ),
    (
        2,
        "node_mountstats_nfs_operations_major_timeouts_total",
        "Number of times a request has had a major timeout for a given operation.",
    ),
    (
        3,
        "node_mountstats_nfs_operations_sent_bytes_total",
        "Number of bytes sent for a given operation, including RPC headers and payload.",
    ),
    (
        4,
        "node_mountstats_nfs_operations_received_bytes_total",
        "Number of bytes received for a given operation, including RPC headers and payload.",
    ),
];

/// Per-operation durations (milliseconds in the file, seconds reported).
const OPERATION_TIMES: [(usize, &str, &str); 3] = [
    (
        5,
        "node_mountstats_nfs_operations_queue_time_seconds_total",
        "Duration all requests spent queued for transmission for a given operation before they were sent, in seconds.",
    ),
    (
        6,
        "node_mountstats_nfs_operations_response_time_seconds_total",
        "Duration all requests took to get a reply back after a request for a given operation was transmitted, in seconds.",
    ),
    (
        7,
        "node_mountstats_nfs_operations_request_time_seconds_total",
        "Duration all requests took from when a request was enqueued to when it was completely handled for a given operation, in seconds.",
    ),
];

/// Per-transport counters: index in [`Transport::counters`], name, HELP.
const TRANSPORT_COUNTS: [(usize, &str, &str); 8] = [
    (
        1,
        "node_mountstats_nfs_transport_bind_total",
        "Number of times the client has had to establish a connection from scratch to the NFS server.",
    ),
    (
        2,
        "node_mountstats_nfs_transport_connect_total",
        "Number of times the client has made a TCP connection to the NFS server.",
    ),
    (
        5,
        "node_mountstats_nfs_transport_sends_total",
        "Number of RPC requests for this mount sent to the NFS server.",
    ),
    (
        6,
        "node_mountstats_nfs_transport_receives_total",
        "Number of RPC responses for this mount received from the NFS server.",
    ),
    (
        7,
        "node_mountstats_nfs_transport_bad_transaction_ids_total",
        "Number of times the NFS server sent a response with a transaction ID unknown to this client.",
    ),
    (
        9,
        "node_mountstats_nfs_transport_backlog_queue_total",
        "Total number of items added to the RPC backlog queue.",
    ),
    (
        11,
        "node_mountstats_nfs_transport_sending_queue_total",
        "Total number of items added to the RPC transmission sending queue.",
    ),
    (
        12,
        "node_mountstats_nfs_transport_pending_queue_total",
        "Total number of items added to the RPC transmission pending queue.",
    ),
];

/// One mount's statistics under `export`, `protocol`, `mountaddr`.
fn report(out: &mut Scrape, s: &Nfs<'_>, labels: [(&'static str, &str); 3]) {
    out.counter(
        "node_mountstats_nfs_age_seconds_total",
        "The age of the NFS mount in seconds.",
        &labels,
        s.age_seconds,
    );
    for ((name, help), v) in BYTES.iter().zip(s.bytes) {
        out.counter(name, help, &labels, v as f64);
    }
    let [export, protocol, mountaddr] = labels;
    for (i, t) in s.transports.iter().enumerate() {
        let index = i.to_string();
        let labels = [export, protocol, mountaddr, ("transport", index.as_str())];
        for (k, name, help) in TRANSPORT_COUNTS {
            out.counter(name, help, &labels, t.counters[k] as f64);
        }
        out.gauge(
            "node_mountstats_nfs_transport_idle_time_seconds",
            "Duration since the NFS mount last saw any RPC traffic, in seconds.",
            &labels,
            (t.counters[4] % FLOAT64_MANTISSA) as f64,
        );
        out.gauge(
            "node_mountstats_nfs_transport_maximum_rpc_slots",
            "Maximum number of simultaneously active RPC requests ever used.",
            &labels,
            t.counters[10] as f64,
        );
    }
    for op in &s.operations {
        let labels = [export, protocol, mountaddr, ("operation", op.name)];
        for (k, name, help) in OPERATION_COUNTS {
            out.counter(name, help, &labels, op.counters[k] as f64);
        }
        for (k, name, help) in OPERATION_TIMES {
            let ms = (op.counters[k] % FLOAT64_MANTISSA) as f64;
            out.counter(name, help, &labels, ms / 1000.0);
        }
    }
    for (k, name, help) in EVENTS {
        out.counter(name, help, &labels, s.events[k] as f64);
    }
}

impl Collector for MountStats {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let stats = self
            .stats
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("self/mountstats")));
        let info = self
            .info
            .get_or_insert_with(|| TextFile::new(ctx.roots.proc("self/mountinfo")));
        // Parsed in place (the results borrow the text), so the path is attached here.
        let mounts =
            parse(stats.read()?).map_err(|e| Error::parse(ctx.roots.proc("self/mountstats"), e))?;
        let addrs = parse_mountinfo_addrs(info.read()?)
            .map_err(|e| Error::parse(ctx.roots.proc("self/mountinfo"), e))?;
        // As upstream: one info series per (export, protocol, address, mount point), and
        // the statistics once per (export, protocol, address) — later mounts of the same
        // export are skipped, as are further transports of a mount once one repeats.
        let mut mount_points = HashSet::new();
        let mut devices = HashSet::new();
        for (idx, m) in mounts.iter().enumerate() {
            let Some(s) = &m.nfs else {
                continue;
            };
            // The two files list the mounts in the same order.
            let addr = addrs.get(idx).copied().unwrap_or("");
            for t in &s.transports {
                if mount_points.insert((m.device, t.protocol, addr, m.mount_point)) {
                    out.gauge(
                        "node_mountstats_nfs_mountpoint_info",
                        "Info metric for an NFS mountpoint.",
                        &[
                            ("export", m.device),
                            ("protocol", t.protocol),
                            ("mountaddr", addr),
                            ("mountpoint", m.mount_point),
                        ],
                        1.0,
                    );
                }
                if !devices.insert((m.device, t.protocol, addr)) {
                    break;
                }
                report(
                    out,
                    s,
                    [
                        ("export", m.device),
                        ("protocol", t.protocol),
                        ("mountaddr", addr),
                    ],
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

    const NFS4: &str = "device rootfs mounted on / with fstype rootfs\n\
        device 192.168.1.1:/srv/test mounted on /mnt/nfs/test with fstype nfs4 statvers=1.1\n\
        \topts:\trw,vers=4.0,proto=tcp\n\
        \tage:\t13968\n\
        \tcaps:\tcaps=0xfff7,wtmult=512\n\
        \tevents:\t52 226 0 0 1 13 398 0 0 331 0 47 0 0 77 0 0 77 9 0 0 0 0 0 0 0 5\n\
        \tbytes:\t1207640230 0 0 0 1210214218 0 295483 0\n\
        \tRPC iostats version: 1.0  p/v: 100003/4 (nfs)\n\
        \txprt:\ttcp 832 0 1 0 11 6428 6428 0 12154 0 24 26 5726\n\
        \tper-op statistics\n\
        \t        NULL: 0 0 0 0 0 0 0 0\n\
        \t        READ: 1298 1298 0 207680 1210292152 6 79386 79407 3\n\
        \n\
        device proc mounted on /proc with fstype proc\n";

    #[test]
    fn parses_mounts_and_nfs_statistics() {
        let m = parse(NFS4).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].device, m[0].fs_type), ("rootfs", "rootfs"));
        assert!(m[0].nfs.is_none() && m[2].nfs.is_none());
        assert_eq!(m[2].mount_point, "/proc");
        let s = m[1].nfs.as_ref().unwrap();
        assert_eq!(m[1].mount_point, "/mnt/nfs/test");
        assert_eq!(s.age_seconds, 13968.0);
        assert_eq!(s.bytes[0], 1207640230);
        assert_eq!((s.events[0], s.events[18], s.events[26]), (52, 9, 5));
        assert_eq!(
            s.transports,
            [Transport {
                protocol: "tcp",
                counters: [832, 0, 1, 0, 11, 6428, 6428, 0, 12154, 0, 24, 26, 5726],
            }]
        );
        assert_eq!(s.operations.len(), 2);
        assert_eq!(s.operations[1].name, "READ");
        assert_eq!(
            s.operations[1].counters,
            [1298, 1298, 0, 207680, 1210292152, 6, 79386, 79407]
        );
    }

    #[test]
    fn transports_are_laid_out_like_tcp() {
        let udp = parse_transport(&["udp", "1", "2", "3", "4", "5", "6", "7"], "1.0", 1).unwrap();
        assert_eq!(udp.counters, [1, 2, 0, 0, 0, 3, 4, 5, 6, 7, 0, 0, 0]);
        let udp11 = "udp 1 2 3 4 5 6 7 8 9 10";
        let v: Vec<&str> = udp11.split(' ').collect();
        let t = parse_transport(&v, "1.1", 1).unwrap();
        assert_eq!(t.counters, [1, 2, 0, 0, 0, 3, 4, 5, 6, 7, 8, 9, 10]);
        let rdma: Vec<String> = std::iter::once("rdma".to_owned())
            .chain((1..=28).map(|i| i.to_string()))
            .collect();
        let v: Vec<&str> = rdma.iter().map(String::as_str).collect();
        let t = parse_transport(&v, "1.1", 1).unwrap();
        assert_eq!(t.counters, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0]);
        let tcp10: Vec<&str> = "tcp 1 2 3 4 5 6 7 8 9 10".split(' ').collect();
        let t = parse_transport(&tcp10, "1.0", 1).unwrap();
        assert_eq!(t.counters[9..], [10, 0, 0, 0]);
    }

    #[test]
    fn malformed_transports() {
        let bad = |line: &str, version: &str| {
            let v: Vec<&str> = line.split(' ').collect();
            parse_transport(&v, version, 7).unwrap_err()
        };
        assert!(bad("tcp 1 2 3", "1.1").message.contains("3 numbers"));
        assert!(
            bad("tcp 1 2 3 4 5 6 7 8 9 10", "1.1")
                .message
                .contains("10")
        );
        assert!(
            bad("rdma 1 2 3 4 5 6 7 8 9 10", "1.0")
                .message
                .contains("rdma")
        );
        assert!(bad("sctp 1", "1.1").message.contains("sctp"));
        assert!(bad("tcp 1", "2.0").message.contains("2.0"));
        let rdma = format!("rdma{}", " 1".repeat(32));
        assert!(bad(&rdma, "1.1").message.contains("32 numbers"));
        let e = bad("udp 1 2 3 4 5 x 7", "1.0");
        assert_eq!(e.line, 7);
        assert!(e.message.contains("\"x\""), "{e}");
    }

    #[test]
    fn malformed_mountstats_are_errors_with_their_line() {
        let nfs = |body: &str| {
            format!("device a:/b mounted on /c with fstype nfs statvers=1.1\n{body}\n")
        };
        for (text, line, needle) in [
            ("device x mounted on /\n".to_owned(), 1, "invalid device"),
            (
                "device x mounted at / with fstype ext4\n".to_owned(),
                1,
                "invalid device",
            ),
            (
                "device x mounted on / with fstype ext4 statvers=1.1\n".to_owned(),
                1,
                "\"ext4\"",
            ),
            (nfs("\tage:"), 2, "incomplete age:"),
            (nfs("\topts:"), 2, "incomplete opts:"),
            (nfs("\txprt:\ttcp"), 2, "incomplete xprt:"),
            (nfs("\tage:\tx"), 2, "duration"),
            (nfs("\tbytes:\t1 2 3"), 2, "3 bytes fields, want 8"),
            (nfs("\tbytes:\t1 2 3 4 5 6 7 +8"), 2, "\"+8\""),
            (nfs("\tevents:\t1"), 2, "want 27"),
            (nfs("\tper-op statistics\n\tNULL: 0 0 0"), 3, "at least 9"),
            (
                nfs("\tper-op statistics\n\tNULL: 0 0 0 0 0 0 0 -1"),
                3,
                "\"-1\"",
            ),
            (
                nfs("\tper-op statistics\n\tNULL: 0 0 0 0 0 0 0 0 0 z"),
                3,
                "\"z\"",
            ),
            // As in procfs: a mount without per-op lines reads on into the next entry.
            (
                nfs("\tage:\t1\n\ndevice a:/b mounted on /d with fstype nfs statvers=1.1"),
                4,
                "\"a:/b\"",
            ),
        ] {
            let e = parse(&text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
        // A statistics block may simply end the file.
        let text = nfs("\tage:\t1");
        let m = parse(&text).unwrap();
        assert_eq!(m[0].nfs.as_ref().unwrap().age_seconds, 1.0);
    }

    #[test]
    fn ages_are_go_durations() {
        let secs = |s: &str| go_duration_seconds(s, 1);
        assert_eq!(secs("13968s"), Ok(13968.0));
        assert_eq!(secs("1.5s"), Ok(1.5));
        assert_eq!(secs("-3s"), Ok(-3.0));
        assert_eq!(secs("1m30s"), Ok(90.0));
        assert_eq!(secs(".25s"), Ok(0.25));
        assert_eq!(secs("9223372036s"), Ok(9223372036.0));
        for bad in ["s", ".s", "1xs", "9223372037s", "-s", "1s2"] {
            assert!(secs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mountinfo_addresses() {
        let a = parse_mountinfo_addrs(
            "1 1 0:5 /  /root rw,nosuid shared:8 - rootfs rootfs rw\n\
             194 21 0:42 / /mnt rw shared:144 - nfs4 h:/x rw,addr=10.0.0.1,addr=10.0.0.2=x,port=0\n",
        )
        .unwrap();
        assert_eq!(a, ["", "10.0.0.2"]);
        for (text, needle) in [
            ("1 1 0:5 / / rw - ext4 x\n", "too few"),
            ("1 1 0:5 / / rw shared:1 x ext4 /dev/x rw\n", "separator"),
            ("x 1 0:5 / / rw shared:1 - ext4 /dev/x rw\n", "mount ID"),
            ("1 y 0:5 / / rw shared:1 - ext4 /dev/x rw\n", "parent ID"),
        ] {
            let e = parse_mountinfo_addrs(text).unwrap_err();
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    fn scrape(dir: &std::path::Path) -> Result<Scrape, Error> {
        testing::scrape_tree(&mut *build(&Options::default())?, dir)
    }

    #[test]
    fn duplicate_exports_are_reported_once_per_protocol_and_address() {
        let dir = tempfile::tempdir().unwrap();
        let proc_self = dir.path().join("proc/self");
        std::fs::create_dir_all(&proc_self).unwrap();
        let dupe = NFS4
            .replace("/mnt/nfs/test ", "/mnt/nfs/dupe ")
            .replace("device rootfs mounted on / with fstype rootfs\n", "");
        std::fs::write(proc_self.join("mountstats"), format!("{NFS4}{dupe}")).unwrap();
        assert!(
            scrape(dir.path()).unwrap_err().is_not_found(),
            "no mountinfo"
        );
        std::fs::write(
            proc_self.join("mountinfo"),
            "1 1 0:5 / / rw shared:8 - rootfs rootfs rw\n\
             194 21 0:42 / /mnt/nfs/test rw shared:144 - nfs4 h:/x rw,addr=192.168.1.1\n\
             17 21 0:4 / /proc rw shared:12 - proc proc rw\n\
             177 21 0:42 / /mnt/nfs/dupe rw shared:130 - nfs4 h:/x rw,addr=192.168.1.1\n",
        )
        .unwrap();
        let s = scrape(dir.path()).unwrap();
        let info = s.family("node_mountstats_nfs_mountpoint_info").unwrap();
        assert_eq!(info.series.len(), 2, "one per mount point");
        let age = s.family("node_mountstats_nfs_age_seconds_total").unwrap();
        assert_eq!(age.series.len(), 1, "the duplicate export is skipped");
        let l: Vec<(&str, &str)> = age.series[0]
            .labels
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_str()))
            .collect();
        assert_eq!(
            l,
            [
                ("export", "192.168.1.1:/srv/test"),
                ("protocol", "tcp"),
                ("mountaddr", "192.168.1.1")
            ]
        );
        let q = s
            .family("node_mountstats_nfs_operations_request_time_seconds_total")
            .unwrap();
        assert_eq!(q.series[1].value, 79.407);
        assert!(
            s.family("node_mountstats_nfs_event_pnfs_write_total")
                .is_some()
        );
        let families = s.families().count();
        assert_eq!(families, 1 + 1 + 8 + 10 + 8 + 26);
    }
}
