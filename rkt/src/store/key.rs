//! Image keys (`sha512-<64hex>`), tree IDs, and what a user may type to name an image: an ID
//! prefix (at least `sha512-` plus 2 hex digits) or `name[:version][,label=value...]`.
//! Pure: no I/O.

use std::fmt;

use sha2::{Digest, Sha512};

use super::{Error, Result};

const PREFIX: &str = "sha512-";
/// Hex digits of the sha512 kept in a store key (rkt's `lenKey`: half the digest).
const KEY_HEX: usize = 64;
/// The shortest ID prefix a user may give (rkt's `minlenKey`).
const MIN_PREFIX_HEX: usize = 2;

/// A store key: `sha512-` and the first 64 hex digits of the image's tar hash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ImageKey(String);

impl ImageKey {
    /// The key of an image whose full ID (`sha512-<128hex>` or already a key) is `id`.
    pub(crate) fn from_id(id: &str) -> Option<ImageKey> {
        let hex = id.strip_prefix(PREFIX)?;
        if hex.len() < KEY_HEX || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(ImageKey(format!(
            "{PREFIX}{}",
            hex[..KEY_HEX].to_ascii_lowercase()
        )))
    }

    /// The key of a sha512 digest.
    pub(crate) fn from_digest(digest: &[u8]) -> ImageKey {
        let mut s = String::with_capacity(PREFIX.len() + KEY_HEX);
        s.push_str(PREFIX);
        s.push_str(&hex(digest)[..KEY_HEX]);
        ImageKey(s)
    }

    /// A stored file name that is a key, or nothing (temporary files and the like).
    pub(crate) fn from_file_name(name: &str) -> Option<ImageKey> {
        let key = ImageKey::from_id(name)?;
        (key.0 == name).then_some(key)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// appc's short form, `sha512-` plus 32 hex digits, as `rkt fetch` prints it.
    pub(crate) fn short(&self) -> &str {
        &self.0[..PREFIX.len() + 32]
    }

    /// `sha512-` plus 12 hex digits, as `rkt image list` prints it without `--full`.
    pub(crate) fn list_form(&self) -> &str {
        &self.0[..PREFIX.len() + 12]
    }
}

impl fmt::Display for ImageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The rendered-tree ID of an image and its flattened dependencies (rkt treestore `GetID`):
/// `deps-` and the store-key form of the sha512 of the keys joined by commas.
pub(crate) fn tree_id(keys: &[ImageKey]) -> String {
    let joined: Vec<&str> = keys.iter().map(ImageKey::as_str).collect();
    let digest = Sha512::digest(joined.join(",").as_bytes());
    format!("deps-{}", ImageKey::from_digest(&digest))
}

/// Whether a directory name under `cas/tree` is a tree ID.
pub(crate) fn is_tree_id(name: &str) -> bool {
    name.strip_prefix("deps-")
        .and_then(ImageKey::from_file_name)
        .is_some()
}

/// What an image argument asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageQuery {
    /// `sha512-...`: a key prefix, lowercase, at most 64 hex digits.
    Id(String),
    /// `name[:version][,label=value...]`.
    Name {
        name: String,
        labels: Vec<(String, String)>,
    },
}

