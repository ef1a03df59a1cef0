//! The `filesystem` collector: `node_filesystem_*` from the mount table
//! (`<procfs>/1/mountinfo`, else `<procfs>/self/mountinfo`) and `statfs(2)` of each
//! mount point under the rootfs, with node_exporter's rules: mount points and types
//! filtered by the `--collector.filesystem.*` patterns, labels as the kernel writes
//! them (only `\040` and `\011` undone in mount points), read-only from the mount and
//! superblock options, and a `device_error` series (with the error text as a label) for
//! mounts that cannot be stat'ed or do not answer within
//! `--collector.filesystem.mount-timeout`. The mount table and the guarded `statfs` are
//! the [`mounts`](crate::mounts) pipeline the portal's sampler uses too.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::collector::device_filter::DeviceFilter;
use crate::collector::options as flag;
use crate::collector::{Collector, Context, Definition, Options};
use crate::error::{Error, ParseError};
use crate::exposition::Scrape;
use crate::mountinfo::Mount;
use crate::mounts::{self, FsStats, Guard, MountTable, StatfsFn};
use crate::roots::Roots;

/// Its definition.
pub const DEFINITION: Definition = Definition {
    name: "filesystem",
    default_enabled: true,
    families: &["node_filesystem_"],
    build,
};

fn build(o: &Options) -> Result<Box<dyn Collector>, Error> {
    Ok(Box::new(Filesystem::new(o, Arc::new(mounts::statfs))?))
}

impl Filesystem {
    /// The collector, asking `statfs` (a blocking one in tests).
    fn new(o: &Options, statfs: Arc<StatfsFn>) -> Result<Self, Error> {
        let mount_points = DeviceFilter::exclusive_of(o, &flag::FILESYSTEM_MOUNT_POINTS_EXCLUDE)?;
        let fs_types = DeviceFilter::exclusive_of(o, &flag::FILESYSTEM_FS_TYPES_EXCLUDE)?;
        let probe = move |path: &Path| statfs(path).map_err(|e| error_text(&e));
        Ok(Filesystem {
            mount_points,
            fs_types,
            table: MountTable::default(),
            statfs: Guard::new(Arc::new(probe), o.filesystem_mount_timeout),
        })
    }
}

struct Filesystem {
    mount_points: DeviceFilter,
    fs_types: DeviceFilter,
    /// The mount table and the selected mounts of its last parse.
    table: MountTable<Selected>,
    /// `statfs` of network filesystems from a worker thread: a mount that does not
    /// answer in time is reported as failing, and not asked again while the call hangs
    /// (node_exporter's "stuck mounts"). Local filesystems are asked directly: handing
    /// them to the worker costs a scrape two thread wake-ups, about 20 µs of CPU
    /// measured here, against 5 µs for the whole collector and 142 µs for the core set
    /// (BENCHMARKS.md).
    statfs: Guard<Result<FsStats, String>>,
}

/// The mounts to report, where each is under the rootfs, and whether its `statfs` is
/// asked from the guard's worker.
struct Selected {
    mounts: Vec<FsMount>,
    paths: Arc<[PathBuf]>,
    guarded: Vec<bool>,
}

/// One mount as node_exporter labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FsMount {
    device: String,
    mount_point: String,
    fs_type: String,
    major: String,
    minor: String,
    read_only: bool,
}

impl Collector for Filesystem {
    fn update(&mut self, ctx: &Context, out: &mut Scrape) -> Result<(), Error> {
        let (mount_points, fs_types) = (&self.mount_points, &self.fs_types);
        let selected = self.table.get(&ctx.roots, |all, path| {
            let mounts: Vec<FsMount> = labels(&all, &ctx.roots)
                .map_err(|e| Error::parse(path, e))?
                .into_iter()
                .filter(|m| !mount_points.ignored(&m.mount_point) && !fs_types.ignored(&m.fs_type))
                .collect();
            let paths = mounts
                .iter()
                .map(|m| ctx.roots.root(&m.mount_point))
                .collect();
            let guarded = mounts
                .iter()
                .map(|m| mounts::is_network(&m.fs_type))
                .collect();
            Ok(Selected {
                mounts,
                paths,
                guarded,
            })
        })?;
        let results: Vec<Result<FsStats, String>> = self
            .statfs
            .run(&selected.paths, |i| selected.guarded[i])
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err("mountpoint timeout".into())))
            .collect();
        emit(&selected.mounts, &results, out);
        Ok(())
    }
}

