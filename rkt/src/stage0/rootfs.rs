//! [`RootfsView`] of a rendered tree on disk: every path is opened with `open_in_root`, so an
//! image's symlinks (`/etc/passwd -> /host/...`) resolve inside the tree, and files are
//! inspected through `O_PATH` fds, so a device node or a FIFO is never opened for reading.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use super::plan::RootfsView;
use crate::sys::resolve::open_in_root;

/// Largest `/etc/passwd` or `/etc/group` read.
const MAX_DB: u64 = 4 << 20;

pub(crate) struct TreeView {
    root: OwnedFd,
}

impl TreeView {
    pub(crate) fn open(rootfs: &Path) -> std::io::Result<TreeView> {
        let root = rustix::fs::open(
            rootfs,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(TreeView { root })
    }

    fn stat(&self, path: &str) -> Option<rustix::fs::Stat> {
        let fd = open_in_root(
            self.root.as_fd(),
            Path::new(path),
            OFlags::PATH,
            Mode::empty(),
        )
        .ok()?;
        rustix::fs::fstat(&fd).ok()
    }
}

impl RootfsView for TreeView {
    fn is_executable(&self, path: &str) -> bool {
        self.stat(path).is_some_and(|st| {
            FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && st.st_mode & 0o111 != 0
        })
    }

    fn is_dir(&self, path: &str) -> bool {
        self.stat(path)
            .is_some_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let st = self.stat(path)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return None;
        }
        let fd = open_in_root(
            self.root.as_fd(),
            Path::new(path),
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
            Mode::empty(),
        )
        .ok()?;
        let st = rustix::fs::fstat(&fd).ok()?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return None;
        }
        let mut out = Vec::new();
        std::fs::File::from(fd)
            .take(MAX_DB)
            .read_to_end(&mut out)
            .ok()?;
        Some(out)
    }

    fn owner(&self, path: &str) -> Option<(u32, u32)> {
        self.stat(path).map(|st| (st.st_uid, st.st_gid))
    }
}
