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

/// An app's cgroup v2 directory: processes are created in it, never moved there.
pub struct V2Dir {
    dir: OwnedFd,
    /// For kernels without `CLONE_INTO_CGROUP` (before Linux 5.7): join after the fork.
    procs: OwnedFd,
}

/// Opens an app's cgroup v2 directory (host path: before the pivot).
pub fn open_v2(dir: &Path) -> Result<V2Dir> {
    let how =
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC;
    let d = rustix::fs::open(dir, how, Mode::empty()).ctx("open", dir)?;
    let procs = dir.join("cgroup.procs");
    let p = rustix::fs::open(
        &procs,
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx("open", &procs)?;
    Ok(V2Dir { dir: d, procs: p })
}

/// `fork()`, the child created in `v2` when given: `clone3(CLONE_INTO_CGROUP)` (Linux 5.7),
/// else a plain fork whose child joins it. Returns as fork does (0 in the child).
///
/// # Safety
///
/// As for fork: the caller is single-threaded, and the child only runs code that is safe
/// after a fork of it.
pub unsafe fn fork_into(v2: Option<&V2Dir>) -> libc::pid_t {
    use std::os::fd::AsRawFd;
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    if let Some(v2) = v2 {
        // struct clone_args (linux/sched.h, v2: 88 bytes).
        let mut args = [0u64; 11];
        args[0] = CLONE_INTO_CGROUP;
        args[4] = libc::SIGCHLD as u64;
        args[10] = v2.dir.as_raw_fd() as u64;
        // SAFETY: clone3 reads `args`, which lives across the call; without CLONE_VM the child
        // gets a copy of this (single-threaded) process, like fork.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                args.as_ptr(),
                std::mem::size_of_val(&args),
            )
        };
        if pid >= 0 {
            return pid as libc::pid_t;
        }
    }
    // SAFETY: the caller's contract.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        if let Some(v2) = v2 {
            if rustix::io::write(&v2.procs, b"0").is_err() {
                // SAFETY: the child exits without running anything of the parent's.
                unsafe { libc::_exit(126) };
            }
        }
    }
    pid
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
