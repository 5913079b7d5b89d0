//! Copying a rendered tree into an app's rootfs directory: the fallback when overlayfs is
//! unavailable or refused, and the `--no-overlay` mode.
//!
//! The source is a rendered tree that stage0 extracted safely; the destination is a fresh,
//! empty directory inside the pod. Nothing is ever followed: symlinks are copied as symlinks
//! (`symlink_metadata`, never `metadata`), and we only descend into directories this function
//! created itself, so a path built from `dst` can never leave `dst`. Ownership, modes, times,
//! hard links, device nodes, FIFOs and extended attributes (file capabilities live in
//! `security.capability`) are preserved.

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{lchown, symlink, FileTypeExt, MetadataExt};
use std::path::Path;

use rustix::fs::{
    chmodat, lgetxattr, llistxattr, lsetxattr, mknodat, utimensat, AtFlags, FileType, Mode,
    Timespec, Timestamps, XattrFlags, CWD,
};

use crate::error::{Context, Result};

/// What a copy keeps of its source.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Device nodes are recreated (else skipped).
    pub devices: bool,
    /// Set-user-ID and set-group-ID bits are kept (else cleared).
    pub set_id: bool,
    /// Entries on another filesystem than `src` itself (mount points) are copied too.
    pub cross_mounts: bool,
}

/// An app's rootfs: the tree exactly.
pub const EXACT: Policy = Policy {
    devices: true,
    set_id: true,
    cross_mounts: true,
};

/// An image's files copied into a volume, a host directory other host users may reach
/// (Docker's volume semantics): no device nodes, no set-id bits, nothing of another mount.
pub const INTO_VOLUME: Policy = Policy {
    devices: false,
    set_id: false,
    cross_mounts: false,
};

/// Copies the tree at `src` into the existing empty directory `dst`.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    copy_tree_with(src, dst, EXACT)
}

/// [`copy_tree`] keeping what `policy` says.
pub fn copy_tree_with(src: &Path, dst: &Path, policy: Policy) -> Result<()> {
    let mut links = HashMap::new();
    let meta = fs::symlink_metadata(src).ctx("stat", src)?;
    let copy = Copy {
        policy,
        dev: meta.dev(),
    };
    copy.dir_contents(src, dst, &mut links)?;
    copy.finish(src, dst, &meta)
}

struct Copy {
    policy: Policy,
    /// The source's filesystem.
    dev: u64,
}

/// (dev, ino) of a multiply-linked source file -> the first copy, to re-link the others.
type Links = HashMap<(u64, u64), std::path::PathBuf>;

impl Copy {
    fn dir_contents(&self, src: &Path, dst: &Path, links: &mut Links) -> Result<()> {
        for entry in fs::read_dir(src).ctx("read directory", src)? {
            let entry = entry.ctx("read directory", src)?;
            let from = entry.path();
            let to = dst.join(entry.file_name());
            let meta = fs::symlink_metadata(&from).ctx("stat", &from)?;
            let ft = meta.file_type();
            if !self.policy.cross_mounts && meta.dev() != self.dev {
                continue;
            }
            if !self.policy.devices && (ft.is_block_device() || ft.is_char_device()) {
                continue;
            }
            if ft.is_dir() {
                // Created here, by us, so descending into it can never follow an image symlink;
                // its real mode is set by `finish` only after its contents (a 0555 directory
                // would refuse them).
                fs::create_dir(&to).ctx("mkdir", &to)?;
                self.dir_contents(&from, &to, links)?;
            } else if !ft.is_symlink() && meta.nlink() > 1 {
                // Hard links stay hard links (busybox-style images link hundreds of names to one
                // binary): the first copy is made, the others link to it.
                if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
                    fs::hard_link(first, &to).ctx("link", &to)?;
                    continue;
                }
                copy_node(&from, &to, &meta)?;
                links.insert((meta.dev(), meta.ino()), to.clone());
            } else {
                copy_node(&from, &to, &meta)?;
            }
            self.finish(&from, &to, &meta)?;
        }
        Ok(())
    }

    /// [`finish`], clearing the set-id bits unless the policy keeps them.
    fn finish(&self, from: &Path, to: &Path, meta: &fs::Metadata) -> Result<()> {
        let keep = if self.policy.set_id { 0o7777 } else { 0o1777 };
        finish(from, to, meta, keep)
    }
}

