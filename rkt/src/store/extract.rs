//! Extraction of hostile tar entries into one directory tree (an image's rootfs).
//!
//! Owns: creating what an entry describes (file, directory, symlink, hard link, device node,
//! fifo) inside the tree, with its owner, mode, times and xattrs, within byte and entry caps.
//! Must never: create, change or follow anything outside the tree, whatever the entry names,
//! link targets and earlier entries (symlinks planted by the same image) are; rely on the tar
//! crate's `unpack`/`unpack_in` (deps-notes §7: escapes, and device nodes become empty files).
//!
//! How: the tree root is held as an `O_PATH` fd. An entry's parent directory is resolved with
//! `openat2(RESOLVE_IN_ROOT)` relative to it ([`crate::sys::resolve`]), so absolute and `..`
//! symlinks in the image resolve inside the tree, as they will inside the pod (`var/run ->
//! /run` then `var/run/app.pid` writes `<tree>/run/app.pid`). The last component is created
//! with `*at` calls on that parent fd that never follow a symlink:
//! - whatever already has the name is unlinked first, never written through
//!   (RUSTSEC-2018-0002); a non-empty directory is not replaced;
//! - a directory entry landing on a symlink replaces the link by a real directory and is
//!   never chmod'ed through it (RUSTSEC-2026-0067, appc ace.md);
//! - a hard link's target is resolved the same way and must be an existing non-directory in
//!   the tree; `linkat` never gets `AT_SYMLINK_FOLLOW`, so no host inode gets a second name;
//! - owner before mode (chown clears setuid), xattrs after the data (a write clears
//!   `security.capability`), times last; directories' modes and times wait for
//!   [`Extractor::finish`], deepest first, so a 0555 directory can still get its children.
//!
//! Entry names are expected cleaned by the ACI reader (relative, no `..`, no `rootfs/`), but
//! are checked again here. Writers racing inside the tree are outside the threat model (the
//! store extracts into a private directory); even so, every step is confined by fds.

mod error;
mod meta;

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timestamps, XattrFlags};
use rustix::io::Errno;
use tar::EntryType;

use self::error::At;
pub(crate) use self::error::Error;
use self::meta::Meta;
use crate::sys::resolve::open_in_root;

/// File data is copied in chunks this large: few syscalls per file, and the read size zlib-rs
/// decompresses fastest into (deps-notes §4).
const COPY_BUFFER: usize = 256 << 10;

/// Whether character and block device entries are created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceNodes {
    /// As what they are (`mknodat` with the header's major/minor), as rkt did: the store,
    /// whose trees pods mount `nodev` (security-checklist §0.7).
    Create,
    /// Left out (an extraction by an unprivileged user); fifos are still created.
    Skip,
    /// An error naming the entry. No caller chooses it yet; its tests keep the policy honest
    /// for a stricter import mode.
    #[cfg_attr(not(test), allow(dead_code))]
    Refuse,
}

/// What an [`Extractor`] preserves and how much it accepts.
#[derive(Clone, Debug)]
pub(crate) struct ExtractOptions {
    /// Give entries the archive's uid/gid (the store, as root). When false, entries belong to
    /// the extracting user and lose their setuid/setgid bits.
    pub(crate) preserve_owner: bool,
    pub(crate) device_nodes: DeviceNodes,
    /// Cap on the total size of regular files: a decompression bomb fails with
    /// [`Error::TooLarge`] before it fills the disk.
    pub(crate) max_bytes: u64,
    /// Cap on the number of entries of any type, so a million empty entries fail too.
    pub(crate) max_entries: u64,
}

/// What an extraction wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExtractStats {
    /// Entries handled, of any type, skipped ones included.
    pub(crate) entries: u64,
    /// Regular files written.
    pub(crate) files: u64,
    /// Bytes of regular file data written.
    pub(crate) bytes: u64,
}

/// Extracts entries into the tree at `root`; see the module docs for what it guarantees.
#[derive(Debug)]
pub(crate) struct Extractor {
    root: OwnedFd,
    options: ExtractOptions,
    stats: ExtractStats,
    /// Directories whose mode and times `finish` applies.
    dirs: Vec<DeferredDir>,
    /// The last entry's parent directory: entries come in tree order, so most share their
    /// predecessor's parent and skip the lookup. Dropped whenever an entry replaced
    /// something: a replaced symlink or directory can change how any name resolves.
    parent: Option<(PathBuf, OwnedFd)>,
    buf: Vec<u8>,
}

