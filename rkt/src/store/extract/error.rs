//! The extractor's one error type. Display names the operation and the entry (``create
//! `etc/passwd` ``); the cause, when there is one, is the `source()`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

/// An extraction failure.
#[derive(Debug)]
pub(crate) enum Error {
    /// The tree root could not be opened.
    OpenRoot { root: PathBuf, source: io::Error },
    /// A name or header field no entry may have (absolute, `..`, owner -1...).
    Invalid { path: PathBuf, why: &'static str },
    /// A header field the tar crate could not parse.
    Header {
        field: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A hard link whose target is outside the tree, missing or a directory.
    BadLinkTarget {
        path: PathBuf,
        target: PathBuf,
        why: &'static str,
        source: Option<io::Error>,
    },
    /// An entry type that is not created here (GNU sparse files, volume labels...).
    Unsupported { path: PathBuf, kind: u8 },
    /// A device node where the options say [`super::DeviceNodes::Refuse`].
    DeviceRefused { path: PathBuf },
    /// More file data than `max_bytes`.
    TooLarge { limit: u64 },
    /// More entries than `max_entries`.
    TooManyEntries { limit: u64 },
    /// The archive ended inside the entry's data.
    Truncated { path: PathBuf, size: u64, got: u64 },
    Xattr {
        name: String,
        path: PathBuf,
        source: io::Error,
    },
    /// A system call on the entry failed.
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// Builds the errors about one entry: `.map_err(at.op("create"))`.
#[derive(Clone, Copy)]
pub(super) struct At<'a>(pub(super) &'a Path);

impl<'a> At<'a> {
    pub(super) fn op(self, op: &'static str) -> impl FnOnce(Errno) -> Error + 'a {
        move |e| self.io(op)(e.into())
    }

    pub(super) fn io(self, op: &'static str) -> impl FnOnce(io::Error) -> Error + 'a {
        move |source| Error::Io {
            op,
            path: self.0.to_owned(),
            source,
        }
    }

    pub(super) fn header(self, field: &'static str) -> impl FnOnce(io::Error) -> Error + 'a {
        move |source| Error::Header {
            field,
            path: self.0.to_owned(),
            source,
        }
    }

    pub(super) fn invalid(self, why: &'static str) -> Error {
        Error::Invalid {
            path: self.0.to_owned(),
            why,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::OpenRoot { root, .. } => write!(f, "open tree `{}`", root.display()),
            Error::Invalid { path, why } => write!(f, "refuse entry `{}`: {why}", path.display()),
            Error::Header { field, path, .. } => {
                write!(f, "read {field} of entry `{}`", path.display())
            }
            Error::BadLinkTarget {
                path, target, why, ..
            } => {
                let (path, target) = (path.display(), target.display());
                write!(f, "refuse hard link `{path}` to `{target}`: {why}")
            }
            Error::Unsupported { path, kind } => {
                let what = match kind {
                    b'S' => " (GNU sparse file)",
                    b'V' => " (GNU volume header)",
                    b'M' => " (GNU multi-volume continuation)",
                    _ => "",
                };
                let (path, kind) = (path.display(), char::from(*kind).escape_default());
                write!(
                    f,
                    "refuse entry `{path}`: unsupported tar entry type '{kind}'{what}"
                )
            }
            Error::DeviceRefused { path } => {
                write!(
                    f,
                    "refuse device node `{}`: not allowed here",
                    path.display()
                )
            }
            Error::TooLarge { limit } => {
                write!(f, "image too large: more than {limit} bytes when extracted")
            }
            Error::TooManyEntries { limit } => {
                write!(f, "image too large: more than {limit} entries")
            }
            Error::Truncated { path, size, got } => {
                let path = path.display();
                write!(
                    f,
                    "read data of `{path}`: archive ends after {got} of {size} bytes"
                )
            }
            Error::Xattr { name, path, .. } => {
                write!(f, "set xattr `{name}` on `{}`", path.display())
            }
            Error::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::OpenRoot { source, .. }
            | Error::Header { source, .. }
            | Error::Xattr { source, .. }
            | Error::Io { source, .. } => Some(source),
            Error::BadLinkTarget { source, .. } => source.as_ref().map(|e| e as _),
            _ => None,
        }
    }
}
