//! The image store under `<dir>/cas`: content-addressed blobs, cached manifests, a per-image
//! index, a remote (URL) cache and rendered trees, all plain files (no database).
//!
//! Layout (paths come from [`crate::paths`]):
//! - `blob/sha512/<2hex>/sha512-<64hex>`: the ACI as imported (gzip, bzip2, xz or plain tar);
//!   its key is the first 64 hex digits of the sha512 of the *uncompressed* tar, and export
//!   decompresses it back to exactly that tar.
//! - `imageManifest/sha512/<2hex>/<key>`: the manifest as found in the image.
//! - `index/<key>`: the image's record (name, labels, times, sizes, tree). **A record's presence
//!   is what makes an image exist**: it is written last, so a crash at any earlier point leaves
//!   only unreferenced files that the next import or gc removes.
//! - `tree/deps-sha512-<64hex>/{rootfs,image,rendered}`: the image rendered with its
//!   dependencies; `rendered` is written after the tree is durable and in place.
//! - `tmp/<entry>`: work in progress, each entry flock'ed by the process that owns it.
//! - `imagelocks/<key>`, `treestorelocks/<tree id>`, `lock`: flock files.
//!
//! Durability (DESIGN §3.3 point 6): the blob, manifest and tree are written into a `tmp/`
//! entry, flushed with one syncfs (plus the blob's fsync), renamed into place with their
//! directories fsync'ed, then the tree is marked rendered and the index record written
//! (temporary name, fsync, rename, fsync of the directory).
//!
//! Locks: an import streams without any lock but its tmp entry's, then commits under the
//! image's and the tree's exclusive locks, waiting for them (never failing on them). `rm` and
//! `gc` take the same locks; they are the only operations that may lose a race, and say so.
//!
//! Speed: an import reads the archive once (the blob is the archive's bytes copied as they are
//! read, so a gzip image writes ~4x less than its tar would), and small files are created by
//! worker threads while the reader decodes and hashes ([`parallel`]): file creation, not
//! decompression, is what an import spends its time on.
//!
//! Failpoints: `RKT_FAILPOINT=<name>` aborts the process at the named durable step (see
//! [`failpoint`]); the end-to-end tests use it to prove that imports are all-or-nothing.
//!
//! The store knows nothing about HTTP, signatures or pods.

mod blob;
mod digest;
pub(crate) mod extract;
pub(crate) mod failpoint;
mod gc;
mod images;
mod import;
mod index;
mod key;
mod lock;
mod parallel;
mod remote;
mod render;
mod tmp;
mod tree;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub(crate) use gc::Keep;
pub(crate) use images::Verified;
pub(crate) use index::{now_ns, Record};
pub(crate) use key::{ImageKey, ImageQuery};
pub(crate) use remote::{Download, PartialMeta, Remote};

use crate::paths;

/// An open store: the data directory whose `cas/` holds the images.
#[derive(Debug)]
pub(crate) struct Store {
    data_dir: PathBuf,
}

/// What [`Store::import`] did.
#[derive(Debug)]
pub(crate) struct Imported {
    pub(crate) key: ImageKey,
    /// The image was already in the store; nothing new was written.
    pub(crate) existed: bool,
}

/// Whether an output directory or file may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overwrite {
    No,
    Yes,
}

/// What `image extract` / `image render` write into the output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// `manifest` and `rootfs/`, as in the ACI.
    Full,
    /// The contents of `rootfs/` only.
    RootfsOnly,
}

impl Store {
    /// Opens the store in `data_dir`, creating its directories (`cas/` mode 0700: rendered trees
    /// hold setuid binaries that no unprivileged user may reach).
    pub(crate) fn open(data_dir: &Path) -> Result<Store> {
        let store = Store {
            data_dir: data_dir.to_path_buf(),
        };
        store.create_layout()?;
        Ok(store)
    }

