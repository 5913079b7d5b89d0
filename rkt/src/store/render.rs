//! Rendering: an image and its dependencies into one root filesystem, appc's way.
//!
//! The dependency list is flattened as rkt's `acirenderer` did (`createDepList`): the image,
//! then each image's dependencies inserted right after it, so `A -> [B, C], C -> [D]` gives
//! A, C, D, B. Layers are applied in that order and the **first writer wins**: a path that
//! already exists, or that lies under a path claimed by a non-directory, is skipped. This is
//! the same result as the spec's bottom-up "later layers overwrite" order, without ever
//! writing through a symlink a lower layer left behind.
//!
//! `pathWhitelist`: an image's own list removes its non-directories that are not listed; for
//! a dependency, the list of its root-most ancestor that has one filters every entry,
//! directories included (appc-spec.md §1.5, CODE).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::index;
use super::key::ImageKey;
use super::lock::{self, Mode};
use super::parallel::{Caps, Pool, Route};
use super::{extract, Error, Result};
use crate::appc::ImageManifest;
use crate::image::aci::AciReader;
use crate::paths;

/// Deeper or longer dependency lists than this are refused (a loop, or a hostile manifest).
const MAX_LAYERS: usize = 256;
/// Entries per image: real root filesystems have tens of thousands; a million empty entries
/// is an attack on the inode table.
const MAX_ENTRIES: u64 = 500_000;

/// Which entries of one layer to write.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// Only these absolute paths, of any type (an ancestor's whitelist).
    only: Option<Rc<HashSet<String>>>,
    /// Only these absolute paths among non-directories (the image's own whitelist).
    own: Option<Rc<HashSet<String>>>,
    /// Skip paths already present in the tree (every layer but the first).
    first_writer_wins: bool,
}

impl Filter {
    pub(crate) fn none() -> Filter {
        Filter::default()
    }
}

/// One image of a flattened dependency list.
#[derive(Debug)]
pub(crate) struct Layer {
    pub(crate) key: ImageKey,
    filter: Filter,
    blob: PathBuf,
    lock: PathBuf,
}

/// What streaming one archive gave.
pub(crate) struct Walked {
    pub(crate) key: ImageKey,
    pub(crate) manifest: ImageManifest,
    pub(crate) manifest_bytes: Vec<u8>,
    /// Bytes of the uncompressed tar.
    pub(crate) size: u64,
    /// Bytes of file data written.
    pub(crate) tree_size: u64,
}

fn whitelist(manifest: &ImageManifest) -> Option<Rc<HashSet<String>>> {
    (!manifest.path_whitelist.is_empty())
        .then(|| Rc::new(manifest.path_whitelist.iter().cloned().collect()))
}

/// The flattened dependency list of `key` (itself first), each dependency resolved in the
/// store. A missing dependency is an error naming it.
pub(crate) fn plan(
    data_dir: &Path,
    key: &ImageKey,
    manifest: &ImageManifest,
) -> Result<Vec<Layer>> {
    struct Item {
        key: ImageKey,
        manifest: ImageManifest,
        /// The whitelist of the root-most ancestor that has one.
        inherited: Option<Rc<HashSet<String>>>,
        filter: Filter,
    }
    let records = if manifest.dependencies.is_empty() {
        Vec::new()
    } else {
        index::list(data_dir)?
    };
    let own = whitelist(manifest);
    let mut items = vec![Item {
        key: key.clone(),
        manifest: manifest.clone(),
        inherited: None,
        filter: Filter {
            own,
            ..Filter::default()
        },
    }];
    let mut i = 0;
    while i < items.len() {
        let for_children = items[i]
            .inherited
            .clone()
            .or_else(|| whitelist(&items[i].manifest));
        let deps = items[i].manifest.dependencies.clone();
        let parent = items[i].manifest.name.as_str().to_string();
        for dep in deps {
            if items.len() >= MAX_LAYERS {
                return Err(Error::DependencyLoop { image: parent });
            }
            let dep_key = resolve_dependency(data_dir, &records, &parent, &dep)?;
            let dep_manifest = read_manifest(data_dir, &dep_key)?;
            let filter = match &for_children {
                Some(list) => Filter {
                    only: Some(list.clone()),
                    own: None,
                    first_writer_wins: true,
                },
                None => Filter {
                    only: None,
                    own: whitelist(&dep_manifest),
                    first_writer_wins: true,
                },
            };
            items.insert(
                i + 1,
                Item {
                    key: dep_key,
                    manifest: dep_manifest,
                    inherited: for_children.clone(),
                    filter,
                },
            );
        }
        i += 1;
    }
    Ok(items
        .into_iter()
        .map(|it| Layer {
            blob: paths::cas_blob(data_dir, it.key.as_str()),
            lock: paths::image_lock(data_dir, it.key.as_str()),
            key: it.key,
            filter: it.filter,
        })
        .collect())
}

