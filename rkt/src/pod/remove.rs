//! Removing a pod directory: unmount whatever is still mounted under it (deepest first), then
//! delete it without ever crossing into another filesystem (rkt `MountGC` + `os.RemoveAll`,
//! made safe: a mount that could not be unmounted stops the removal instead of being emptied).

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};
use rustix::io::Errno;
use rustix::mount::UnmountFlags;

use super::{io_err, Error, Result};
use crate::paths;

/// The mount points at or under `dir` in this mount namespace, deepest (and latest) first.
pub(crate) fn mounts_under(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(OsStr::from_bytes(&unescape(field))))
        .filter(|p| p.starts_with(dir))
        .collect();
    // Later lines are mounted on top of earlier ones: unmount them first.
    found.reverse();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Unmounts everything under `dir`; a busy mount is detached (MNT_DETACH).
pub(crate) fn unmount_under(dir: &Path) -> Result<()> {
    let info_path = Path::new("/proc/self/mountinfo");
    let info = std::fs::read_to_string(info_path).map_err(io_err("read", info_path))?;
    let mounts = mounts_under(&info, dir);
    // A pod's mounts can be peers of the host's (fly binds /dev, /proc, /sys and volumes in
    // the host's mount namespace, whose mounts may be shared): unmounting one would propagate
    // to the corresponding mounts of its parent's peers, which are the host's own (a volume's
    // submount, /proc/sys/fs/binfmt_misc). Made private first, each unmount is only its own.
    for mnt in &mounts {
        // EINVAL: not a mount point (any more); nothing propagates from it.
        let _ = rustix::mount::mount_change(mnt, rustix::mount::MountPropagationFlags::PRIVATE);
    }
    for mnt in mounts {
        match rustix::mount::unmount(&mnt, UnmountFlags::empty()) {
            Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => {}
            Err(Errno::BUSY) => rustix::mount::unmount(&mnt, UnmountFlags::DETACH)
                .map_err(|e| io_err("unmount", &mnt)(e.into()))?,
            Err(e) => return Err(io_err("unmount", &mnt)(e.into())),
        }
    }
    Ok(())
}

/// Removes the cgroups the pod's `cgroups` file records (none for a pod that never started,
/// or one from before cgroups). The pod's processes are gone: its PID 1 is not running (the
/// caller holds the pod lock), and the kernel killed the whole PID namespace with it.
fn remove_cgroups(dir: &Path) -> Result<()> {
    let file = crate::paths::pod_cgroups(dir);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", &file)(e)),
    };
    let records = crate::cgroup::parse_record(&text);
    let (owned, bases) = crate::cgroup::resolve_records(&crate::cgroup::Layout::detect(), &records);
    crate::sys::cgroup::remove(&owned, &bases).map_err(|e| io_err(e.op, &e.path)(e.source))
}

/// Unregisters a pod its marker says is registered with the metadata service (when it exits,
/// and again at gc or rm for one whose rkt died first). A service that is gone is only said:
/// the pod's files go anyway, and a restarted service forgets it when it is unregistered.
pub(crate) fn unregister_from_mds(dir: &Path) {
    let marker = paths::pod_mds_registered(dir);
    if !marker.exists() {
        return;
    }
    let uuid = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    match crate::mds::client::unregister(Path::new(paths::MDS_SOCKET), uuid) {
        Ok(()) => {
            let _ = std::fs::remove_file(&marker);
        }
        Err(e) => eprintln!(
            "rkt: warning: could not unregister pod {uuid} with the metadata service: {e}"
        ),
    }
}

/// Frees what the pod's networks hold (see [`crate::net::release`]).
fn release_leases(dir: &Path) -> Result<()> {
    let uuid = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let undeleted = crate::net::release(dir, uuid).map_err(|e| match e {
        crate::net::Error::Io { op, path, source } => io_err(op, &path)(source),
        other => io_err("release the network of", dir)(std::io::Error::other(crate::error::chain(
            &other,
        ))),
    })?;
    // Handled here: the pod goes anyway, and what its plugins kept is said once.
    for what in undeleted {
        eprintln!("rkt: pod {uuid}: {what}");
    }
    Ok(())
}

/// Which mount a directory is on: its device, and its mount ID where the kernel reports one
/// (statx `STATX_MNT_ID`, Linux 5.8), which also tells apart a bind mount of a directory of
/// the same filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MountIdentity {
    dev: u64,
    mnt_id: Option<u64>,
}

fn identity(fd: BorrowedFd<'_>, path: &Path) -> Result<MountIdentity> {
    let st = rustix::fs::fstat(fd).map_err(|e| io_err("stat", path)(e.into()))?;
    let mnt_id = rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID)
        .ok()
        .filter(|x| StatxFlags::from_bits_retain(x.stx_mask).contains(StatxFlags::MNT_ID))
        .map(|x| x.stx_mnt_id);
    Ok(MountIdentity {
        dev: st.st_dev,
        mnt_id,
    })
}

/// Unmounts everything under `dir` and deletes it. Every directory is opened with
/// `O_NOFOLLOW` relative to its parent and must be on `dir`'s mount.
pub(crate) fn remove_pod_dir(dir: &Path) -> Result<()> {
    unregister_from_mds(dir);
    remove_cgroups(dir)?;
    release_leases(dir)?;
    unmount_under(dir)?;
    let fd = match rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(io_err("open", dir)(e.into())),
    };
    let id = identity(fd.as_fd(), dir)?;
    empty_dir(fd.as_fd(), dir, id)?;
    drop(fd);
    std::fs::remove_dir(dir).map_err(io_err("remove", dir))
}

