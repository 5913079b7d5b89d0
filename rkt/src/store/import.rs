//! Import: one pass over the archive, then an all-or-nothing commit.
//!
//! The archive is read once: its bytes are copied as they are read into the tmp entry's
//! `blob` (compressed or not: copying 100 MB of gzip is cheaper than writing 370 MB of tar,
//! and export decompresses), while the decompressed tar is hashed into the image ID,
//! validated and extracted into the tmp entry's `rootfs`. Dependencies (already in the store)
//! are then rendered under it, the entry is flushed with one syncfs, and the commit moves the
//! pieces into place under the image's and the tree's locks, the index record last.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::index::{self, Record};
use super::key::{tree_id, ImageKey};
use super::lock::{self, Mode};
use super::render;
use super::tmp::{self, TmpEntry};
use super::tree;
use super::{failpoint, Error, Imported, Result, Store};
use crate::appc::ImageManifest;
use crate::paths;
use crate::sys::fs::Durability;

/// Reads from `inner` and copies every byte read into `copy`, counting them. It is handed to
/// the ACI reader, which owns it, so what the caller needs afterwards is shared.
struct Tee {
    inner: Box<dyn Read + Send>,
    copy: File,
    shared: Arc<TeeState>,
}

#[derive(Default)]
struct TeeState {
    written: AtomicU64,
    error: Mutex<Option<io::Error>>,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(e) = self.copy.write_all(&buf[..n]) {
            // Keep the real cause (ENOSPC on the blob) for the caller; the reader only learns
            // that its input failed.
            let kind = e.kind();
            if let Ok(mut slot) = self.shared.error.lock() {
                *slot = Some(e);
            }
            return Err(io::Error::new(kind, "copy to the store blob failed"));
        }
        self.shared.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The image as streamed into a tmp entry, before the commit.
struct Staged {
    tmp: TmpEntry,
    key: ImageKey,
    manifest: ImageManifest,
    tree: String,
    size: u64,
    tree_size: u64,
}

impl Store {
    /// Imports the ACI at `source`, rendering it (with its dependencies, which must be in
    /// the store) into a tree. Safe to run concurrently with itself, `rm` and `gc`.
    pub(crate) fn import(&self, source: &Path) -> Result<Imported> {
        // A courtesy pass: leftovers of crashed imports go now rather than at the next gc.
        tmp::collect_stale(&self.data_dir, false)?;
        let file = File::open(source).map_err(|e| Error::io("open", source, e))?;
        let source_len = file
            .metadata()
            .map_err(|e| Error::io("stat", source, e))?
            .len();
        let staged = self.stage(Box::new(file), source, Some(source_len))?;
        self.commit(staged)
    }

    /// As [`Store::import`], reading the ACI from a stream (a download as it arrives);
    /// `name` (its URL) is what errors call it.
    pub(crate) fn import_stream<R: Read + Send + 'static>(
        &self,
        source: R,
        name: &Path,
    ) -> Result<Imported> {
        tmp::collect_stale(&self.data_dir, false)?;
        let staged = self.stage(Box::new(source), name, None)?;
        self.commit(staged)
    }

    fn stage(
        &self,
        file: Box<dyn Read + Send>,
        source: &Path,
        source_len: Option<u64>,
    ) -> Result<Staged> {
        let tmp = TmpEntry::create(&self.data_dir)?;
        let blob_path = paths::tmp_blob(tmp.path());
        let blob = File::create_new(&blob_path).map_err(|e| Error::io("create", &blob_path, e))?;
        let rootfs = paths::tree_rootfs(tmp.path());
        std::fs::create_dir(&rootfs).map_err(|e| Error::io("create directory", &rootfs, e))?;

        let shared = Arc::new(TeeState::default());
        let tee = Tee {
            inner: file,
            copy: blob
                .try_clone()
                .map_err(|e| Error::io("open", &blob_path, e))?,
            shared: Arc::clone(&shared),
        };
        // The reader buffers its input in large reads, so the copy is written in large writes.
        let walked = crate::image::aci::from_reader(tee, source)
            .map_err(Error::from)
            .and_then(|reader| {
                render::extract_stream(
                    &rootfs,
                    source,
                    reader,
                    render::Filter::none(),
                    render::Threads::Many,
                )
            });
        if let Some(e) = shared.error.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(Error::io("write", &blob_path, e));
        }
        let walked = walked?;
        // The reader reads to the end and refuses trailing data, so the copy is whole; a
        // file that changed size under us is not.
        let written = shared.written.load(Ordering::Relaxed);
        if source_len.is_some_and(|len| written != len) {
            return Err(Error::Corrupt {
                path: source.to_path_buf(),
                reason: format!(
                    "read {written} bytes of {}: the file changed while importing",
                    source_len.unwrap_or_default()
                ),
            });
        }
        failpoint::hit("import-streamed");

