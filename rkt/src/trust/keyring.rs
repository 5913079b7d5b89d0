//! The keyring for an image name: every key in `trustedkeys/root.d` plus `prefix.d/<p>` for each
//! path-component prefix `p` of the name, from the system config dir and then the local one.
//! A local file replaces the system file of the same name in the same directory, and an empty
//! local file masks it. A key file holds one key named by its fingerprint: a second key
//! appended to it is never trusted (only the first is read), and a file whose name is not the
//! first key's fingerprint fails the whole verification loudly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::key::{self, Key};
use super::{io_err, Error, TrustDirs};
use crate::paths;

/// A key read from the trust store.
#[derive(Debug, Clone)]
pub(crate) struct TrustedKey {
    pub(crate) key: Key,
}

/// The path-component prefixes of an image name, shortest first:
/// `example.com/app/x` gives `example.com`, `example.com/app`, `example.com/app/x`.
pub(crate) fn name_prefixes(name: &str) -> Vec<String> {
    let parts: Vec<&str> = name.split('/').collect();
    if parts.iter().any(|p| matches!(*p, "" | "." | "..")) {
        // Not an AC Identifier: no prefix directory may be derived from it.
        return Vec::new();
    }
    (1..=parts.len()).map(|n| parts[..n].join("/")).collect()
}

/// The directories of one keyring level, in override order (system first, local last).
fn level_dirs(dirs: &TrustDirs, prefix: Option<&str>) -> [PathBuf; 2] {
    let dir = |config: &Path| match prefix {
        None => paths::trusted_root_keys(config),
        Some(p) => paths::trusted_prefix_keys(config, p),
    };
    [dir(&dirs.system), dir(&dirs.local)]
}

/// The regular files directly inside `dir` (no recursion), by name; a missing dir is empty.
fn key_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("read directory", dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("read directory", dir))?;
        // Followed: an administrator may link a key file into place.
        let meta = std::fs::metadata(entry.path()).map_err(io_err("stat", entry.path()))?;
        if !meta.is_file() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            files.push((name.to_string(), entry.path()));
        }
    }
    Ok(files)
}

/// Reads one trusted key file; `None` for an empty (masking) file.
pub(crate) fn read_key_file(path: &Path, file_name: &str) -> Result<Option<Key>, Error> {
    let bytes = std::fs::read(path).map_err(io_err("read", path))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let what = format!("`{}`", path.display());
    // Only the first key counts: one appended later was never reviewed (checklist case 23).
    let first = key::parse_all(&bytes, &what)?.swap_remove(0);
    let fingerprint = first.fingerprint();
    if !file_name.eq_ignore_ascii_case(&fingerprint) {
        return Err(Error::KeyFileName {
            path: path.to_path_buf(),
            fingerprint,
        });
    }
    Ok(Some(first))
}

/// The keys of one level, after the local dir's files replaced or masked the system's.
fn level(dirs: &TrustDirs, prefix: Option<&str>) -> Result<Vec<TrustedKey>, Error> {
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in level_dirs(dirs, prefix) {
        for (name, path) in key_files(&dir)? {
            files.insert(name, path);
        }
    }
    let mut keys = Vec::new();
    for (name, path) in files {
        if let Some(key) = read_key_file(&path, &name)? {
            keys.push(TrustedKey { key });
        }
    }
    Ok(keys)
}

/// Every key trusted for `name`.
pub(crate) fn for_name(dirs: &TrustDirs, name: &str) -> Result<Vec<TrustedKey>, Error> {
    let mut keys = level(dirs, None)?;
    for prefix in name_prefixes(name) {
        keys.extend(level(dirs, Some(&prefix))?);
    }
    Ok(keys)
}

