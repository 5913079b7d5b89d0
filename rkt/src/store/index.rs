//! The image index: one JSON record per image in `cas/index/<key>`, written atomically. A
//! record exists only for an image whose blob, manifest and rendered tree are all durable, so
//! the index never points at anything missing; files without a record are garbage.
//!
//! One file per image (rather than one index file) lets imports of different images commit
//! without touching each other, under their own image locks.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::key::{ImageKey, ImageQuery};
use super::{Error, Result};
use crate::paths;
use crate::sys::fs::Durability;

/// What the store knows about one image (rkt's `aciinfo` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    pub(crate) key: String,
    pub(crate) name: String,
    /// The manifest's labels, so that name lookups need not parse every manifest.
    pub(crate) labels: Vec<(String, String)>,
    /// Nanoseconds since the epoch.
    pub(crate) import_time: i64,
    /// Nanoseconds since the epoch; bumped whenever the image is read.
    pub(crate) last_used: i64,
    /// Fetched by name without a version (discovery's "latest").
    pub(crate) latest: bool,
    /// Bytes of the image's uncompressed tar (what rkt's `aciinfo.size` counted).
    pub(crate) size: u64,
    /// Bytes of file data in the rendered tree.
    pub(crate) tree_size: u64,
    /// The rendered tree, `deps-sha512-<64hex>`.
    pub(crate) tree: String,
}

impl Record {
    pub(crate) fn key(&self) -> Option<ImageKey> {
        ImageKey::from_file_name(&self.key)
    }

