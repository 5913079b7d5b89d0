//! Fly mode's syscalls: mounts into an app rootfs on the host (targets resolved inside the
//! rootfs), and the final chroot + exec by which rkt becomes the app.

use std::convert::Infallible;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{mount_bind, mount_bind_recursive, mount_remount, MountFlags};

use super::resolve::open_in_root;

/// Binds host `source` (`recursive`: with its submounts) onto `target` inside the tree at
/// `root`, creating the target (a directory, or an empty file when the source is not a
/// directory) and its missing parents inside the tree; symlinks in the tree resolve inside it,
/// so an image cannot redirect the mount onto the host. `readonly` remounts the top mount
/// read-only.
pub(crate) fn bind_into(
    root: BorrowedFd<'_>,
    source: &Path,
    target: &Path,
    recursive: bool,
    readonly: bool,
) -> io::Result<()> {
    let is_dir = std::fs::metadata(source)?.is_dir();
    let fd = create_in_root(root, target, is_dir)?;
    let at = fd_path(&fd);
    if recursive {
        mount_bind_recursive(source, &at)?;
    } else {
        mount_bind(source, &at)?;
    }
    drop(fd);
    if readonly {
        // The fd above names the covered inode; the new mount is reached by a fresh lookup.
        let fd = open_in_root(root, target, OFlags::PATH | OFlags::NOFOLLOW, Mode::empty())?;
        let flags = MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV;
        mount_remount(fd_path(&fd), flags, "")?;
    }
    Ok(())
}

/// Writes `bytes` as `<dir>/<name>` inside the tree at `root` (`dir` made if missing; a file
/// or symlink there is replaced by a rename, never written through). With `only_if_missing`,
/// an existing entry of that name (even a dangling symlink) is left alone.
pub(crate) fn write_into(
    root: BorrowedFd<'_>,
    dir: &Path,
    name: &OsStr,
    bytes: &[u8],
    only_if_missing: bool,
) -> io::Result<()> {
    let path = create_in_root(root, dir, true)?;
    let dirfd = rustix::fs::openat(
        path.as_fd(),
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if only_if_missing {
        match rustix::fs::statat(&dirfd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => {}
            Ok(_) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    super::fs::write_atomic_at(dirfd.as_fd(), name, bytes, super::fs::Durability::NoFsync)
}

/// `/proc/self/fd/N` of an fd.
fn fd_path(fd: &OwnedFd) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// An `O_PATH` fd on `path` inside `root`, created as a directory (or empty file) with any
/// missing parent directories (0755).
fn create_in_root(root: BorrowedFd<'_>, path: &Path, dir: bool) -> io::Result<OwnedFd> {
    let mut cur = std::path::PathBuf::from(".");
    let parts: Vec<&OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut parent = open_in_root(root, &cur, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    for (i, name) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        cur.push(name);
        let want_dir = !last || dir;
        match open_in_root(root, &cur, OFlags::PATH, Mode::empty()) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        // The parent fd is O_PATH: create through a real directory fd on it.
        let dirfd = rustix::fs::openat(
            parent.as_fd(),
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let res = if want_dir {
            rustix::fs::mkdirat(&dirfd, *name, Mode::from_raw_mode(0o755))
        } else {
            rustix::fs::openat(
                &dirfd,
                *name,
                OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::from_raw_mode(0o644),
            )
            .map(drop)
        };
        match res {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        parent = open_in_root(root, &cur, OFlags::PATH, Mode::empty())?;
    }
    Ok(parent)
}

/// The identity and place an app runs with.
pub(crate) struct Exec<'a> {
    pub(crate) root: &'a Path,
    pub(crate) cwd: &'a Path,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) groups: &'a [u32],
    pub(crate) argv: &'a [String],
    pub(crate) env: &'a [(String, String)],
    /// An fd to pass to the app (the pod lock): its close-on-exec flag is cleared.
    pub(crate) keep: BorrowedFd<'a>,
}

/// `chroot(root)`, `chdir(cwd)`, groups, gid, uid, then `execve(argv, env)`: this process
/// becomes the app. Returns only on failure.
pub(crate) fn chroot_exec(e: &Exec<'_>) -> io::Result<Infallible> {
    let cstr = |b: &[u8]| CString::new(b).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let argv: Vec<CString> = e
        .argv
        .iter()
        .map(|a| cstr(a.as_bytes()))
        .collect::<io::Result<_>>()?;
    let envp: Vec<CString> = e
        .env
        .iter()
        .map(|(k, v)| cstr(format!("{k}={v}").as_bytes()))
        .collect::<io::Result<_>>()?;
    if argv.is_empty() {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    rustix::io::fcntl_setfd(e.keep, rustix::io::FdFlags::empty())?;
    rustix::process::chroot(e.root)?;
    rustix::process::chdir("/")?;
    let groups: Vec<libc::gid_t> = e.groups.to_vec();
    // SAFETY: setgroups reads `groups.len()` gids from a live Vec; setgid/setuid take plain
    // numbers (rkt is single-threaded here, so libc's all-threads broadcast is a no-op).
    unsafe {
        if libc::setgroups(groups.len(), groups.as_ptr()) != 0
            || libc::setgid(e.gid) != 0
            || libc::setuid(e.uid) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    rustix::process::chdir(e.cwd)?;
    // Rust's runtime ignores SIGPIPE, and an ignored signal stays ignored across exec.
    // SAFETY: restoring a default disposition installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let mut env: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    env.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of pointers to NUL-terminated strings that outlive the
    // call (execve only returns on failure).
    unsafe { libc::execve(ptrs[0], ptrs.as_ptr(), env.as_ptr()) };
    Err(io::Error::last_os_error())
}
