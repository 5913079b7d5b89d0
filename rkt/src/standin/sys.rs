//! STAND-IN for branch `extract`'s `sys` (deleted at the merge).
#![allow(dead_code)]

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::Path;

pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    fsync_dir(path.parent().unwrap_or(Path::new("/")))
}

pub(crate) fn syncfs(path: &Path) -> io::Result<()> {
    let f = File::open(path)?;
    rustix::fs::syncfs(f.as_fd()).map_err(io::Error::from)
}

pub(crate) mod lock {
    use super::*;
    use rustix::fs::{flock, FlockOperation};

    #[derive(Debug, Clone, Copy)]
    pub(crate) enum LockMode {
        Shared,
        Exclusive,
    }
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Blocking {
        Yes,
        No,
    }
    #[derive(Debug)]
    pub(crate) struct Lock(File);
    impl Lock {
        pub(crate) fn acquire(path: &Path, mode: LockMode, blocking: Blocking) -> io::Result<Lock> {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .write(true)
                .open(path)?;
            let op = match (mode, blocking) {
                (LockMode::Shared, Blocking::Yes) => FlockOperation::LockShared,
                (LockMode::Shared, Blocking::No) => FlockOperation::NonBlockingLockShared,
                (LockMode::Exclusive, Blocking::Yes) => FlockOperation::LockExclusive,
                (LockMode::Exclusive, Blocking::No) => FlockOperation::NonBlockingLockExclusive,
            };
            flock(f.as_fd(), op)?;
            Ok(Lock(f))
        }
    }
}