fn resolve_dependency(
    data_dir: &Path,
    records: &[index::Record],
    parent: &str,
    dep: &crate::appc::Dependency,
) -> Result<ImageKey> {
    let name = dep.image_name.as_str().to_string();
    let labels: Vec<(String, String)> = dep
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let missing = |source: Error| Error::MissingDependency {
        image: parent.to_string(),
        dependency: describe(&name, &labels),
        source: Box::new(source),
    };
    let Some(id) = dep.image_id.as_ref() else {
        return index::find_by_name(records, &name, &labels).map_err(missing);
    };
    // An imageID pins the dependency: that image, whatever else carries the name.
    let wanted = ImageKey::from_id(id.as_str()).ok_or_else(|| Error::BadImage {
        input: id.as_str().to_string(),
        reason: "dependency imageID is not a sha512 ID".into(),
    })?;
    if index::read(data_dir, &wanted)?.is_some() {
        return Ok(wanted);
    }
    match index::find_by_name(records, &name, &labels) {
        Ok(found) => Err(Error::DependencyMismatch {
            dependency: describe(&name, &labels),
            expected: wanted.to_string(),
            actual: found.to_string(),
        }),
        Err(e) => Err(missing(e)),
    }
}

fn describe(name: &str, labels: &[(String, String)]) -> String {
    let mut s = name.to_string();
    for (k, v) in labels {
        s.push_str(&format!(",{k}={v}"));
    }
    s
}

/// The cached manifest of an image in the store.
pub(crate) fn read_manifest(data_dir: &Path, key: &ImageKey) -> Result<ImageManifest> {
    let path = paths::cas_manifest(data_dir, key.as_str());
    let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
    ImageManifest::from_json(&bytes).map_err(|e| Error::Corrupt {
        path,
        reason: e.to_string(),
    })
}

/// Whether a first-writer-wins layer may write `rel`: nothing is at `rel` yet, and no
/// ancestor of it is a non-directory. Each prefix is checked without following symlinks, and
/// the walk stops at the first non-directory, so a symlink left by an upper layer is never
/// followed.
fn unclaimed(root: &Path, rel: &Path) -> bool {
    let mut path = root.to_path_buf();
    let count = rel.components().count();
    for (i, comp) in rel.components().enumerate() {
        path.push(comp);
        match std::fs::symlink_metadata(&path) {
            Err(_) => return true,
            Ok(_) if i + 1 == count => return false,
            Ok(meta) if !meta.is_dir() => return false,
            Ok(_) => {}
        }
    }
    // `rel` is the root itself: it always exists.
    false
}

fn allowed(filter: &Filter, root: &Path, rel: &Path, is_dir: bool) -> bool {
    // The reader calls the rootfs directory itself `.`.
    let rel: PathBuf = rel
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let rel = rel.as_path();
    let abs = format!("/{}", rel.display());
    if let Some(only) = &filter.only {
        if !only.contains(&abs) {
            return false;
        }
    }
    if let Some(own) = &filter.own {
        if !is_dir && !own.contains(&abs) {
            return false;
        }
    }
    !filter.first_writer_wins || unclaimed(root, rel)
}

/// How the store extracts: as root (the store's owner), owners, setuid bits and device nodes
/// are kept, as rkt did (pods mount trees `nodev`); file data is capped at the free space of
/// the filesystem (a decompression bomb fails before it fills the disk) and entries at a
/// million.
fn extract_options(root: &Path) -> extract::ExtractOptions {
    let root_user = rustix::process::geteuid().is_root();
    let free = rustix::fs::statvfs(root)
        .map(|st| st.f_bavail.saturating_mul(st.f_frsize))
        .unwrap_or(u64::MAX);
    extract::ExtractOptions {
        preserve_owner: root_user,
        device_nodes: if root_user {
            extract::DeviceNodes::Create
        } else {
            extract::DeviceNodes::Skip
        },
        max_bytes: free,
        max_entries: MAX_ENTRIES,
    }
}

