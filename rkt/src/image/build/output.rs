//! Where a built archive goes: a temporary file next to the output, hashed on the way, then
//! synced and renamed into place.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha512};

use super::super::error::{Error, Result};
use super::parent_dir;

/// The temporary output file; removed on drop unless persisted.
pub(super) struct TempOutput {
    path: PathBuf,
    file: File,
}

impl TempOutput {
    pub(super) fn create(out: &Path) -> Result<TempOutput> {
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
        Ok(TempOutput { path, file })
    }

    pub(super) fn file(&self) -> &File {
        &self.file
    }

    /// Syncs the file, renames it to `out` and syncs the directory.
    pub(super) fn persist(mut self, out: &Path, overwrite: bool) -> Result<()> {
        let write_err = |source| Error::Write {
            path: out.to_path_buf(),
            source,
        };
        self.file.sync_all().map_err(write_err)?;
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
pub(super) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
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
pub(super) enum Sink<'f> {
    Gzip(Box<flate2::write::GzEncoder<BufWriter<&'f File>>>),
    Plain(BufWriter<&'f File>),
}

const WRITE_BUFFER: usize = 256 << 10;

impl<'f> Sink<'f> {
    /// Gzip (level 6, zero mtime, no name) or a plain tar.
    pub(super) fn new(file: &'f File, compress: bool) -> Self {
        let buffered = BufWriter::with_capacity(WRITE_BUFFER, file);
        if compress {
            Sink::Gzip(Box::new(flate2::write::GzEncoder::new(
                buffered,
                flate2::Compression::default(),
            )))
        } else {
            Sink::Plain(buffered)
        }
    }

    pub(super) fn finish(self) -> io::Result<()> {
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
pub(super) struct Hashing<W> {
    pub(super) inner: W,
    pub(super) hasher: Sha512,
    pub(super) failed: bool,
}

impl<W: Write> Hashing<W> {
    pub(super) fn new(inner: W) -> Self {
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
