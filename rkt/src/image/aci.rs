//! Reading an ACI from a file or stream, in one pass: sniff the compression, decode, hash the
//! uncompressed tar for the image ID, and validate the layout while the caller extracts.
//!
//! # Contract
//!
//! - [`open`] (a file) or [`from_reader`] (any stream, e.g. an HTTP body) sniff the first
//!   bytes: gzip, bzip2, xz or a plain ustar/GNU tar. Anything else fails before the tar is
//!   touched: zstd and lz4 are named, an empty file has its own error.
//! - [`AciReader::walk`] reads the archive once. For each entry inside `rootfs` (the `rootfs`
//!   directory entry included, as `.`) it calls the visitor with a [`Member`] (the name cleaned
//!   and made relative to `rootfs`; for hard links also the target) and the `tar` entry, whose
//!   data the visitor may read. Whatever the visitor leaves unread is skipped. The `manifest`
//!   entry is read and validated here, never shown to the visitor.
//! - Layout rules (appc `aci/layout.go`, tightened): only `manifest` and `rootfs` at the top
//!   (names cleaned like Go's `filepath.Clean`, so `./rootfs/a` is `rootfs/a`; a `.` entry is
//!   skipped); `rootfsX` is refused, unlike appc's prefix check; names with a `..` component,
//!   absolute names and NUL bytes are refused; no two entries share a cleaned name; `manifest`
//!   is a regular file of at most 1 MiB that `appc` accepts; `rootfs` is an explicit directory
//!   entry; hard links point inside `rootfs`; entries are regular (also contiguous or GNU
//!   sparse) files, directories, symlinks, hard links, devices or FIFOs. PAX global headers
//!   carry no file and are skipped. Entries come in archive order: `rootfs` itself may come
//!   after its contents, and `manifest` anywhere.
//! - Errors come as soon as they are seen: a visitor may already have extracted earlier
//!   entries, so it must write into a scratch tree that the caller discards on error.
//! - At the end the rest of the stream is read, so the image ID covers the whole uncompressed
//!   stream (tar end blocks and padding included: `gzip -dc x | sha512sum`), and data after
//!   the compressed stream is refused. The result is an [`ImageInfo`]. On success the source has
//!   been read to its end, so a caller that wants to keep the file as it came (the store's
//!   blob) can wrap the source in a reader that copies what passes through.
//!
//! Memory stays bounded whatever the input: the manifest is read to at most 1 MiB + 1 byte,
//! PAX/GNU extension headers (which the `tar` crate buffers whole) are capped at 1 MiB per
//! entry, and duplicate detection keeps a 32-byte digest per name (not the name, which may be
//! up to 1 MiB long) for at most [`MAX_ENTRIES`] entries.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tar::EntryType;

use super::error::{show, Error, Result};
use super::stream::{self, Failure, Shared, Sniffed, TarStream};
use super::{Compression, ImageId};
use crate::appc::ImageManifest;

/// The largest manifest accepted.
pub(crate) const MANIFEST_LIMIT: u64 = 1 << 20;
/// The most the tar parser may read between two entries: headers plus PAX and GNU long-name
/// payloads. Real ones are a few KiB (xattrs are at most 64 KiB each on Linux).
const METADATA_LIMIT: u64 = 1 << 20;
/// The most entries an ACI may hold: about 200 MiB of duplicate-detection state at worst, and
/// ten times the files of a full desktop distribution.
pub(crate) const MAX_ENTRIES: usize = 1 << 22;

/// A `tar` entry of an ACI, as the visitor of [`AciReader::walk`] sees it.
pub(crate) type Entry<'a> = tar::Entry<'a, TarStream>;

/// What a validated ACI is.
#[derive(Debug)]
pub(crate) struct ImageInfo {
    pub(crate) id: ImageId,
    pub(crate) manifest: ImageManifest,
    /// The manifest exactly as stored in the image.
    pub(crate) manifest_bytes: Vec<u8>,
    /// Which decoder ran; only the tests look.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) compression: Compression,
    /// Length of the uncompressed tar stream.
    pub(crate) tar_size: u64,
}

/// An entry inside `rootfs`, validated.
#[derive(Debug)]
pub(crate) struct Member<'a> {
    /// Relative to `rootfs`, cleaned (no `.`, `..`, empty or leading `/` components); `.` is
    /// the `rootfs` directory itself.
    pub(crate) path: &'a Path,
    /// For a hard link: its target, cleaned and relative to `rootfs` like `path`.
    pub(crate) hard_link: Option<&'a Path>,
}

/// An ACI opened for one pass.
pub(crate) struct AciReader {
    path: PathBuf,
    compression: Compression,
    archive: tar::Archive<TarStream>,
    shared: Arc<Shared>,
    /// [`MAX_ENTRIES`]; tests lower it.
    max_entries: usize,
}

