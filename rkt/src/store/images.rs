//! Operations on images already in the store: resolve, list, read, export, extract, render,
//! verify and remove.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha512};

use super::import::fsync_parent;
use super::index::{self, Record};
use super::key::ImageKey;
use super::lock::{self, Mode};
use super::render;
use super::tmp::{self, TmpEntry};
use super::tree;
use super::{digest, failpoint, Error, Output, Overwrite, Result, Store};
use crate::paths;
use crate::sys::fs::Durability;

/// What `image verify` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verified {
    /// The tree matches a fresh render of its blobs.
    Intact,
    /// It did not (or was missing), and was replaced by a fresh render.
    Repaired,
    /// The tree matches, but its `hash` file did not (or was missing): rewritten.
    HashRewritten,
}

impl Store {
    /// Every image, in no particular order.
    pub(crate) fn list(&self) -> Result<Vec<Record>> {
        index::list(&self.data_dir)
    }

    /// The one image an argument names (an ID prefix, or a name with labels).
    pub(crate) fn resolve(&self, input: &str) -> Result<ImageKey> {
        index::resolve_one(&index::list(&self.data_dir)?, input)
    }

    pub(crate) fn record(&self, key: &ImageKey) -> Result<Record> {
        index::read(&self.data_dir, key)?.ok_or_else(|| Error::NotFound {
            reason: format!("image {key} is not in the local store (removed meanwhile?)"),
        })
    }

    /// The image's manifest, as found in the image.
    pub(crate) fn manifest_json(&self, key: &ImageKey) -> Result<Vec<u8>> {
        let path = paths::cas_manifest(&self.data_dir, key.as_str());
        std::fs::read(&path).map_err(|e| Error::io("read", &path, e))
    }

    /// The image's manifest, parsed.
    pub(crate) fn manifest(&self, key: &ImageKey) -> Result<crate::appc::ImageManifest> {
        render::read_manifest(&self.data_dir, key)
    }

    /// The rendered root filesystem of an image, for `prepare` and `run` (stage0).
    pub(crate) fn rendered_rootfs(&self, key: &ImageKey) -> Result<PathBuf> {
        let record = self.record(key)?;
        self.touch(key)?;
        Ok(paths::tree_rootfs(&paths::cas_tree(
            &self.data_dir,
            &record.tree,
        )))
    }

    /// Records that the image was used now (what `image gc --grace-period` looks at).
    fn touch(&self, key: &ImageKey) -> Result<()> {
        let _lock = lock::wait(
            &paths::image_lock(&self.data_dir, key.as_str()),
            Mode::Exclusive,
        )?;
        if let Some(mut record) = index::read(&self.data_dir, key)? {
            record.last_used = index::now_ns();
            // Not fsync'd: it is on every `rkt run`'s path (two fsyncs cost more than the
            // rest of stage0), and a lost bump only makes `image gc` see an older use; images
            // of existing pods are kept regardless (`store::Keep`).
            index::write_with(&self.data_dir, &record, Durability::NoFsync)?;
        }
        Ok(())
    }

