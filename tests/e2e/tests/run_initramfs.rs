//! `rkt run` where users run the single file: a root that is not a mount point (an initramfs:
//! pivot_root and the propagation change fail with EINVAL, so the move-mount + chroot fallback
//! must do), no overlayfs upper on the data dir's filesystem is assumed, no cgroup mounts and no
//! `/etc/hosts` or `/etc/resolv.conf` on the host. The "host" here is a plain directory we
//! chroot into, inside a private mount namespace, with only /proc, /sys and /dev mounted.

use std::process::Command;

use e2e::pod::LINUX_AMD64;
use e2e::require_root;
use e2e::store::{stderr, stdout, StoreDir};

#[test]
fn runs_from_a_root_that_is_not_a_mount_point() {
    require_root();
    let t = StoreDir::new("run-initramfs");
    let aci = t.join("probe.aci");
    e2e::aci::write(
        &aci,
        &e2e::pod::probe_tar(
            &e2e::pod::probe_manifest("example.com/probe", LINUX_AMD64, ""),
            |tar| tar,
        ),
    );
    let script = r#"
        R=$T/root
        mkdir -p $R/bin $R/proc $R/sys $R/dev $R/tmp
        cp "$RKT" $R/bin/rkt
        cp "$ACI" $R/probe.aci
        mount -t proc proc $R/proc
        mount -t sysfs sysfs $R/sys
        mount --rbind /dev $R/dev
        before=$(wc -l < /proc/self/mountinfo)
        chroot $R /bin/rkt --dir=/data --insecure-options=image fetch /probe.aci >/dev/null
        chroot $R /bin/rkt --dir=/data --debug run example.com/probe -- hostname + cat /etc/hosts + write /tmp/x y 2>$T/debug
        echo "status=$?"
        grep -cE "not a mount point|pivot_root into .* refused" $T/debug | sed 's/^/fallbacks=/'
        chroot $R /bin/rkt --dir=/data gc --grace-period=0s >/dev/null 2>&1
        after=$(wc -l < /proc/self/mountinfo)
        echo "mounts before=$before after=$after"
        echo "pods left=$(find $R/data/pods -mindepth 2 -maxdepth 2 | wc -l)"
    "#;
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-ec", script])
        .env("RKT", e2e::rkt_bin())
        .env("T", &t.path)
        .env("ACI", &aci)
        .output()
        .unwrap();
    let (so, se) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "stdout:\n{so}\nstderr:\n{se}");
    assert!(so.contains("status=0"), "stdout:\n{so}\nstderr:\n{se}");
    assert!(so.contains("hostname=rkt-"), "{so}");
    // No /etc/hosts on this host and none in the image: the pod gets a localhost entry.
    assert!(so.contains("localhost"), "{so}");
    let counts = so
        .lines()
        .find(|l| l.starts_with("mounts before="))
        .unwrap();
    let (before, after) = counts
        .trim_start_matches("mounts before=")
        .split_once(" after=")
        .unwrap();
    assert_eq!(before, after, "the pod's mounts outlived it: {so}");
    assert!(so.contains("pods left=0"), "{so}");
    // Both fallbacks really ran: propagation changed outside the chroot, pivot_root replaced.
    assert!(
        so.contains("fallbacks=2"),
        "{so}\n{}",
        std::fs::read_to_string(t.join("debug")).unwrap_or_default()
    );
}
