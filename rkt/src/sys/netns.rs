//! A pod's network namespace kept past its PID 1: a bind mount of `/proc/<pid>/ns/net` on a
//! file, as `ip netns` and rkt 1.30 did. Only named (CNI) networks need it: their plugins'
//! DEL finds what ADD made through the namespace (ptp's and bridge's masquerade rules are
//! keyed by the pod-side link's addresses), and DEL runs at `rm`/`gc`, after the pod exited.
//!
//! # References
//!  - [network_namespaces(7)](https://man7.org/linux/man-pages/man7/network_namespaces.7.html),
//!    [umount(2)](https://man7.org/linux/man-pages/man2/umount.2.html)

use std::io;
use std::path::Path;

use rustix::mount::{mount_bind, unmount, UnmountFlags};

/// `NSFS_MAGIC`: what statfs says of a namespace file (and so of a live bind mount of one).
const NSFS_MAGIC: u64 = 0x6e73_6673;

/// Bind-mounts PID `pid`'s network namespace on `path` (created empty, mode 0, as rkt did).
pub(crate) fn pin(pid: u32, path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    mount_bind(format!("/proc/{pid}/ns/net").as_str(), path)?;
    Ok(())
}

/// Whether `path` is a namespace file (the bind mount is still there).
pub(crate) fn is_pinned(path: &Path) -> bool {
    rustix::fs::statfs(path).is_ok_and(|st| u64::try_from(st.f_type).ok() == Some(NSFS_MAGIC))
}

/// Unmounts and deletes what [`pin`] made; a path that is gone, or not mounted, is fine.
pub(crate) fn unpin(path: &Path) -> io::Result<()> {
    if is_pinned(path) {
        // Detached: a plugin that still has it open does not keep the mount busy.
        unmount(path, UnmountFlags::DETACH)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