    pub(crate) fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name` or `name:version`, as `image list` shows it.
    pub(crate) fn display_name(&self) -> String {
        match self.label("version") {
            Some(v) => format!("{}:{v}", self.name),
            None => self.name.clone(),
        }
    }

    fn matches(&self, name: &str, labels: &[(String, String)]) -> bool {
        self.name == name
            && labels
                .iter()
                .all(|(k, v)| self.label(k) == Some(v.as_str()))
    }
}

/// Now, in nanoseconds since the epoch.
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn read(data_dir: &Path, key: &ImageKey) -> Result<Option<Record>> {
    let path = paths::cas_index_record(data_dir, key.as_str());
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let record: Record = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if record.key != key.as_str() {
        return Err(Error::Corrupt {
            path,
            reason: format!("record names image {}", record.key),
        });
    }
    Ok(Some(record))
}

/// Every record, in no particular order. Names that are not keys (a writer's temporary file)
/// are skipped, and so is a record removed while we list.
pub(crate) fn list(data_dir: &Path) -> Result<Vec<Record>> {
    let dir = paths::cas_index(data_dir);
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
    let mut records = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read directory", &dir, e))?;
        let Some(key) = entry
            .file_name()
            .to_str()
            .and_then(ImageKey::from_file_name)
        else {
            continue;
        };
        if let Some(record) = read(data_dir, &key)? {
            records.push(record);
        }
    }
    Ok(records)
}

/// Writes a record durably; this is the commit point of an import.
pub(crate) fn write(data_dir: &Path, record: &Record) -> Result<()> {
    write_with(data_dir, record, Durability::Fsync)
}

/// Writes a record, atomically but only as durable as asked (a `last_used` bump need not
/// survive a crash: losing it only makes the image look older to `image gc`).
pub(crate) fn write_with(data_dir: &Path, record: &Record, durability: Durability) -> Result<()> {
    let path = paths::cas_index_record(data_dir, &record.key);
    let json = serde_json::to_vec(record).map_err(|e| Error::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    crate::sys::fs::write_atomic(&path, &json, durability).map_err(|e| Error::io("write", &path, e))
}

/// Removes a record durably; after this the image no longer exists.
pub(crate) fn remove(data_dir: &Path, key: &ImageKey) -> Result<()> {
    let path = paths::cas_index_record(data_dir, key.as_str());
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("remove", &path, e)),
    }
    let dir = paths::cas_index(data_dir);
    crate::sys::fs::fsync_dir(&dir).map_err(|e| Error::io("fsync", &dir, e))
}

/// The one image a query names: a unique ID prefix, or for a name the image rkt's `GetACI`
/// picks (without a version label, one marked latest; then the newest import).
pub(crate) fn resolve_one(records: &[Record], input: &str) -> Result<ImageKey> {
    match ImageQuery::parse(input)? {
        ImageQuery::Id(prefix) => {
            let found: Vec<&Record> = records
                .iter()
                .filter(|r| r.key.starts_with(&prefix))
                .collect();
            match found.as_slice() {
                // rkt 1.30's ErrKeyNotFound text, which scripts match.
                [] => Err(not_found(&format!(
                    "no image IDs found (none starting with {prefix} in the local store)"
                ))),
                [one] => one
                    .key()
                    .ok_or_else(|| not_found(&format!("bad record for {prefix}"))),
                _ => Err(Error::Ambiguous {
                    input: input.to_string(),
                }),
            }
        }
        ImageQuery::Name { name, labels } => find_by_name(records, &name, &labels),
    }
}

/// The image rkt's `GetACI` picks for a name and labels: without a version label, one marked
/// latest; then the newest import.
pub(crate) fn find_by_name(
    records: &[Record],
    name: &str,
    labels: &[(String, String)],
) -> Result<ImageKey> {
    let version_requested = labels.iter().any(|(k, _)| k == "version");
    let mut best: Option<&Record> = None;
    for r in records.iter().filter(|r| r.matches(name, labels)) {
        best = Some(match best {
            None => r,
            Some(cur) if !version_requested && cur.latest != r.latest => {
                if r.latest {
                    r
                } else {
                    cur
                }
            }
            Some(cur) if r.import_time > cur.import_time => r,
            Some(cur) => cur,
        });
    }
    best.and_then(Record::key)
        .ok_or_else(|| not_found(&name_not_found(name, labels)))
}

fn name_not_found(name: &str, labels: &[(String, String)]) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "cannot find image with name {name:?} and labels [{}] in the local store",
        labels.join(",")
    )
}

fn not_found(reason: &str) -> Error {
    Error::NotFound {
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(hex: char, name: &str, version: Option<&str>, latest: bool, t: i64) -> Record {
        let mut labels = vec![];
        if let Some(v) = version {
            labels.push(("version".to_string(), v.to_string()));
        }
        Record {
            key: format!("sha512-{}", hex.to_string().repeat(64)),
            name: name.into(),
            labels,
            import_time: t,
            last_used: t,
            latest,
            size: 0,
            tree_size: 0,
            tree: String::new(),
        }
    }

    #[test]
    fn id_prefix_resolution() {
        let rs = vec![rec('a', "x", None, false, 1), rec('b', "y", None, false, 2)];
        assert_eq!(resolve_one(&rs, "sha512-aa").unwrap().as_str(), rs[0].key);
        assert!(resolve_one(&rs, "sha512-cc").unwrap_err().is_not_found());
        let mut rs2 = rs.clone();
        rs2.push(Record {
            key: format!("sha512-aa{}", "c".repeat(62)),
            ..rs[0].clone()
        });
        assert!(matches!(
            resolve_one(&rs2, "sha512-aa"),
            Err(Error::Ambiguous { .. })
        ));
    }

    #[test]
    fn name_resolution_prefers_latest_then_newest() {
        let rs = vec![
            rec('a', "app", Some("1"), false, 1),
            rec('b', "app", Some("2"), false, 3),
            rec('c', "app", Some("0"), true, 2),
            rec('d', "other", None, false, 9),
        ];
        assert_eq!(resolve_one(&rs, "app").unwrap().as_str(), rs[2].key);
        assert_eq!(resolve_one(&rs, "app:1").unwrap().as_str(), rs[0].key);
        let e = resolve_one(&rs, "app:9").unwrap_err().to_string();
        assert!(e.contains("version=9"), "{e}");
    }

    #[test]
    fn records_round_trip_on_disk() {
        let dir = std::env::temp_dir().join(format!("rkt-index-{}", std::process::id()));
        std::fs::create_dir_all(paths::cas_index(&dir)).unwrap();
        let r = rec('e', "app", Some("1"), false, 5);
        write(&dir, &r).unwrap();
        std::fs::write(paths::cas_index(&dir).join(".tmp-junk"), b"x").unwrap();
        assert_eq!(list(&dir).unwrap(), vec![r.clone()]);
        let key = r.key().unwrap();
        remove(&dir, &key).unwrap();
        assert_eq!(read(&dir, &key).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
