//! Adding a key to the local trust store (`rkt trust`): where it goes, validated, then one
//! atomic write per key.

use std::path::{Path, PathBuf};

use super::key::Key;
use super::{io_err, Error};
use crate::appc::AcIdentifier;
use crate::paths;
use crate::sys::fs::{write_atomic, Durability};

/// What a key is trusted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every image name (`--root`).
    Root,
    /// Names equal to or under this AC Identifier (`--prefix`).
    Prefix(String),
}

impl Scope {
    /// `--prefix` must be an AC Identifier: lower-case, no empty, `.` or `..` component, not
    /// absolute; so its directory is always inside `trustedkeys/prefix.d`.
    pub(crate) fn prefix(prefix: &str) -> Result<Scope, Error> {
        let id = AcIdentifier::parse(prefix).map_err(|e| Error::BadPrefix {
            prefix: prefix.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Scope::Prefix(id.as_str().to_string()))
    }

    /// How rkt's messages name it (`""` for root).
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Scope::Root => "",
            Scope::Prefix(p) => p,
        }
    }
}

/// The file a key with `fingerprint` is stored in under the local config dir.
pub(crate) fn key_path(local_config: &Path, scope: &Scope, fingerprint: &str) -> PathBuf {
    match scope {
        Scope::Root => paths::trusted_root_keys(local_config),
        Scope::Prefix(p) => paths::trusted_prefix_keys(local_config, p),
    }
    .join(fingerprint)
}

/// Stores one key (armored, alone in its file) and returns the file's path.
pub(crate) fn store_key(local_config: &Path, scope: &Scope, key: &Key) -> Result<PathBuf, Error> {
    let path = key_path(local_config, scope, &key.fingerprint());
    let armored = key
        .key
        .to_armored_bytes(Default::default())
        .map_err(|e| Error::BadKey {
            what: key.fingerprint(),
            reason: format!("serialize: {e}"),
        })?;
    let dir = path.parent().unwrap_or(local_config);
    std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    write_atomic(&path, &armored, Durability::Fsync).map_err(io_err("write", &path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_stay_inside_prefix_d() {
        for bad in [
            "a/../../x",
            "/abs",
            "..",
            ".",
            "a//b",
            "a/./b",
            "",
            "A.com",
            "a/",
        ] {
            assert!(
                matches!(Scope::prefix(bad), Err(Error::BadPrefix { .. })),
                "{bad:?}"
            );
        }
        let s = Scope::prefix("example.com/app").unwrap();
        assert_eq!(
            key_path(Path::new("/etc/rkt"), &s, "ab12"),
            Path::new("/etc/rkt/trustedkeys/prefix.d/example.com/app/ab12")
        );
        assert_eq!(
            key_path(Path::new("/etc/rkt"), &Scope::Root, "ab12"),
            Path::new("/etc/rkt/trustedkeys/root.d/ab12")
        );
        assert_eq!(Scope::Root.as_str(), "");
    }
}
