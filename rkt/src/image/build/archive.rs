//! What goes into a built archive: the manifest, then the rootfs tree in a deterministic order
//! with its metadata, hard links and xattrs (see the parent module's doc for the rules).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use sha2::Digest;
use tar::{EntryType, Header};

use super::super::error::{Error, Result};
use super::super::ImageId;
use super::output::{Hashing, Sink};
use super::{Options, Source};

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

pub(super) struct Archiver<'a, 'f> {
    builder: tar::Builder<Hashing<Sink<'f>>>,
    options: &'a Options,
    out: &'a Path,
    /// (device, inode) of multiply-linked files already stored -> their archive path.
    links: HashMap<(u64, u64), Vec<u8>>,
}

impl<'a, 'f> Archiver<'a, 'f> {
    pub(super) fn new(sink: Sink<'f>, options: &'a Options, out: &'a Path) -> Self {
        Archiver {
            builder: tar::Builder::new(Hashing::new(sink)),
            options,
            out,
            links: HashMap::new(),
        }
    }

    pub(super) fn archive(&mut self, source: &Source) -> Result<()> {
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
    pub(super) fn finish(self) -> Result<ImageId> {
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
