# Guest script of tests/boot/boot.sh none: no cgroup filesystem mounted at all (an
# initramfs): the device policy falls back to nodev mounts.
# The guest kernel has veth and nf_tables as modules, which the initramfs does not carry:
# host networking (the default network is tested on the host).
R="rkt --dir=/tmp/rkt --insecure-options=image"
$R image build /img /tmp/probe.aci >/dev/null
$R fetch /tmp/probe.aci >/dev/null && echo "BOOT: fetch=ok"
mkdir -p /tmp/vol
$R run --net=host --volume=v,kind=host,source=/tmp/vol example.com/probe --mount=volume=v,target=/v -- \
    mknod c 1 3 /dev/n + mknod b 7 0 /dev/l + mknod c 1 3 /v/n + open-dev /dev/null read | sed 's/^/BOOT: /'
$R run --net=host example.com/probe --memory=32Mi 2>&1 | sed 's/^/BOOT: memory: /'
rc=0; $R run --net=host example.com/probe -- exit 3 || rc=$?
echo "BOOT: exit-rc=$rc"
