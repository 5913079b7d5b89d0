#!/usr/bin/env bash
# The newcomer's tour: build the static rkt, build a small busybox ACI from a directory, import
# it into a store, list it, render it, and run a pod that prints its output. Everything lives in a
# temporary directory (the store too, via --dir), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
rkt=$PWD/target/x86_64-unknown-linux-musl/release/rkt
work=$(mktemp -d /tmp/rkt-demo.XXXXXX)
data=$work/data
cleanup() {
    "$rkt" --dir="$data" gc --grace-period=0s >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "\$ rkt version"
"$rkt" version

image=$work/busybox
mkdir -p "$image/rootfs/bin" "$image/rootfs/etc"
cp "$(command -v busybox)" "$image/rootfs/bin/busybox"
for applet in sh cat echo hostname ls ps; do ln -s busybox "$image/rootfs/bin/$applet"; done
echo "root:x:0:0:root:/root:/bin/sh" >"$image/rootfs/etc/passwd"
cat >"$image/manifest" <<'MANIFEST'
{
    "acKind": "ImageManifest",
    "acVersion": "0.8.11",
    "name": "example.com/busybox",
    "labels": [
        {"name": "version", "value": "1.0.0"},
        {"name": "os", "value": "linux"},
        {"name": "arch", "value": "amd64"}
    ],
    "app": {
        "exec": ["/bin/sh", "-c", "echo hello from a pod"],
        "user": "0",
        "group": "0"
    }
}
MANIFEST

echo
echo "\$ rkt image build $image busybox.aci"
"$rkt" image build "$image" "$work/busybox.aci"
echo "(busybox.aci: $(stat -c %s "$work/busybox.aci") bytes)"

echo
echo "\$ rkt --dir=$data --insecure-options=image fetch busybox.aci   # unsigned: hence the insecure option"
"$rkt" --dir="$data" --insecure-options=image fetch "$work/busybox.aci"

echo
echo "\$ rkt --dir=$data image list"
"$rkt" --dir="$data" image list

echo
echo "\$ rkt --dir=$data image render --rootfs-only example.com/busybox rendered && ls rendered"
"$rkt" --dir="$data" image render --rootfs-only example.com/busybox "$work/rendered"
ls "$work/rendered"

echo
echo "\$ rkt --dir=$data run example.com/busybox"
"$rkt" --dir="$data" run example.com/busybox

echo
echo "\$ rkt --dir=$data run example.com/busybox --exec=/bin/sh -- -c 'echo I am \$(hostname), pid \$\$, in \$(ls /); exit 3'"
status=0
"$rkt" --dir="$data" run example.com/busybox --exec=/bin/sh -- -c 'echo I am $(hostname), pid $$, in $(ls /); exit 3' || status=$?
echo "(exit status $status: the app's own)"
