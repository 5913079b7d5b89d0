//! Advisory whole-file locks, `flock(2)`, held by an owned fd.
//!
//! Owns: the lock primitive behind pod states, the store and image keys (DESIGN §3.2: a pod's
//! state is its directory plus whether its lock is held). Must never: release a lock except by
//! closing its fd (a flock lock belongs to the open file description, so it also lives on in
//! every dup and in a child that inherited the fd: that is how a pod's PID 1 holds its pod
//! lock), or block when asked not to.

use std::io;
use std::path::Path;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

/// Who else may hold the lock at the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockKind {
    /// Other shared holders, no exclusive one (`LOCK_SH`).
    Shared,
    /// Nobody else (`LOCK_EX`).
    Exclusive,
}

/// What to do when the lock is held by someone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocking {
    /// Wait until it is free.
    Wait,
    /// Fail at once with [`io::ErrorKind::WouldBlock`] (`LOCK_NB`).
    NoWait,
}

/// A held flock lock; dropping it closes the fd and so releases the lock.
#[derive(Debug)]
pub(crate) struct FileLock {
    fd: OwnedFd,
}

impl FileLock {
    /// Opens an existing file or directory (`O_RDONLY`, which flock needs nothing more than)
    /// and locks it.
    pub(crate) fn open(path: &Path, kind: LockKind, blocking: Blocking) -> io::Result<FileLock> {
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        FileLock::lock(fd, kind, blocking)
    }

    /// Opens `path`, creating it as an empty 0600 file if missing (never through a symlink),
    /// and locks it.
    pub(crate) fn create(path: &Path, kind: LockKind, blocking: Blocking) -> io::Result<FileLock> {
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::from_raw_mode(0o600))?;
        FileLock::lock(fd, kind, blocking)
    }

    /// `flock(fd, kind | blocking)` — locks an fd the caller opened (a pod directory, a temp
    /// blob). On error the fd is closed.
    ///
    /// # References
    ///  - [flock(2)](https://man7.org/linux/man-pages/man2/flock.2.html)
    pub(crate) fn lock(fd: OwnedFd, kind: LockKind, blocking: Blocking) -> io::Result<FileLock> {
        flock(fd.as_fd(), kind, blocking)?;
        Ok(FileLock { fd })
    }
}

impl AsFd for FileLock {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn flock(fd: BorrowedFd<'_>, kind: LockKind, blocking: Blocking) -> io::Result<()> {
    let op = match (kind, blocking) {
        (LockKind::Shared, Blocking::Wait) => FlockOperation::LockShared,
        (LockKind::Shared, Blocking::NoWait) => FlockOperation::NonBlockingLockShared,
        (LockKind::Exclusive, Blocking::Wait) => FlockOperation::LockExclusive,
        (LockKind::Exclusive, Blocking::NoWait) => FlockOperation::NonBlockingLockExclusive,
    };
    loop {
        // A signal handler interrupting a blocking wait is not a failure to lock.
        match rustix::fs::flock(fd, op) {
            Err(Errno::INTR) => continue,
            other => return Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_shared_shares_and_drop_releases() {
        let dir = std::env::temp_dir().join(format!("rkt-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("lock");
        let (ex, sh, nw) = (LockKind::Exclusive, LockKind::Shared, Blocking::NoWait);

        let held = FileLock::create(&file, ex, nw).unwrap();
        let err = FileLock::open(&file, sh, nw).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(held);

        let a = FileLock::open(&file, sh, nw).unwrap();
        let b = FileLock::open(&dir, sh, nw).unwrap();
        let c = FileLock::open(&file, sh, nw).unwrap();
        let err = FileLock::open(&file, ex, nw).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::WouldBlock,
            "shared holders exclude exclusive"
        );
        drop((a, c));
        FileLock::open(&file, ex, nw).unwrap();
        drop(b);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
