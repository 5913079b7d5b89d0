//! Pod lifecycle end to end: states and locks of a running pod, signals, `rm`, `gc` mark and
//! sweep, image gc vs pods, overlay and copy modes, and mount leaks.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::pod::read_uuid;
use e2e::require_root;
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

fn wait_for(what: &str, f: impl FnMut() -> bool) {
    e2e::wait_until(what, f);
}

/// `flock -n -s DIR true`: whether a shared lock on the pod dir can be taken now.
fn lockable(dir: &Path) -> bool {
    Command::new("flock")
        .args(["-n", "-s"])
        .arg(dir)
        .arg("true")
        .status()
        .unwrap()
        .success()
}

#[test]
fn running_pod_state_rm_refused_image_gc_keeps_and_sigterm_is_forwarded() {
    let t = setup("life-running");
    let uuid_file = t.join("uuid");
    let mut child = t
        .command(
            &[
                "run",
                &format!("--uuid-file-save={}", uuid_file.display()),
                "example.com/probe",
                "--",
                "sleep",
                "60",
            ],
            &[],
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("uuid file", || uuid_file.is_file());
    let uuid = read_uuid(&uuid_file);
    let pod = t.pod_dir("run", &uuid);
    wait_for("pod in run/", || pod.join("pid").is_file());
    let started = pod.join("stage1/rootfs/rkt/status/probe-started");
    wait_for("app started", || started.exists());
    // Running: the pod's PID 1 holds the lock; pid names a live process.
    assert!(!lockable(&pod));
    let pid = std::fs::read_to_string(pod.join("pid")).unwrap();
    assert!(Path::new(&format!("/proc/{}", pid.trim())).exists());

    let out = t.rkt(&["rm", &uuid[..8]]);
    assert_fails(&out, "is running");
    assert!(pod.is_dir());

    let before = t.list_ids();
    assert_ok(&t.rkt(&["image", "gc", "--grace-period=0s"]));
    assert_eq!(
        t.list_ids(),
        before,
        "image gc removed an image a running pod uses"
    );
    assert_ok(&t.rkt(&["gc", "--grace-period=0s"]));
    assert!(pod.is_dir(), "gc touched a running pod");

    // TERM to rkt reaches the app through PID 1: 128 + 15.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(lockable(&pod), "lock still held after the pod exited");
    let code = std::fs::read_to_string(pod.join("stage1/rootfs/rkt/status/probe")).unwrap();
    assert_eq!(code.trim(), "143");
    assert!(!Path::new(&format!("/proc/{}", pid.trim())).exists());

    assert_ok(&t.rkt(&["rm", &uuid]));
    assert!(!pod.exists());
    // image gc may take the image now that no pod uses it.
    assert_ok(&t.rkt(&["image", "gc", "--grace-period=0s"]));
    assert!(t.list_ids().is_empty());
    t.gc_all();
}

#[test]
fn gc_marks_then_sweeps_after_the_grace_period() {
    let t = setup("life-gc");
    let uuid_file = t.join("uuid");
    assert_ok(&t.run_probe(
        &[&format!("--uuid-file-save={}", uuid_file.display())],
        &["true"],
    ));
    let uuid = read_uuid(&uuid_file);
    assert_eq!(t.pods_in("run"), vec![uuid.clone()]);
    // Mark: exited pods move to exited-garbage; the grace period keeps them there.
    let out = t.rkt(&["gc", "--grace-period=1h"]);
    assert_ok(&out);
    assert_eq!(t.pods_in("exited-garbage"), vec![uuid.clone()]);
    assert!(t.pods_in("run").is_empty());
    assert_ok(&t.rkt(&["gc", "--grace-period=1h"]));
    assert_eq!(t.pods_in("exited-garbage"), vec![uuid.clone()]);
    // Sweep once the grace period has passed since the mark.
    std::thread::sleep(Duration::from_millis(1100));
    let out = t.rkt(&["gc", "--grace-period=1s"]);
    assert_ok(&out);
    assert!(stdout(&out).contains(&uuid), "{}", stdout(&out));
    assert!(t.pods_in("exited-garbage").is_empty());
    // `0s` marks and sweeps in one call.
    assert_ok(&t.run_probe(&[], &["true"]));
    t.gc_all();
    assert_fails(&t.rkt(&["gc", "--grace-period=soon"]), "grace-period");
}

#[test]
fn no_overlay_copies_the_tree() {
    let t = setup("life-no-overlay");
    let uuid_file = t.join("uuid");
    let out = t.run_probe(
        &[
            "--no-overlay",
            &format!("--uuid-file-save={}", uuid_file.display()),
        ],
        &["write", "/tmp/x", "y"],
    );
    assert_ok(&out);
    let pod = t.pod_dir("run", &read_uuid(&uuid_file));
    assert!(!pod.join("overlay").exists());
    // The copy holds the app's write; the store's tree does not.
    let copy = pod.join("stage1/rootfs/opt/stage2/probe/rootfs");
    assert_eq!(std::fs::read(copy.join("tmp/x")).unwrap(), b"y");
    t.gc_all();
}

/// Runs `script` in a new mount namespace (`unshare -m --propagation P sh -c`), with `$RKT`
/// set to `rkt --dir=<store>`.
fn in_mount_ns(t: &StoreDir, propagation: &str, script: &str) -> std::process::Output {
    Command::new("unshare")
        .args(["-m", "--propagation", propagation, "sh", "-ec", script])
        .env("RKT", e2e::rkt_bin())
        .env("T", &t.path)
        .output()
        .unwrap()
}

#[test]
fn copy_fallback_when_the_data_dir_is_on_overlayfs() {
    let t = setup("life-overlay-dir");
    let aci = t.join("probe.aci");
    let out = in_mount_ns(
        &t,
        "private",
        &format!(
            "mkdir -p $T/l $T/u $T/w $T/m
             mount -t overlay overlay -o lowerdir=$T/l,upperdir=$T/u,workdir=$T/w $T/m
             $RKT --dir=$T/m/data fetch --insecure-options=image {aci}
             $RKT --dir=$T/m/data run example.com/probe -- write /tmp/x y + hostname
             ls $T/m/data/pods/run/*/stage1/rootfs/opt/stage2/probe/rootfs/tmp
             $RKT --dir=$T/m/data gc --grace-period=0s
             ls $T/m/data/pods/run $T/m/data/pods/exited-garbage",
            aci = aci.display()
        ),
    );
    assert_ok(&out);
    let s = stdout(&out);
    assert!(s.contains("wrote /tmp/x"), "{s}");
    assert!(s.lines().any(|l| l == "x"), "no copy made: {s}");
}

#[test]
fn run_rm_and_gc_leak_no_mounts() {
    let t = setup("life-mounts");
    let out = in_mount_ns(
        &t,
        "shared",
        "cat /proc/self/mountinfo > $T/before
         $RKT --dir=$T/data run --uuid-file-save=$T/uuid example.com/probe -- true
         $RKT --dir=$T/data run --net=none example.com/probe -- true
         $RKT --dir=$T/data rm --uuid-file=$T/uuid
         $RKT --dir=$T/data gc --grace-period=0s
         cat /proc/self/mountinfo > $T/after",
    );
    assert_ok(&out);
    let before = std::fs::read_to_string(t.join("before")).unwrap();
    let after = std::fs::read_to_string(t.join("after")).unwrap();
    assert_eq!(before, after, "{}", stderr(&out));
    t.gc_all();
}

#[test]
fn int_and_hup_are_forwarded_too() {
    let t = setup("life-signals");
    for (sig, code) in [("INT", 130), ("HUP", 129)] {
        let uuid_file = t.join(sig);
        let mut child = t
            .command(
                &[
                    "run",
                    &format!("--uuid-file-save={}", uuid_file.display()),
                    "example.com/probe",
                    "--",
                    "sleep",
                    "60",
                ],
                &[],
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("uuid file", || uuid_file.is_file());
        let pod = t.pod_dir("run", &read_uuid(&uuid_file));
        let started = pod.join("stage1/rootfs/rkt/status/probe-started");
        wait_for("app started", || started.exists());
        Command::new("kill")
            .args([&format!("-{sig}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(code), "{sig}");
    }
    t.gc_all();
}

#[test]
fn rm_unmounts_and_never_deletes_through_a_mount() {
    let t = setup("life-rm-mounts");
    let out = in_mount_ns(
        &t,
        "private",
        "$RKT --dir=$T/data run --uuid-file-save=$T/uuid example.com/probe -- true
         pod=$T/data/pods/run/$(cat $T/uuid)
         mkdir -p $T/host $pod/stage1/rootfs/bound $pod/stage1/rootfs/tmpfs
         echo keep > $T/host/sentinel
         mount --bind $T/host $pod/stage1/rootfs/bound
         mount -t tmpfs tmpfs $pod/stage1/rootfs/tmpfs
         $RKT --dir=$T/data rm --uuid-file=$T/uuid
         test ! -e $pod
         ! grep -q $T/data /proc/self/mountinfo",
    );
    assert_ok(&out);
    assert_eq!(std::fs::read(t.join("host/sentinel")).unwrap(), b"keep\n");
    t.gc_all();
}
