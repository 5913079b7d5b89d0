//! Locks: parallel imports of one image and of many images all succeed (they wait on locks,
//! never fail on them) while `image rm` and `image gc` run beside them; only rm and gc may
//! lose a race, with a clear message; one consistent store results.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use e2e::aci;
use e2e::store::{assert_ok, stderr, StoreDir};

#[test]
fn parallel_imports_with_rm_and_gc_beside_them() {
    let t = Arc::new(StoreDir::new("parallel"));
    let shared = aci::write(
        &t.join("shared.aci"),
        &aci::gzip(&aci::simple("example.com/shared", "1").finish()),
    );
    let mut files = Vec::new();
    for i in 0..20 {
        let tar = aci::simple(&format!("example.com/app{i}"), "1")
            .file("rootfs/etc/data", 0o644, &aci::noise(256 << 10, i))
            .finish();
        files.push(aci::write(
            &t.join(&format!("app{i}.aci")),
            &aci::gzip(&tar),
        ));
    }
    // Create the store first, so that the racers start from the same state.
    assert_ok(&t.rkt(&["image", "list"]));

    let stop = Arc::new(AtomicBool::new(false));
    let mut disturbers = Vec::new();
    for args in [
        vec!["image", "rm", "example.com/shared"],
        vec!["image", "gc", "--grace-period=0s"],
        vec!["image", "gc"],
    ] {
        let t = Arc::clone(&t);
        let stop = Arc::clone(&stop);
        disturbers.push(std::thread::spawn(move || {
            let mut runs = 0;
            while !stop.load(Ordering::Relaxed) {
                let out = t.rkt(&args);
                match out.status.code() {
                    Some(0) => {}
                    // Losing a race is allowed for rm and gc, with a message saying why.
                    Some(254) => {
                        let err = stderr(&out);
                        assert!(
                            err.starts_with("rkt: ") && err.lines().count() >= 1,
                            "{args:?}: {err}"
                        );
                        assert!(!err.contains("panicked"), "{args:?}: {err}");
                    }
                    other => panic!("{args:?} exited {other:?}: {}", stderr(&out)),
                }
                runs += 1;
            }
            runs
        }));
    }

    let mut children = Vec::new();
    for i in 0..40 {
        let file = if i % 2 == 0 { &shared } else { &files[i / 2] };
        let child = t
            .command(
                &["fetch", "--insecure-options=image", file.to_str().unwrap()],
                &[],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        children.push((file.clone(), child));
    }
    for (file, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "fetch {} failed: {:?}: {}",
            file.display(),
            out.status,
            stderr(&out)
        );
    }
    stop.store(true, Ordering::Relaxed);
    for d in disturbers {
        assert!(d.join().unwrap() > 0);
    }
    assert_ok(&t.rkt(&["image", "gc"]));
    t.assert_consistent();
    // Every image is still importable and the store ends whole.
    for file in files.iter().chain([&shared]) {
        t.fetch(file);
    }
    assert_eq!(t.list_ids().len(), 21);
    t.assert_consistent();
}
