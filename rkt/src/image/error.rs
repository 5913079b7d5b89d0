//! The one error type of the `image` module. Each variant names the operation and the ACI file,
//! entry or directory; the underlying cause, if any, comes from `source()`.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::PathBuf;

use super::Compression;

#[derive(Debug)]
pub(crate) enum Error {
    // --- reading an ACI ---
    Open {
        path: PathBuf,
        source: io::Error,
    },
    /// The file or stream itself failed (not its contents).
    Read {
        path: PathBuf,
        source: io::Error,
    },
    Empty {
        path: PathBuf,
    },
    /// A known compression that ACIs do not allow (zstd, lz4).
    UnsupportedCompression {
        path: PathBuf,
        format: &'static str,
    },
    /// Neither a tar nor gzip, bzip2 or xz.
    UnknownFormat {
        path: PathBuf,
    },
    Corrupt {
        path: PathBuf,
        compression: Compression,
        source: io::Error,
    },
    TrailingData {
        path: PathBuf,
        compression: Compression,
    },
    /// The tar structure is broken; `after` names the last good entry.
    Tar {
        path: PathBuf,
        after: Option<String>,
        source: io::Error,
    },
    /// A PAX or GNU long-name header beyond the metadata limit (memory guard).
    MetadataTooLarge {
        path: PathBuf,
        after: Option<String>,
    },
    BadName {
        path: PathBuf,
        entry: String,
        reason: &'static str,
    },
    Duplicate {
        path: PathBuf,
        entry: String,
    },
    TooManyEntries {
        path: PathBuf,
        limit: usize,
    },
    UnexpectedEntry {
        path: PathBuf,
        entry: String,
    },
    UnsupportedType {
        path: PathBuf,
        entry: String,
        kind: u8,
    },
    ManifestNotFile {
        path: PathBuf,
    },
    RootfsNotDir {
        path: PathBuf,
    },
    HardLinkOutside {
        path: PathBuf,
        entry: String,
        target: String,
    },
    ManifestTooLarge {
        path: PathBuf,
    },
    BadManifest {
        path: PathBuf,
        source: crate::appc::Error,
    },
    NoManifest {
        path: PathBuf,
    },
    NoRootfs {
        path: PathBuf,
    },

