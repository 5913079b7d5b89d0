//! `image gc`: remove what no image needs (stale temporary entries, trees and blobs left by
//! crashed imports or by `rm` while a tree was in use), then the images not used within the
//! grace period. gc never waits for an image or tree someone holds: it skips it, says so, and
//! a later gc takes it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use super::index;
use super::key::{is_tree_id, ImageKey};
use super::lock::{self, Mode};
use super::{failpoint, tmp, Error, Result, Store};
use crate::paths;

/// What a gc did; `skipped` and `errors` are reported but do not stop it.
#[derive(Debug, Default)]
pub(crate) struct GcReport {
    pub(crate) stale_tmp: Vec<PathBuf>,
    pub(crate) trees: Vec<String>,
    pub(crate) orphans: Vec<ImageKey>,
    pub(crate) images: Vec<ImageKey>,
    /// Things in use by another rkt, left for a later gc.
    pub(crate) skipped: Vec<Error>,
}

/// Images and trees that gc must keep whatever their age: those of pods that exist (a hook for
/// the pod layer, which computes it; the store knows nothing of pods).
#[derive(Debug, Default)]
pub(crate) struct Keep {
    /// Image keys, `sha512-<64hex>`.
    pub(crate) images: HashSet<String>,
    /// Tree IDs, `deps-sha512-<64hex>`.
    pub(crate) trees: HashSet<String>,
}

impl Store {
    /// Removes what crashed imports left in `cas/tmp`, rendered trees no image owns, and images
    /// unused for `grace`, never removing what `keep` names (what pods use).
    pub(crate) fn gc_keeping(&self, grace: Duration, keep: &Keep) -> Result<GcReport> {
        let dir = &self.data_dir;
        let mut report = GcReport {
            stale_tmp: tmp::collect_stale(dir, true)?,
            ..GcReport::default()
        };
        failpoint::hit("gc-collected");

        // Images unused for the grace period go first, so their trees and blobs go below.
        let cutoff =
            index::now_ns().saturating_sub(i64::try_from(grace.as_nanos()).unwrap_or(i64::MAX));
        let mut records = index::list(dir)?;
        records.sort_by_key(|r| r.last_used);
        for record in records.iter().filter(|r| r.last_used < cutoff) {
            let Some(key) = record.key() else { continue };
            if keep.images.contains(key.as_str()) || keep.trees.contains(&record.tree) {
                continue;
            }
            let lock_path = paths::image_lock(dir, key.as_str());
            let Some(_lock) = lock::try_take(&lock_path, Mode::Exclusive)? else {
                report.skipped.push(Error::Busy {
                    what: format!("image {key}"),
                });
                continue;
            };
            // Re-read under the lock: it may have been used or removed meanwhile.
            match index::read(dir, &key)? {
                Some(r) if r.last_used < cutoff => {
                    index::remove(dir, &key)?;
                    self.remove_files(&key)?;
                    report.images.push(key);
                }
                _ => {}
            }
        }

        self.gc_trees(&mut report, keep)?;
        self.gc_orphan_blobs(&mut report)?;
        Ok(report)
    }

    /// Removes every tree that no record names (its image was removed, or its import
    /// crashed before committing).
    fn gc_trees(&self, report: &mut GcReport, keep: &Keep) -> Result<()> {
        let dir = &self.data_dir;
        let referenced: HashSet<String> = index::list(dir)?.into_iter().map(|r| r.tree).collect();
        let trees = paths::cas_trees(dir);
        let entries =
            std::fs::read_dir(&trees).map_err(|e| Error::io("read directory", &trees, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read directory", &trees, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if referenced.contains(&name) || keep.trees.contains(&name) {
                continue;
            }
            if !is_tree_id(&name) {
                tmp::remove_tree(&entry.path())?;
                continue;
            }
            let Some(_lock) = lock::try_take(&paths::tree_lock(dir, &name), Mode::Exclusive)?
            else {
                report.skipped.push(Error::Busy {
                    what: format!("tree {name}"),
                });
                continue;
            };
            // An import commits a tree and its record under this lock: look again.
            if self.tree_referenced(&name)? {
                continue;
            }
            self.remove_tree(&name)?;
            report.trees.push(name);
        }
        Ok(())
    }

    fn tree_referenced(&self, tree: &str) -> Result<bool> {
        let image = paths::tree_image(&paths::cas_tree(&self.data_dir, tree));
        let Ok(text) = std::fs::read_to_string(&image) else {
            return Ok(false);
        };
        let Some(key) = ImageKey::from_file_name(text.trim()) else {
            return Ok(false);
        };
        Ok(index::read(&self.data_dir, &key)?.is_some_and(|r| r.tree == tree))
    }

    /// Removes blobs and manifests without a record (an import that crashed after moving
    /// them, before committing).
    fn gc_orphan_blobs(&self, report: &mut GcReport) -> Result<()> {
        let dir = &self.data_dir;
        let mut keys: HashSet<ImageKey> = HashSet::new();
        for top in [paths::cas_blobs(dir), paths::cas_manifests(dir)] {
            let fans = std::fs::read_dir(&top).map_err(|e| Error::io("read directory", &top, e))?;
            for fan in fans {
                let fan = fan
                    .map_err(|e| Error::io("read directory", &top, e))?
                    .path();
                let Ok(files) = std::fs::read_dir(&fan) else {
                    continue;
                };
                for file in files.flatten() {
                    // Blobs and manifests arrive by rename from `tmp/`: every name is a key.
                    if let Some(key) = file.file_name().to_str().and_then(ImageKey::from_file_name)
                    {
                        keys.insert(key);
                    }
                }
            }
        }
        for key in keys {
            if index::read(dir, &key)?.is_some() {
                continue;
            }
            let Some(_lock) =
                lock::try_take(&paths::image_lock(dir, key.as_str()), Mode::Exclusive)?
            else {
                report.skipped.push(Error::Busy {
                    what: format!("image {key}"),
                });
                continue;
            };
            if index::read(dir, &key)?.is_some() {
                continue;
            }
            self.remove_files(&key)?;
            report.orphans.push(key);
        }
        Ok(())
    }
}