fn empty_dir(dir: BorrowedFd<'_>, path: &Path, id: MountIdentity) -> Result<()> {
    let mut names = Vec::new();
    {
        let dup = rustix::io::dup(dir).map_err(|e| io_err("open", path)(e.into()))?;
        let mut rd =
            rustix::fs::Dir::read_from(&dup).map_err(|e| io_err("read", path)(e.into()))?;
        while let Some(entry) = rd.read() {
            let entry = entry.map_err(|e| io_err("read", path)(e.into()))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(entry.file_name().to_owned());
            }
        }
    }
    for name in names {
        let child = path.join(OsStr::from_bytes(name.to_bytes()));
        match rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => continue,
            Err(Errno::ISDIR) | Err(Errno::PERM) => {}
            Err(e) => return Err(io_err("remove", &child)(e.into())),
        }
        let sub: OwnedFd = rustix::fs::openat(
            dir,
            name.as_c_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err("open", &child)(e.into()))?;
        if identity(sub.as_fd(), &child)? != id {
            return Err(Error::CrossDevice(child));
        }
        empty_dir(sub.as_fd(), &child, id)?;
        crate::store::failpoint::hit("pod-half-removed");
        drop(sub);
        match rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(Errno::BUSY) => return Err(Error::CrossDevice(child)),
            Err(e) => return Err(io_err("remove", &child)(e.into())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_under_is_deepest_first_and_unescaped() {
        let info = "\
22 1 8:1 / / rw - ext4 /dev/sda1 rw
40 22 0:5 / /d/pods/run/u rw - tmpfs t rw
41 40 0:6 / /d/pods/run/u/a/b rw - tmpfs t rw
42 40 0:7 / /d/pods/run/u/a rw - tmpfs t rw
43 22 0:8 / /d/pods/run/u2 rw - tmpfs t rw
44 40 0:9 / /d/pods/run/u/with\\040space rw - tmpfs t rw
";
        let got = mounts_under(info, Path::new("/d/pods/run/u"));
        assert_eq!(
            got,
            vec![
                PathBuf::from("/d/pods/run/u/a/b"),
                PathBuf::from("/d/pods/run/u/with space"),
                PathBuf::from("/d/pods/run/u/a"),
                PathBuf::from("/d/pods/run/u"),
            ]
        );
    }

    #[test]
    fn removes_a_tree_with_unwritable_dirs_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = std::env::temp_dir().join(format!("rkt-rm-test-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join("a/b/c")).unwrap();
        std::fs::write(tmp.join("a/b/c/f"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc", tmp.join("a/etc")).unwrap();
        std::fs::set_permissions(tmp.join("a/b"), std::fs::Permissions::from_mode(0o500)).unwrap();
        let is_root = rustix::process::geteuid().is_root();
        let r = remove_pod_dir(&tmp);
        if is_root {
            r.unwrap();
            assert!(!tmp.exists());
            assert!(Path::new("/etc").is_dir());
        } else {
            std::fs::set_permissions(tmp.join("a/b"), std::fs::Permissions::from_mode(0o700))
                .unwrap();
            remove_pod_dir(&tmp).unwrap();
        }
    }

    /// A mount that is still there stops the removal instead of being emptied (root only: it
    /// mounts a tmpfs, and unmounts it whatever happens).
    #[test]
    fn never_deletes_through_a_mount_point() {
        if !rustix::process::geteuid().is_root() {
            return;
        }
        let tmp = std::env::temp_dir().join(format!("rkt-xdev-test-{}", std::process::id()));
        let mnt = tmp.join("a/mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        rustix::mount::mount(
            "tmpfs",
            &mnt,
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            None,
        )
        .unwrap();
        struct Unmount<'a>(&'a Path);
        impl Drop for Unmount<'_> {
            fn drop(&mut self) {
                let _ = rustix::mount::unmount(self.0, UnmountFlags::DETACH);
            }
        }
        let guard = Unmount(&mnt);
        std::fs::write(mnt.join("keep"), b"x").unwrap();
        let fd = rustix::fs::open(&tmp, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let id = identity(fd.as_fd(), &tmp).unwrap();
        let err = empty_dir(fd.as_fd(), &tmp, id).unwrap_err();
        assert!(
            matches!(err, Error::CrossDevice(ref p) if p == &mnt),
            "{err:?}"
        );
        assert!(mnt.join("keep").exists());
        drop(guard);
        // A bind mount of a directory of the same filesystem: same st_dev, another mount.
        let host = tmp.join("host");
        let bound = tmp.join("a/bound");
        std::fs::create_dir_all(&host).unwrap();
        std::fs::create_dir_all(&bound).unwrap();
        std::fs::write(host.join("keep"), b"x").unwrap();
        rustix::mount::mount_bind(&host, &bound).unwrap();
        let guard = Unmount(&bound);
        if id.mnt_id.is_some() {
            let a = tmp.join("a");
            let a_fd =
                rustix::fs::open(&a, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
            let err = empty_dir(a_fd.as_fd(), &a, id).unwrap_err();
            assert!(
                matches!(err, Error::CrossDevice(ref p) if p == &bound),
                "{err:?}"
            );
            assert!(host.join("keep").exists());
        }
        drop(guard);
        remove_pod_dir(&tmp).unwrap();
        assert!(!tmp.exists());
    }
}