/// Every prefix directory of the trust store (both config dirs), for the "wrong prefix"
/// diagnosis: the key is trusted somewhere, just not for this name.
pub(crate) fn all_prefixes(dirs: &TrustDirs) -> Result<Vec<String>, Error> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), Error> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("read directory", dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err("read directory", dir))?;
            let kind = entry.file_type().map_err(io_err("stat", entry.path()))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if kind.is_dir() {
                let sub = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                walk(&entry.path(), &sub, out)?;
                out.push(sub);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for config in [&dirs.system, &dirs.local] {
        walk(&paths::trusted_prefixes(config), "", &mut out)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether any prefix directory of `name` (not root.d) holds a key file, in either config
/// dir: rkt's test for "keys already exist" before trusting discovered keys on first use.
/// Empty (masking) files do not count.
pub(crate) fn prefix_has_keys(dirs: &TrustDirs, name: &str) -> Result<bool, Error> {
    for prefix in name_prefixes(name) {
        for dir in level_dirs(dirs, Some(&prefix)) {
            for (_, path) in key_files(&dir)? {
                let meta = std::fs::metadata(&path).map_err(io_err("stat", &path))?;
                if meta.len() > 0 {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// The keys of one prefix directory only (no root keys, no shorter prefixes).
pub(crate) fn for_prefix_only(dirs: &TrustDirs, prefix: &str) -> Result<Vec<TrustedKey>, Error> {
    level(dirs, Some(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_whole_path_components() {
        assert_eq!(
            name_prefixes("example.com/app/x"),
            vec!["example.com", "example.com/app", "example.com/app/x"]
        );
        let apple = name_prefixes("example.com/apple");
        assert!(apple.contains(&"example.com/apple".to_string()));
        assert!(!apple.contains(&"example.com/app".to_string()));
        assert_eq!(name_prefixes("a"), vec!["a"]);
        assert!(name_prefixes("a/../b").is_empty());
        assert!(name_prefixes("/abs").is_empty());
    }

    /// A temp dir removed on drop, even when an assertion fails.
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("rkt-trust-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        Scratch(d)
    }

    #[test]
    fn local_files_replace_and_empty_files_mask_system_files() {
        let guard = scratch("mask");
        let base = &guard.0;
        let dirs = TrustDirs {
            system: base.join("sys"),
            local: base.join("local"),
        };
        let sys_root = paths::trusted_root_keys(&dirs.system);
        let local_root = paths::trusted_root_keys(&dirs.local);
        std::fs::create_dir_all(&sys_root).unwrap();
        std::fs::create_dir_all(&local_root).unwrap();
        // Garbage in the system file would fail loudly; the empty local file masks it.
        std::fs::write(sys_root.join("aaaa"), b"not a key").unwrap();
        assert!(for_name(&dirs, "x").is_err());
        std::fs::write(local_root.join("aaaa"), b"").unwrap();
        assert!(for_name(&dirs, "x").unwrap().is_empty());
        // Directories inside a level are not keys of it.
        std::fs::create_dir_all(paths::trusted_prefix_keys(&dirs.local, "x/y")).unwrap();
        assert!(for_name(&dirs, "x").unwrap().is_empty());
        assert_eq!(all_prefixes(&dirs).unwrap(), vec!["x", "x/y"]);
        // Root keys and empty prefix files are no prefix keys; a key file for a shorter
        // prefix is.
        assert!(!prefix_has_keys(&dirs, "x/y/z").unwrap());
        std::fs::write(
            paths::trusted_prefix_keys(&dirs.local, "x/y").join("bbbb"),
            b"",
        )
        .unwrap();
        assert!(!prefix_has_keys(&dirs, "x/y/z").unwrap());
        let sys_x = paths::trusted_prefix_keys(&dirs.system, "x");
        std::fs::create_dir_all(&sys_x).unwrap();
        std::fs::write(sys_x.join("cccc"), b"k").unwrap();
        assert!(prefix_has_keys(&dirs, "x/y/z").unwrap());
        assert!(!prefix_has_keys(&dirs, "xy").unwrap());
    }
}