fn emit(mounts: &[FsMount], results: &[Result<FsStats, String>], out: &mut Scrape) {
    // One series per label set, even if the same filesystem is mounted twice alike.
    let mut seen = HashSet::new();
    let mut seen_info = HashSet::new();
    for (m, r) in mounts.iter().zip(results) {
        let error = r.as_ref().err().map_or("", String::as_str);
        if !seen.insert((
            m.device.as_str(),
            m.mount_point.as_str(),
            m.fs_type.as_str(),
            error,
            m.major.as_str(),
            m.minor.as_str(),
        )) {
            continue;
        }
        let labels = [
            ("device", m.device.as_str()),
            ("mountpoint", m.mount_point.as_str()),
            ("fstype", m.fs_type.as_str()),
            ("device_error", error),
        ];
        out.gauge(
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.",
            &labels,
            if r.is_err() { 1.0 } else { 0.0 },
        );
        out.gauge(
            "node_filesystem_readonly",
            "Filesystem read-only status.",
            &labels,
            if m.read_only { 1.0 } else { 0.0 },
        );
        let Ok(s) = r else { continue };
        // node_exporter multiplies by statfs' f_bsize (not f_frsize), in floating point.
        let bsize = s.block_size as f64;
        let gauges = [
            (
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
                s.blocks as f64 * bsize,
            ),
            (
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
                s.blocks_free as f64 * bsize,
            ),
            (
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                s.blocks_available as f64 * bsize,
            ),
            (
                "node_filesystem_files",
                "Filesystem total file nodes.",
                s.files as f64,
            ),
            (
                "node_filesystem_files_free",
                "Filesystem total free file nodes.",
                s.files_free as f64,
            ),
            // node_exporter emits this macOS figure as 0 on Linux too.
            (
                "node_filesystem_purgeable_bytes",
                "Filesystem space available including purgeable space (MacOS specific).",
                0.0,
            ),
        ];
        for (name, help, v) in gauges {
            out.gauge(name, help, &labels, v);
        }
        if seen_info.insert((
            m.device.as_str(),
            m.major.as_str(),
            m.minor.as_str(),
            m.mount_point.as_str(),
        )) {
            out.gauge(
                "node_filesystem_mount_info",
                "Filesystem mount information.",
                &[
                    ("device", m.device.as_str()),
                    ("major", m.major.as_str()),
                    ("minor", m.minor.as_str()),
                    ("mountpoint", m.mount_point.as_str()),
                ],
                1.0,
            );
        }
    }
}

/// node_exporter's labels of every mount, in mountinfo order. The mountinfo parser undoes
/// all the kernel's octal escapes; node_exporter undoes only `\040` and `\011` in mount
/// points and none elsewhere, so the rest are put back.
fn labels(all: &[Mount], roots: &Roots) -> Result<Vec<FsMount>, ParseError> {
    let rootfs = roots.rootfs.to_str().unwrap_or("/");
    all.iter()
        .enumerate()
        .map(|(i, m)| {
            let (major, minor) = major_minor(&m.major_minor).ok_or_else(|| {
                ParseError::new(
                    i + 1,
                    format!("malformed mount point major:minor {:?}", m.major_minor),
                )
            })?;
            let mount_point = escape(&m.mount_point, &['\n', '\\']);
            Ok(FsMount {
                device: escape(&m.source, &MANGLED).into_owned(),
                mount_point: strip_rootfs(&mount_point, rootfs).to_owned(),
                fs_type: escape(&m.fs_type, &MANGLED).into_owned(),
                major: major.to_string(),
                minor: minor.to_string(),
                read_only: read_only(&m.mount_options, &m.super_options),
            })
        })
        .collect()
}

/// The characters the kernel writes as octal escapes in mountinfo.
const MANGLED: [char; 4] = [' ', '\t', '\n', '\\'];

