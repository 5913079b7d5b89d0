//! security-checklist §5 case 41 (mount race, CVE-2021-30465 class): a volume whose mount
//! target lies inside another, shared, host volume, while a host thread swaps that target
//! between a directory and a symlink pointing outside (`RENAME_EXCHANGE`, so the name is never
//! missing) as stage1-init mounts it. Whatever the interleaving: no mount outside the pod's
//! rootfs (the mount table of a shared-propagation namespace around rkt, the host's, and the
//! sentinel directory stay as they were) and the read-only volume is never writable from the
//! pod.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use e2e::store::{stderr, stdout, StoreDir};
use e2e::{require_root, rkt_bin};
use rustix::fs::{renameat_with, RenameFlags, CWD};

fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The mount points of a mountinfo table.
fn mount_points(mountinfo: &str) -> BTreeSet<String> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

/// Mount points of this (the host's) mount namespace.
fn host_mounts() -> BTreeSet<String> {
    mount_points(&std::fs::read_to_string("/proc/self/mountinfo").unwrap())
}

#[test]
fn case41_mount_target_swapped_during_setup_never_escapes() {
    require_root();
    // 200 in the checklist's case; `RKT_SOAK_MOUNT_RACE` (scripts/soak.sh) takes it further.
    let iterations = e2e::soak_count("MOUNT_RACE", 200);
    let t = StoreDir::new("mount-race");
    t.probe_image();
    let shared = t.join("shared");
    let sub = shared.join("sub");
    let evil = shared.join("evil");
    let sentinel = t.join("sentinel");
    let ro = t.join("ro-volume");
    for d in [&shared, &sub, &sentinel, &ro] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(sentinel.join("keep"), "sentinel\n").unwrap();
    std::fs::write(ro.join("ro-marker"), "ro\n").unwrap();
    let mounts_before = host_mounts();
    let (mut ok_runs, mut refused_runs) = (0, 0);
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    let swaps = Arc::new(AtomicU64::new(0));

    for i in 0..iterations {
        // Both forms of "outside": the sentinel by absolute path, and the climb out.
        let _ = std::fs::remove_file(&evil);
        let target = if i % 2 == 0 {
            sentinel.to_string_lossy().into_owned()
        } else {
            "../../../../../../..".to_string()
        };
        std::os::unix::fs::symlink(&target, &evil).unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let (stop, swaps, shared) = (Arc::clone(&stop), Arc::clone(&swaps), shared.clone());
            std::thread::spawn(move || {
                let (a, b) = (shared.join("sub"), shared.join("evil"));
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    renameat_with(CWD, &a, CWD, &b, RenameFlags::EXCHANGE).expect("exchange");
                    n += 1;
                }
                // An even count leaves `sub` the directory again.
                if n % 2 == 1 {
                    renameat_with(CWD, &a, CWD, &b, RenameFlags::EXCHANGE).expect("exchange");
                    n += 1;
                }
                swaps.fetch_add(n, Ordering::Relaxed);
            })
        };
        // Inside `unshare -m --propagation shared`: were stage1-init's mounts not cut off
        // (slave), any of them, misplaced or not, would show up in this namespace's table.
        let (before, after) = (t.join("mountinfo.before"), t.join("mountinfo.after"));
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "--propagation", "shared", "--", "sh", "-c"]);
        cmd.arg(
            "cat /proc/self/mountinfo > \"$1\"; a=$2; shift 2; \"$@\"; rc=$?; \
             cat /proc/self/mountinfo > \"$a\"; exit $rc",
        );
        cmd.arg("sh").arg(&before).arg(&after);
        cmd.env_remove("RKT_FAILPOINT");
        cmd.arg(rkt_bin())
            .arg(format!("--dir={}", t.store().display()));
        cmd.args([
            "run",
            &format!("--volume=shared,kind=host,source={}", shared.display()),
            &format!(
                "--volume=ro,kind=host,source={},readOnly=true",
                ro.display()
            ),
            "example.com/probe",
            "--mount=volume=shared,target=/data",
            "--mount=volume=ro,target=/data/sub",
            "--",
            "try-write",
            "/data/sub/w",
            "/data/evil/w",
            "/data/sub/ro-marker",
            "/data/evil/ro-marker",
        ]);
        let out = cmd.output().expect("run unshare");
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();

        let (so, se) = (stdout(&out), stderr(&out));
        match out.status.code() {
            // The app ran: wherever the read-only volume showed up, it was read-only.
            Some(0) => ok_runs += 1,
            // stage1-init refused the swapped target (or the app could not start where the
            // mount hid its rootfs): one clean error line.
            Some(254) => {
                assert_eq!(se.lines().count(), 1, "iteration {i}: {se}");
                assert!(se.starts_with("rkt: "), "iteration {i}: {se}");
                refused_runs += 1;
                // The reason, without the per-pod path, for the summary.
                let reason = se.rsplit_once("`: ").map_or(se.as_str(), |(_, r)| r);
                *reasons.entry(reason.trim().to_string()).or_insert(0) += 1;
            }
            other => panic!("iteration {i}: exit {other:?}\nstdout:\n{so}\nstderr:\n{se}"),
        }
        assert_eq!(
            entries(&ro),
            BTreeSet::from(["ro-marker".to_string()]),
            "iteration {i}: the read-only volume was written\n{so}{se}"
        );
        assert_eq!(
            std::fs::read_to_string(ro.join("ro-marker")).unwrap(),
            "ro\n"
        );
        assert_eq!(
            entries(&sentinel),
            BTreeSet::from(["keep".to_string()]),
            "iteration {i}: the sentinel outside the pod changed\n{so}{se}"
        );
        assert_eq!(
            std::fs::read_to_string(sentinel.join("keep")).unwrap(),
            "sentinel\n"
        );
        let table = std::fs::read_to_string(&before).unwrap();
        assert!(
            table.lines().any(|l| l.contains(" shared:")),
            "iteration {i}: the namespace around rkt has no shared mounts:\n{table}"
        );
        assert_eq!(
            mount_points(&std::fs::read_to_string(&after).unwrap()),
            mount_points(&std::fs::read_to_string(&before).unwrap()),
            "iteration {i}: a pod mount propagated out of the pod\n{so}{se}"
        );
        assert!(sub.is_dir() && evil.is_symlink(), "iteration {i}");
        // What the app wrote into the shared (writable) volume is allowed; start clean.
        let _ = std::fs::remove_file(sub.join("w"));
    }
    assert_eq!(
        host_mounts(),
        mounts_before,
        "a pod mount reached the host's mount table"
    );
    assert!(
        swaps.load(Ordering::Relaxed) >= iterations as u64,
        "the swapper did not run"
    );
    eprintln!(
        "case 41: {ok_runs} pods ran, {refused_runs} refused the swapped target ({reasons:?}), \
         {} swaps",
        swaps.load(Ordering::Relaxed)
    );
    assert_eq!(ok_runs + refused_runs, iterations);
    let gc = t.rkt(&["gc", "--grace-period=0s"]);
    assert_eq!(gc.status.code(), Some(0), "{}", stderr(&gc));
}