#[derive(Debug)]
struct DeferredDir {
    path: PathBuf,
    depth: usize,
    seq: usize,
    /// The directory created, so `finish` never changes another one put at its path.
    dev: u64,
    ino: u64,
    mode: Mode,
    times: Timestamps,
}

impl Extractor {
    /// Opens the tree at `root`, which must be an existing directory (not a symlink).
    pub(crate) fn new(root: &Path, options: ExtractOptions) -> Result<Extractor, Error> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let root_fd = rustix::fs::open(root, flags, Mode::empty());
        let root_fd = root_fd.map_err(|e| Error::OpenRoot {
            root: root.into(),
            source: e.into(),
        })?;
        Ok(Extractor {
            root: root_fd,
            options,
            stats: ExtractStats::default(),
            dirs: Vec::new(),
            parent: None,
            buf: vec![0; COPY_BUFFER],
        })
    }

    /// Creates what `entry` describes at `path`, relative to the tree root.
    ///
    /// `path` must be relative without `..` (empty is the root itself, for a directory
    /// entry). `link_target` is read for hard links only: the target, relative to the tree
    /// root and cleaned as `path` is (ACI link names are `rootfs/...`: the caller maps them).
    /// A symlink's target is taken verbatim from the entry: any text, it is only data.
    pub(crate) fn extract<R: Read>(
        &mut self,
        path: &Path,
        link_target: Option<&Path>,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), Error> {
        if self.stats.entries >= self.options.max_entries {
            return Err(Error::TooManyEntries {
                limit: self.options.max_entries,
            });
        }
        self.stats.entries += 1;
        let path = clean(path).map_err(|why| At(path).invalid(why))?;
        let kind = entry.header().entry_type();
        if path.as_os_str().is_empty() && kind != EntryType::Directory {
            return Err(At(&path).invalid("only a directory can be the tree root"));
        }
        match kind {
            EntryType::Regular | EntryType::Continuous => self.file(&path, entry),
            EntryType::Directory => self.directory(&path, entry),
            EntryType::Symlink => self.symlink(&path, entry),
            EntryType::Link => self.hard_link(&path, link_target),
            EntryType::Char | EntryType::Block => match self.options.device_nodes {
                DeviceNodes::Create => self.node(&path, entry),
                DeviceNodes::Skip => Ok(()),
                DeviceNodes::Refuse => Err(Error::DeviceRefused { path }),
            },
            EntryType::Fifo => self.node(&path, entry),
            // A global PAX header describes no file (git archive puts a comment there).
            EntryType::XGlobalHeader => Ok(()),
            other => Err(Error::Unsupported {
                path,
                kind: other.as_byte(),
            }),
        }
    }

    /// Applies the deferred directory modes and times, deepest first, and returns the stats.
    pub(crate) fn finish(mut self) -> Result<ExtractStats, Error> {
        self.parent = None;
        let mut dirs = std::mem::take(&mut self.dirs);
        // Deepest first; of a directory listed twice, the last entry wins.
        dirs.sort_by(|a, b| {
            (b.depth.cmp(&a.depth))
                .then_with(|| a.path.cmp(&b.path))
                .then_with(|| b.seq.cmp(&a.seq))
        });
        dirs.dedup_by(|later, first| later.path == first.path);
        for dir in &dirs {
            let at = At(&dir.path);
            let fd = match self.open_dir(&dir.path, OFlags::RDONLY | OFlags::NOFOLLOW) {
                Ok(fd) => fd,
                // Replaced by a later entry (as only an empty directory can be): not ours.
                Err(Errno::NOENT | Errno::LOOP | Errno::NOTDIR) => continue,
                Err(e) => return Err(at.op("open directory")(e)),
            };
            let st = rustix::fs::fstat(&fd).map_err(at.op("stat"))?;
            if (st.st_dev, st.st_ino) != (dir.dev, dir.ino) {
                continue;
            }
            rustix::fs::fchmod(&fd, dir.mode).map_err(at.op("set mode of"))?;
            rustix::fs::futimens(&fd, &dir.times).map_err(at.op("set times of"))?;
        }
        Ok(self.stats)
    }

    fn file<R: Read>(&mut self, path: &Path, entry: &mut tar::Entry<'_, R>) -> Result<(), Error> {
        let at = At(path);
        let size = entry.size();
        let total = self.stats.bytes.saturating_add(size);
        if total > self.options.max_bytes {
            return Err(Error::TooLarge {
                limit: self.options.max_bytes,
            });
        }
        let meta = Meta::read(entry, path, self.options.preserve_owner)?;
        let (key, dir) = self.take_parent(path)?;
        let name = last(path);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        let flags = flags | OFlags::NOCTTY | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(0o600);
        // O_EXCL never opens what is there, a symlink least of all: it is unlinked instead.
        let create = |dir: &OwnedFd| rustix::fs::openat(dir, name, flags, mode);
        let (fd, replaced) = create_replacing(&dir, name, create).map_err(at.op("create"))?;
        let mut file = std::fs::File::from(fd);
        let mut left = size;
        while left > 0 {
            let want = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            let n = match entry.read(&mut self.buf[..want]) {
                Ok(0) => {
                    let got = size - left;
                    return Err(Error::Truncated {
                        path: path.into(),
                        size,
                        got,
                    });
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(at.io("read data of")(e)),
            };
            file.write_all(&self.buf[..n]).map_err(at.io("write"))?;
            left -= n as u64;
        }
        self.apply_to_fd(path, file.as_fd(), &meta, true)?;
        rustix::fs::futimens(&file, &meta.times).map_err(at.op("set times of"))?;
        self.stats.files += 1;
        self.stats.bytes = total;
        self.keep_parent(key, dir, replaced);
        Ok(())
    }

    fn directory<R: Read>(
        &mut self,
        path: &Path,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), Error> {
        let at = At(path);
        let meta = Meta::read(entry, path, self.options.preserve_owner)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        // `replaced` is None for the tree root itself, which has no parent to cache.
        let (fd, replaced) = if path.as_os_str().is_empty() {
            let fd = rustix::fs::openat(&self.root, c".", flags, Mode::empty());
            (fd.map_err(at.op("open"))?, None)
        } else {
            let (_, dir) = self.take_parent(path)?;
            let name = last(path);
            // 0700 until `finish`: its children must be creatable whatever its mode.
            let mode = Mode::from_raw_mode(0o700);
            let replaced = match rustix::fs::mkdirat(&dir, name, mode) {
                Ok(()) => false,
                Err(Errno::EXIST) => {
                    let st = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW);
                    if FileType::from_raw_mode(st.map_err(at.op("stat"))?.st_mode).is_dir() {
                        false
                    } else {
                        // A symlink (or file) is replaced, never followed (appc ace.md).
                        let unlink = rustix::fs::unlinkat(&dir, name, AtFlags::empty());
                        unlink.map_err(at.op("replace"))?;
                        rustix::fs::mkdirat(&dir, name, mode).map_err(at.op("make directory"))?;
                        true
                    }
                }
                Err(e) => return Err(at.op("make directory")(e)),
            };
            let fd = rustix::fs::openat(&dir, name, flags, Mode::empty());
            (fd.map_err(at.op("open"))?, Some(replaced))
        };
        self.apply_to_fd(path, fd.as_fd(), &meta, false)?;
        let st = rustix::fs::fstat(&fd).map_err(at.op("stat"))?;
        self.dirs.push(DeferredDir {
            path: path.into(),
            depth: path.components().count(),
            seq: self.dirs.len(),
            dev: st.st_dev,
            ino: st.st_ino,
            mode: meta.mode,
            times: meta.times,
        });
        match replaced {
            // The directory's children come next: it is their parent.
            Some(false) => self.parent = Some((path.into(), fd)),
            Some(true) => self.parent = None,
            None => {}
        }
        Ok(())
    }

    fn symlink<R: Read>(
        &mut self,
        path: &Path,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), Error> {
        let target = match entry.link_name_bytes() {
            Some(t) if !t.is_empty() => t.into_owned(),
            _ => return Err(At(path).invalid("symlink without a target")),
        };
        let meta = Meta::read(entry, path, self.options.preserve_owner)?;
        let (key, dir) = self.take_parent(path)?;
        let name = last(path);
        let link = |dir: &OwnedFd| rustix::fs::symlinkat(&target[..], dir, name);
        let replaced = create_replacing(&dir, name, link)
            .map_err(At(path).op("make symlink"))?
            .1;
        self.apply_at(path, dir.as_fd(), name, &meta, false)?;
        self.keep_parent(key, dir, replaced);
        Ok(())
    }

    fn hard_link(&mut self, path: &Path, link_target: Option<&Path>) -> Result<(), Error> {
        let Some(raw) = link_target else {
            return Err(At(path).invalid("hard link without a target"));
        };
        let bad = |target: &Path, why, source: Option<Errno>| Error::BadLinkTarget {
            path: path.into(),
            target: target.into(),
            why,
            source: source.map(io::Error::from),
        };
        let target = clean(raw).map_err(|why| bad(raw, why, None))?;
        if target.as_os_str().is_empty() {
            return Err(bad(&target, "the tree root is a directory", None));
        }
        let parent = target.parent().unwrap_or(Path::new(""));
        let target_dir = self.open_dir(parent, OFlags::PATH);
        let target_dir = target_dir.map_err(|e| bad(&target, "not found in the tree", Some(e)))?;
        let target_name = last(&target);
        let st = rustix::fs::statat(&target_dir, target_name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| bad(&target, "not found in the tree", Some(e)))?;
        if FileType::from_raw_mode(st.st_mode).is_dir() {
            return Err(bad(&target, "it is a directory", None));
        }
        let (key, dir) = self.take_parent(path)?;
        let name = last(path);
        // No AT_SYMLINK_FOLLOW: a symlink target gets a second name itself, nothing it points to.
        let link = |dir: &OwnedFd| {
            rustix::fs::linkat(&target_dir, target_name, dir, name, AtFlags::empty())
        };
        let replaced = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            // A link to itself (GNU tar writes these for repeated names) is already there.
            Ok(cur) if (cur.st_dev, cur.st_ino) == (st.st_dev, st.st_ino) => false,
            _ => {
                create_replacing(&dir, name, link)
                    .map_err(At(path).op("make hard link"))?
                    .1
            }
        };
        self.keep_parent(key, dir, replaced);
        Ok(())
    }

    /// A character or block device or a fifo, made with `mknodat`. Never opened: a device's
    /// open runs its driver and a fifo's blocks, so its mode is set by name, not followed.
    fn node<R: Read>(&mut self, path: &Path, entry: &mut tar::Entry<'_, R>) -> Result<(), Error> {
        let at = At(path);
        let meta = Meta::read(entry, path, self.options.preserve_owner)?;
        let header = entry.header();
        let (file_type, dev) = match header.entry_type() {
            EntryType::Fifo => (FileType::Fifo, 0),
            kind => {
                let major = header.device_major().map_err(at.header("device major"))?;
                let minor = header.device_minor().map_err(at.header("device minor"))?;
                let (Some(major), Some(minor)) = (major, minor) else {
                    return Err(at.invalid("device without numbers"));
                };
                let ft = match kind {
                    EntryType::Char => FileType::CharacterDevice,
                    _ => FileType::BlockDevice,
                };
                (ft, rustix::fs::makedev(major, minor))
            }
        };
        let (key, dir) = self.take_parent(path)?;
        let name = last(path);
        let mode = Mode::from_raw_mode(0o600);
        let mknod = |dir: &OwnedFd| rustix::fs::mknodat(dir, name, file_type, mode, dev);
        let replaced = create_replacing(&dir, name, mknod)
            .map_err(at.op("make node"))?
            .1;
        self.apply_at(path, dir.as_fd(), name, &meta, true)?;
        self.keep_parent(key, dir, replaced);
        Ok(())
    }

    /// Owner, then mode (a directory's waits for `finish`), then xattrs of an open file or
    /// directory. Times are the caller's: they come after the data.
    fn apply_to_fd(
        &self,
        path: &Path,
        fd: BorrowedFd<'_>,
        meta: &Meta,
        mode: bool,
    ) -> Result<(), Error> {
        let at = At(path);
        if let Some((uid, gid)) = meta.owner {
            rustix::fs::fchown(fd, Some(uid), Some(gid)).map_err(at.op("set owner of"))?;
        }
        if mode {
            rustix::fs::fchmod(fd, meta.mode).map_err(at.op("set mode of"))?;
        }
        for (name, value) in &meta.xattrs {
            rustix::fs::fsetxattr(fd, name.as_str(), value, XattrFlags::empty()).map_err(|e| {
                Error::Xattr {
                    name: name.clone(),
                    path: path.into(),
                    source: e.into(),
                }
            })?;
        }
        Ok(())
    }

    /// Owner, mode (nodes only: a symlink has none) and times of `name` in `dir`, never
    /// following a symlink. No xattrs: the kernel refuses `user.*` on symlinks and special
    /// files, and `security.capability` means nothing there.
    fn apply_at(
        &self,
        path: &Path,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        meta: &Meta,
        mode: bool,
    ) -> Result<(), Error> {
        let at = At(path);
        let nofollow = AtFlags::SYMLINK_NOFOLLOW;
        if let Some((uid, gid)) = meta.owner {
            let chown = rustix::fs::chownat(dir, name, Some(uid), Some(gid), nofollow);
            chown.map_err(at.op("set owner of"))?;
        }
        if mode {
            let chmod = crate::sys::fs::chmod_nofollow(dir, name, meta.mode);
            chmod.map_err(at.io("set mode of"))?;
        }
        rustix::fs::utimensat(dir, name, &meta.times, nofollow).map_err(at.op("set times of"))
    }

    /// The parent directory of `path` and its cache key: the cached one, or resolved inside
    /// the tree with the missing directories created (mode 0755, as GNU tar does).
    fn take_parent(&mut self, path: &Path) -> Result<(PathBuf, OwnedFd), Error> {
        let parent = path.parent().unwrap_or(Path::new(""));
        if let Some((key, fd)) = self.parent.take() {
            if key == parent {
                return Ok((key, fd));
            }
        }
        let fd = self
            .make_dirs(parent)
            .map_err(At(path).op("open parent directory of"))?;
        Ok((parent.into(), fd))
    }

    fn keep_parent(&mut self, key: PathBuf, dir: OwnedFd, replaced: bool) {
        if !replaced {
            self.parent = Some((key, dir));
        }
    }

    /// `rel` (empty: the root) opened as a directory in the tree. Without `O_NOFOLLOW` in
    /// `flags`, a final symlink is followed, inside the tree.
    fn open_dir(&self, rel: &Path, flags: OFlags) -> Result<OwnedFd, Errno> {
        let flags = flags | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if rel.as_os_str().is_empty() {
            rustix::fs::openat(&self.root, c".", flags, Mode::empty())
        } else {
            open_in_root(self.root.as_fd(), rel, flags, Mode::empty())
        }
    }

    /// `rel` as an `O_PATH` directory fd, creating the directories missing below its deepest
    /// existing ancestor one `mkdirat` at a time, each opened `O_NOFOLLOW`: a dangling symlink
    /// in the way is an error, as in GNU tar, not a path to create.
    fn make_dirs(&self, rel: &Path) -> Result<OwnedFd, Errno> {
        let mut missing = Vec::new();
        let mut ancestor = rel;
        let mut fd = loop {
            match self.open_dir(ancestor, OFlags::PATH) {
                Ok(fd) => break fd,
                Err(Errno::NOENT) => {
                    let (Some(up), Some(name)) = (ancestor.parent(), ancestor.file_name()) else {
                        return Err(Errno::NOENT);
                    };
                    missing.push(name);
                    ancestor = up;
                }
                Err(e) => return Err(e),
            }
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        for name in missing.into_iter().rev() {
            match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e),
            }
            fd = rustix::fs::openat(&fd, name, flags, Mode::empty())?;
        }
        Ok(fd)
    }
}

/// `path` without `.` components; an error for an absolute path or a `..`.
fn clean(path: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => return Err("`..` leads out of the tree"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path"),
        }
    }
    Ok(out)
}

/// The last component of a cleaned, non-empty path.
fn last(path: &Path) -> &OsStr {
    path.file_name().unwrap_or(OsStr::new("."))
}

/// Runs `create`; if the name is taken, removes what is there (never following it) and runs
/// `create` again. Returns what `create` made and whether something was replaced.
fn create_replacing<T>(
    dir: &OwnedFd,
    name: &OsStr,
    create: impl Fn(&OwnedFd) -> Result<T, Errno>,
) -> Result<(T, bool), Errno> {
    match create(dir) {
        Err(Errno::EXIST) => {
            // An empty directory goes too; a non-empty one fails with ENOTEMPTY.
            match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                Err(Errno::ISDIR) => rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?,
                other => other?,
            }
            create(dir).map(|made| (made, true))
        }
        other => other.map(|made| (made, false)),
    }
}

#[cfg(test)]
mod tests;
