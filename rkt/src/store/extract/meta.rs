//! What an entry says about its file besides the data: mode, owner, mtime and xattrs, from the
//! header and the entry's PAX records, with the extraction policy applied.

use std::io::Read;
use std::path::Path;

use rustix::fs::{Gid, Mode, Timespec, Timestamps, Uid};

use super::error::{At, Error};

/// The metadata to give one entry.
pub(super) struct Meta {
    /// Permission bits (`07777`), setuid/setgid dropped when owners are not preserved.
    pub(super) mode: Mode,
    /// `None` when owners are not preserved.
    pub(super) owner: Option<(Uid, Gid)>,
    /// Access and modification time, both the entry's mtime (as the tar crate does).
    pub(super) times: Timestamps,
    /// `SCHILY.xattr.*` records on rkt's allowlist.
    pub(super) xattrs: Vec<(String, Vec<u8>)>,
}

impl Meta {
    pub(super) fn read<R: Read>(
        entry: &mut tar::Entry<'_, R>,
        path: &Path,
        preserve_owner: bool,
    ) -> Result<Meta, Error> {
        let at = At(path);
        let header = entry.header();
        let mut mode = header.mode().map_err(at.header("mode"))? & 0o7777;
        if !preserve_owner && !header.entry_type().is_dir() {
            // Owned by whoever extracts, a setuid file would run as them, which the image
            // author never was.
            mode &= !0o6000;
        }
        let mtime = header.mtime().map_err(at.header("mtime"))?;
        let tv_sec = mtime
            .try_into()
            .map_err(|_| at.invalid("mtime out of range"))?;
        let mut mtime = Timespec { tv_sec, tv_nsec: 0 };
        let owner = if preserve_owner {
            // The tar crate has already put PAX uid/gid records into the header.
            let uid = header.uid().map_err(at.header("uid"))?;
            let gid = header.gid().map_err(at.header("gid"))?;
            // -1 means "leave unchanged" to chown(2): no owner at all.
            let id = |v: u64| u32::try_from(v).ok().filter(|&v| v != u32::MAX);
            match (id(uid), id(gid)) {
                (Some(u), Some(g)) => Some((Uid::from_raw(u), Gid::from_raw(g))),
                _ => return Err(at.invalid("uid or gid out of range")),
            }
        } else {
            None
        };
        let mut xattrs = Vec::new();
        let records = entry.pax_extensions().map_err(at.header("PAX records"))?;
        for record in records.into_iter().flatten() {
            let record = record.map_err(at.header("PAX records"))?;
            let key = record.key_bytes();
            if key == b"mtime" {
                // Sub-second times live only here; a malformed one leaves the header's.
                if let Some(t) = parse_pax_time(record.value_bytes()) {
                    mtime = t;
                }
            } else if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                let name = String::from_utf8_lossy(name);
                if xattr_allowed(&name) {
                    xattrs.push((name.into_owned(), record.value_bytes().to_vec()));
                }
            }
        }
        Ok(Meta {
            mode: Mode::from_raw_mode(mode),
            owner,
            times: Timestamps {
                last_access: mtime,
                last_modification: mtime,
            },
            xattrs,
        })
    }
}

/// rkt's allowlist (pkg/tar): `user.*` and file capabilities. Other namespaces carry host
/// policy: SELinux labels, ACLs, or `trusted.overlay.*`, which overlayfs obeys on a lower layer
/// (opaque directories, redirects), so an image must not set them.
fn xattr_allowed(name: &str) -> bool {
    name.starts_with("user.") || name == "security.capability"
}

/// A PAX time, `[-]SECONDS[.FRACTION]` (POSIX pax, "mtime").
fn parse_pax_time(value: &[u8]) -> Option<Timespec> {
    let text = std::str::from_utf8(value).ok()?;
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs) || !(frac.is_empty() || digits(frac)) {
        return None;
    }
    let mut secs: i64 = secs.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(b - b'0') * 10_i64.pow(8 - i as u32);
    }
    if negative {
        secs = -secs;
        if nanos > 0 {
            secs -= 1;
            nanos = 1_000_000_000 - nanos;
        }
    }
    Some(Timespec {
        tv_sec: secs,
        tv_nsec: nanos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times() {
        let t = |s: &str| parse_pax_time(s.as_bytes()).map(|t| (t.tv_sec, t.tv_nsec));
        assert_eq!(t("1222222222.5"), Some((1_222_222_222, 500_000_000)));
        assert_eq!(t("7"), Some((7, 0)));
        assert_eq!(t("1.1234567891"), Some((1, 123_456_789)));
        assert_eq!(t("-1.25"), Some((-2, 750_000_000)));
        for bad in ["", ".5", "1e3", "+1", "1.-5", "99999999999999999999"] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn xattr_allowlist() {
        assert!(xattr_allowed("user.rkt") && xattr_allowed("security.capability"));
        for no in [
            "trusted.overlay.opaque",
            "security.selinux",
            "system.posix_acl_access",
        ] {
            assert!(!xattr_allowed(no), "{no}");
        }
    }
}
