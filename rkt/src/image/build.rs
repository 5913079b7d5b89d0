//! `rkt image build`: an ACI from a directory holding `manifest` and `rootfs/`.
//!
//! The archive is deterministic, so the same directory always gives the same image ID (and,
//! compressed, the same bytes):
//! - `manifest` comes first (a reader can validate it before extracting anything), then the
//!   `rootfs/` directory entry, then the tree depth-first, each directory's entries sorted by
//!   their byte-wise names, every directory before its contents;
//! - headers are GNU tar headers with mode, uid/gid (0 with `owner_root`), mtime in whole
//!   seconds (negative ones as 0), no atime/ctime, empty user and group names; long names use
//!   GNU long-name entries;
//! - a non-directory with several links inside the tree is stored once, then as hard links
//!   to the first path; symlinks, device nodes and FIFOs are kept; sockets are skipped with a
//!   warning (they cannot be archived);
//! - xattrs in the `user.` namespace and `security.capability` (file capabilities) are stored as
//!   PAX `SCHILY.xattr.*` records; others (SELinux labels, ACLs, `trusted.`) describe the build
//!   host rather than the image and are left out;
//! - gzip output uses a zero mtime and no file name in the gzip header.
//!
//! Nothing is written before the layout and manifest are valid; the archive goes to a temporary
//! file next to the output, which is synced and renamed into place (without `overwrite`, by a
//! rename that refuses to replace), and removed on any failure.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha512};
use tar::{EntryType, Header};

use super::aci::MANIFEST_LIMIT;
use super::error::{Error, Result};
use super::ImageId;
use crate::appc::ImageManifest;

const WRITE_BUFFER: usize = 256 << 10;

/// What `rkt image build` was asked for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Write a gzip-compressed ACI (else a plain tar).
    pub(crate) compress: bool,
    /// Store every entry as owned by uid 0, gid 0.
    pub(crate) owner_root: bool,
    /// Replace an existing output file.
    pub(crate) overwrite: bool,
}

/// Builds `out` from `dir` and returns the new image's ID.
pub(crate) fn build(dir: &Path, out: &Path, options: &Options) -> Result<ImageId> {
    let source = Source::check(dir)?;
    check_output(out, &source.rootfs, options.overwrite)?;
    let tmp = TempOutput::create(out)?;
    let id = {
        let file = tmp.file()?;
        let sink = if options.compress {
            Sink::Gzip(Box::new(flate2::write::GzEncoder::new(
                BufWriter::with_capacity(WRITE_BUFFER, file),
                flate2::Compression::default(),
            )))
        } else {
            Sink::Plain(BufWriter::with_capacity(WRITE_BUFFER, file))
        };
        let mut archiver = Archiver {
            builder: tar::Builder::new(Hashing::new(sink)),
            options,
            out,
            links: HashMap::new(),
        };
        archiver.archive(&source)?;
        archiver.finish()?
    };
    tmp.persist(out, options.overwrite)?;
    Ok(id)
}

/// The checked input: a valid manifest and a rootfs directory, nothing else.
struct Source {
    manifest: Vec<u8>,
    manifest_meta: Metadata,
    rootfs: PathBuf,
    rootfs_meta: Metadata,
}

impl Source {
    fn check(dir: &Path) -> Result<Source> {
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::BuildRead { path, source }
        };
        let mut names: Vec<OsString> = fs::read_dir(dir)
            .and_then(|entries| entries.map(|e| e.map(|e| e.file_name())).collect())
            .map_err(read_err(dir))?;
        names.sort();
        if let Some(extra) = names.iter().find(|n| **n != "manifest" && **n != "rootfs") {
            return Err(Error::BuildUnexpected {
                path: dir.join(extra),
            });
        }
        let lstat = |name: &'static str, expected: &'static str, ok: fn(&Metadata) -> bool| {
            let path = dir.join(name);
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::BuildMissing {
                    dir: dir.to_path_buf(),
                    name,
                }),
                Err(e) => Err(read_err(&path)(e)),
                Ok(meta) if !ok(&meta) => Err(Error::BuildWrongType { path, expected }),
                Ok(meta) => Ok((path, meta)),
            }
        };
        let (manifest_path, manifest_meta) = lstat("manifest", "regular file", Metadata::is_file)?;
        let (rootfs, rootfs_meta) = lstat("rootfs", "directory", Metadata::is_dir)?;
        let mut manifest = Vec::new();
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&manifest_path)
            .and_then(|f| f.take(MANIFEST_LIMIT + 1).read_to_end(&mut manifest))
            .map_err(read_err(&manifest_path))?;
        if manifest.len() as u64 > MANIFEST_LIMIT {
            return Err(Error::BuildManifestTooLarge {
                path: manifest_path,
            });
        }
        ImageManifest::from_json(&manifest).map_err(|source| Error::BuildBadManifest {
            path: manifest_path,
            source,
        })?;
        Ok(Source {
            manifest,
            manifest_meta,
            rootfs,
            rootfs_meta,
        })
    }
}

