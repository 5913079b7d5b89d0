//! rkt 1.30 compatibility of the image commands (issue 16 item 4): an image named twice is
//! removed once, a prepared pod keeps the tree it was prepared with whatever becomes of its
//! image, and a tree holds rkt's files, whose size `image list` adds to the image's.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use e2e::require_root;
use e2e::store::{assert_ok, stderr, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

fn trees(t: &StoreDir) -> Vec<String> {
    std::fs::read_dir(t.store().join("cas/tree"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with("deps-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn image_rm_of_one_image_by_name_and_id_removes_it_once() {
    let t = setup("compat-rm-dup");
    let id = t.list_ids().pop().unwrap();
    let out = t.rkt(&["image", "rm", "example.com/probe", &id, &id[..19]]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!("successfully removed aci for image: {id:?}\n")
    );
    assert_eq!(stderr(&out), "rkt: 1 image(s) successfully removed\n");
    assert!(t.list_ids().is_empty());
}

#[test]
fn run_prepared_after_image_rm_runs_from_the_pods_tree_and_image_gc_takes_it_after() {
    let t = setup("compat-rm-prepared");
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe", "--", "exit", "4"]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    let tree_before = trees(&t);
    assert_eq!(tree_before.len(), 1);
    assert_ok(&t.rkt(&["image", "rm", "example.com/probe"]));
    assert!(t.list_ids().is_empty());
    assert_eq!(trees(&t), tree_before, "the prepared pod's tree stays");
    let out = t.rkt(&["run-prepared", "--net=none", &uuid]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    t.gc_all();
    // No image and no pod refers to the tree any more: image gc removes it.
    assert_ok(&t.rkt(&["image", "gc"]));
    assert!(trees(&t).is_empty(), "{:?}", trees(&t));
}

/// rkt's `fileutil.DirSize`: every entry's lstat size, directories included, a hard-linked
/// inode once.
fn dir_size(path: &Path, seen: &mut HashSet<u64>) -> u64 {
    let meta = std::fs::symlink_metadata(path).unwrap();
    let mut size = if meta.is_dir() || meta.nlink() < 2 || seen.insert(meta.ino()) {
        meta.len()
    } else {
        0
    };
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            size += dir_size(&entry.unwrap().path(), seen);
        }
    }
    size
}

#[test]
fn a_tree_holds_rkts_files_and_image_list_adds_its_size() {
    require_root();
    let t = StoreDir::new("compat-tree-files");
    let manifest = e2e::aci::manifest("example.com/size-test", "1");
    // Uncompressed, as rkt's TestImageSize: the blob's size is the file's.
    let tar = e2e::aci::base(&manifest)
        .dir("rootfs/d", 0o755)
        .file("rootfs/d/data", 0o644, &e2e::aci::noise(50_000, 3))
        .hardlink("rootfs/d/again", "rootfs/d/data")
        .symlink("rootfs/link", "d/data")
        .finish();
    let file = e2e::aci::write(&t.join("size.aci"), &tar);
    let id = t.fetch(&file);

    let tree_dir = std::fs::read_dir(t.store().join("cas/tree"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("deps-")
        })
        .expect("a rendered tree");
    let mut names: Vec<String> = std::fs::read_dir(&tree_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["hash", "image", "manifest", "rendered", "rootfs"]);
    assert_eq!(std::fs::read_to_string(tree_dir.join("image")).unwrap(), id);
    assert_eq!(
        std::fs::read(tree_dir.join("manifest")).unwrap(),
        manifest.as_bytes()
    );
    assert_eq!(std::fs::read(tree_dir.join("rendered")).unwrap(), b"");
    let hash = std::fs::read_to_string(tree_dir.join("hash")).unwrap();
    assert!(
        hash.len() == 135
            && hash.starts_with("sha512-")
            && hash[7..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash:?}"
    );

    let expected = tar.len() as u64 + dir_size(&tree_dir, &mut HashSet::new());
    let out = t.rkt(&["image", "list", "--full", "--no-legend", "--fields=id,size"]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        [id.as_str(), &expected.to_string()]
    );

    // `image verify` checks the tree against a fresh render of the blob: a tree that differs
    // is rebuilt; a wrong or missing `hash` (a tree made before rkt wrote one) is rewritten,
    // and the tree, which running pods may use, stays.
    let verify = |what: &str| {
        let out = t.rkt(&["image", "verify", &id]);
        assert_ok(&out);
        assert!(stdout(&out).contains(what), "{}", stdout(&out));
    };
    verify("successfully verified checksum");
    let rootfs_ino = std::fs::metadata(tree_dir.join("rootfs")).unwrap().ino();
    for damage in [Some("sha512-00"), None] {
        match damage {
            Some(text) => std::fs::write(tree_dir.join("hash"), text).unwrap(),
            None => std::fs::remove_file(tree_dir.join("hash")).unwrap(),
        }
        verify("hash file was wrong or missing: rewrote it");
        assert_eq!(
            std::fs::read_to_string(tree_dir.join("hash")).unwrap(),
            hash
        );
        let now = std::fs::metadata(tree_dir.join("rootfs")).unwrap().ino();
        assert_eq!(now, rootfs_ino);
    }
    std::fs::remove_file(tree_dir.join("rootfs/d/again")).unwrap();
    verify("tree cache verification failed");
    assert!(tree_dir.join("rootfs/d/again").exists());
    assert_eq!(
        std::fs::read_to_string(tree_dir.join("hash")).unwrap(),
        hash
    );
    verify("successfully verified checksum");
}
