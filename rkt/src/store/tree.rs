//! rkt's tree store files beside a rendered `rootfs` (`store/treestore/tree.go`): `image` (the
//! key the tree was rendered for), `manifest` (its manifest), `hash` (the digest of `rootfs`)
//! and the empty `rendered` marker, written last by the commit once the tree is in place.

use std::path::Path;

use super::digest;
use super::key::ImageKey;
use super::{Error, Result};
use crate::paths;
use crate::sys::fs::Durability;

/// A tree flushed to disk, its `hash` written.
#[derive(Debug)]
pub(crate) struct Sealed {
    /// rkt's `DirSize` of the whole tree, what `image list` adds to the image's size.
    pub(crate) disk_size: u64,
}

/// Writes `image` and `manifest` into `tree` (a temporary entry that becomes the tree).
pub(crate) fn write_files(tree: &Path, key: &ImageKey, manifest_bytes: &[u8]) -> Result<()> {
    let manifest = paths::tree_manifest(tree);
    std::fs::write(&manifest, manifest_bytes).map_err(|e| Error::io("write", &manifest, e))?;
    let image = paths::tree_image(tree);
    std::fs::write(&image, key.as_str()).map_err(|e| Error::io("write", &image, e))
}

/// Flushes everything under `tree` with one syncfs while `rootfs` is hashed (the walk reads
/// what the render just wrote, from the page cache, on another core), then writes `hash`.
pub(crate) fn seal(tree: &Path) -> Result<Sealed> {
    let rootfs = paths::tree_rootfs(tree);
    let (summary, synced) = std::thread::scope(|scope| {
        let walk = scope.spawn(|| digest::tree(&rootfs));
        let synced = crate::sys::fs::syncfs(tree);
        (walk.join(), synced)
    });
    synced.map_err(|e| Error::io("syncfs", tree, e))?;
    let summary = summary.map_err(|_| Error::Corrupt {
        path: rootfs.clone(),
        reason: "the tree digest's walk panicked".to_string(),
    })??;
    let hash = write_hash(tree, &summary)?;

    // rkt measured the tree directory itself and its files too (`rendered` is empty).
    let mut disk_size = summary.disk_size;
    for path in [
        tree.to_path_buf(),
        paths::tree_manifest(tree),
        paths::tree_image(tree),
        hash,
    ] {
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io("stat", &path, e))?;
        disk_size += meta.len();
    }
    Ok(Sealed { disk_size })
}

/// Writes the tree's `hash` file durably; returns its path.
pub(crate) fn write_hash(tree: &Path, summary: &digest::Summary) -> Result<std::path::PathBuf> {
    let hash = paths::tree_hash(tree);
    crate::sys::fs::write_atomic(&hash, summary.hash_text().as_bytes(), Durability::Fsync)
        .map_err(|e| Error::io("write", &hash, e))?;
    Ok(hash)
}

/// Whether the tree's `hash` names the digest `summary` (a missing or unreadable file does
/// not).
pub(crate) fn hash_matches(tree: &Path, summary: &digest::Summary) -> bool {
    std::fs::read_to_string(paths::tree_hash(tree)).is_ok_and(|text| text == summary.hash_text())
}
