//! Fly mode end to end (`--stage1-from-dir=stage1-fly.aci`, `--stage1-name=...stage1-fly:V`):
//! `rkt` becomes the app (same PID, its exit code and signals), the app runs chrooted in its
//! rootfs in the host's mount namespace (its volume mounts, recursive ones too, are visible on
//! the host while it runs), the pod reads as running while the app lives, and `rm`/`gc` remove
//! every mount. Each scenario runs inside `unshare -m --propagation shared`, so nothing it
//! mounts can leak, and checks that namespace's mount table for leftovers itself.

use std::process::Command;

use e2e::require_root;
use e2e::store::{assert_fails, stderr, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

/// Runs a bash script in a new mount namespace with shared propagation; `$RKT` is rkt with
/// this test's `--dir`, `$T` the test directory.
fn in_namespace(t: &StoreDir, script: &str) -> std::process::Output {
    // No timeout of its own: the store's watchdog bounds the test (and names it).
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "shared", "--"])
        .args(["bash", "-euc", &format!("{}\n{script}", e2e::SH_WAIT_UNTIL)])
        .env(
            "RKT",
            format!("{} --dir={}", e2e::rkt_bin().display(), t.store().display()),
        )
        .env("T", &t.path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "script failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    out
}

#[test]
fn fly_app_is_rkt_and_its_mounts_reach_the_host_until_rm() {
    let t = setup("fly-run");
    // The app's output goes to a file of its own: the script's lines and the app's lines are
    // two processes' writes, whose interleaving on one pipe is up to the scheduler.
    let out = in_namespace(
        &t,
        r#"
        mkdir -p "$T/vol/sub"
        echo data > "$T/vol/file"
        mount -t tmpfs tmpfs "$T/vol/sub"
        echo inner > "$T/vol/sub/inner"
        $RKT run --uuid-file-save="$T/uuid" --volume=v,kind=host,source="$T/vol",recursive=true \
            --mount=volume=v,target=/vol --stage1-from-dir=stage1-fly.aci example.com/probe \
            --exec=/bin/probe -- cat /vol/file + cat /vol/sub/inner + pid + cwd + id + sleep 60 \
            > "$T/app.out" &
        pid=$!
        wait_until 120 test -s "$T/uuid"
        $RKT status --wait-ready=120s --uuid-file="$T/uuid" | grep '^state='
        # The app has printed everything before its sleep.
        wait_until 120 grep -q '^uid=' "$T/app.out"
        echo "rkt-pid=$pid"
        # The app's mounts are in this (the host's) mount namespace.
        echo "mounts-while-running=$(grep -c "$T/data/pods" /proc/self/mountinfo)"
        grep -q " $T/data/pods/run/.*/rootfs/vol/sub " /proc/self/mountinfo && echo recursive-volume-seen
        $RKT stop --uuid-file="$T/uuid"
        rc=0; wait $pid || rc=$?
        echo "rc=$rc"
        $RKT status --uuid-file="$T/uuid" | grep '^state='
        $RKT rm --uuid-file="$T/uuid"
        echo "mounts-after-rm=$(grep -c "$T/data/pods" /proc/self/mountinfo || true)"
        umount "$T/vol/sub"
        "#,
    );
    let s = stdout(&out);
    let app = std::fs::read_to_string(t.join("app.out")).unwrap();
    let line = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} missing:\n{text}\n{}", stderr(&out)))
            .to_string()
    };
    // The app's own output, in its own order.
    assert!(app.starts_with("data\ninner\n"), "{app}");
    // rkt execs into the app: the app's PID is rkt's, its exit status is rkt's.
    assert_eq!(line(&app, "pid="), line(&s, "rkt-pid="), "{app}\n{s}");
    assert_eq!(line(&s, "rc="), "143", "{s}");
    assert!(app.contains("cwd=/\n"), "{app}");
    assert!(app.contains("uid=0 0 0 0\n"), "{app}");
    let states: Vec<&str> = s.lines().filter(|l| l.starts_with("state=")).collect();
    assert_eq!(states, ["state=running", "state=exited"], "{s}");
    assert!(
        line(&s, "mounts-while-running=").parse::<u32>().unwrap() >= 5,
        "{s}"
    );
    assert!(s.contains("recursive-volume-seen"), "{s}");
    assert_eq!(line(&s, "mounts-after-rm="), "0", "{s}");
    assert_eq!(t.pods_in("run"), Vec::<String>::new());
}

#[test]
fn fly_exit_code_gc_and_stage1_name() {
    let t = setup("fly-gc");
    let out = in_namespace(
        &t,
        r#"
        rc=0
        $RKT run --stage1-name=coreos.com/rkt/stage1-fly:1.30.0 example.com/probe \
            --exec=/bin/probe -- write /tmp/x y + exit 7 || rc=$?
        echo "rc=$rc"
        echo "mounts-before-gc=$(grep -c "$T/data/pods" /proc/self/mountinfo || true)"
        $RKT gc --grace-period=0s >/dev/null
        echo "mounts-after-gc=$(grep -c "$T/data/pods" /proc/self/mountinfo || true)"
        "#,
    );
    let s = stdout(&out);
    assert!(s.contains("rc=7\n"), "{s}\n{}", stderr(&out));
    assert!(!s.contains("mounts-before-gc=0\n"), "{s}");
    assert!(s.contains("mounts-after-gc=0\n"), "{s}");
    t.gc_all();
}

