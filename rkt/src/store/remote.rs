//! The remote cache: what rkt's `remote` table held, one JSON file per URL under
//! `cas/remote/`, named by the sha512 of the URL. An HTTP fetch records the URL's ETag and
//! cache lifetime here; the records of an image go when the image does.
//!
//! A download in progress lives in `cas/tmp/download-<url hash>/` (the body so far and the
//! validators it was served with), flock'ed while a fetch writes it. An interrupted fetch
//! leaves it for the next fetch of the URL to resume; once nobody holds its lock, gc (or an
//! import's courtesy pass) may collect it like any stale tmp entry.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::key::{hex, ImageKey};
use super::lock::{self, Mode};
use super::{Error, Result, Store};
use crate::paths;
use crate::sys::fs::Durability;
use crate::sys::lock::FileLock;

/// One URL's cache record (rkt's `remote` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Remote {
    pub(crate) aci_url: String,
    pub(crate) sig_url: String,
    pub(crate) etag: String,
    pub(crate) blob_key: String,
    /// Seconds, from `Cache-Control: max-age`.
    pub(crate) cache_max_age: u64,
    /// Nanoseconds since the epoch.
    pub(crate) download_time: i64,
}

fn file_name(url: &str) -> String {
    hex(&Sha512::digest(url.as_bytes())[..32])
}

/// The record of `url`, if any.
pub(crate) fn get(data_dir: &Path, url: &str) -> Result<Option<Remote>> {
    let path = paths::cas_remote(data_dir, &file_name(url));
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let remote: Remote = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok((remote.aci_url == url).then_some(remote))
}

/// Records `remote` durably, replacing the URL's previous record.
pub(crate) fn put(data_dir: &Path, remote: &Remote) -> Result<()> {
    let path = paths::cas_remote(data_dir, &file_name(&remote.aci_url));
    let json = serde_json::to_vec(remote).map_err(|e| Error::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    crate::sys::fs::write_atomic(&path, &json, Durability::Fsync)
        .map_err(|e| Error::io("write", &path, e))
}

/// The validators a partial download was served with, to decide whether it can be resumed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartialMeta {
    pub(crate) url: String,
    pub(crate) etag: String,
    pub(crate) last_modified: String,
}

/// A download in progress for one URL, locked for as long as this value lives.
#[derive(Debug)]
pub(crate) struct Download {
    dir: std::path::PathBuf,
    _lock: FileLock,
}

impl Download {
    /// The body received so far.
    pub(crate) fn data_path(&self) -> std::path::PathBuf {
        self.dir.join("data")
    }

    fn meta_path(&self) -> std::path::PathBuf {
        self.dir.join("meta.json")
    }

    /// The validators of the partial body, if a previous fetch left one for this URL.
    pub(crate) fn meta(&self, url: &str) -> Option<PartialMeta> {
        let bytes = std::fs::read(self.meta_path()).ok()?;
        let meta: PartialMeta = serde_json::from_slice(&bytes).ok()?;
        (meta.url == url).then_some(meta)
    }

    /// Records the validators the body being written was served with.
    pub(crate) fn set_meta(&self, meta: &PartialMeta) -> Result<()> {
        let path = self.meta_path();
        let json = serde_json::to_vec(meta).map_err(|e| Error::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        crate::sys::fs::write_atomic(&path, &json, Durability::NoFsync)
            .map_err(|e| Error::io("write", &path, e))
    }

    /// Removes the download (done, or not worth keeping).
    pub(crate) fn remove(self) -> Result<()> {
        super::tmp::remove_tree(&self.dir)
    }
}

impl Store {
    /// The cache record of `url`, if any.
    pub(crate) fn remote(&self, url: &str) -> Result<Option<Remote>> {
        get(&self.data_dir, url)
    }

    /// Records a fetched URL.
    pub(crate) fn put_remote(&self, remote: &Remote) -> Result<()> {
        put(&self.data_dir, remote)
    }