/// Opens an ACI file.
pub(crate) fn open(path: &Path) -> Result<AciReader> {
    let file = File::open(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    from_reader(file, path)
}

/// Reads an ACI from a stream; `name` (a path or URL) is what errors call it.
pub(crate) fn from_reader<R: Read + Send + 'static>(
    mut source: R,
    name: &Path,
) -> Result<AciReader> {
    let path = name.to_path_buf();
    let head = stream::read_head(&mut source).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let compression = match stream::sniff(&head) {
        Sniffed::Aci(c) => c,
        Sniffed::Unsupported(format) => return Err(Error::UnsupportedCompression { path, format }),
        Sniffed::Unknown => return Err(Error::UnknownFormat { path }),
        Sniffed::Empty => return Err(Error::Empty { path }),
    };
    let shared = Shared::new();
    let decoded =
        stream::decoded(compression, head, source, &shared).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
    Ok(AciReader {
        path,
        compression,
        archive: tar::Archive::new(TarStream::new(decoded, Arc::clone(&shared))),
        shared,
        max_entries: MAX_ENTRIES,
    })
}

/// Validates a whole ACI file without extracting it.
pub(crate) fn inspect(path: &Path) -> Result<ImageInfo> {
    open(path)?.walk(|_, _| Ok::<(), Error>(()))
}

impl AciReader {
    /// Reads the whole archive once, validating it and handing each `rootfs` entry to `visit`
    /// (see the module doc). The visitor's own errors come back unchanged, except when the
    /// stream under it failed (the visitor then only saw a short read): the stream's error
    /// is returned instead, as the cause.
    pub(crate) fn walk<E, F>(self, mut visit: F) -> std::result::Result<ImageInfo, E>
    where
        E: From<Error>,
        F: FnMut(&Member<'_>, &mut Entry<'_>) -> std::result::Result<(), E>,
    {
        let AciReader {
            path,
            compression,
            mut archive,
            shared,
            max_entries,
        } = self;
        let fail = Failed {
            path: &path,
            compression,
            shared: &shared,
        };
        let mut layout = Layout {
            max_entries,
            ..Layout::default()
        };
        let mut entries = archive.entries().map_err(|e| fail.io(e, None))?;
        loop {
            // Between entries the parser reads only headers and extension payloads.
            shared.arm(METADATA_LIMIT);
            let next = entries.next();
            shared.disarm();
            let mut entry = match next {
                None => break,
                Some(Ok(entry)) => entry,
                Some(Err(e)) => return Err(fail.io(e, layout.last.as_deref()).into()),
            };
            match layout.check(&path, &entry)? {
                Kind::Skip => {}
                Kind::Manifest => layout.read_manifest(&path, &mut entry, &fail)?,
                Kind::Rootfs { path: rel, link } => {
                    let member = Member {
                        path: Path::new(OsStr::from_bytes(&rel)),
                        hard_link: link.as_deref().map(|l| Path::new(OsStr::from_bytes(l))),
                    };
                    if let Err(e) = visit(&member, &mut entry) {
                        return Err(match shared.take_failure() {
                            Some(failure) => fail.map(failure, None).into(),
                            None => e,
                        });
                    }
                }
            }
            // Skip what is left here, not inside `next()`, where the budget is armed.
            io::copy(&mut entry, &mut io::sink())
                .map_err(|e| fail.io(e, layout.last.as_deref()))?;
        }
        // The stream first: data it cannot decode is a worse problem than a missing entry.
        let (digest, tar_size) = archive
            .into_inner()
            .finish()
            .map_err(|e| fail.io(e, layout.last.as_deref()))?;
        let (manifest, manifest_bytes) = layout.finish(&path)?;
        Ok(ImageInfo {
            id: ImageId::from_digest(&digest),
            manifest,
            manifest_bytes,
            compression,
            tar_size,
        })
    }
}

/// Turns an `io::Error` out of the tar parser into the failure that caused it.
struct Failed<'a> {
    path: &'a Path,
    compression: Compression,
    shared: &'a Shared,
}

impl Failed<'_> {
    fn io(&self, e: io::Error, after: Option<&str>) -> Error {
        match self.shared.take_failure() {
            Some(failure) => self.map(failure, after),
            None => Error::Tar {
                path: self.path.to_path_buf(),
                after: after.map(str::to_string),
                source: e,
            },
        }
    }

    fn map(&self, failure: Failure, after: Option<&str>) -> Error {
        let path = self.path.to_path_buf();
        match failure {
            Failure::Source(source) => Error::Read { path, source },
            Failure::Decode(source) => Error::Corrupt {
                path,
                compression: self.compression,
                source,
            },
            Failure::Trailing => Error::TrailingData {
                path,
                compression: self.compression,
            },
            Failure::TooLarge => Error::MetadataTooLarge {
                path,
                after: after.map(str::to_string),
            },
        }
    }
}

/// What an entry is, once its name is checked.
enum Kind {
    Skip,
    Manifest,
    Rootfs {
        path: Vec<u8>,
        link: Option<Vec<u8>>,
    },
}

/// The layout seen so far.
#[derive(Default)]
struct Layout {
    /// SHA-256 of each cleaned name.
    seen: HashSet<[u8; 32]>,
    max_entries: usize,
    manifest: Option<(ImageManifest, Vec<u8>)>,
    rootfs: bool,
    /// The last entry's cleaned name, for messages.
    last: Option<String>,
}