/// Refuses an existing output (without `overwrite`) and an output inside the tree being read,
/// which would archive itself.
fn check_output(out: &Path, rootfs: &Path, overwrite: bool) -> Result<()> {
    let write_err = |source| Error::Write {
        path: out.to_path_buf(),
        source,
    };
    if !overwrite {
        match fs::symlink_metadata(out) {
            Ok(_) => {
                return Err(Error::OutputExists {
                    path: out.to_path_buf(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(write_err(e)),
        }
    }
    let parent = fs::canonicalize(parent_dir(out)).map_err(write_err)?;
    let rootfs = fs::canonicalize(rootfs).map_err(|source| Error::BuildRead {
        path: rootfs.to_path_buf(),
        source,
    })?;
    if parent.starts_with(&rootfs) {
        return Err(Error::OutputInsideRootfs {
            path: out.to_path_buf(),
        });
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The temporary output file; removed on drop unless persisted.
struct TempOutput {
    path: PathBuf,
    file: Option<File>,
}

impl TempOutput {
    fn create(out: &Path) -> Result<TempOutput> {
        let write_err = |source| Error::Write {
            path: out.to_path_buf(),
            source,
        };
        let name = out.file_name().ok_or_else(|| {
            write_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the output has no file name",
            ))
        })?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.{nanos}.tmp", std::process::id()));
        let path = parent_dir(out).join(tmp_name);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .map_err(write_err)?;
        Ok(TempOutput {
            path,
            file: Some(file),
        })
    }

    fn file(&self) -> Result<&File> {
        self.file.as_ref().ok_or_else(|| Error::Write {
            path: self.path.clone(),
            source: io::Error::other("temporary output already closed"),
        })
    }

    /// Syncs the file, renames it to `out` and syncs the directory.
    fn persist(mut self, out: &Path, overwrite: bool) -> Result<()> {
        let write_err = |source| Error::Write {
            path: out.to_path_buf(),
            source,
        };
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(write_err)?;
        }
        if overwrite {
            fs::rename(&self.path, out).map_err(write_err)?;
        } else {
            rename_noreplace(&self.path, out).map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => Error::OutputExists {
                    path: out.to_path_buf(),
                },
                _ => write_err(e),
            })?;
        }
        // Renamed: nothing left to remove.
        self.path = PathBuf::new();
        File::open(parent_dir(out))
            .and_then(|d| d.sync_all())
            .map_err(write_err)
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A rename that fails with `AlreadyExists` instead of replacing (closing the race between the
/// up-front check and the rename). Filesystems without `RENAME_NOREPLACE` get link + unlink,
/// which refuses the same way.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

/// Where the tar goes: gzip or plain, into the temporary file.
enum Sink<'f> {
    Gzip(Box<flate2::write::GzEncoder<BufWriter<&'f File>>>),
    Plain(BufWriter<&'f File>),
}

impl Sink<'_> {
    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Gzip(e) => e.finish()?.flush(),
            Sink::Plain(mut w) => w.flush(),
        }
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Gzip(e) => e.write(buf),
            Sink::Plain(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Gzip(e) => e.flush(),
            Sink::Plain(w) => w.flush(),
        }
    }
}

/// Hashes the tar bytes on their way to the sink (the image ID), and remembers whether writing
/// failed, which the `tar` builder's errors do not say.
struct Hashing<W> {
    inner: W,
    hasher: Sha512,
    failed: bool,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha512::new(),
            failed: false,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.write(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                Ok(n)
            }
            Err(e) => {
                self.failed |= e.kind() != io::ErrorKind::Interrupted;
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.failed |= result.is_err();
        result
    }
}

/// A file's data, exactly `remaining` bytes: a file that shrinks or grows while it is read would
/// otherwise leave a header whose size lies.
struct Exact {
    file: File,
    remaining: u64,
    changed: bool,
}

impl Read for Exact {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            if self.file.read(&mut [0u8; 1])? != 0 {
                self.changed = true;
                return Err(io::Error::other("file grew"));
            }
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..max])?;
        if n == 0 {
            self.changed = true;
            return Err(io::Error::other("file shrank"));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

struct Archiver<'a, 'f> {
    builder: tar::Builder<Hashing<Sink<'f>>>,
    options: &'a Options,
    out: &'a Path,
    /// (device, inode) of multiply-linked files already stored -> their archive path.
    links: HashMap<(u64, u64), Vec<u8>>,
}

impl Archiver<'_, '_> {
    fn archive(&mut self, source: &Source) -> Result<()> {
        let manifest_path = source.rootfs.with_file_name("manifest");
        let mut h = self.header(&source.manifest_meta, EntryType::Regular);
        h.set_size(source.manifest.len() as u64);
        self.builder
            .append_data(&mut h, "manifest", source.manifest.as_slice())
            .map_err(|e| self.error(e, &manifest_path))?;
        self.append_empty(
            &source.rootfs,
            b"rootfs/",
            &source.rootfs_meta,
            EntryType::Directory,
        )?;
        self.append_tree(&source.rootfs, b"rootfs")
    }

    /// Writes the end blocks and returns the ID of what was written.
    fn finish(self) -> Result<ImageId> {
        let write_err = |source| Error::Write {
            path: self.out.to_path_buf(),
            source,
        };
        let hashing = self.builder.into_inner().map_err(write_err)?;
        let id = ImageId::from_digest(&hashing.hasher.finalize());
        hashing.inner.finish().map_err(write_err)?;
        Ok(id)
    }

    /// The error of a failed append: the output's if writing failed, else the source file's.
    fn error(&self, source: io::Error, path: &Path) -> Error {
        if self.builder.get_ref().failed {
            Error::Write {
                path: self.out.to_path_buf(),
                source,
            }
        } else {
            Error::BuildRead {
                path: path.to_path_buf(),
                source,
            }
        }
    }

    fn header(&self, meta: &Metadata, kind: EntryType) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(meta.mode() & 0o7777);
        let (uid, gid) = if self.options.owner_root {
            (0, 0)
        } else {
            (meta.uid(), meta.gid())
        };
        h.set_uid(uid.into());
        h.set_gid(gid.into());
        h.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
        h.set_size(0);
        h
    }

    /// The entries of `dir`, sorted, each followed by its own contents.
    fn append_tree(&mut self, dir: &Path, archive_dir: &[u8]) -> Result<()> {
        let mut names: Vec<OsString> = fs::read_dir(dir)
            .and_then(|entries| entries.map(|e| e.map(|e| e.file_name())).collect())
            .map_err(|source| Error::BuildRead {
                path: dir.to_path_buf(),
                source,
            })?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let path = dir.join(&name);
            let mut archive_path = archive_dir.to_vec();
            archive_path.push(b'/');
            archive_path.extend_from_slice(name.as_bytes());
            let meta = fs::symlink_metadata(&path).map_err(|source| Error::BuildRead {
                path: path.clone(),
                source,
            })?;
            let file_type = meta.file_type();
            if file_type.is_dir() {
                let mut dir_path = archive_path.clone();
                dir_path.push(b'/');
                self.append_empty(&path, &dir_path, &meta, EntryType::Directory)?;
                self.append_tree(&path, &archive_path)?;
                continue;
            }
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key).cloned() {
                    let mut h = self.header(&meta, EntryType::Link);
                    self.append_link(&path, &archive_path, &mut h, &first)?;
                    continue;
                }
                self.links.insert(key, archive_path.clone());
            }
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_file() {
                self.append_file(&path, &archive_path)?;
            } else if file_type.is_symlink() {
                let target = fs::read_link(&path).map_err(|source| Error::BuildRead {
                    path: path.clone(),
                    source,
                })?;
                self.append_xattrs(&path)?;
                let mut h = self.header(&meta, EntryType::Symlink);
                self.append_link(&path, &archive_path, &mut h, target.as_os_str().as_bytes())?;
            } else if file_type.is_char_device() || file_type.is_block_device() {
                let kind = if file_type.is_char_device() {
                    EntryType::Char
                } else {
                    EntryType::Block
                };
                self.append_empty(&path, &archive_path, &meta, kind)?;
            } else if file_type.is_fifo() {
                self.append_empty(&path, &archive_path, &meta, EntryType::Fifo)?;
            } else {
                crate::log::warning!("build ACI: skipping socket `{}`", path.display());
            }
        }
        Ok(())
    }

    /// A data-less entry (directory, device, FIFO) with its xattrs.
    fn append_empty(
        &mut self,
        path: &Path,
        archive_path: &[u8],
        meta: &Metadata,
        kind: EntryType,
    ) -> Result<()> {
        self.append_xattrs(path)?;
        let mut h = self.header(meta, kind);
        if matches!(kind, EntryType::Char | EntryType::Block) {
            let rdev = meta.rdev();
            h.set_device_major(rustix::fs::major(rdev))
                .and_then(|()| h.set_device_minor(rustix::fs::minor(rdev)))
                .map_err(|e| self.error(e, path))?;
        }
        self.builder
            .append_data(&mut h, OsStr::from_bytes(archive_path), io::empty())
            .map_err(|e| self.error(e, path))
    }

    /// A regular file, read through an fd opened without following symlinks and checked
    /// against what the walk saw, so a swap under us is noticed rather than archived.
    fn append_file(&mut self, path: &Path, archive_path: &[u8]) -> Result<()> {
        let read_err = |source| Error::BuildRead {
            path: path.to_path_buf(),
            source,
        };
        // O_NONBLOCK: should the file have been replaced by a FIFO, opening must not hang.
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        if !meta.is_file() {
            return Err(Error::BuildChanged {
                path: path.to_path_buf(),
            });
        }
        self.append_xattrs(path)?;
        let mut h = self.header(&meta, EntryType::Regular);
        h.set_size(meta.len());
        let mut data = Exact {
            file,
            remaining: meta.len(),
            changed: false,
        };
        let result = self
            .builder
            .append_data(&mut h, OsStr::from_bytes(archive_path), &mut data);
        match result {
            Ok(()) => Ok(()),
            Err(_) if data.changed => Err(Error::BuildChanged {
                path: path.to_path_buf(),
            }),
            Err(e) => Err(self.error(e, path)),
        }
    }

    /// A symlink or hard link. The target is written byte for byte (the `tar` crate's own link
    /// setter normalizes `a/./b` to `a/b`), with a GNU long-link entry when it is long.
    fn append_link(
        &mut self,
        path: &Path,
        archive_path: &[u8],
        h: &mut Header,
        target: &[u8],
    ) -> Result<()> {
        const LINK_FIELD: usize = 100;
        if target.len() > LINK_FIELD {
            let mut long = Header::new_gnu();
            long.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
            long.set_entry_type(EntryType::GNULongLink);
            long.set_mode(0o644);
            long.set_size(target.len() as u64 + 1);
            long.set_cksum();
            let data = [target, b"\0"].concat();
            self.builder
                .append(&long, data.as_slice())
                .map_err(|e| self.error(e, path))?;
        }
        h.set_link_name_literal(&target[..target.len().min(LINK_FIELD)])
            .map_err(|e| self.error(e, path))?;
        self.builder
            .append_data(h, OsStr::from_bytes(archive_path), io::empty())
            .map_err(|e| self.error(e, path))
    }

    /// A PAX header with the entry's `user.*` and `security.capability` xattrs, if any.
    fn append_xattrs(&mut self, path: &Path) -> Result<()> {
        let xattrs = read_xattrs(path).map_err(|source| Error::BuildRead {
            path: path.to_path_buf(),
            source,
        })?;
        if xattrs.is_empty() {
            return Ok(());
        }
        let mut data = Vec::new();
        for (name, value) in &xattrs {
            let mut key = b"SCHILY.xattr.".to_vec();
            key.extend_from_slice(name);
            pax_record(&mut data, &key, value);
        }
        let mut h = Header::new_ustar();
        h.as_old_mut().name[..14].copy_from_slice(b"././@PaxHeader");
        h.set_entry_type(EntryType::XHeader);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.builder
            .append(&h, data.as_slice())
            .map_err(|e| self.error(e, path))
    }
}

