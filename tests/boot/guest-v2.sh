# Guest script of tests/boot/boot.sh v2: a pure cgroup v2 host (cgroup_no_v1=all).
mount -t cgroup2 none /sys/fs/cgroup
echo "BOOT: controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
# The guest kernel has veth and nf_tables as modules, which the initramfs does not carry:
# host networking (the default network is tested on the host).
R="rkt --dir=/tmp/rkt --insecure-options=image"
$R image build /img /tmp/probe.aci >/dev/null
$R fetch /tmp/probe.aci >/dev/null && echo "BOOT: fetch=ok"
rc=0; $R run --net=host example.com/probe --memory=32Mi -- alloc 8 + alloc 96 >/dev/null || rc=$?
echo "BOOT: memory-rc=$rc"
echo "BOOT: pids $($R run --net=host example.com/probe -- forks 2500)"
echo "BOOT: pids-off $($R run --net=host --pids-limit=0 example.com/probe -- forks 2500)"
echo "BOOT: cpu.max=$($R run --net=host example.com/probe --cpu=500m -- cat /sys/fs/cgroup/cpu.max)"
echo "BOOT: cpu.weight=$($R run --net=host example.com/probe --cpu-shares=1024 -- cat /sys/fs/cgroup/cpu.weight)"
echo "BOOT: memory.max=$($R run --net=host example.com/probe --memory=64Mi -- cat /sys/fs/cgroup/memory.max)"
echo "BOOT: own-cgroup=$($R run --net=host example.com/probe -- cat /proc/self/cgroup)"
$R run --net=host example.com/probe -- mknod c 1 3 /dev/n + mknod c 10 237 /dev/lc + mknod b 7 0 /dev/l | sed 's/^/BOOT: /'
$R gc --grace-period=0s >/dev/null 2>&1
echo "BOOT: cgroups-left=$(find /sys/fs/cgroup -mindepth 1 -type d | wc -l)"
