//! Work in progress under `cas/tmp`: each entry is a directory flock'ed by the process that
//! created it, for as long as it lives. An entry whose lock is free belongs to a process that
//! died (a crash, `kill -9`, a failpoint), and the next import or gc removes it.
//!
//! The race between creating an entry and locking it is closed by the store lock: entries are
//! created and locked under its shared lock, and stale entries are picked under its exclusive
//! lock, so a collector never sees an entry that exists but is not locked yet.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::lock::{self, Mode};
use super::{Error, Result};
use crate::paths;
use crate::sys::lock::FileLock;

/// A locked directory under `cas/tmp`, removed on drop unless it was moved away.
#[derive(Debug)]
pub(crate) struct TmpEntry {
    path: PathBuf,
    /// The directory's lock; it follows the directory if renamed.
    _lock: FileLock,
}

impl TmpEntry {
    pub(crate) fn create(data_dir: &Path) -> Result<TmpEntry> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let store_lock = paths::cas_lock(data_dir);
        let _shared = lock::wait(&store_lock, Mode::Shared)?;
        loop {
            let name = format!(
                "{}-{}-{}",
                std::process::id(),
                super::index::now_ns(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = paths::cas_tmp_entry(data_dir, &name);
            match std::fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io("create directory", &path, e)),
            }
            // Nobody else knows the name yet, so the lock is free.
            let lock = lock::try_existing(&path, Mode::Exclusive)?.ok_or_else(|| Error::Busy {
                what: format!("new temporary directory `{}`", path.display()),
            })?;
            return Ok(TmpEntry { path, _lock: lock });
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TmpEntry {
    fn drop(&mut self) {
        // Best effort: whatever is left is stale once our lock goes, and gc removes it.
        let _ = remove_tree(&self.path);
    }
}

/// Removes every stale entry under `cas/tmp`. With `wait`, waits for the store lock (gc);
/// without, skips the collection when another process holds it (an import's courtesy pass).
pub(crate) fn collect_stale(data_dir: &Path, wait: bool) -> Result<Vec<PathBuf>> {
    let store_lock = paths::cas_lock(data_dir);
    let stale = {
        let _exclusive = if wait {
            lock::wait(&store_lock, Mode::Exclusive)?
        } else {
            match lock::try_take(&store_lock, Mode::Exclusive)? {
                Some(l) => l,
                None => return Ok(Vec::new()),
            }
        };
        let tmp = paths::cas_tmp(data_dir);
        let entries = std::fs::read_dir(&tmp).map_err(|e| Error::io("read directory", &tmp, e))?;
        let mut stale = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read directory", &tmp, e))?;
            let path = entry.path();
            match lock::try_existing(&path, Mode::Shared) {
                Ok(Some(_)) | Err(_) => stale.push(path),
                Ok(None) => {}
            }
        }
        stale
    };
    for path in &stale {
        remove_tree(path)?;
    }
    Ok(stale)
}

/// Removes a file or a directory tree, whatever the modes inside it; a missing path is fine.
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("stat", path, e)),
    };
    let result = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}
