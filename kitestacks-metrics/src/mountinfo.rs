//! `/proc/<pid>/mountinfo`: the mounted filesystems.

use crate::error::ParseError;

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the device.
    pub major_minor: String,
    /// The directory of the filesystem that is mounted (`/` unless a bind mount of a part).
    pub root: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// Per-mount options, e.g. `rw,relatime`.
    pub mount_options: String,
    /// Filesystem type, e.g. `ext4` (with subtype: `fuse.sshfs`).
    pub fs_type: String,
    /// The source, e.g. `/dev/sda1`, `tmpfs`.
    pub source: String,
    /// Per-superblock options.
    pub super_options: String,
}

impl Mount {
    /// Whether the mount is read-only (`ro` in the per-mount options).
    pub fn read_only(&self) -> bool {
        self.mount_options.split(',').any(|o| o == "ro")
    }
}

/// Parses the text of a mountinfo file.
pub fn parse(text: &str) -> Result<Vec<Mount>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (before, after) = line
            .split_once(" - ")
            .ok_or_else(|| ParseError::new(n, "no ' - ' separator before the filesystem type"))?;
        let mut f = before.split(' ');
        let mut field = |what: &str| {
            f.next()
                .ok_or_else(|| ParseError::new(n, format!("missing {what}")))
        };
        let _id = field("mount id")?;
        let _parent = field("parent id")?;
        let major_minor = field("major:minor")?.to_owned();
        let root = unescape(field("root")?);
        let mount_point = unescape(field("mount point")?);
        let mount_options = field("mount options")?.to_owned();
        if !major_minor.contains(':') {
            return Err(ParseError::new(
                n,
                format!("{major_minor:?} is not major:minor"),
            ));
        }
        let mut a = after.split(' ');
        let fs_type = a
            .next()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ParseError::new(n, "missing filesystem type"))?;
        let source = a
            .next()
            .ok_or_else(|| ParseError::new(n, "missing mount source"))?;
        let super_options = a.next().unwrap_or("").to_owned();
        out.push(Mount {
            major_minor,
            root,
            mount_point,
            mount_options,
            fs_type: unescape(fs_type),
            source: unescape(source),
            super_options,
        });
    }
    Ok(out)
}

/// Undoes the kernel's octal escapes (`\040` for a space, `\011`, `\012`, `\134`). A
/// backslash not followed by an octal byte (`\000` to `\377`) stays as it is.
pub fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && (b'0'..=b'3').contains(&b[i + 1])
            && b[i + 2..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mounts_with_optional_fields_and_escapes() {
        let m = parse(
            "27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw,discard\n\
             28 27 0:25 /sub /mnt/my\\040disk ro,nosuid - fuse.sshfs host:/x rw\n",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, "/");
        assert_eq!(m[0].fs_type, "ext4");
        assert_eq!(m[0].source, "/dev/vda");
        assert!(!m[0].read_only());
        assert_eq!(m[1].mount_point, "/mnt/my disk");
        assert_eq!(m[1].root, "/sub");
        assert_eq!(m[1].fs_type, "fuse.sshfs");
        assert!(m[1].read_only());
    }

    #[test]
    fn malformed_and_truncated() {
        assert_eq!(parse("27 1 254:0 / / rw\n").unwrap_err().line, 1);
        assert!(
            parse("27 1 2540 / / rw - ext4 /dev/vda rw\n")
                .unwrap_err()
                .message
                .contains("major:minor")
        );
        assert!(parse("ok\n27 - ext4 x y\n").is_err());
        assert!(
            parse("27 1 254:0 / / rw - \n")
                .unwrap_err()
                .message
                .contains("type")
        );
        assert_eq!(unescape("a\\134b\\04"), "a\\b\\04");
    }

    #[test]
    fn escapes_beyond_a_byte_stay_as_they_are() {
        // Found by the property tests (tests/it/props.rs): `\505` overflowed a byte.
        assert_eq!(unescape("b92113\\505\\777.vmdk"), "b92113\\505\\777.vmdk");
        assert_eq!(unescape("\\377\\400"), "\u{fffd}\\400");
        let m = parse("3149 3004 260:0 / /mnt/00\\5056 rw - ext4 /dev/sda rw\n").unwrap();
        assert_eq!(m[0].mount_point, "/mnt/00\\5056");
    }
}
