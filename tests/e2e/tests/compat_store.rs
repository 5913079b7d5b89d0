//! rkt 1.30 compatibility of the image commands (issue 16 item 4): an image named twice is
//! removed once, and a prepared pod keeps the tree it was prepared with whatever becomes of
//! its image.

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
