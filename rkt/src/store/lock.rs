//! The store's flock files: one per image key, one per tree, one for the store. A lock file
//! is never removed (removing one races with a process about to lock it).

use std::path::Path;

use super::{Error, Result};
use crate::sys::lock::{Blocking, Lock, LockMode};

pub(crate) use crate::sys::lock::LockMode as Mode;

/// Takes `path`'s lock, waiting for it.
pub(crate) fn wait(path: &Path, mode: Mode) -> Result<Lock> {
    Lock::acquire(path, mode, Blocking::Yes).map_err(|e| Error::io("lock", path, e))
}

/// Takes `path`'s lock if no one holds it; `Ok(None)` if someone does.
pub(crate) fn try_take(path: &Path, mode: Mode) -> Result<Option<Lock>> {
    match Lock::acquire(path, mode, Blocking::No) {
        Ok(lock) => Ok(Some(lock)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(Error::io("lock", path, e)),
    }
}

#[allow(dead_code)]
const _: LockMode = LockMode::Shared;