#[test]
fn other_stage1_choices_fail_naming_the_built_in_one() {
    let t = setup("fly-refuse");
    for flag in [
        "--stage1-url=https://example.com/stage1.aci",
        "--stage1-path=/usr/lib/rkt/stage1.aci",
        "--stage1-hash=sha512-0123",
        "--stage1-name=coreos.com/rkt/stage1-coreos:1.30.0",
        "--stage1-from-dir=stage1-coreos.aci",
    ] {
        let out = t.rkt(&["run", flag, "example.com/probe"]);
        assert_fails(&out, "stage1 built in");
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
    // Fly runs one app in the host's network namespace.
    let out = t.rkt(&[
        "run",
        "--net=none",
        "--stage1-from-dir=stage1-fly.aci",
        "example.com/probe",
    ]);
    assert_fails(&out, "fly stage1");
    assert_eq!(t.pods_in("run"), Vec::<String>::new());
    t.gc_all_with(&["--expire-prepared=0s"]);
}

/// Fly as rkt 1.30's fly did it from a prepared pod (issue 17 item 10): `prepare
/// --stage1-name=...stage1-fly:V` then `run-prepared` flies; `--interactive` is accepted and
/// ignored; `--dns` and `--hosts-entry` give the app its files.
#[test]
fn prepared_fly_pods_run_prepared_with_their_dns_and_hosts() {
    let t = setup("fly-prepared");
    let out = in_namespace(
        &t,
        r#"
        uuid=$($RKT prepare --quiet --stage1-name=coreos.com/rkt/stage1-fly:1.30.0 \
            --set-env=FLY_ENV=set example.com/probe \
            --exec=/bin/probe -- cat /etc/resolv.conf + cat /etc/hosts + env + exit 3)
        rc=0; $RKT run-prepared --ipc=private "$uuid" 2>/dev/null || rc=$?
        echo "ipc-private-rc=$rc"
        rc=0; $RKT prepare --stage1-name=coreos.com/rkt/stage1-fly:1.30.0 --ipc=private \
            example.com/probe 2>/dev/null || rc=$?
        echo "prepare-ipc-private-rc=$rc"
        rc=0
        $RKT run-prepared --interactive --dns=192.0.2.53 --dns-search=fly.example \
            --hosts-entry=192.0.2.7=seven "$uuid" > "$T/app.out" || rc=$?
        echo "rc=$rc"
        $RKT status "$uuid" | grep '^state='
        rc=0
        $RKT run --interactive --stage1-from-dir=stage1-fly.aci example.com/probe \
            --exec=/bin/probe -- exit 4 || rc=$?
        echo "interactive-rc=$rc"
        rc=0
        $RKT prepare --stage1-from-dir=stage1-coreos.aci example.com/probe 2> "$T/err" || rc=$?
        echo "other-rc=$rc"
        $RKT gc --grace-period=0s >/dev/null
        echo "mounts-after-gc=$(grep -c "$T/data/pods" /proc/self/mountinfo || true)"
        "#,
    );
    let s = stdout(&out);
    let app = std::fs::read_to_string(t.join("app.out")).unwrap();
    assert!(s.contains("rc=3\n"), "{s}\n{}", stderr(&out));
    assert!(s.contains("state=exited\n"), "{s}");
    assert!(
        app.contains("nameserver 192.0.2.53\n") && app.contains("search fly.example\n"),
        "{app}"
    );
    assert!(app.contains("192.0.2.7 seven\n"), "{app}");
    assert!(app.contains("env FLY_ENV=set\n"), "{app}");
    // Fly shares the host's namespaces: a private IPC namespace is refused, not dropped.
    assert!(s.contains("ipc-private-rc=254\n"), "{s}");
    assert!(s.contains("prepare-ipc-private-rc=254\n"), "{s}");
    assert!(s.contains("interactive-rc=4\n"), "{s}");
    assert!(s.contains("other-rc=254\n"), "{s}");
    let err = std::fs::read_to_string(t.join("err")).unwrap();
    assert!(err.contains("stage1 built in"), "{err}");
    assert!(s.contains("mounts-after-gc=0\n"), "{s}");
    t.gc_all();
}

/// A pod whose mounts someone else removed (a reboot, an admin's umount) is still exported,
/// removed and collected (issue 17 item 9). Only fly pods leave mounts on the host after
/// their apps exit; a built-in pod's go with its PID 1 (exported after exit by the export
/// tests).
#[test]
fn a_pod_whose_mounts_were_removed_is_exported_and_removed() {
    let t = setup("fly-unmounted");
    let out = in_namespace(
        &t,
        r#"
        $RKT run --uuid-file-save="$T/uuid" --stage1-from-dir=stage1-fly.aci example.com/probe \
            --exec=/bin/probe -- write /kept ThisIsATest > /dev/null
        echo "mounts-before=$(grep -c "$T/data/pods" /proc/self/mountinfo || true)"
        # The "reboot": every mount of the pod goes, deepest first.
        grep "$T/data/pods" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r umount
        echo "mounts-after-umount=$(grep -c "$T/data/pods" /proc/self/mountinfo || true)"
        $RKT export "$(cat "$T/uuid")" "$T/out.aci"
        $RKT --insecure-options=image run --net=none "$T/out.aci" --exec=/bin/probe -- cat /kept \
            > "$T/reread.out"
        $RKT rm --uuid-file="$T/uuid"
        $RKT gc --grace-period=0s > /dev/null
        "#,
    );
    let s = stdout(&out);
    assert!(!s.contains("mounts-before=0\n"), "{s}");
    assert!(s.contains("mounts-after-umount=0\n"), "{s}");
    assert_eq!(
        std::fs::read_to_string(t.join("reread.out")).unwrap(),
        "ThisIsATest"
    );
    t.gc_all();
}
