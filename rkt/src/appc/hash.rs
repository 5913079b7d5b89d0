//! Image IDs: `sha512-<hex>` (spec types.md "Image ID Type"; Go `schema/types/hash.go`).
//!
//! Go splits on `-` and wants exactly two parts, the type `sha512` and a non-empty value. It does
//! not look at the value, so `sha512-../../etc` passes; because image IDs name files in the store
//! (`cas/blob/sha512/<2hex>/sha512-<hex>`), we also require the value to be lower-case hex of at
//! most 128 digits. Shorter values are prefixes: rkt's store key and pod manifests use 64 digits,
//! and users type shorter unique prefixes.

use std::fmt;

use super::error::{Error, Path};
use super::json::{string, FromJson, Json, ToJson};

/// Hex digits in a full SHA-512.
const FULL_HEX: usize = 128;
/// `sha512-` + 32 hex: Go's `types.ShortHash`.
const SHORT_LEN: usize = 7 + 32;
/// `sha512-` + 64 hex: rkt's store key (`store/imagestore/store.go`).
const KEY_LEN: usize = 7 + 64;

/// A validated `sha512-<hex>` image ID, possibly a prefix of the full hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ImageId(String);

/// The appc name of the type; an image ID is the only hash the spec has.
pub(crate) type Hash = ImageId;

impl ImageId {
    pub(crate) fn parse(s: &str) -> Result<ImageId, Error> {
        ImageId::parse_at(s, &Path::ROOT)
    }

    pub(crate) fn parse_at(s: &str, at: &Path<'_>) -> Result<ImageId, Error> {
        let parts: Vec<&str> = s.split('-').collect();
        let [typ, value] = parts[..] else {
            return Err(Error::invalid(at, s, "badly formatted hash string"));
        };
        match typ {
            "sha512" => {}
            "" => return Err(Error::invalid(at, s, "unexpected empty hash type")),
            other => {
                return Err(Error::invalid(
                    at,
                    s,
                    format!("unrecognized hash type: {other}"),
                ))
            }
        }
        if value.is_empty() {
            return Err(Error::invalid(at, s, "unexpected empty hash value"));
        }
        let hex = value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hex || value.len() > FULL_HEX {
            return Err(Error::invalid(
                at,
                s,
                "hash value must be lower case hexadecimal, at most 128 digits",
            ));
        }
        Ok(ImageId(s.to_owned()))
    }

    /// The ID of a SHA-512 digest.
    pub(crate) fn from_digest(digest: &[u8; 64]) -> ImageId {
        let mut s = String::with_capacity(7 + FULL_HEX);
        s.push_str("sha512-");
        for b in digest {
            s.push_str(&format!("{b:02x}"));
        }
        ImageId(s)
    }

    /// The whole ID, `sha512-<hex>`.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex digits after `sha512-`.
    pub(crate) fn hex(&self) -> &str {
        &self.0[7..]
    }

    /// Whether all 128 digits are present (not a prefix).
    pub(crate) fn is_full(&self) -> bool {
        self.hex().len() == FULL_HEX
    }

    /// `sha512-` + the first 32 hex digits, as Go's `ShortHash` (shorter IDs stay whole).
    pub(crate) fn short(&self) -> &str {
        &self.0[..self.0.len().min(SHORT_LEN)]
    }

    /// `sha512-` + the first 64 hex digits: the key rkt stores and refers to images by.
    pub(crate) fn store_key(&self) -> &str {
        &self.0[..self.0.len().min(KEY_LEN)]
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromJson for ImageId {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<ImageId, Error> {
        ImageId::parse_at(string(v, at)?, at)
    }
}

impl ToJson for ImageId {
    fn to_json(&self) -> Json {
        Json::String(self.0.clone())
    }
}