    fn create_layout(&self) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        // The data directory as rkt's tmpfiles.d made it (2750 root:rkt, without the group
        // here); `cas/` is the boundary that keeps everyone but root out.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&self.data_dir)
            .map_err(|e| Error::io("create directory", &self.data_dir, e))?;
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        let cas = paths::cas(&self.data_dir);
        builder
            .create(&cas)
            .map_err(|e| Error::io("create directory", &cas, e))?;
        // An existing `cas/` made by an older or careless tool is tightened, not trusted.
        let meta = std::fs::metadata(&cas).map_err(|e| Error::io("stat", &cas, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&cas, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("chmod", &cas, e))?;
        }
        for dir in paths::cas_dirs(&self.data_dir) {
            builder
                .create(&dir)
                .map_err(|e| Error::io("create directory", &dir, e))?;
        }
        // The store lock file exists from the start, so that taking it changes nothing on disk.
        let lock = paths::cas_lock(&self.data_dir);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&lock)
            .map_err(|e| Error::io("create", &lock, e))?;
        Ok(())
    }
}

/// A store operation that failed, naming the operation and the path or image.
#[derive(Debug)]
pub(crate) enum Error {
    /// A filesystem operation on a store or output path.
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The image archive is not a valid ACI (the cause names the file).
    Archive(crate::image::Error),
    /// Extracting the files of the image at `path` failed.
    Extract {
        path: PathBuf,
        source: extract::Error,
    },
    /// A stored manifest or record no longer parses.
    Corrupt { path: PathBuf, reason: String },
    /// A stored blob does not hash to its key.
    BlobMismatch { key: ImageKey, actual: String },
    /// An image argument that is neither an ID nor a valid name.
    BadImage { input: String, reason: String },
    /// No image matches; `reason` says so, naming what was looked for.
    NotFound { reason: String },
    /// An ID prefix that matches several images.
    Ambiguous { input: String },
    /// A dependency of an image is not in the store.
    MissingDependency {
        image: String,
        dependency: String,
        source: Box<Error>,
    },
    /// A dependency's ID is not the one its dependent names.
    DependencyMismatch {
        dependency: String,
        expected: String,
        actual: String,
    },
    /// Dependencies that refer to each other, or nest deeper than any sane image.
    DependencyLoop { image: String },
    /// The output exists and `--overwrite` was not given.
    OutputExists { path: PathBuf },
    /// A lock is held by another rkt; only `rm` and `gc` give up on a lock.
    Busy { what: String },
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl From<crate::image::Error> for Error {
    fn from(e: crate::image::Error) -> Self {
        Error::Archive(e)
    }
}

impl Error {
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The error is "no such image" (as opposed to a broken store).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
            Error::Archive(e) => e.fmt(f),
            Error::Extract { path, .. } => write!(f, "extract `{}`", path.display()),
            Error::Corrupt { path, reason } => {
                write!(f, "corrupt store file `{}`: {reason}", path.display())
            }
            Error::BlobMismatch { key, actual } => write!(
                f,
                "stored image {key} does not match its ID (its tar hashes to {actual})"
            ),
            Error::BadImage { input, reason } => write!(f, "invalid image {input:?}: {reason}"),
            // The reason names what was looked for.
            Error::NotFound { reason, .. } => f.write_str(reason),
            Error::Ambiguous { input } => write!(f, "ambiguous image ID: {input:?}"),
            Error::MissingDependency {
                image, dependency, ..
            } => write!(
                f,
                "image {image}: dependency {dependency} is not in the store (fetch it first)"
            ),
            Error::DependencyMismatch {
                dependency,
                expected,
                actual,
            } => write!(
                f,
                "dependency {dependency}: image ID {actual} does not match the required {expected}"
            ),
            Error::DependencyLoop { image } => {
                write!(
                    f,
                    "image {image}: dependencies form a loop or nest too deep"
                )
            }
            Error::OutputExists { path } => {
                write!(f, "`{}` exists (try --overwrite)", path.display())
            }
            Error::Busy { what } => write!(f, "{what} is in use by another rkt; try again"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Archive(e) => e.source(),
            Error::Extract { source, .. } => Some(source),
            Error::MissingDependency { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}
