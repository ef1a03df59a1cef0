//! `os-release`: the distribution's name and version, read under the root filesystem.

use std::path::Path;

use crate::roots::Roots;

/// What `/etc/os-release` (or `/usr/lib/os-release`) says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `NAME`, e.g. `Debian GNU/Linux`.
    pub name: Option<String>,
    /// `ID`, e.g. `debian`.
    pub id: Option<String>,
    /// `VERSION`, e.g. `12 (bookworm)`.
    pub version: Option<String>,
    /// `VERSION_ID`, e.g. `12`.
    pub version_id: Option<String>,
    /// `VERSION_CODENAME`.
    pub version_codename: Option<String>,
    /// `PRETTY_NAME`, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub pretty_name: Option<String>,
    /// `ID_LIKE`.
    pub id_like: Option<String>,
    /// `BUILD_ID`.
    pub build_id: Option<String>,
    /// `IMAGE_ID`.
    pub image_id: Option<String>,
    /// `IMAGE_VERSION`.
    pub image_version: Option<String>,
    /// `VARIANT`.
    pub variant: Option<String>,
    /// `VARIANT_ID`.
    pub variant_id: Option<String>,
    /// `SUPPORT_END`.
    pub support_end: Option<String>,
}

/// Parses os-release text: `KEY=value` lines, values optionally quoted. Lines that do
/// not fit are skipped, as the spec asks.
pub fn parse(text: &str) -> OsRelease {
    let mut o = OsRelease::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        let slot = match k.trim() {
            "NAME" => &mut o.name,
            "ID" => &mut o.id,
            "VERSION" => &mut o.version,
            "VERSION_ID" => &mut o.version_id,
            "VERSION_CODENAME" => &mut o.version_codename,
            "PRETTY_NAME" => &mut o.pretty_name,
            "ID_LIKE" => &mut o.id_like,
            "BUILD_ID" => &mut o.build_id,
            "IMAGE_ID" => &mut o.image_id,
            "IMAGE_VERSION" => &mut o.image_version,
            "VARIANT" => &mut o.variant,
            "VARIANT_ID" => &mut o.variant_id,
            "SUPPORT_END" => &mut o.support_end,
            _ => continue,
        };
        *slot = Some(v);
    }
    o
}

fn unquote(v: &str) -> String {
    let inner = if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        &v[1..v.len() - 1]
    } else {
        v
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads `<rootfs>/etc/os-release`, falling back to `<rootfs>/usr/lib/os-release`.
pub fn read(roots: &Roots) -> Result<OsRelease, crate::Error> {
    let etc = roots.root("/etc/os-release");
    match crate::source::read_to_string(&etc) {
        Ok(text) => Ok(parse(&text)),
        Err(_) => crate::source::read_to_string(Path::new(&roots.root("/usr/lib/os-release")))
            .map(|t| parse(&t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_unquoted_values() {
        let o = parse(
            "NAME=\"Ubuntu\"\nVERSION=\"20.04.2 LTS (Focal Fossa)\"\nID=ubuntu\n# comment\ngarbage\n\
             PRETTY_NAME='Ubuntu \\\"focal\\\"'\nVERSION_ID=\"20.04\"\n",
        );
        assert_eq!(o.name.as_deref(), Some("Ubuntu"));
        assert_eq!(o.id.as_deref(), Some("ubuntu"));
        assert_eq!(o.version.as_deref(), Some("20.04.2 LTS (Focal Fossa)"));
        assert_eq!(o.pretty_name.as_deref(), Some("Ubuntu \"focal\""));
        assert_eq!(o.version_id.as_deref(), Some("20.04"));
        assert_eq!(parse(""), OsRelease::default());
    }
}