/// Writes `chars` back as the kernel's octal escapes.
fn escape<'a>(s: &'a str, chars: &[char]) -> Cow<'a, str> {
    if !s.contains(chars) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if chars.contains(&c) {
            out.push_str(&format!("\\{:03o}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `major:minor` as two decimal integers (what Go's `%d:%d` reads).
fn major_minor(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// node_exporter's `rootfsStripPrefix`: with a rootfs other than `/`, a mount point
/// starting with the rootfs path (as a string) loses that prefix.
fn strip_rootfs<'a>(mount_point: &'a str, rootfs: &str) -> &'a str {
    if rootfs == "/" {
        return mount_point;
    }
    match mount_point.strip_prefix(rootfs) {
        Some("") => "/",
        Some(rest) => rest,
        None => mount_point,
    }
}

/// Read-only if the mount options or the superblock options say `ro`, or the superblock
/// says `emergency_ro`.
fn read_only(mount_options: &str, super_options: &str) -> bool {
    mount_options.split(',').any(|o| o == "ro")
        || super_options
            .split(',')
            .any(|o| o == "ro" || o == "emergency_ro")
}

/// The `device_error` label of a failed `statfs`: Go's text of its errno.
fn error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => go_errno_text(rustix::io::Errno::from_raw_os_error(n)),
        None => e.to_string(),
    }
}

