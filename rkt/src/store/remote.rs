//! The remote cache: what rkt's `remote` table held, one JSON file per URL under
//! `cas/remote/`, named by the sha512 of the URL. An HTTP fetch records the URL's ETag and
//! cache lifetime here; the records of an image go when the image does.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::key::{hex, ImageKey};
use super::{Error, Result};
use crate::paths;
use crate::sys::fs::Durability;

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
#[cfg_attr(not(test), allow(dead_code))]
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
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn put(data_dir: &Path, remote: &Remote) -> Result<()> {
    let path = paths::cas_remote(data_dir, &file_name(&remote.aci_url));
    let json = serde_json::to_vec(remote).map_err(|e| Error::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    crate::sys::fs::write_atomic(&path, &json, Durability::Fsync)
        .map_err(|e| Error::io("write", &path, e))
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
