//! App Container Images as files: reading an ACI from a file or stream ([`aci`]) and building
//! one from a directory ([`build`]).
//!
//! This module owns the ACI container format: compression sniffing and decoding, the streaming
//! image ID (SHA-512 of the uncompressed tar), and the layout rules (`manifest` and `rootfs`
//! only, no duplicates, no escaping names). It does not extract files and knows nothing of the
//! store: extraction is the caller's, through the entry walker of [`aci::AciReader::walk`].
//! Manifest schema validation is `appc`'s.

pub(crate) mod aci;
pub(crate) mod build;
mod error;
mod stream;

#[cfg(test)]
mod testutil;

use std::fmt;

pub(crate) use error::Error;

/// An image ID: the SHA-512 of the image's uncompressed tar, kept in full.
///
/// rkt shows it in three lengths: [`ImageId::store_key`] (`sha512-` + 64 hex, the store key and
/// what `fetch --full` prints), [`ImageId::short`] (`sha512-` + 32 hex, appc's ShortHash) and the
/// full form that `Display` gives (`sha512-` + 128 hex, what appc dependency `imageID`s hold).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ImageId {
    /// 128 lowercase hex digits.
    hex: String,
}

impl ImageId {
    pub(crate) fn from_digest(digest: &[u8]) -> ImageId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(digest.len() * 2);
        for b in digest {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        ImageId { hex }
    }

    /// `sha512-` + the first 64 hex digits: rkt's store key, printed by `fetch --full`.
    pub(crate) fn store_key(&self) -> String {
        format!("sha512-{}", &self.hex[..self.hex.len().min(64)])
    }

    /// `sha512-` + the first 32 hex digits: appc's ShortHash, printed by `fetch`.
    #[cfg(test)]
    pub(crate) fn short(&self) -> String {
        format!("sha512-{}", &self.hex[..self.hex.len().min(32)])
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha512-{}", self.hex)
    }
}

/// How an ACI file is compressed. The image ID does not depend on it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Compression {
    /// A plain tar.
    None,
    Gzip,
    Bzip2,
    Xz,
}

impl Compression {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }
}