/// The text Go gives an errno (`syscall.Errno.Error()`), used as the `device_error` label:
/// glibc's message with a lower-case first letter, frozen when Go's table was generated.
fn go_errno_text(e: rustix::io::Errno) -> String {
    use rustix::io::Errno as E;
    const TABLE: &[(E, &str)] = &[
        (E::PERM, "operation not permitted"),
        (E::NOENT, "no such file or directory"),
        (E::INTR, "interrupted system call"),
        (E::IO, "input/output error"),
        (E::NXIO, "no such device or address"),
        (E::BADF, "bad file descriptor"),
        (E::AGAIN, "resource temporarily unavailable"),
        (E::NOMEM, "cannot allocate memory"),
        (E::ACCESS, "permission denied"),
        (E::FAULT, "bad address"),
        (E::BUSY, "device or resource busy"),
        (E::NODEV, "no such device"),
        (E::NOTDIR, "not a directory"),
        (E::INVAL, "invalid argument"),
        (E::NAMETOOLONG, "file name too long"),
        (E::NOSYS, "function not implemented"),
        (E::LOOP, "too many levels of symbolic links"),
        (E::NOLINK, "link has been severed"),
        (E::COMM, "communication error on send"),
        (E::PROTO, "protocol error"),
        (E::OVERFLOW, "value too large for defined data type"),
        (E::OPNOTSUPP, "operation not supported"),
        (E::NETDOWN, "network is down"),
        (E::NETUNREACH, "network is unreachable"),
        (E::CONNABORTED, "software caused connection abort"),
        (E::CONNRESET, "connection reset by peer"),
        (E::NOTCONN, "transport endpoint is not connected"),
        (E::SHUTDOWN, "cannot send after transport endpoint shutdown"),
        (E::TIMEDOUT, "connection timed out"),
        (E::CONNREFUSED, "connection refused"),
        (E::HOSTDOWN, "host is down"),
        (E::HOSTUNREACH, "no route to host"),
        (E::STALE, "stale NFS file handle"),
        (E::UCLEAN, "structure needs cleaning"),
        (E::REMOTEIO, "remote I/O error"),
        (E::NOMEDIUM, "no medium found"),
        (E::CANCELED, "operation canceled"),
        (E::NOKEY, "required key not available"),
        (E::KEYEXPIRED, "key has expired"),
    ];
    if let Some((_, text)) = TABLE.iter().find(|(k, _)| *k == e) {
        return (*text).to_owned();
    }
    let text = std::io::Error::from_raw_os_error(e.raw_os_error()).to_string();
    let text = text.split(" (os error").next().unwrap_or_default();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::testing;
    use crate::mountinfo;

    fn mounts(text: &str, rootfs: &str) -> Vec<FsMount> {
        let roots = Roots {
            rootfs: rootfs.into(),
            ..Roots::default()
        };
        labels(&mountinfo::parse(text).unwrap(), &roots).unwrap()
    }

    #[test]
    fn labels_are_node_exporters() {
        let m = mounts(
            "29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/dm-2 errors=remount-ro,data=ordered\n\
             3148 3003 260:0 / /mnt/a\\040b\\011c\\012d\\134e rw - ext4 /dev/my\\040disk rw\n\
             33 24 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
             34 24 0:29 / /x rw,nosuid - fuse.a\\040b host:/srv emergency_ro\n",
            "/",
        );
        assert_eq!(
            m[0],
            FsMount {
                device: "/dev/dm-2".into(),
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                major: "259".into(),
                minor: "2".into(),
                read_only: false,
            }
        );
        assert_eq!(m[1].mount_point, "/mnt/a b\tc\\012d\\134e");
        assert_eq!(m[1].device, "/dev/my\\040disk");
        assert!(m[2].read_only);
        assert!(m[3].read_only, "emergency_ro");
        assert_eq!(m[3].fs_type, "fuse.a\\040b");
    }

    #[test]
    fn rootfs_prefix_is_stripped_as_a_string() {
        let m = mounts(
            "1 1 8:1 / /host rw - ext4 /dev/sda1 rw\n\
             2 1 8:2 / /host/media/volume1 rw - ext4 /dev/sda2 rw\n\
             3 1 8:3 / /hostile rw - ext4 /dev/sda3 rw\n\
             4 1 8:4 / /boot rw - ext4 /dev/sda4 rw\n",
            "/host",
        );
        let points: Vec<&str> = m.iter().map(|m| m.mount_point.as_str()).collect();
        assert_eq!(points, ["/", "/media/volume1", "ile", "/boot"]);
    }

    #[test]
    fn malformed_major_minor_is_an_error_with_the_line() {
        let all = mountinfo::parse(
            "1 1 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 x:2 / /a rw - ext4 /dev/sda2 rw\n",
        )
        .unwrap();
        let e = labels(&all, &Roots::default()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("x:2"), "{}", e.message);
    }

    #[test]
    fn errno_texts_are_gos() {
        use rustix::io::Errno;
        assert_eq!(go_errno_text(Errno::NOENT), "no such file or directory");
        assert_eq!(go_errno_text(Errno::STALE), "stale NFS file handle");
        assert_eq!(go_errno_text(Errno::ACCESS), "permission denied");
        let other = go_errno_text(Errno::NOSPC);
        assert!(
            other.starts_with(char::is_lowercase) && !other.contains("os error"),
            "{other}"
        );
    }

    fn scrape_tree(dir: &std::path::Path, options: &Options) -> Result<String, Error> {
        let ctx = testing::context(dir);
        let mut c = build(options)?;
        let text = testing::text(&mut *c, &ctx)?;
        Ok(text)
    }

    #[test]
    fn statfs_of_mount_points_under_the_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("proc/self")).unwrap();
        std::fs::create_dir_all(root.join("data")).unwrap();
        // No proc/1: the self entry is read (hidepid).
        std::fs::write(
            root.join("proc/self/mountinfo"),
            "29 1 259:2 / / rw,relatime - ext4 /dev/dm-2 rw\n\
             30 29 259:3 / /data ro,relatime - xfs /dev/sdb1 rw\n\
             31 29 259:3 / /data ro,relatime - xfs /dev/sdb1 rw,noatime\n\
             32 29 0:5 / /gone rw - nfs4 srv:/x rw\n\
             33 29 0:6 / /proc rw - proc proc rw\n\
             34 29 0:7 / /snap rw - squashfs /dev/loop0 ro\n",
        )
        .unwrap();
        let text = scrape_tree(root, &Options::default()).unwrap();
        let want = rustix::fs::statvfs(root).unwrap();
        let size = want.f_blocks as f64 * want.f_bsize as f64;
        let mut size_text = String::new();
        crate::exposition::write_go_float(size, &mut size_text);
        let labels = "device=\"/dev/dm-2\",device_error=\"\",fstype=\"ext4\",mountpoint=\"/\"";
        assert!(
            text.contains(&format!(
                "node_filesystem_size_bytes{{{labels}}} {size_text}\n"
            )),
            "{text}"
        );
        assert!(text.contains(&format!("node_filesystem_device_error{{{labels}}} 0\n")));
        assert!(text.contains(&format!("node_filesystem_purgeable_bytes{{{labels}}} 0\n")));
        assert!(text.contains("node_filesystem_mount_info{device=\"/dev/dm-2\",major=\"259\",minor=\"2\",mountpoint=\"/\"} 1\n"));
        assert!(text.contains("node_filesystem_readonly{device=\"/dev/sdb1\",device_error=\"\",fstype=\"xfs\",mountpoint=\"/data\"} 1\n"));
        assert_eq!(
            text.matches("mountpoint=\"/data\"").count(),
            9,
            "duplicate mount once: {text}"
        );
        assert!(text.contains("node_filesystem_device_error{device=\"srv:/x\",device_error=\"no such file or directory\",fstype=\"nfs4\",mountpoint=\"/gone\"} 1\n"));
        assert!(text.contains("node_filesystem_readonly{device=\"srv:/x\",device_error=\"no such file or directory\",fstype=\"nfs4\",mountpoint=\"/gone\"} 0\n"));
        assert!(!text.contains("node_filesystem_size_bytes{device=\"srv:/x\""));
        assert!(!text.contains("/proc") && !text.contains("/snap"), "{text}");

        // An include pattern replaces the default mount point exclusions; the type
        // exclusions still apply.
        let include = Options {
            filesystem_mount_points_include: Some("^/(proc|gone)$".into()),
            ..Options::default()
        };
        let text = scrape_tree(root, &include).unwrap();
        assert!(text.contains("mountpoint=\"/gone\""), "{text}");
        assert!(!text.contains("mountpoint=\"/data\"") && !text.contains("/proc"));
        let include_types = Options {
            filesystem_fs_types_include: Some("^proc$".into()),
            filesystem_mount_points_exclude: String::new(),
            ..Options::default()
        };
        let text = scrape_tree(root, &include_types).unwrap();
        assert!(text.contains("mountpoint=\"/proc\""), "{text}");
        assert!(!text.contains("mountpoint=\"/gone\""));
        // PID 1's table is preferred when it exists.
        std::fs::create_dir_all(root.join("proc/1")).unwrap();
        std::fs::write(
            root.join("proc/1/mountinfo"),
            "1 1 8:1 / /data rw - btrfs /dev/sdc rw\n",
        )
        .unwrap();
        let text = scrape_tree(root, &Options::default()).unwrap();
        assert!(text.contains("fstype=\"btrfs\""), "{text}");
        assert!(!text.contains("ext4"));
    }

    #[test]
    fn a_stuck_mount_is_a_device_error_once_and_the_others_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        crate::collector::testing::write(
            root,
            "proc/1/mountinfo",
            "30 1 259:3 / /data rw,relatime - ext4 /dev/sdb1 rw\n\
             31 1 0:50 / /nfs rw,relatime - nfs4 nas:/export rw\n",
        );
        let stuck = crate::mounts::testing::Stuck::new("nfs");
        let options = Options {
            filesystem_mount_timeout: std::time::Duration::from_millis(50),
            ..Options::default()
        };
        let mut c = Filesystem::new(&options, stuck.statfs()).unwrap();
        for _ in 0..2 {
            let text = crate::collector::testing::scrape_once(&mut c, root).unwrap();
            let nfs = "device=\"nas:/export\",device_error=\"mountpoint timeout\",fstype=\"nfs4\",mountpoint=\"/nfs\"";
            assert!(
                text.contains(&format!("node_filesystem_device_error{{{nfs}}} 1\n")),
                "{text}"
            );
            assert!(!text.contains("node_filesystem_size_bytes{device=\"nas:/export\""));
            let data =
                "device=\"/dev/sdb1\",device_error=\"\",fstype=\"ext4\",mountpoint=\"/data\"";
            assert!(text.contains(&format!("node_filesystem_device_error{{{data}}} 0\n")));
            assert!(text.contains(&format!("node_filesystem_size_bytes{{{data}}} 4.096e+06\n")));
            assert!(text.contains(&format!("node_filesystem_files_free{{{data}}} 60\n")));
        }
        assert_eq!(
            stuck.calls(),
            1,
            "the second scrape did not ask the stuck mount again"
        );
    }

    #[test]
    fn unreadable_or_malformed_mount_tables_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = scrape_tree(dir.path(), &Options::default()).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        std::fs::create_dir_all(dir.path().join("proc/1")).unwrap();
        std::fs::write(dir.path().join("proc/1/mountinfo"), "1 1 8:1 / /data rw\n").unwrap();
        let e = scrape_tree(dir.path(), &Options::default()).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("1/mountinfo"), "{e}");
        std::fs::write(
            dir.path().join("proc/1/mountinfo"),
            "1 1 8x1 / /data rw - ext4 /dev/sda rw\n",
        )
        .unwrap();
        assert!(scrape_tree(dir.path(), &Options::default()).is_err());
        let both = Options {
            filesystem_fs_types_exclude: "^ext4$".into(),
            filesystem_fs_types_include: Some("^xfs$".into()),
            ..Options::default()
        };
        assert!(build(&both).is_err());
    }
}
