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

mod archive;
mod output;

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::aci::MANIFEST_LIMIT;
use super::error::{Error, Result};
use super::ImageId;
use crate::appc::ImageManifest;
use archive::Archiver;
use output::{Sink, TempOutput};

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
        let file = tmp.file();
        let mut archiver = Archiver::new(Sink::new(file, options.compress), options, out);
        archiver.archive(&source)?;
        archiver.finish()?
    };
    tmp.persist(out, options.overwrite)?;
    Ok(id)
}

/// Builds `out` from an image manifest file and a rootfs directory kept apart (`rkt export`:
/// a pod's recorded manifest and its app's rootfs); returns the new image's ID.
pub(crate) fn build_from(
    manifest: &Path,
    rootfs: &Path,
    out: &Path,
    options: &Options,
) -> Result<ImageId> {
    let source = Source::from_parts(manifest, rootfs)?;
    check_output(out, &source.rootfs, options.overwrite)?;
    let tmp = TempOutput::create(out)?;
    let id = {
        let file = tmp.file();
        let mut archiver = Archiver::new(Sink::new(file, options.compress), options, out);
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
        let (manifest_path, _) = lstat("manifest", "regular file", Metadata::is_file)?;
        let (rootfs, _) = lstat("rootfs", "directory", Metadata::is_dir)?;
        Source::from_parts(&manifest_path, &rootfs)
    }

    /// A manifest file and a rootfs directory wherever they are; neither may be a symlink.
    fn from_parts(manifest_path: &Path, rootfs: &Path) -> Result<Source> {
        let lstat = |path: &Path, expected: &'static str, ok: fn(&Metadata) -> bool| {
            match fs::symlink_metadata(path) {
                Err(source) => Err(Error::BuildRead {
                    path: path.to_path_buf(),
                    source,
                }),
                Ok(meta) if !ok(&meta) => Err(Error::BuildWrongType {
                    path: path.to_path_buf(),
                    expected,
                }),
                Ok(meta) => Ok(meta),
            }
        };
        let manifest_meta = lstat(manifest_path, "regular file", Metadata::is_file)?;
        let rootfs_meta = lstat(rootfs, "directory", Metadata::is_dir)?;
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::BuildRead { path, source }
        };
        let manifest_path = manifest_path.to_path_buf();
        let rootfs = rootfs.to_path_buf();
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

#[cfg(test)]
mod tests;
