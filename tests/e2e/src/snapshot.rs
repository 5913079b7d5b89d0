//! A store snapshot: every path under a directory with its type, mode, owner, size, link
//! target and content hash, to prove that a failed command changed nothing.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha512};

/// Path (relative) -> description.
pub type Snapshot = BTreeMap<String, String>;

pub fn take(root: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

fn walk(root: &Path, path: &Path, out: &mut Snapshot) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    let rel = path.strip_prefix(root).unwrap().display().to_string();
    let ty = meta.file_type();
    let desc = if ty.is_dir() {
        format!("dir {:o} {}:{}", meta.mode(), meta.uid(), meta.gid())
    } else if ty.is_symlink() {
        format!("link -> {}", std::fs::read_link(path).unwrap().display())
    } else if ty.is_file() {
        let bytes = std::fs::read(path).unwrap();
        let d = Sha512::digest(&bytes);
        format!(
            "file {:o} {}:{} {} {:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            meta.mode(),
            meta.uid(),
            meta.gid(),
            meta.len(),
            d[0],
            d[1],
            d[2],
            d[3],
            d[4],
            d[5],
            d[6],
            d[7]
        )
    } else {
        format!("special {:o} {}", meta.mode(), meta.rdev())
    };
    out.insert(rel, desc);
    if ty.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            walk(root, &entry.unwrap().path(), out);
        }
    }
}

/// Panics with the differences if two snapshots differ.
#[track_caller]
pub fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    if before == after {
        return;
    }
    let mut diff = String::new();
    for (k, v) in before {
        match after.get(k) {
            None => diff.push_str(&format!("- {k}: {v}\n")),
            Some(w) if w != v => diff.push_str(&format!("~ {k}: {v} -> {w}\n")),
            _ => {}
        }
    }
    for (k, v) in after {
        if !before.contains_key(k) {
            diff.push_str(&format!("+ {k}: {v}\n"));
        }
    }
    panic!("{what}: the store changed:\n{diff}");
}
