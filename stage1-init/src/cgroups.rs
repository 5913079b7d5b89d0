//! An app's cgroups: joining the cgroups stage0 made for it, and its read-only view of them at
//! `/sys/fs/cgroup`, in a cgroup namespace rooted at its own cgroup (so the view shows only
//! its own subtree, and `/proc/self/cgroup` says `/`).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{mkdirat, Mode};
use rustix::mount::{mount, mount_remount, MountFlags};
use stage1_init::plan::CgroupMount;

use crate::approot::AppRoot;
use crate::error::{Context, Error, Result};

/// Opens the `cgroup.procs` files of one app (host paths: before the pivot).
pub fn open(procs: &[PathBuf]) -> Result<Vec<OwnedFd>> {
    procs
        .iter()
        .map(|p| {
            rustix::fs::open(
                p,
                rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ctx("open", p)
        })
        .collect()
}

/// Moves the calling process into each cgroup (writing "0" to `cgroup.procs` moves the
/// writer: cgroups(7)).
pub fn join(fds: &[OwnedFd]) -> Result<()> {
    for fd in fds {
        rustix::io::write(fd, b"0").map_err(|e| Error::call("join the app's cgroup", e))?;
    }
    Ok(())
}

/// Mounts the cgroup filesystems read-only at `<root>/sys/fs/cgroup` (in the caller's cgroup
/// namespace). `proc` is the procfs to reach `self/fd` in.
pub fn mount_view(root: &AppRoot, proc: &Path, mounts: &[CgroupMount]) -> Result<()> {
    if mounts.is_empty() {
        return Ok(());
    }
    let ro = MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    let rel = "sys/fs/cgroup";
    let dir = root.dir(rel, false)?;
    let at = AppRoot::fd_path(proc, &dir);
    let shown = root.shown(rel);
    // A pure v2 host: the hierarchy itself at /sys/fs/cgroup.
    if let [m] = mounts {
        if m.rel.is_empty() {
            return mount("cgroup2", &at, "cgroup2", ro, None).ctx("mount cgroup2 on", &shown);
        }
    }
    mount(
        "tmpfs",
        &at,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        c"mode=755,size=4k",
    )
    .ctx("mount tmpfs on", &shown)?;
    // Re-open through the new mount.
    let dir = root.dir(rel, false)?;
    for m in mounts.iter().filter(|m| !m.rel.is_empty()) {
        let sub = format!("{rel}/{}", m.rel);
        match mkdirat(&dir, m.rel.as_str(), Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(Error::sys("mkdir", root.shown(&sub), e)),
        }
        let target = root.dir(&sub, false)?;
        let data = std::ffi::CString::new(m.data.as_str())
            .map_err(|_| Error::sys("mount", root.shown(&sub), rustix::io::Errno::INVAL))?;
        mount(
            m.fstype.as_str(),
            AppRoot::fd_path(proc, &target),
            m.fstype.as_str(),
            ro,
            data.as_c_str(),
        )
        .ctx("mount cgroup on", root.shown(&sub))?;
    }
    mount_remount(AppRoot::fd_path(proc, &dir), ro | MountFlags::BIND, "")
        .ctx("remount read-only", &shown)
}