    // --- building an ACI ---
    /// Reading the source directory failed.
    BuildRead {
        path: PathBuf,
        source: io::Error,
    },
    BuildMissing {
        dir: PathBuf,
        name: &'static str,
    },
    BuildWrongType {
        path: PathBuf,
        expected: &'static str,
    },
    BuildUnexpected {
        path: PathBuf,
    },
    BuildManifestTooLarge {
        path: PathBuf,
    },
    BuildBadManifest {
        path: PathBuf,
        source: crate::appc::Error,
    },
    /// A file grew, shrank or changed type while it was being archived.
    BuildChanged {
        path: PathBuf,
    },
    OutputExists {
        path: PathBuf,
    },
    OutputInsideRootfs {
        path: PathBuf,
    },
    Write {
        path: PathBuf,
        source: io::Error,
    },
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// How limits read in messages.
const LIMIT: &str = "1 MiB";

fn after(f: &mut fmt::Formatter<'_>, after: &Option<String>) -> fmt::Result {
    match after {
        Some(entry) => write!(f, " after entry `{entry}`"),
        None => Ok(()),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Open { path, .. } => write!(f, "open ACI `{}`", path.display()),
            Error::Read { path, .. } => write!(f, "read ACI `{}`", path.display()),
            Error::Empty { path } => write!(f, "read ACI `{}`: empty file", path.display()),
            Error::UnsupportedCompression { path, format } => write!(
                f,
                "read ACI `{}`: unsupported compression ({format}); ACIs may be gzip, bzip2 or xz compressed",
                path.display()
            ),
            Error::UnknownFormat { path } => write!(
                f,
                "read ACI `{}`: unknown format: not a tar, nor a gzip, bzip2 or xz compressed tar",
                path.display()
            ),
            Error::Corrupt {
                path, compression, ..
            } => write!(
                f,
                "read ACI `{}`: corrupt or truncated {} data",
                path.display(),
                compression.name()
            ),
            Error::TrailingData { path, compression } => write!(
                f,
                "read ACI `{}`: trailing data after the {} stream",
                path.display(),
                compression.name()
            ),
            Error::Tar { path, after: a, .. } => {
                write!(f, "read ACI `{}`: bad tar archive", path.display())?;
                after(f, a)
            }
            Error::MetadataTooLarge { path, after: a } => {
                write!(
                    f,
                    "ACI `{}`: tar extension header larger than {LIMIT}",
                    path.display()
                )?;
                after(f, a)
            }
            Error::BadName {
                path,
                entry,
                reason,
            } => write!(
                f,
                "ACI `{}`: bad entry name `{entry}`: {reason}",
                path.display()
            ),
            Error::Duplicate { path, entry } => {
                write!(f, "ACI `{}`: duplicate entry `{entry}`", path.display())
            }
            Error::TooManyEntries { path, limit } => {
                write!(f, "ACI `{}`: more than {limit} entries", path.display())
            }
            Error::UnexpectedEntry { path, entry } => write!(
                f,
                "ACI `{}`: unexpected entry `{entry}`: only `manifest` and `rootfs` may be at the top",
                path.display()
            ),
            Error::UnsupportedType { path, entry, kind } => write!(
                f,
                "ACI `{}`: entry `{entry}` has unsupported type `{}`",
                path.display(),
                char::from(*kind).escape_default()
            ),
            Error::ManifestNotFile { path } => write!(
                f,
                "ACI `{}`: `manifest` is not a regular file",
                path.display()
            ),
            Error::RootfsNotDir { path } => {
                write!(f, "ACI `{}`: `rootfs` is not a directory", path.display())
            }
            Error::HardLinkOutside {
                path,
                entry,
                target,
            } => write!(
                f,
                "ACI `{}`: hard link `{entry}` points outside rootfs, to `{target}`",
                path.display()
            ),
            Error::ManifestTooLarge { path } => {
                write!(f, "ACI `{}`: manifest larger than {LIMIT}", path.display())
            }
            Error::BadManifest { path, .. } => {
                write!(f, "ACI `{}`: invalid manifest", path.display())
            }
            Error::NoManifest { path } => write!(f, "ACI `{}`: no manifest", path.display()),
            Error::NoRootfs { path } => write!(
                f,
                "ACI `{}`: no `rootfs` directory entry",
                path.display()
            ),
            Error::BuildRead { path, .. } => write!(f, "build ACI: read `{}`", path.display()),
            Error::BuildMissing { dir, name } => {
                write!(f, "build ACI from `{}`: no `{name}`", dir.display())
            }
            Error::BuildWrongType { path, expected } => write!(
                f,
                "build ACI: `{}` is not a {expected}",
                path.display()
            ),
            Error::BuildUnexpected { path } => write!(
                f,
                "build ACI: unexpected `{}`: only `manifest` and `rootfs` may be at the top",
                path.display()
            ),
            Error::BuildManifestTooLarge { path } => write!(
                f,
                "build ACI: manifest `{}` larger than {LIMIT}",
                path.display()
            ),
            Error::BuildBadManifest { path, .. } => {
                write!(f, "build ACI: invalid manifest `{}`", path.display())
            }
            Error::BuildChanged { path } => write!(
                f,
                "build ACI: `{}` changed while it was being archived",
                path.display()
            ),
            Error::OutputExists { path } => write!(
                f,
                "write ACI `{}`: file exists (use --overwrite to replace it)",
                path.display()
            ),
            Error::OutputInsideRootfs { path } => write!(
                f,
                "write ACI `{}`: the output would be inside the rootfs it archives",
                path.display()
            ),
            Error::Write { path, .. } => write!(f, "write ACI `{}`", path.display()),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Open { source, .. }
            | Error::Read { source, .. }
            | Error::Corrupt { source, .. }
            | Error::Tar { source, .. }
            | Error::BuildRead { source, .. }
            | Error::Write { source, .. } => Some(source),
            Error::BadManifest { source, .. } | Error::BuildBadManifest { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// An entry name for messages: lossy UTF-8 with control characters escaped, so a hostile name
/// cannot rewrite the terminal.
pub(crate) fn show(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for c in String::from_utf8_lossy(name).chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
