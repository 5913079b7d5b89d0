//! A digest of a rendered tree: every entry's path, type, mode, owner, size, link target or
//! device number, and for files mtime and content, walked in sorted order without following
//! symlinks.
//! `image verify` compares a tree's digest with a fresh render's, so the reference is always
//! the content-addressed blob and no tree hash needs to be computed at import time.
//! Extended attributes are not covered.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use sha2::{Digest, Sha512};

use super::{Error, Result};

/// The digest of the tree under `root`.
pub(crate) fn tree(root: &Path) -> Result<Vec<u8>> {
    let mut hasher = Sha512::new();
    let mut buf = vec![0u8; 128 << 10];
    walk(root, Path::new(""), &mut hasher, &mut buf)?;
    Ok(hasher.finalize().to_vec())
}

fn walk(root: &Path, rel: &Path, hasher: &mut Sha512, buf: &mut [u8]) -> Result<()> {
    let path = root.join(rel);
    let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io("stat", &path, e))?;
    let ty = meta.file_type();
    // Fields are length-prefixed or fixed-size, so no two trees share an encoding.
    let name = rel.as_os_str().as_encoded_bytes();
    hasher.update((name.len() as u64).to_le_bytes());
    hasher.update(name);
    for v in [
        u64::from(meta.mode()),
        u64::from(meta.uid()),
        u64::from(meta.gid()),
    ] {
        hasher.update(v.to_le_bytes());
    }
    // A directory's mtime changes whenever a later layer adds to it, and a symlink's is not
    // always settable: only regular files' mtimes are part of what a render reproduces.
    if ty.is_file() {
        hasher.update((meta.mtime() as u64).to_le_bytes());
        hasher.update((meta.mtime_nsec() as u64).to_le_bytes());
    }
    if ty.is_dir() {
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&path)
            .map_err(|e| Error::io("read directory", &path, e))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io("read directory", &path, e))?;
        names.sort();
        hasher.update((names.len() as u64).to_le_bytes());
        for name in names {
            walk(root, &rel.join(name), hasher, buf)?;
        }
    } else if ty.is_symlink() {
        let target = std::fs::read_link(&path).map_err(|e| Error::io("read link", &path, e))?;
        let target = target.as_os_str().as_encoded_bytes();
        hasher.update((target.len() as u64).to_le_bytes());
        hasher.update(target);
    } else if ty.is_file() {
        hasher.update(meta.len().to_le_bytes());
        let mut file: File = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        loop {
            match file.read(buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("read", &path, e)),
            }
        }
    } else {
        hasher.update(meta.rdev().to_le_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_sees_content_mode_and_names() {
        let root = std::env::temp_dir().join(format!("rkt-digest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), b"hello").unwrap();
        std::os::unix::fs::symlink("d/f", root.join("l")).unwrap();
        let a = tree(&root).unwrap();
        assert_eq!(a, tree(&root).unwrap());
        let mtime = std::fs::metadata(root.join("d/f"))
            .unwrap()
            .modified()
            .unwrap();
        std::fs::write(root.join("d/f"), b"hellO").unwrap();
        File::options()
            .write(true)
            .open(root.join("d/f"))
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_ne!(a, tree(&root).unwrap());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