/// Streams one archive (`image`, the file errors name): validates it, hashes it into its key
/// and extracts the entries the filter lets through into `root`. With `Threads::Many`, small
/// files are written by worker threads ([`parallel`](super::parallel)); only an empty tree
/// may be extracted so (a first-writer-wins layer looks at what is already there).
pub(crate) fn extract_stream(
    root: &Path,
    image: &Path,
    reader: AciReader,
    filter: Filter,
    threads: Threads,
) -> Result<Walked> {
    let extract_error = |source| Error::Extract {
        path: image.to_path_buf(),
        source,
    };
    let options = extract_options(root);
    let mut extractor = extract::Extractor::new(root, options.clone()).map_err(extract_error)?;
    if threads == Threads::One || filter.first_writer_wins {
        let info = reader.walk(|member, entry| {
            let is_dir = entry.header().entry_type().is_dir();
            if !allowed(&filter, root, member.path, is_dir) {
                return Ok(());
            }
            extractor
                .extract(member.path, member.hard_link, entry)
                .map_err(extract_error)
        })?;
        let stats = extractor.finish().map_err(extract_error)?;
        return walked(root, info, stats.bytes);
    }
    std::thread::scope(|scope| {
        let mut pool = Pool::start(scope, root, image, &options);
        let mut caps = Caps::new(&options);
        let walk = reader.walk(|member, entry| {
            let is_dir = entry.header().entry_type().is_dir();
            if !allowed(&filter, root, member.path, is_dir) {
                return Ok(());
            }
            caps.count(entry.size()).map_err(extract_error)?;
            match pool.route(member.path, entry)? {
                Route::Queued => Ok(()),
                Route::Here => extractor
                    .extract(member.path, member.hard_link, entry)
                    .map_err(extract_error),
            }
        });
        let pooled = pool.finish();
        let (info, pooled) = match (walk, pooled) {
            (Ok(info), Ok(stats)) => (info, stats),
            // The reader only saw that a worker stopped: the worker's error is the cause.
            (Err(e), Err(worker)) if Pool::is_lost(&e) => return Err(worker),
            (Err(e), _) | (Ok(_), Err(e)) => return Err(e),
        };
        // Directory modes and times last, once every file is in.
        let stats = extractor.finish().map_err(extract_error)?;
        walked(root, info, stats.bytes + pooled.bytes)
    })
}

fn walked(root: &Path, info: crate::image::aci::ImageInfo, tree_size: u64) -> Result<Walked> {
    Ok(Walked {
        key: ImageKey::from_id(&info.id.store_key()).ok_or_else(|| Error::Corrupt {
            path: root.to_path_buf(),
            reason: format!("the ACI reader gave a malformed ID {}", info.id),
        })?,
        manifest: info.manifest,
        manifest_bytes: info.manifest_bytes,
        size: info.tar_size,
        tree_size,
    })
}

/// Whether an extraction may use worker threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    One,
    Many,
}

/// Applies `layers` to `root`; with `first_done`, the first layer (the image itself) was
/// already extracted while importing and only its own whitelist remains to apply.
/// Returns the bytes of file data written.
pub(crate) fn apply_layers(root: &Path, layers: &[Layer], first_done: bool) -> Result<u64> {
    let mut bytes = 0;
    for (i, layer) in layers.iter().enumerate() {
        if i == 0 && first_done {
            if let Some(own) = &layer.filter.own {
                prune_non_whitelisted(root, Path::new(""), own)?;
            }
            continue;
        }
        bytes += apply_layer(root, layer)?;
    }
    Ok(bytes)
}

/// Extracts one stored image into `root` through its filter, checking that its blob still
/// hashes to its key. The image's lock is held shared meanwhile, so `rm` waits for us.
fn apply_layer(root: &Path, layer: &Layer) -> Result<u64> {
    let _shared = lock::wait(&layer.lock, Mode::Shared)?;
    let reader = crate::image::aci::open(&layer.blob)?;
    let walked = extract_stream(
        root,
        &layer.blob,
        reader,
        layer.filter.clone(),
        Threads::One,
    )?;
    if walked.key != layer.key {
        return Err(Error::BlobMismatch {
            key: layer.key.clone(),
            actual: walked.key.to_string(),
        });
    }
    Ok(walked.tree_size)
}

