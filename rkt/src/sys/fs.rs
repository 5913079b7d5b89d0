//! File-system helpers for the store and pods: atomic replacement of a file, directory and
//! file-system flushes, and a mode change that never follows a symlink.
//!
//! Owns: how rkt makes a write durable (DESIGN §3.3 point 6: temp + fsync + rename + fsync of
//! the directory for the store; one `syncfs` per rendered tree). Must never: leave a
//! half-written file under the final name, or write through a symlink planted at the temp name.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Temp files of [`write_atomic`] start with this, so a sweep can find the ones a crash left.
pub(crate) const TEMP_PREFIX: &str = ".rkt-tmp.";

/// Whether a write must reach the disk before the call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    /// fsync the file before the rename and the directory after it: the store (a crash leaves
    /// the old content or the new one, never an empty file; ext4 `auto_da_alloc` is not relied on).
    Fsync,
    /// Atomic (a reader sees the old or the new content) but not flushed: pod state files,
    /// which gc cleans after a crash anyway.
    NoFsync,
}

/// Replaces the file at `path` with `bytes`, atomically: a temp file in the same directory,
/// written (and flushed with [`Durability::Fsync`]), then renamed over `path`.
///
/// The file gets mode 0644 (minus the umask). A symlink at `path` is replaced, not followed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let (dir, name) = split_parent(path)?;
    let dir = open_dir(dir)?;
    write_atomic_at(dir.as_fd(), name, bytes, durability)
}

/// [`write_atomic`] relative to a directory fd (`O_PATH` is fine).
pub(crate) fn write_atomic_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    bytes: &[u8],
    durability: Durability,
) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    // A stale temp file of a crashed process with our pid is EEXIST: take the next number.
    let (temp, fd) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = format!("{TEMP_PREFIX}{}.{n}", std::process::id());
        match rustix::fs::openat(dir, temp.as_str(), flags, Mode::from_raw_mode(0o644)) {
            Ok(fd) => break (temp, fd),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let written = write_and_rename(dir, &temp, fd, name, bytes, durability);
    if written.is_err() {
        // Best effort: the error that matters is the write's, and a leftover temp file
        // carries TEMP_PREFIX for a later sweep.
        let _ = rustix::fs::unlinkat(dir, temp.as_str(), AtFlags::empty());
        return written;
    }
    if durability == Durability::Fsync {
        fsync_dir_fd(dir)?;
    }
    Ok(())
}

fn write_and_rename(
    dir: BorrowedFd<'_>,
    temp: &str,
    fd: OwnedFd,
    name: &OsStr,
    bytes: &[u8],
    durability: Durability,
) -> io::Result<()> {
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    if durability == Durability::Fsync {
        file.sync_all()?;
    }
    drop(file);
    rustix::fs::renameat(dir, temp, dir, name.as_bytes())?;
    Ok(())
}

/// `fsync(open(path, O_RDONLY | O_DIRECTORY))` — makes the directory's entries (a rename, a
/// new file) durable.
///
/// # References
///  - [fsync(2)](https://man7.org/linux/man-pages/man2/fsync.2.html): "Calling fsync() does
///    not necessarily ensure that the entry in the directory containing the file has also
///    reached disk. For that an explicit fsync() on a file descriptor for the directory is
///    also needed."
pub(crate) fn fsync_dir(path: &Path) -> io::Result<()> {
    Ok(rustix::fs::fsync(open_dir(path)?)?)
}

/// `fsync(dir)` — as [`fsync_dir`], for a directory fd. An `O_PATH` fd cannot be fsync'ed
/// (EBADF), so one is reopened through `.` first.
pub(crate) fn fsync_dir_fd(dir: BorrowedFd<'_>) -> io::Result<()> {
    match rustix::fs::fsync(dir) {
        Err(Errno::BADF) => {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(dir, c".", flags, Mode::empty())?;
            Ok(rustix::fs::fsync(fd)?)
        }
        other => Ok(other?),
    }
}

/// `syncfs(open(path))` — flushes the whole file system holding `path`: one call for a
/// rendered tree instead of an fsync per file (0.26 ms each on this kind of disk,
/// deps-notes §6).
///
/// # References
///  - [syncfs(2)](https://man7.org/linux/man-pages/man2/syncfs.2.html)
pub(crate) fn syncfs(path: &Path) -> io::Result<()> {
    Ok(rustix::fs::syncfs(open_dir(path)?)?)
}

/// `fchmodat2(dir, name, mode, AT_SYMLINK_NOFOLLOW)` — changes the mode of `name` in `dir`
/// without following a symlink there (a symlink gives `EOPNOTSUPP`).
///
/// For nodes that cannot be opened to `fchmod` them (a device's open(2) runs its driver, a
/// fifo's blocks). fchmodat2 needs Linux 6.6; before that, the mode is changed with plain
/// fchmodat after an `lstat` shows `name` is not a symlink. That leaves a window only for a
/// writer racing inside the directory, which callers (a private tree being extracted) exclude.
///
/// # References
///  - [fchmodat2(2)](https://man7.org/linux/man-pages/man2/fchmodat2.2.html)
pub(crate) fn chmod_nofollow(dir: BorrowedFd<'_>, name: &OsStr, mode: Mode) -> io::Result<()> {
    let c_name = std::ffi::CString::new(name.as_bytes())?;
    // SAFETY: fchmodat2 takes an fd, a NUL-terminated path that lives across the call, a mode
    // and flags; it reads the path and writes no memory of ours. The fd is borrowed, so open.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            dir.as_raw_fd(),
            c_name.as_ptr(),
            mode.bits() as libc::c_uint,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
        return Err(Errno::OPNOTSUPP.into());
    }
    Ok(rustix::fs::chmodat(dir, name, mode, AtFlags::empty())?)
}

/// Splits `path` into its directory (`.` for a bare name) and last component.
fn split_parent(path: &Path) -> io::Result<(&Path, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(rustix::fs::open(path, flags, Mode::empty())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rkt-sysfs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn write_atomic_replaces_file_and_link_leaving_no_temp() {
        let dir = scratch("atomic");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"victim").unwrap();
        symlink(&victim, dir.join("state")).unwrap();
        write_atomic(&dir.join("state"), b"one", Durability::Fsync).unwrap();
        write_atomic(&dir.join("state"), b"two", Durability::NoFsync).unwrap();
        assert_eq!(std::fs::read(dir.join("state")).unwrap(), b"two");
        assert!(!std::fs::symlink_metadata(dir.join("state"))
            .unwrap()
            .is_symlink());
        assert_eq!(std::fs::read(&victim).unwrap(), b"victim");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let err = write_atomic(&dir.join("missing/x"), b"", Durability::Fsync).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        fsync_dir(&dir).unwrap();
        syncfs(&dir).unwrap();
        let path_fd =
            rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        fsync_dir_fd(path_fd.as_fd()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn chmod_nofollow_changes_nodes_never_link_targets() {
        let dir = scratch("chmod");
        let target = dir.join("target");
        std::fs::write(&target, b"").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        symlink(&target, dir.join("link")).unwrap();
        let fd = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let err = chmod_nofollow(fd.as_fd(), OsStr::new("link"), Mode::from_raw_mode(0o777));
        assert_eq!(err.unwrap_err().raw_os_error(), Some(libc::EOPNOTSUPP));
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o600);
        chmod_nofollow(fd.as_fd(), OsStr::new("target"), Mode::from_raw_mode(0o640)).unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o640);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
