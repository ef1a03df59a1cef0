//! Which filesystems, disks and network interfaces a sample reports. The defaults
//! follow node_exporter: pseudo and container filesystems, partitions, loop and RAM
//! disks, loopback and virtual interfaces are left out so totals do not double-count.

use regex::Regex;

use crate::error::Error;

/// node_exporter's default `--collector.filesystem.mount-points-exclude`.
pub const DEFAULT_MOUNT_POINTS_EXCLUDE: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
/// node_exporter's default `--collector.filesystem.fs-types-exclude`.
pub const DEFAULT_FS_TYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$";
/// Partitions (their whole disk is reported), RAM, loop, floppy, optical and
/// device-mapper devices (their I/O is the underlying disk's).
pub const DEFAULT_DISKS_EXCLUDE: &str = r"^(z?ram\d+|loop\d+|fd\d+|sr\d+|dm-\d+|(h|s|v|xv)d[a-z]+\d+|nvme\d+n\d+p\d+|mmcblk\d+p\d+|md\d+p\d+)$";
/// Loopback, container, bridge, tunnel and other virtual interfaces. Interfaces under
/// `<sysfs>/devices/virtual/net` are virtual too (see [`Filters::exclude_virtual_interfaces`]).
pub const DEFAULT_INTERFACES_EXCLUDE: &str = "^(lo|veth.*|docker.*|br-.*|virbr.*|vnet.*|cni.*|flannel.*|cali.*|cilium.*|kube-.*|lxc.*|ifb.*|dummy.*|tun.*|tap.*|wg.*|tailscale.*|zt.*)$";

/// The filters of a sample.
#[derive(Debug, Clone)]
pub struct Filters {
    /// Mount points to leave out.
    pub mount_points_exclude: Regex,
    /// If set, only mount points matching it.
    pub mount_points_include: Option<Regex>,
    /// Filesystem types to leave out.
    pub fs_types_exclude: Regex,
    /// Block devices to leave out.
    pub disks_exclude: Regex,
    /// Interfaces to leave out.
    pub interfaces_exclude: Regex,
    /// If set, only interfaces matching it (applied before the exclusions).
    pub interfaces_include: Option<Regex>,
    /// Leave out interfaces that sysfs lists under `devices/virtual/net`.
    pub exclude_virtual_interfaces: bool,
}

impl Default for Filters {
    fn default() -> Self {
        Self::new(FilterPatterns::default())
            .unwrap_or_else(|e| panic!("default filters are valid: {e}"))
    }
}

/// The filters as text (the configuration's form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPatterns {
    /// See [`Filters::mount_points_exclude`].
    pub mount_points_exclude: String,
    /// See [`Filters::mount_points_include`].
    pub mount_points_include: Option<String>,
    /// See [`Filters::fs_types_exclude`].
    pub fs_types_exclude: String,
    /// See [`Filters::disks_exclude`].
    pub disks_exclude: String,
    /// See [`Filters::interfaces_exclude`].
    pub interfaces_exclude: String,
    /// See [`Filters::interfaces_include`].
    pub interfaces_include: Option<String>,
    /// See [`Filters::exclude_virtual_interfaces`].
    pub exclude_virtual_interfaces: bool,
}

impl Default for FilterPatterns {
    fn default() -> Self {
        Self {
            mount_points_exclude: DEFAULT_MOUNT_POINTS_EXCLUDE.to_owned(),
            mount_points_include: None,
            fs_types_exclude: DEFAULT_FS_TYPES_EXCLUDE.to_owned(),
            disks_exclude: DEFAULT_DISKS_EXCLUDE.to_owned(),
            interfaces_exclude: DEFAULT_INTERFACES_EXCLUDE.to_owned(),
            interfaces_include: None,
            exclude_virtual_interfaces: true,
        }
    }
}

/// Compiles one pattern, naming the filter on error.
pub fn compile(what: &'static str, pattern: &str) -> Result<Regex, Error> {
    Regex::new(pattern).map_err(|e| Error::Pattern {
        what,
        pattern: pattern.to_owned(),
        message: e.to_string(),
    })
}