        let key = walked.key;
        let manifest = walked.manifest;
        let layers = render::plan(&self.data_dir, &key, &manifest)?;
        let keys: Vec<ImageKey> = layers.iter().map(|l| l.key.clone()).collect();
        render::apply_layers(&rootfs, &layers, true)?;
        let staged_manifest = paths::tmp_manifest(tmp.path());
        std::fs::write(&staged_manifest, &walked.manifest_bytes)
            .map_err(|e| Error::io("write", &staged_manifest, e))?;
        tree::write_files(tmp.path(), &key, &walked.manifest_bytes)?;

        // One syncfs flushes the blob, the manifest and every file of the tree;
        // the blob's own fsync after it is then nearly free but keeps the rule literal.
        let sealed = tree::seal(tmp.path())?;
        blob.sync_all()
            .map_err(|e| Error::io("fsync", &blob_path, e))?;
        failpoint::hit("import-synced");
        Ok(Staged {
            tmp,
            key,
            manifest,
            tree: tree_id(&keys),
            size: walked.size,
            tree_size: sealed.disk_size,
        })
    }

    fn commit(&self, staged: Staged) -> Result<Imported> {
        let dir = &self.data_dir;
        let key = staged.key.clone();
        let _image_lock = lock::wait(&paths::image_lock(dir, key.as_str()), Mode::Exclusive)?;
        let _tree_lock = lock::wait(&paths::tree_lock(dir, &staged.tree), Mode::Exclusive)?;
        let tree_dir = paths::cas_tree(dir, &staged.tree);
        let blob = paths::cas_blob(dir, key.as_str());

        if let Some(record) = index::read(dir, &key)? {
            if record.tree == staged.tree
                && paths::tree_rendered(&tree_dir).exists()
                && blob.exists()
            {
                // Another import won; ours is dropped with its tmp entry.
                return Ok(Imported { key, existed: true });
            }
        }

        // The blob. A blob already there (a crashed import's) hashes to the same key.
        create_fanout(&blob)?;
        let tmp_blob = paths::tmp_blob(staged.tmp.path());
        std::fs::rename(&tmp_blob, &blob).map_err(|e| Error::io("rename", &blob, e))?;
        fsync_parent(&blob)?;
        failpoint::hit("blob-renamed");

        let manifest = paths::cas_manifest(dir, key.as_str());
        create_fanout(&manifest)?;
        let staged_manifest = paths::tmp_manifest(staged.tmp.path());
        std::fs::rename(&staged_manifest, &manifest)
            .map_err(|e| Error::io("rename", &manifest, e))?;
        fsync_parent(&manifest)?;
        failpoint::hit("manifest-written");

        // The tree: a rendered one already in place is as good as ours; an unmarked one is a
        // crashed render and goes.
        if !paths::tree_rendered(&tree_dir).exists() {
            if tree_dir.exists() {
                let trash = TmpEntry::create(dir)?;
                let target = paths::tmp_trash(trash.path());
                std::fs::rename(&tree_dir, &target)
                    .map_err(|e| Error::io("rename", &tree_dir, e))?;
                drop(trash);
            }
            std::fs::rename(staged.tmp.path(), &tree_dir)
                .map_err(|e| Error::io("rename", &tree_dir, e))?;
            fsync_parent(&tree_dir)?;
            failpoint::hit("tree-renamed");
            let marker = paths::tree_rendered(&tree_dir);
            crate::sys::fs::write_atomic(&marker, b"", Durability::Fsync)
                .map_err(|e| Error::io("write", &marker, e))?;
            failpoint::hit("tree-rendered");
        }

        let now = index::now_ns();
        let record = Record {
            key: key.to_string(),
            name: staged.manifest.name.as_str().to_string(),
            labels: staged
                .manifest
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            import_time: now,
            last_used: now,
            latest: false,
            size: staged.size,
            tree_size: staged.tree_size,
            tree: staged.tree.clone(),
        };
        index::write(dir, &record)?;
        failpoint::hit("index-written");
        Ok(Imported {
            key,
            existed: false,
        })
    }
}

/// Creates the `<2hex>` directory of a blob or manifest, durably.
fn create_fanout(path: &Path) -> Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    match std::fs::create_dir(parent) {
        Ok(()) => fsync_parent(parent),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("create directory", parent, e)),
    }
}

/// Makes a rename or creation in `path`'s directory durable.
pub(crate) fn fsync_parent(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    crate::sys::fs::fsync_dir(parent).map_err(|e| Error::io("fsync", parent, e))
}