/// Creates `to` as a copy of the non-directory `from`.
fn copy_node(from: &Path, to: &Path, meta: &fs::Metadata) -> Result<()> {
    let ft = meta.file_type();
    let mode = Mode::from_raw_mode(meta.mode() & 0o7777);
    if ft.is_file() {
        // std::fs::copy uses copy_file_range/sendfile and keeps the permission bits.
        fs::copy(from, to).ctx("copy", from).map(drop)
    } else if ft.is_symlink() {
        let target = fs::read_link(from).ctx("readlink", from)?;
        symlink(&target, to).ctx("symlink", to)
    } else {
        // Device nodes, FIFOs and sockets are recreated as nodes; the app's rootfs is mounted
        // nodev, so a device node shipped in an image still opens nothing on the host.
        let kind = FileType::from_raw_mode(meta.mode());
        mknodat(CWD, to, kind, mode, meta.rdev()).ctx("mknod", to)
    }
}

/// Ownership, mode (after chown, which clears set-id bits), xattrs and times of `to`.
fn finish(from: &Path, to: &Path, meta: &fs::Metadata, keep: u32) -> Result<()> {
    lchown(to, Some(meta.uid()), Some(meta.gid())).ctx("chown", to)?;
    let is_link = meta.file_type().is_symlink();
    if !is_link {
        let mode = Mode::from_raw_mode(meta.mode() & keep);
        chmodat(CWD, to, mode, AtFlags::empty()).ctx("chmod", to)?;
    }
    copy_xattrs(from, to)?;
    let ts = |s: i64, ns: i64| Timespec {
        tv_sec: s,
        tv_nsec: ns as _,
    };
    let times = Timestamps {
        last_access: ts(meta.atime(), meta.atime_nsec()),
        last_modification: ts(meta.mtime(), meta.mtime_nsec()),
    };
    utimensat(CWD, to, &times, AtFlags::SYMLINK_NOFOLLOW).ctx("set times of", to)
}

fn copy_xattrs(from: &Path, to: &Path) -> Result<()> {
    let mut names = vec![0u8; 4096];
    let len = match llistxattr(from, &mut names[..]) {
        Ok(len) => len,
        // No xattr support on the source filesystem: nothing to copy.
        Err(rustix::io::Errno::OPNOTSUPP) => return Ok(()),
        Err(e) => return Err(crate::error::Error::sys("list xattrs of", from, e)),
    };
    for name in names[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = std::ffi::OsStr::from_bytes(name);
        let mut value = vec![0u8; 65536];
        let n = lgetxattr(from, name, &mut value[..]).ctx("get xattr of", from)?;
        match lsetxattr(to, name, &value[..n], XattrFlags::empty()) {
            // Some namespaces (trusted.*, security.selinux) are refused on some targets; a
            // rootfs without them still runs, exactly as overlayfs would show it.
            Ok(()) | Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::PERM) => {}
            Err(e) => return Err(crate::error::Error::sys("set xattr of", to, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn copies_files_links_modes_and_hardlinks() {
        let base = std::env::temp_dir().join(format!("s1-copy-{}", std::process::id()));
        let (src, dst) = (base.join("src"), base.join("dst"));
        fs::create_dir_all(src.join("d/e")).unwrap();
        fs::create_dir_all(&dst).unwrap();
        fs::write(src.join("d/f"), b"hello").unwrap();
        fs::set_permissions(src.join("d/f"), fs::Permissions::from_mode(0o751)).unwrap();
        fs::hard_link(src.join("d/f"), src.join("h")).unwrap();
        symlink("/etc/passwd", src.join("abs")).unwrap();
        symlink("../..", src.join("d/e/up")).unwrap();
        copy_tree(&src, &dst).unwrap();
        assert_eq!(fs::read(dst.join("d/f")).unwrap(), b"hello");
        assert_eq!(
            fs::metadata(dst.join("d/f")).unwrap().mode() & 0o7777,
            0o751
        );
        assert_eq!(
            fs::metadata(dst.join("h")).unwrap().ino(),
            fs::metadata(dst.join("d/f")).unwrap().ino()
        );
        assert_eq!(
            fs::read_link(dst.join("abs")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert_eq!(
            fs::read_link(dst.join("d/e/up")).unwrap(),
            Path::new("../..")
        );
        fs::remove_dir_all(&base).unwrap();
    }
}
