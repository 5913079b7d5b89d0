//! The store's flock files: one per image key, one per tree, one for the store. A lock file
//! is never removed (removing one races with a process about to lock it).

use std::path::Path;

use super::{Error, Result};
use crate::sys::lock::{Blocking, FileLock};

pub(crate) use crate::sys::lock::LockKind as Mode;

/// Takes `path`'s lock (creating the file), waiting for it.
pub(crate) fn wait(path: &Path, mode: Mode) -> Result<FileLock> {
    FileLock::create(path, mode, Blocking::Wait).map_err(|e| Error::io("lock", path, e))
}

/// Takes `path`'s lock (creating the file) if no one holds it; `Ok(None)` if someone does.
pub(crate) fn try_take(path: &Path, mode: Mode) -> Result<Option<FileLock>> {
    match FileLock::create(path, mode, Blocking::NoWait) {
        Ok(lock) => Ok(Some(lock)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(Error::io("lock", path, e)),
    }
}

/// Locks an existing file or directory (a tmp entry) without waiting; `Ok(None)` if held.
pub(crate) fn try_existing(path: &Path, mode: Mode) -> Result<Option<FileLock>> {
    match FileLock::open(path, mode, Blocking::NoWait) {
        Ok(lock) => Ok(Some(lock)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(Error::io("lock", path, e)),
    }
}