/// One PAX record: `<len> <key>=<value>\n`, where `len` counts the whole record, itself
/// included.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body = 1 + key.len() + 1 + value.len() + 1;
    let mut len = body + 1;
    while len.to_string().len() + body != len {
        len = len.to_string().len() + body;
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Linux caps xattr names lists and values at 64 KiB; this leaves room without looping forever.
const XATTR_MAX: usize = 1 << 20;

/// The xattrs worth archiving, sorted by name. A filesystem without xattrs has none.
fn read_xattrs(path: &Path) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    use rustix::fs::{lgetxattr, llistxattr};
    use rustix::io::Errno;
    let unsupported = |e: Errno| e == Errno::OPNOTSUPP || e == Errno::NOTSUP;
    let mut list = vec![0u8; 4096];
    let len = loop {
        match llistxattr(path, &mut list[..]) {
            Ok(n) => break n,
            Err(e) if e == Errno::RANGE && list.len() < XATTR_MAX => list.resize(list.len() * 4, 0),
            Err(e) if unsupported(e) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = Vec::new();
    for name in list[..len].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        if !(name.starts_with(b"user.") || name == b"security.capability") {
            continue;
        }
        let mut value = vec![0u8; 256];
        let n = loop {
            match lgetxattr(path, OsStr::from_bytes(name), &mut value[..]) {
                Ok(n) => break n,
                Err(e) if e == Errno::RANGE && value.len() < XATTR_MAX => {
                    value.resize(value.len() * 4, 0)
                }
                // Removed since it was listed.
                Err(e) if e == Errno::NODATA => break usize::MAX,
                Err(e) => return Err(e.into()),
            }
        };
        if n != usize::MAX {
            value.truncate(n);
            out.push((name.to_vec(), value));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