impl Layout {
    fn check(&mut self, aci: &Path, entry: &Entry<'_>) -> Result<Kind> {
        let kind = entry.header().entry_type();
        if kind == EntryType::XGlobalHeader {
            return Ok(Kind::Skip);
        }
        let raw = entry.path_bytes();
        let name = clean(&raw).map_err(|reason| Error::BadName {
            path: aci.to_path_buf(),
            entry: show(&raw),
            reason,
        })?;
        self.last = Some(show(&name));
        let entry_name = || show(&name);
        if name == b"." {
            // `tar -C dir -c .` writes a `./` entry first; appc skips it too.
            return Ok(Kind::Skip);
        }
        if self.seen.len() >= self.max_entries {
            return Err(Error::TooManyEntries {
                path: aci.to_path_buf(),
                limit: self.max_entries,
            });
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&Sha256::digest(&name));
        if !self.seen.insert(digest) {
            return Err(Error::Duplicate {
                path: aci.to_path_buf(),
                entry: entry_name(),
            });
        }
        if name == b"manifest" {
            if !matches!(kind, EntryType::Regular | EntryType::Continuous) {
                return Err(Error::ManifestNotFile {
                    path: aci.to_path_buf(),
                });
            }
            return Ok(Kind::Manifest);
        }
        if name == b"rootfs" {
            if kind != EntryType::Directory {
                return Err(Error::RootfsNotDir {
                    path: aci.to_path_buf(),
                });
            }
            self.rootfs = true;
            return Ok(Kind::Rootfs {
                path: b".".to_vec(),
                link: None,
            });
        }
        let Some(rel) = name.strip_prefix(b"rootfs/") else {
            return Err(Error::UnexpectedEntry {
                path: aci.to_path_buf(),
                entry: entry_name(),
            });
        };
        match kind {
            EntryType::Regular
            | EntryType::Continuous
            | EntryType::GNUSparse
            | EntryType::Directory
            | EntryType::Symlink
            | EntryType::Link
            | EntryType::Char
            | EntryType::Block
            | EntryType::Fifo => {}
            other => {
                return Err(Error::UnsupportedType {
                    path: aci.to_path_buf(),
                    entry: entry_name(),
                    kind: other.as_byte(),
                })
            }
        }
        let link = if kind == EntryType::Link {
            let target = entry.link_name_bytes().unwrap_or_default();
            let outside = || Error::HardLinkOutside {
                path: aci.to_path_buf(),
                entry: entry_name(),
                target: show(&target),
            };
            let cleaned = clean(&target).map_err(|_| outside())?;
            match cleaned.strip_prefix(b"rootfs/") {
                Some(rel) => Some(rel.to_vec()),
                None => return Err(outside()),
            }
        } else {
            None
        };
        Ok(Kind::Rootfs {
            path: rel.to_vec(),
            link,
        })
    }

    fn read_manifest(
        &mut self,
        aci: &Path,
        entry: &mut Entry<'_>,
        fail: &Failed<'_>,
    ) -> Result<()> {
        let too_large = || Error::ManifestTooLarge {
            path: aci.to_path_buf(),
        };
        // The header's size (PAX-corrected) decides before anything is read.
        if entry.size() > MANIFEST_LIMIT {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .take(MANIFEST_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail.io(e, Some("manifest")))?;
        if bytes.len() as u64 > MANIFEST_LIMIT {
            return Err(too_large());
        }
        let manifest = ImageManifest::from_json(&bytes).map_err(|source| Error::BadManifest {
            path: aci.to_path_buf(),
            source,
        })?;
        self.manifest = Some((manifest, bytes));
        Ok(())
    }

    fn finish(self, aci: &Path) -> Result<(ImageManifest, Vec<u8>)> {
        let Some(manifest) = self.manifest else {
            return Err(Error::NoManifest {
                path: aci.to_path_buf(),
            });
        };
        if !self.rootfs {
            return Err(Error::NoRootfs {
                path: aci.to_path_buf(),
            });
        }
        Ok(manifest)
    }
}

/// Cleans an entry name like Go's `filepath.Clean` (drops empty and `.` components), but
/// refuses what Clean would resolve or keep: `..` components, absolute names. NUL bytes cannot
/// name a file. The result has no leading, trailing or doubled `/`; `.` for an empty name.
fn clean(raw: &[u8]) -> std::result::Result<Vec<u8>, &'static str> {
    if raw.is_empty() {
        return Err("empty name");
    }
    if raw.contains(&0) {
        return Err("NUL byte in name");
    }
    if raw[0] == b'/' {
        return Err("absolute path");
    }
    let mut out = Vec::with_capacity(raw.len());
    for component in raw.split(|b| *b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err("`..` component"),
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    if out.is_empty() {
        out.push(b'.');
    }
    Ok(out)
}

#[cfg(test)]
#[path = "aci_tests.rs"]
mod tests;
