//! A digest of a rendered tree: every entry's path, type, mode, owner, size, link target or
//! device number, and for files mtime and content, walked in sorted order without following
//! symlinks.
//! `image verify` compares a tree's digest with a fresh render's, so the reference is always
//! the content-addressed blob; the digest an import writes to the tree's `hash` file (rkt's
//! tree store layout) is what the tree was when it was made. Extended attributes are not
//! covered.
//! The same walk measures the tree as rkt's `fileutil.DirSize` did (every entry's `lstat`
//! size, directories included, a hard-linked inode once): `image list` shows that size.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use sha2::{Digest, Sha512};

use super::{Error, Result};

/// What one walk of a tree found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) digest: Vec<u8>,
    /// rkt's `DirSize` of the tree.
    pub(crate) disk_size: u64,
}

impl Summary {
    /// The digest as rkt wrote a tree hash: `sha512-<128hex>`.
    pub(crate) fn hash_text(&self) -> String {
        format!("sha512-{}", super::key::hex(&self.digest))
    }
}

/// The digest and size of the tree under `root`.
pub(crate) fn tree(root: &Path) -> Result<Summary> {
    let mut walker = Walker {
        hasher: Sha512::new(),
        buf: vec![0u8; 128 << 10],
        disk_size: 0,
        linked: HashSet::new(),
    };
    walker.walk(root, Path::new(""))?;
    Ok(Summary {
        digest: walker.hasher.finalize().to_vec(),
        disk_size: walker.disk_size,
    })
}

struct Walker {
    hasher: Sha512,
    buf: Vec<u8>,
    disk_size: u64,
    /// (device, inode) of the hard-linked files already counted.
    linked: HashSet<(u64, u64)>,
}

impl Walker {
    fn count(&mut self, meta: &std::fs::Metadata) {
        if meta.is_dir() || meta.nlink() < 2 || self.linked.insert((meta.dev(), meta.ino())) {
            self.disk_size += meta.len();
        }
    }

    fn walk(&mut self, root: &Path, rel: &Path) -> Result<()> {
        let path = root.join(rel);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io("stat", &path, e))?;
        self.count(&meta);
        let ty = meta.file_type();
        // Fields are length-prefixed or fixed-size, so no two trees share an encoding.
        let name = rel.as_os_str().as_encoded_bytes();
        self.hasher.update((name.len() as u64).to_le_bytes());
        self.hasher.update(name);
        for v in [
            u64::from(meta.mode()),
            u64::from(meta.uid()),
            u64::from(meta.gid()),
        ] {
            self.hasher.update(v.to_le_bytes());
        }
        // A directory's mtime changes whenever a later layer adds to it, and a symlink's is not
        // always settable: only regular files' mtimes are part of what a render reproduces.
        if ty.is_file() {
            self.hasher.update((meta.mtime() as u64).to_le_bytes());
            self.hasher.update((meta.mtime_nsec() as u64).to_le_bytes());
        }
        if ty.is_dir() {
            let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&path)
                .map_err(|e| Error::io("read directory", &path, e))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<std::io::Result<_>>()
                .map_err(|e| Error::io("read directory", &path, e))?;
            names.sort();
            self.hasher.update((names.len() as u64).to_le_bytes());
            for name in names {
                self.walk(root, &rel.join(name))?;
            }
        } else if ty.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| Error::io("read link", &path, e))?;
            let target = target.as_os_str().as_encoded_bytes();
            self.hasher.update((target.len() as u64).to_le_bytes());
            self.hasher.update(target);
        } else if ty.is_file() {
            self.hasher.update(meta.len().to_le_bytes());
            let mut file: File = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(|e| Error::io("open", &path, e))?;
            loop {
                match file.read(&mut self.buf) {
                    Ok(0) => break,
                    Ok(n) => self.hasher.update(&self.buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io("read", &path, e)),
                }
            }
        } else {
            self.hasher.update(meta.rdev().to_le_bytes());
        }
        Ok(())
    }
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

    #[test]
    fn size_counts_every_entry_and_a_hard_linked_inode_once() {
        let root = std::env::temp_dir().join(format!("rkt-dirsize-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), vec![7u8; 1000]).unwrap();
        std::fs::hard_link(root.join("d/f"), root.join("g")).unwrap();
        std::os::unix::fs::symlink("d/f", root.join("l")).unwrap();
        let len = |p: &str| std::fs::symlink_metadata(root.join(p)).unwrap().len();
        let expected = len("") + len("d") + 1000 + len("l");
        assert_eq!(tree(&root).unwrap().disk_size, expected);
        assert_eq!(tree(&root).unwrap().hash_text().len(), 135);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