impl Filters {
    /// Compiles the patterns.
    pub fn new(p: FilterPatterns) -> Result<Self, Error> {
        Ok(Self {
            mount_points_exclude: compile("mount_points_exclude", &p.mount_points_exclude)?,
            mount_points_include: p
                .mount_points_include
                .map(|s| compile("mount_points_include", &s))
                .transpose()?,
            fs_types_exclude: compile("fs_types_exclude", &p.fs_types_exclude)?,
            disks_exclude: compile("disks_exclude", &p.disks_exclude)?,
            interfaces_exclude: compile("interfaces_exclude", &p.interfaces_exclude)?,
            interfaces_include: p
                .interfaces_include
                .map(|s| compile("interfaces_include", &s))
                .transpose()?,
            exclude_virtual_interfaces: p.exclude_virtual_interfaces,
        })
    }

    /// Whether a mount is reported (before the bind-mounted-file and duplicate checks).
    pub fn mount(&self, mount_point: &str, fs_type: &str) -> bool {
        !self.mount_points_exclude.is_match(mount_point)
            && !self.fs_types_exclude.is_match(fs_type)
            && self
                .mount_points_include
                .as_ref()
                .is_none_or(|r| r.is_match(mount_point))
    }

    /// Whether a block device is reported.
    pub fn disk(&self, name: &str) -> bool {
        !self.disks_exclude.is_match(name)
    }

    /// Whether an interface is reported by name (the virtual check is separate).
    pub fn interface(&self, name: &str) -> bool {
        self.interfaces_include
            .as_ref()
            .is_none_or(|r| r.is_match(name))
            && !self.interfaces_exclude.is_match(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mounts_like_node_exporter() {
        let f = Filters::default();
        assert!(f.mount("/", "ext4"));
        assert!(f.mount("/home", "xfs"));
        assert!(!f.mount("/dev/shm", "tmpfs"), "under /dev");
        assert!(!f.mount("/proc", "proc"));
        assert!(!f.mount("/sys/fs/cgroup", "tmpfs"));
        assert!(!f.mount("/var/lib/docker/overlay2/abc/merged", "overlay"));
        assert!(!f.mount("/", "overlay"), "container root overlay");
        assert!(!f.mount("/snap/core/1", "squashfs"));
        assert!(f.mount("/run", "tmpfs"));
        assert!(!f.mount("/run/credentials/x.service", "tmpfs"));
    }

    #[test]
    fn default_disks_are_whole_devices() {
        let f = Filters::default();
        for d in ["sda", "vda", "nvme0n1", "mmcblk0", "xvda", "md0"] {
            assert!(f.disk(d), "{d}");
        }
        for d in [
            "sda1",
            "vda2",
            "nvme0n1p1",
            "mmcblk0p1",
            "loop0",
            "ram0",
            "zram0",
            "dm-0",
            "sr0",
        ] {
            assert!(!f.disk(d), "{d}");
        }
    }

    #[test]
    fn default_interfaces_leave_out_loopback_and_virtual() {
        let f = Filters::default();
        for i in ["eth0", "enp3s0", "wlan0", "ens18"] {
            assert!(f.interface(i), "{i}");
        }
        for i in [
            "lo",
            "veth1a2b",
            "docker0",
            "br-1234",
            "virbr0",
            "ifb0",
            "wg0",
            "tailscale0",
            "cni0",
        ] {
            assert!(!f.interface(i), "{i}");
        }
    }

    #[test]
    fn include_patterns_and_bad_patterns() {
        let f = Filters::new(FilterPatterns {
            interfaces_include: Some("^eth".into()),
            mount_points_include: Some("^/(data|)$".into()),
            ..FilterPatterns::default()
        })
        .unwrap();
        assert!(f.interface("eth0") && !f.interface("wlan0"));
        assert!(f.mount("/data", "ext4") && f.mount("/", "ext4") && !f.mount("/home", "ext4"));
        let e = Filters::new(FilterPatterns {
            disks_exclude: "(".into(),
            ..FilterPatterns::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("disks_exclude"), "{e}");
    }
}
