//! Imports are all or nothing: a crash at every durable step (a failpoint aborts the
//! process there) or a `kill -9` at any moment leaves either the whole image or nothing
//! visible, a re-import succeeds, and gc leaves a consistent store.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use e2e::aci;
use e2e::store::{assert_ok, stdout, StoreDir};

const IMPORT_POINTS: &[&str] = &[
    "import-streamed",
    "import-synced",
    "blob-renamed",
    "manifest-written",
    "tree-renamed",
    "tree-rendered",
    "index-written",
];

#[test]
fn a_crash_at_every_import_step_is_all_or_nothing() {
    for point in IMPORT_POINTS {
        let t = StoreDir::new("crash");
        let other = t.fetch(&aci::write(
            &t.join("o.aci"),
            &aci::simple("example.com/other", "1").finish(),
        ));
        let file = aci::write(
            &t.join("i.aci"),
            &aci::gzip(&aci::simple("example.com/img", "1").finish()),
        );
        let out = t.rkt_env(
            &[
                "fetch",
                "--insecure-options=image",
                "--full",
                file.to_str().unwrap(),
            ],
            &[("RKT_FAILPOINT", point)],
        );
        assert_eq!(
            out.status.signal(),
            Some(6),
            "{point}: {:?} {}",
            out.status,
            e2e::store::stderr(&out)
        );
        let ids = t.list_ids();
        if *point == "index-written" {
            assert_eq!(ids.len(), 2, "{point}: committed image not listed");
        } else {
            assert_eq!(
                ids,
                vec![other.clone()],
                "{point}: a half import is visible"
            );
        }
        // Whatever is listed is whole.
        for id in &ids {
            let out = t.rkt(&["image", "verify", id]);
            assert!(
                stdout(&out).contains("successfully verified"),
                "{point}: {}",
                stdout(&out)
            );
        }
        // A re-import succeeds and cleans the crashed one's leftovers.
        let id = t.fetch(&file);
        assert!(t.list_ids().contains(&id));
        assert_ok(&t.rkt(&["image", "gc"]));
        t.assert_consistent();
    }
}

#[test]
fn a_crash_in_rm_or_gc_leaves_a_consistent_store() {
    let t = StoreDir::new("crash-rm");
    let file = aci::write(
        &t.join("i.aci"),
        &aci::simple("example.com/img", "1").finish(),
    );
    let id = t.fetch(&file);
    let out = t.rkt_env(&["image", "rm", &id], &[("RKT_FAILPOINT", "rm-unindexed")]);
    assert_eq!(out.status.signal(), Some(6));
    assert!(
        t.list_ids().is_empty(),
        "rm crashed after unindexing: the image is gone"
    );
    std::fs::create_dir_all(t.store().join("cas/tmp/1-stale")).unwrap();
    let out = t.rkt_env(&["image", "gc"], &[("RKT_FAILPOINT", "gc-collected")]);
    assert_eq!(out.status.signal(), Some(6));
    assert_ok(&t.rkt(&["image", "gc"]));
    t.assert_consistent();
    assert_eq!(t.fetch(&file), id);
    t.assert_consistent();
}

#[test]
fn kill_9_during_import_is_all_or_nothing() {
    let t = StoreDir::new("kill9");
    // Big enough that an import takes a while: 16 MiB of incompressible files.
    let mut tar = aci::base(&aci::manifest("example.com/big", "1")).dir("rootfs/data", 0o755);
    for i in 0..256 {
        tar = tar.file(
            &format!("rootfs/data/f{i}"),
            0o644,
            &aci::noise(64 << 10, i),
        );
    }
    let file = aci::write(&t.join("big.aci"), &aci::gzip(&tar.finish()));
    let mut seen_committed = false;
    for delay_ms in [1u64, 10, 30, 60, 100, 150, 250, 400] {
        let mut child = t
            .command(
                &["fetch", "--insecure-options=image", file.to_str().unwrap()],
                &[],
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let ids = t.list_ids();
        assert!(ids.len() <= 1, "{ids:?}");
        if !ids.is_empty() {
            seen_committed = true;
            let out = t.rkt(&["image", "verify", &ids[0]]);
            assert!(
                stdout(&out).contains("successfully verified"),
                "after kill at {delay_ms} ms ({status:?}): {}",
                stdout(&out)
            );
            assert_ok(&t.rkt(&["image", "rm", &ids[0]]));
        }
    }
    let _ = seen_committed;
    let id = t.fetch(&file);
    assert_ok(&t.rkt(&["image", "gc"]));
    assert_eq!(t.list_ids(), vec![id]);
    t.assert_consistent();
}