    /// Whether the image `key` (a full store key) is in the store.
    pub(crate) fn has_image(&self, key: &str) -> Result<bool> {
        match ImageKey::from_id(key) {
            Some(k) => Ok(super::index::read(&self.data_dir, &k)?.is_some()),
            None => Ok(false),
        }
    }

    /// Marks an image fetched by name without a version as the name's `latest`, which a later
    /// version-less lookup prefers (rkt's `latest` flag).
    pub(crate) fn mark_latest(&self, key: &ImageKey) -> Result<()> {
        let _image = lock::wait(
            &paths::image_lock(&self.data_dir, key.as_str()),
            Mode::Exclusive,
        )?;
        let Some(mut record) = super::index::read(&self.data_dir, key)? else {
            return Err(Error::NotFound {
                reason: format!("image {key} is not in the local store (removed meanwhile?)"),
            });
        };
        if record.latest {
            return Ok(());
        }
        record.latest = true;
        super::index::write(&self.data_dir, &record)
    }

    /// The image the store picks for `name` and `labels` (rkt's `GetACI`).
    pub(crate) fn find(&self, name: &str, labels: &[(String, String)]) -> Result<ImageKey> {
        super::index::find_by_name(&super::index::list(&self.data_dir)?, name, labels)
    }

    /// The download entry a previous fetch of `url` left, locked; `None` if there is none.
    /// A download of the same URL by another rkt makes this fail rather than interleave.
    pub(crate) fn partial_download(&self, url: &str) -> Result<Option<Download>> {
        self.download_entry(url, false)
    }

    /// A new download entry for `url`, locked.
    pub(crate) fn new_download(&self, url: &str) -> Result<Download> {
        self.download_entry(url, true)?.ok_or_else(|| Error::Busy {
            what: format!("download of {url}"),
        })
    }

    fn download_entry(&self, url: &str, create: bool) -> Result<Option<Download>> {
        let name = format!("download-{}", file_name(url));
        let dir = paths::cas_tmp_entry(&self.data_dir, &name);
        // Created and locked under the store's shared lock, so a collector never sees the
        // entry unlocked (see `tmp`).
        let _shared = lock::wait(&paths::cas_lock(&self.data_dir), Mode::Shared)?;
        if create {
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("create directory", &dir, e)),
            }
        } else if !dir.is_dir() {
            return Ok(None);
        }
        let lock = lock::try_existing(&dir, Mode::Exclusive)?.ok_or_else(|| Error::Busy {
            what: format!("download of {url} (another rkt is fetching it)"),
        })?;
        Ok(Some(Download { dir, _lock: lock }))
    }
}

/// Removes every record that points at `key`.
pub(crate) fn remove_for(data_dir: &Path, key: &ImageKey) -> Result<()> {
    let dir = paths::cas_remotes(data_dir);
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read directory", &dir, e))?;
        let path = entry.path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if let Ok(remote) = serde_json::from_slice::<Remote>(&bytes) {
            if remote.blob_key == key.as_str() {
                std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_round_trip_and_go_with_their_image() {
        let dir = std::env::temp_dir().join(format!("rkt-remote-{}", std::process::id()));
        std::fs::create_dir_all(paths::cas_remotes(&dir)).unwrap();
        let key = ImageKey::from_digest(&[7u8; 64]);
        let r = Remote {
            aci_url: "https://example.com/a.aci".into(),
            sig_url: "https://example.com/a.aci.asc".into(),
            etag: "\"x\"".into(),
            blob_key: key.to_string(),
            cache_max_age: 60,
            download_time: 1,
        };
        put(&dir, &r).unwrap();
        assert_eq!(get(&dir, &r.aci_url).unwrap(), Some(r.clone()));
        assert_eq!(get(&dir, "https://example.com/b.aci").unwrap(), None);
        remove_for(&dir, &key).unwrap();
        assert_eq!(get(&dir, &r.aci_url).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
