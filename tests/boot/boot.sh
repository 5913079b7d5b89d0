#!/usr/bin/env bash
# Boots a Debian kernel under qemu (TCG) with an initramfs of a static busybox, the built rkt,
# the probe image and a guest script, and prints the guest's `BOOT: key=value` result lines
# from its serial console. Nothing is installed on the host: the kernel package is downloaded
# and unpacked under target/boot.
#
#   tests/boot/boot.sh GUEST     GUEST: v2 (cgroup_no_v1=all: pure cgroup v2) | none (no cgroups)
#
# RKT_BIN and PROBE_BIN name the binaries (scripts/build.sh, scripts/fixtures.sh). Exits
# non-zero when the guest does not reach its end (`BOOT: done`).
set -euo pipefail
cd "$(dirname "$0")/../.."
guest=${1:?usage: tests/boot/boot.sh v2|none}
# The guest kernel, pinned: Debian 12's cloud flavour (virtio, serial console, small).
kernel_pkg=linux-image-6.1.0-50-cloud-amd64
kernel_ver=6.1.176-1
rkt=${RKT_BIN:-target/x86_64-unknown-linux-musl/release/rkt}
probe=${PROBE_BIN:-target/fixtures/probe}
work=target/boot
mkdir -p "$work"

need() { command -v "$1" >/dev/null || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }; }
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
[ -x /bin/busybox ] || need busybox busybox-static

kdir=$work/$kernel_pkg-$kernel_ver
# Guests boot in parallel (cargo test threads): one fetches, the others wait for it.
exec 9>"$work/.kernel.lock"
flock 9
if [ ! -d "$kdir" ]; then
    rm -rf "$kdir.tmp"
    (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$kernel_pkg=$kernel_ver")
    dpkg -x "$work/${kernel_pkg}_${kernel_ver}_amd64.deb" "$kdir.tmp"
    mv "$kdir.tmp" "$kdir"
fi
flock -u 9
vmlinuz=$(ls "$kdir"/boot/vmlinuz-*)

root=$(mktemp -d "$work/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,proc,sys,dev,tmp,etc,img/rootfs/bin}
cp /bin/busybox "$root/bin/busybox"
cp "$rkt" "$root/bin/rkt"
cp "$probe" "$root/img/rootfs/bin/probe"
cat >"$root/img/manifest" <<'MANIFEST'
{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/probe","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":{"exec":["/bin/probe","true"],"user":"0","group":"0"}}
MANIFEST
cp "tests/boot/guest-$guest.sh" "$root/test.sh"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /tmp
sh /test.sh 2>&1
echo "BOOT: done"
poweroff -f
INIT
chmod +x "$root/init" "$root/bin/busybox" "$root/bin/rkt"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$work/initramfs-$guest.gz"

args="console=ttyS0 panic=-1 rdinit=/init"
[ "$guest" = v2 ] && args="$args cgroup_no_v1=all"
log=$work/serial-$guest.log
# This machine's /dev/kvm does not boot guests (a nested module): software emulation.
timeout --signal=KILL 600 qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 -nographic \
    -no-reboot -kernel "$vmlinuz" -initrd "$work/initramfs-$guest.gz" -append "$args" \
    </dev/null >"$log" 2>&1 || true
tr -d '\r' <"$log" | grep '^BOOT: ' || true
grep -q '^BOOT: done' <(tr -d '\r' <"$log") || { echo "boot: the $guest guest did not finish; see $log" >&2; exit 1; }