    /// Writes the image's tar (the one whose hash is its ID) to `out`, checking the hash
    /// before the file appears under its name.
    pub(crate) fn export(&self, key: &ImageKey, out: &Path, overwrite: Overwrite) -> Result<()> {
        self.record(key)?;
        if overwrite == Overwrite::No && std::fs::symlink_metadata(out).is_ok() {
            return Err(Error::OutputExists {
                path: out.to_path_buf(),
            });
        }
        let temp = paths::export_temp(out);
        let result = self.export_to(key, &temp);
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        std::fs::rename(&temp, out).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Error::io("rename", out, e)
        })?;
        self.touch(key)
    }

    fn export_to(&self, key: &ImageKey, temp: &Path) -> Result<()> {
        let _shared = lock::wait(
            &paths::image_lock(&self.data_dir, key.as_str()),
            Mode::Shared,
        )?;
        let blob = paths::cas_blob(&self.data_dir, key.as_str());
        let mut tar = super::blob::open_tar(&blob)?;
        let out = File::create_new(temp).map_err(|e| Error::io("create", temp, e))?;
        let mut out = io::BufWriter::with_capacity(256 << 10, out);
        let mut hasher = Sha512::new();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = match tar.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read", &blob, e)),
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| Error::io("write", temp, e))?;
        }
        let actual = ImageKey::from_digest(&hasher.finalize());
        if &actual != key {
            return Err(Error::BlobMismatch {
                key: key.clone(),
                actual: actual.to_string(),
            });
        }
        let out = out
            .into_inner()
            .map_err(|e| Error::io("write", temp, e.into_error()))?;
        out.sync_all().map_err(|e| Error::io("fsync", temp, e))
    }

    /// Extracts the image alone (no dependencies) into a new directory `dir`.
    pub(crate) fn extract_to(
        &self,
        key: &ImageKey,
        dir: &Path,
        output: Output,
        overwrite: Overwrite,
    ) -> Result<()> {
        self.write_out(key, dir, output, overwrite, false)
    }

    /// Renders the image with its dependencies into a new directory `dir`.
    pub(crate) fn render_to(
        &self,
        key: &ImageKey,
        dir: &Path,
        output: Output,
        overwrite: Overwrite,
    ) -> Result<()> {
        self.write_out(key, dir, output, overwrite, true)
    }

    fn write_out(
        &self,
        key: &ImageKey,
        dir: &Path,
        output: Output,
        overwrite: Overwrite,
        with_deps: bool,
    ) -> Result<()> {
        self.record(key)?;
        if std::fs::symlink_metadata(dir).is_ok() {
            if overwrite == Overwrite::No {
                return Err(Error::OutputExists {
                    path: dir.to_path_buf(),
                });
            }
            tmp::remove_tree(dir)?;
        }
        std::fs::create_dir(dir).map_err(|e| Error::io("create directory", dir, e))?;
        let result = (|| {
            let rootfs = match output {
                Output::RootfsOnly => dir.to_path_buf(),
                Output::Full => {
                    let manifest = paths::aci_manifest(dir);
                    std::fs::write(&manifest, self.manifest_json(key)?)
                        .map_err(|e| Error::io("write", &manifest, e))?;
                    let rootfs = paths::tree_rootfs(dir);
                    std::fs::create_dir(&rootfs)
                        .map_err(|e| Error::io("create directory", &rootfs, e))?;
                    rootfs
                }
            };
            self.render_rootfs(key, &rootfs, with_deps).map(|_| ())
        })();
        if result.is_err() {
            let _ = tmp::remove_tree(dir);
        }
        result?;
        self.touch(key)
    }

    /// Renders the image (and, `with_deps`, its dependencies) into the existing directory
    /// `rootfs`, checking every blob against its key. Returns the flattened image keys.
    fn render_rootfs(&self, key: &ImageKey, rootfs: &Path, with_deps: bool) -> Result<u64> {
        let manifest = render::read_manifest(&self.data_dir, key)?;
        let mut layers = render::plan(&self.data_dir, key, &manifest)?;
        if !with_deps {
            layers.truncate(1);
        }
        render::apply_layers(rootfs, &layers, false)
    }

    /// Checks the image's rendered tree against a fresh render of its blobs (the blobs are
    /// checked against their keys on the way), and replaces the tree if they differ.
    pub(crate) fn verify(&self, key: &ImageKey) -> Result<Verified> {
        let record = self.record(key)?;
        let fresh = TmpEntry::create(&self.data_dir)?;
        let rootfs = paths::tree_rootfs(fresh.path());
        std::fs::create_dir(&rootfs).map_err(|e| Error::io("create directory", &rootfs, e))?;
        self.render_rootfs(key, &rootfs, true)?;

        let tree_dir = paths::cas_tree(&self.data_dir, &record.tree);
        let verified = {
            // Only the tree's lock is held here: an import holds the image's lock while it
            // waits for the tree's, so taking the image's under the tree's would deadlock.
            let _tree_lock = lock::wait(
                &paths::tree_lock(&self.data_dir, &record.tree),
                Mode::Exclusive,
            )?;
            let expected = digest::tree(&rootfs)?;
            let intact = paths::tree_rendered(&tree_dir).exists()
                && digest::tree(&paths::tree_rootfs(&tree_dir))?.digest == expected.digest;
            if intact && tree::hash_matches(&tree_dir, &expected) {
                Verified::Intact
            } else if intact {
                // Only the `hash` file is wrong (or missing: a tree made before rkt wrote
                // one): rewrite it; the tree itself, which running pods use, stays.
                tree::write_hash(&tree_dir, &expected)?;
                Verified::HashRewritten
            } else {
                let manifest = paths::cas_manifest(&self.data_dir, key.as_str());
                let bytes =
                    std::fs::read(&manifest).map_err(|e| Error::io("read", &manifest, e))?;
                tree::write_files(fresh.path(), key, &bytes)?;
                tree::seal(fresh.path())?;
                self.replace_tree(&tree_dir, fresh.path())?;
                Verified::Repaired
            }
        };
        self.touch(key)?;
        Ok(verified)
    }

    /// Puts `fresh` in place of the tree at `tree_dir` (held locked by the caller): unmark the
    /// old one first, so that no crash ever leaves a marked tree that is not whole.
    fn replace_tree(&self, tree_dir: &Path, fresh: &Path) -> Result<()> {
        let marker = paths::tree_rendered(tree_dir);
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(|e| Error::io("remove", &marker, e))?;
            fsync_parent(&marker)?;
        }
        if std::fs::symlink_metadata(tree_dir).is_ok() {
            let trash = TmpEntry::create(&self.data_dir)?;
            let target = paths::tmp_trash(trash.path());
            std::fs::rename(tree_dir, &target).map_err(|e| Error::io("rename", tree_dir, e))?;
        }
        std::fs::rename(fresh, tree_dir).map_err(|e| Error::io("rename", tree_dir, e))?;
        fsync_parent(tree_dir)?;
        crate::sys::fs::write_atomic(&marker, b"", Durability::Fsync)
            .map_err(|e| Error::io("write", &marker, e))
    }

    /// Removes an image: its record first (from then on it does not exist), then its blob,
    /// manifest and remote records, and its tree unless someone is using it (gc takes it
    /// later). Waits for an import of the same image to commit first.
    /// Leaves the image's tree when `keep` names it: a pod that exists still runs from it
    /// (`run-prepared` after `image rm`); `image gc` takes it once no pod does.
    pub(crate) fn remove_keeping(&self, key: &ImageKey, keep: &super::Keep) -> Result<()> {
        let dir = &self.data_dir;
        let _lock = lock::wait(&paths::image_lock(dir, key.as_str()), Mode::Exclusive)?;
        let record = self.record(key)?;
        index::remove(dir, key)?;
        failpoint::hit("rm-unindexed");
        self.remove_files(key)?;
        if keep.trees.contains(&record.tree) {
            return Ok(());
        }
        if let Some(_tree_lock) =
            lock::try_take(&paths::tree_lock(dir, &record.tree), Mode::Exclusive)?
        {
            self.remove_tree(&record.tree)?;
        }
        Ok(())
    }

    /// The rendered tree `tree` of a prepared pod (what it records, whatever became of its
    /// image), and a use of the image when it is still there. None: the tree is gone.
    pub(crate) fn pod_tree_rootfs(&self, image: &str, tree: &str) -> Option<PathBuf> {
        if !super::key::is_tree_id(tree) {
            return None;
        }
        let rootfs = paths::tree_rootfs(&paths::cas_tree(&self.data_dir, tree));
        if !paths::tree_rendered(&paths::cas_tree(&self.data_dir, tree)).exists() {
            return None;
        }
        if let Ok(key) = self.resolve(image) {
            // Only what image gc looks at; a failure to record it changes nothing else.
            let _ = self.touch(&key);
        }
        Some(rootfs)
    }

    /// Removes the blob and manifest of an image that has no record (caller holds its lock).
    pub(crate) fn remove_files(&self, key: &ImageKey) -> Result<()> {
        let blob = paths::cas_blob(&self.data_dir, key.as_str());
        let manifest = paths::cas_manifest(&self.data_dir, key.as_str());
        tmp::remove_tree(&blob)?;
        tmp::remove_tree(&manifest)?;
        super::remote::remove_for(&self.data_dir, key)
    }

    /// Removes a tree (caller holds its lock): unmark, then delete.
    pub(crate) fn remove_tree(&self, tree: &str) -> Result<()> {
        let tree_dir = paths::cas_tree(&self.data_dir, tree);
        let marker = paths::tree_rendered(&tree_dir);
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(|e| Error::io("remove", &marker, e))?;
            fsync_parent(&marker)?;
        }
        tmp::remove_tree(&tree_dir)
    }
}
