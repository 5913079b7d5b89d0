#!/usr/bin/env bash
# The newcomer's tour: build the static rkt, show its version, build a small busybox ACI from a
# directory and print the image ID.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
rkt=$PWD/target/x86_64-unknown-linux-musl/release/rkt
work=$(mktemp -d /tmp/rkt-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "\$ rkt version"
"$rkt" version

image=$work/busybox
mkdir -p "$image/rootfs/bin" "$image/rootfs/etc"
cp "$(command -v busybox)" "$image/rootfs/bin/busybox"
ln -s busybox "$image/rootfs/bin/sh"
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