/// Removes the non-directories under `root/rel` whose absolute path is not in `own`.
fn prune_non_whitelisted(root: &Path, rel: &Path, own: &HashSet<String>) -> Result<()> {
    let dir = root.join(rel);
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read directory", &dir, e))?;
        let child = rel.join(entry.file_name());
        let ty = entry
            .file_type()
            .map_err(|e| Error::io("stat", &entry.path(), e))?;
        if ty.is_dir() {
            prune_non_whitelisted(root, &child, own)?;
        } else if !own.contains(&format!("/{}", child.display())) {
            std::fs::remove_file(entry.path())
                .map_err(|e| Error::io("remove", &entry.path(), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::index::Record;
    use crate::store::Store;

    /// Stores a manifest and a record for `name`, whose key is derived from the name.
    fn add(dir: &Path, name: &str, deps: &[&str], whitelist: &[&str]) -> ImageKey {
        let key = ImageKey::from_digest(&sha2::Sha512::digest(name.as_bytes()));
        let deps: Vec<String> = deps
            .iter()
            .map(|d| format!(r#"{{"imageName":"{d}"}}"#))
            .collect();
        let whitelist: Vec<String> = whitelist.iter().map(|p| format!("{p:?}")).collect();
        let manifest = format!(
            r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{name}","dependencies":[{}],"pathWhitelist":[{}]}}"#,
            deps.join(","),
            whitelist.join(",")
        );
        let path = paths::cas_manifest(dir, key.as_str());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, manifest).unwrap();
        let record = Record {
            key: key.to_string(),
            name: name.into(),
            labels: vec![],
            import_time: 1,
            last_used: 1,
            latest: false,
            size: 0,
            tree_size: 0,
            tree: String::new(),
        };
        index::write(dir, &record).unwrap();
        key
    }

    fn names(dir: &Path, top: &ImageKey, keys: &[(&str, ImageKey)]) -> Vec<String> {
        let manifest = read_manifest(dir, top).unwrap();
        plan(dir, top, &manifest)
            .unwrap()
            .iter()
            .map(|l| {
                keys.iter()
                    .find(|(_, k)| *k == l.key)
                    .map(|(n, _)| n.to_string())
                    .unwrap()
            })
            .collect()
    }

    use sha2::Digest;

    #[test]
    fn dependencies_flatten_as_acirenderer() {
        let dir = std::env::temp_dir().join(format!("rkt-plan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&dir).unwrap();
        // appc-spec §1.5: A -> [B, C], C -> [D] renders A, C, D, B (first writer wins).
        let d = add(&dir, "d", &[], &[]);
        let b = add(&dir, "b", &[], &[]);
        let c = add(&dir, "c", &["d"], &[]);
        let a = add(&dir, "a", &["b", "c"], &[]);
        let all = [("a", a.clone()), ("b", b), ("c", c), ("d", d)];
        assert_eq!(names(&dir, &a, &all), ["a", "c", "d", "b"]);
        // A -> [B, C], B -> [D], C -> [D]: D is rendered twice, once under each parent.
        let b2 = add(&dir, "b2", &["d"], &[]);
        let a2 = add(&dir, "a2", &["b2", "c"], &["/x"]);
        let all2 = [
            ("a2", a2.clone()),
            ("b2", b2),
            ("c", all[2].1.clone()),
            ("d", all[3].1.clone()),
        ];
        assert_eq!(names(&dir, &a2, &all2), ["a2", "c", "d", "b2", "d"]);
        // The top image's whitelist filters its own non-directories; every dependency is
        // filtered by it, directories included.
        let manifest = read_manifest(&dir, &a2).unwrap();
        let layers = plan(&dir, &a2, &manifest).unwrap();
        assert!(layers[0].filter.own.is_some() && layers[0].filter.only.is_none());
        assert!(layers[1..]
            .iter()
            .all(|l| l.filter.only.is_some() && l.filter.first_writer_wins));
        // A missing dependency names itself.
        let e = add(&dir, "e", &["missing.example/dep"], &[]);
        let manifest = read_manifest(&dir, &e).unwrap();
        let err = plan(&dir, &e, &manifest).unwrap_err().to_string();
        assert!(err.contains("missing.example/dep"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dependency_loops_are_refused() {
        let dir = std::env::temp_dir().join(format!("rkt-loop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&dir).unwrap();
        add(&dir, "p", &["q"], &[]);
        let q = add(&dir, "q", &["p"], &[]);
        let manifest = read_manifest(&dir, &q).unwrap();
        assert!(matches!(
            plan(&dir, &q, &manifest),
            Err(Error::DependencyLoop { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