impl ImageQuery {
    /// Parses an image argument as rkt did: anything of the form `<type>-<value>` whose type
    /// is `sha512` is an ID (appc `types.NewHash`); everything else is a name.
    pub(crate) fn parse(input: &str) -> Result<ImageQuery> {
        let bad = |reason: &str| Error::BadImage {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if let Some(hex) = input.strip_prefix(PREFIX) {
            if !hex.contains('-') && !hex.is_empty() {
                if hex.len() < MIN_PREFIX_HEX {
                    return Err(bad("image ID too short"));
                }
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("image ID is not hexadecimal"));
                }
                let keep = hex.len().min(KEY_HEX);
                return Ok(ImageQuery::Id(format!(
                    "{PREFIX}{}",
                    hex[..keep].to_ascii_lowercase()
                )));
            }
        }
        if let Some((typ, value)) = input.split_once('-') {
            if !typ.is_empty()
                && !value.is_empty()
                && !value.contains('-')
                && typ.bytes().all(|b| b.is_ascii_alphanumeric())
                && value.bytes().all(|b| b.is_ascii_hexdigit())
                && value.len() >= 32
            {
                return Err(bad("wrong key prefix (only sha512 IDs are supported)"));
            }
        }
        // appc discovery's NewAppFromString: the version colon must come before any comma.
        let (head, rest) = match input.find(',') {
            Some(i) => (&input[..i], &input[i + 1..]),
            None => (input, ""),
        };
        let (name, version) = match head.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (head, None),
        };
        if rest.contains(':') && version.is_none() && !rest.contains('=') {
            return Err(bad("malformed image name"));
        }
        if !is_ac_identifier(name) {
            return Err(bad("the name is not a valid AC identifier"));
        }
        let mut labels: Vec<(String, String)> = Vec::new();
        if let Some(v) = version {
            if v.is_empty() {
                return Err(bad("empty version"));
            }
            labels.push(("version".to_string(), v.to_string()));
        }
        for pair in rest.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| bad("labels must be label=value"))?;
            if k == "name" || !is_ac_identifier(k) {
                return Err(bad(&format!("invalid label name {k:?}")));
            }
            if labels.iter().any(|(n, _)| n == k) {
                return Err(bad(&format!("label {k} given twice")));
            }
            labels.push((k.to_string(), v.to_string()));
        }
        Ok(ImageQuery::Name {
            name: name.to_string(),
            labels,
        })
    }
}

/// appc's AC Identifier as the reference code checks it: `[a-z0-9-._~/]`, no separator at
/// either end.
fn is_ac_identifier(s: &str) -> bool {
    let sep = |c: char| matches!(c, '-' | '.' | '_' | '~' | '/');
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || sep(c))
        && !s.starts_with(sep)
        && !s.ends_with(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "sha512-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn keys_and_short_forms() {
        let full = format!("{K}{}", "f".repeat(64));
        let key = ImageKey::from_id(&full).unwrap();
        assert_eq!(key.as_str(), K);
        assert_eq!(key.short(), &K[..39]);
        assert_eq!(key.list_form(), "sha512-0123456789ab");
        assert!(ImageKey::from_file_name(K).is_some());
        assert!(ImageKey::from_file_name(&full).is_none());
        assert!(ImageKey::from_file_name(".tmp-x").is_none());
        assert!(ImageKey::from_id("sha512-xyz").is_none());
    }

    #[test]
    fn tree_id_is_rkt_get_id() {
        // rkt: "deps-" + hashToKey(sha512(strings.Join(keys, ",")))
        let key = ImageKey::from_id(K).unwrap();
        let id = tree_id(std::slice::from_ref(&key));
        let digest = Sha512::digest(K.as_bytes());
        assert_eq!(id, format!("deps-sha512-{}", &hex(&digest)[..64]));
        assert!(is_tree_id(&id));
        assert!(!is_tree_id("deps-x"));
    }

    #[test]
    fn id_prefixes() {
        assert_eq!(
            ImageQuery::parse("sha512-AB").unwrap(),
            ImageQuery::Id("sha512-ab".into())
        );
        let long = format!("{K}{}", "0".repeat(64));
        assert_eq!(ImageQuery::parse(&long).unwrap(), ImageQuery::Id(K.into()));
        let e = ImageQuery::parse("sha512-a").unwrap_err().to_string();
        assert!(e.contains("too short"), "{e}");
        let e = ImageQuery::parse("sha256-0123456789abcdef0123456789abcdef")
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong key prefix"), "{e}");
        assert!(ImageQuery::parse("sha512-zz").is_err());
    }

    #[test]
    fn names_versions_and_labels() {
        assert_eq!(
            ImageQuery::parse("example.com/app:1.0,os=linux").unwrap(),
            ImageQuery::Name {
                name: "example.com/app".into(),
                labels: vec![
                    ("version".into(), "1.0".into()),
                    ("os".into(), "linux".into())
                ],
            }
        );
        assert_eq!(
            ImageQuery::parse("busybox").unwrap(),
            ImageQuery::Name {
                name: "busybox".into(),
                labels: vec![]
            }
        );
        for bad in ["", "App", "/app", "a,b", "a,name=x", "a:1,version=2", "a:"] {
            assert!(ImageQuery::parse(bad).is_err(), "{bad}");
        }
    }
}
