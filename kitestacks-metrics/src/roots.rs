//! Where the host's procfs, sysfs and root filesystem are mounted.

use std::path::{Path, PathBuf};

/// The three directories every read goes through (node_exporter's `--path.procfs`,
/// `--path.sysfs`, `--path.rootfs`). Defaults: `/proc`, `/sys`, `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// The procfs mount (`/proc`).
    pub procfs: PathBuf,
    /// The sysfs mount (`/sys`).
    pub sysfs: PathBuf,
    /// The host's root filesystem (`/`): os-release, mount points seen from the host.
    pub rootfs: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            procfs: "/proc".into(),
            sysfs: "/sys".into(),
            rootfs: "/".into(),
        }
    }
}

impl Roots {
    /// The host's trees mounted under one directory: `<dir>/proc`, `<dir>/sys` and `<dir>`.
    pub fn under(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            procfs: dir.join("proc"),
            sysfs: dir.join("sys"),
            rootfs: dir.to_owned(),
        }
    }

    /// A path below procfs, e.g. `proc("stat")`.
    pub fn proc(&self, rel: &str) -> PathBuf {
        self.procfs.join(rel)
    }

    /// A path below sysfs, e.g. `sys("class/net")`.
    pub fn sys(&self, rel: &str) -> PathBuf {
        self.sysfs.join(rel)
    }

    /// A path on the host's root filesystem, e.g. `root("/etc/os-release")`. An absolute
    /// `path` is taken relative to the root.
    pub fn root(&self, path: &str) -> PathBuf {
        self.rootfs.join(path.trim_start_matches('/'))
    }

    /// Whether these are the machine's own trees (so libraries that hard-code `/proc`,
    /// like sysinfo, see the same host).
    pub fn is_own(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_paths_stay_under_the_root() {
        let r = Roots::under("/host");
        assert_eq!(r.root("/etc/os-release"), Path::new("/host/etc/os-release"));
        assert_eq!(
            r.root("usr/lib/os-release"),
            Path::new("/host/usr/lib/os-release")
        );
        assert!(!r.is_own());
        assert!(Roots::default().is_own());
    }
}
