//! A full disk during import: the store on a 2 MiB tmpfs (mounted in a private mount
//! namespace, so no mount outlives the test) refuses an image that does not fit with a clear
//! error, and the store is left byte-for-byte as it was, `cas/tmp` empty.

use e2e::aci;
use e2e::store::{rkt_bin, stdout, StoreDir};

#[test]
fn enospc_leaves_the_store_unchanged() {
    let t = StoreDir::new("enospc");
    let small = aci::write(
        &t.join("small.aci"),
        &aci::simple("example.com/small", "1").finish(),
    );
    // 3 MiB of noise: neither its compressed blob nor its tree fits in 2 MiB.
    let big = aci::base(&aci::manifest("example.com/big", "1"))
        .file("rootfs/blob", 0o644, &aci::noise(3 << 20, 5))
        .finish();
    let big = aci::write(&t.join("big.aci"), &aci::gzip(&big));
    let mnt = t.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let script = r#"
set -eu
mount -t tmpfs -o size=2m tmpfs "$MNT"
snap() { (cd "$MNT" && find . -printf '%p %y %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort); }
"$RKT" --dir="$MNT/data" fetch --insecure-options=image "$SMALL" >/dev/null
snap > "$OUT/before"
set +e
"$RKT" --dir="$MNT/data" fetch --insecure-options=image "$BIG" 2> "$OUT/err"
echo "rc=$?"
set -e
snap > "$OUT/after"
echo "tmp=$(ls -A "$MNT/data/cas/tmp" | wc -l)"
"$RKT" --dir="$MNT/data" image list --no-legend --fields=name
"#;
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("MNT", &mnt)
        .env("RKT", rkt_bin())
        .env("SMALL", &small)
        .env("BIG", &big)
        .env("OUT", &t.path)
        .output()
        .expect("unshare (util-linux) is needed");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", e2e::store::stderr(&out));
    let err = std::fs::read_to_string(t.join("err")).unwrap();
    assert!(text.contains("rc=254"), "{text} {err}");
    assert!(
        err.starts_with("rkt: ") && (err.contains("No space left") || err.contains("too large")),
        "{err}"
    );
    assert!(text.contains("tmp=0"), "{text}");
    assert!(
        text.contains("example.com/small:1") && !text.contains("example.com/big"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(t.join("before")).unwrap(),
        std::fs::read_to_string(t.join("after")).unwrap(),
        "the store changed"
    );
    // The mount went with the namespace.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(mnt.to_str().unwrap()), "mount left behind");
}
