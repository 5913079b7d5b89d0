#!/usr/bin/env bash
# Benchmarks, each against a reference measured in the same run (the machine is shared and
# noisy: ratios and medians, never absolute timings in tests). Results go to BENCHMARKS.md by hand.
#
#   scripts/bench.sh ids      image ID of a large gzip ACI vs `gzip -dc X | sha512sum`
#   scripts/bench.sh import   import + render of it vs gzip | tee | sha512sum | tar -x (bench-store.sh)
#   scripts/bench.sh run      `rkt run` of a stored image vs the floor (tests/floor) and crun
#                             (BASE_RKT=path: also against another rkt, e.g. main before a change)
#   scripts/bench.sh lifecycle  `rkt list`/`status` with 10, 100, 1000 pods on disk vs `ls -l` +
#                             `cat` of their manifests; `rkt gc` of 10, 100, 1000 exited pods
#   scripts/bench.sh fetch    `rkt fetch https://...` of the large ACI over loopback HTTPS vs
#                             curl | gzip -dc | tee | tee >(sha512sum) | tar -x
#   scripts/bench.sh mds      the metadata service: requests per second and p99 per endpoint
#                             over loopback with 500 idle connections held, vs busybox httpd
#                             serving the same body from a file (scripts/mds-load.py)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
bench=$PWD/target/bench
rkt=$PWD/target/x86_64-unknown-linux-musl/release/rkt
mkdir -p "$bench"

# fresh_dir DIR: an empty DIR; the pods of a store left there are gc'd first, since their
# cgroups live outside it.
fresh_dir() {
    local data
    for data in "$1"/data*; do
        [ -d "$data/pods" ] && "$rkt" --dir="$data" gc --grace-period=0s --expire-prepared=0s >/dev/null 2>&1 || true
    done
    rm -rf "$1" && mkdir -p "$1"
}

# A large ACI: /usr/include and /usr/bin under rootfs/ (about 370 MB of tar, 100 MB gzip).
large_aci() {
    local aci=$bench/usr.aci
    if [ ! -s "$aci" ]; then
        echo "bench: building $aci" >&2
        local dir
        dir=$(mktemp -d "$bench/manifest.XXXXXX")
        cat >"$dir/manifest" <<'MANIFEST'
{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/usr","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}
MANIFEST
        mkdir "$dir/rootfs"
        # Member names and hardlink targets move under rootfs/, symlink targets stay as they are.
        tar -cf "$bench/usr.tar" -C "$dir" --no-recursion manifest rootfs --recursion \
            --transform 's,^usr,rootfs/usr,rSh' -C / usr/include usr/bin
        rm -rf "$dir"
        gzip -6 -c "$bench/usr.tar" >"$aci.tmp" && mv "$aci.tmp" "$aci"
    fi
    echo "$aci"
}

# median <json> <index>: hyperfine's median of the N-th command, in seconds.
median() {
    python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"])' "$1" "$2"
}

# median_ms <json> <index>: the same in milliseconds.
median_ms() {
    python3 -c 'import json,sys; print("%.1f" % (1000 * json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"]))' "$1" "$2"
}

# paired_ms <json> <i> <j>: the median over rounds of (command i - command j), in ms, with its
# interquartile range: the cost of what i does and j does not, with the round-to-round noise of
# a shared machine cancelled (alternate.py runs one of each per round).
paired_ms() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
d = sorted(1000 * (a - b) for a, b in zip(r[int(sys.argv[2])]["times"], r[int(sys.argv[3])]["times"]))
q = statistics.quantiles(d, n=4)
print("%+.2f ms (IQR %+.2f .. %+.2f)" % (statistics.median(d), q[0], q[2]))
PY
}

mbps() {
    python3 -c 'import sys; print("%.0f" % (int(sys.argv[1]) / 1e6 / float(sys.argv[2])))' "$1" "$2"
}

ratio() {
    python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"
}

bench_ids() {
    [ -x "$rkt" ] || scripts/build.sh >/dev/null
    local aci tar
    aci=$(large_aci)
    tar=$bench/usr.tar
    [ -s "$tar" ] || gzip -dc "$aci" >"$tar"
    local tar_bytes aci_bytes
    tar_bytes=$(stat -c %s "$tar")
    aci_bytes=$(stat -c %s "$aci")
    # Page cache warm: read both once.
    cat "$aci" "$tar" >/dev/null
    hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$bench/ids.json" \
        "$rkt image validate $aci" \
        "sh -c 'gzip -dc $aci | sha512sum'" \
        "$rkt image validate $tar" \
        "sh -c 'gzip -dc $aci >/dev/null'" \
        "sha512sum $tar" >/dev/null
    local r p rt g s
    r=$(median "$bench/ids.json" 0)
    p=$(median "$bench/ids.json" 1)
    rt=$(median "$bench/ids.json" 2)
    g=$(median "$bench/ids.json" 3)
    s=$(median "$bench/ids.json" 4)
    echo "ACI: $aci_bytes bytes gzip, $tar_bytes bytes tar; median of $runs runs"
    echo "| what | median s | MB/s of tar | vs pipeline |"
    echo "|---|---|---|---|"
    echo "| rkt image validate X.aci (gzip: inflate + parse + sha512) | $r | $(mbps "$tar_bytes" "$r") | $(ratio "$r" "$p")x |"
    echo "| gzip -dc X.aci \\| sha512sum | $p | $(mbps "$tar_bytes" "$p") | 1.00x |"
    echo "| rkt image validate X.tar (parse + sha512 only) | $rt | $(mbps "$tar_bytes" "$rt") | $(ratio "$rt" "$p")x |"
    echo "| gzip -dc X.aci >/dev/null (inflate only) | $g | $(mbps "$tar_bytes" "$g") | $(ratio "$g" "$p")x |"
    echo "| sha512sum X.tar (hash only) | $s | $(mbps "$tar_bytes" "$s") | $(ratio "$s" "$p")x |"
    echo "| static rkt binary size | $(stat -c %s "$rkt") bytes | | |"
}

# `rkt run` start-to-exit of `probe true` against the pinned floor (tests/floor: namespaces,
# rslave, bind, pivot_root, /proc, exec) and crun running a `crun spec` bundle without a
# network namespace. The commands are interleaved, one start of each per round
# (scripts/alternate.py), so that load from other users of the machine hits all alike; all run
# inside one private mount namespace whose /sys/fs/cgroup/unified is an empty tmpfs, because
# crun 1.8 refuses hybrid cgroup hosts. Also: peak RSS of rkt run, and a 1 MB vs 300 MB image.
bench_run() {
    local runs=${RUNS:-40}
    [ -x "$rkt" ] || scripts/build.sh >/dev/null
    eval "$(scripts/fixtures.sh)"
    cargo --config musl.toml build --release --locked -p floor \
        --target x86_64-unknown-linux-musl --target-dir target/stage1 >&2
    local floor=$PWD/target/stage1/x86_64-unknown-linux-musl/release/floor
    scripts/check-static.sh "$floor" >&2
    if ! command -v crun >/dev/null; then
        echo "bench: apt-get install crun" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends crun >/dev/null
    fi
    local d=$bench/run
    fresh_dir "$d"
    # One rootfs for all three: the probe, and the dirs the floor and crun mount on.
    local img=$d/img
    mkdir -p "$img/rootfs/bin" "$img/rootfs/proc" "$img/rootfs/dev" "$img/rootfs/sys" \
        "$img/rootfs/etc" "$img/rootfs/tmp"
    cp "$PROBE_BIN" "$img/rootfs/bin/probe"
    # The 10.8 MB the output rows move: what `probe lines 600000 out` writes.
    "$img/rootfs/bin/probe" lines 600000 out >"$d/lines"
    manifest() {
        echo '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/'"$1"'","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":{"exec":["/bin/probe","true"],"user":"0","group":"0"}}'
    }
    manifest small >"$img/manifest"
    tar -C "$img" -cf "$d/small.aci" manifest rootfs
    head -c 300M /dev/urandom >"$img/rootfs/big"
    manifest big >"$img/manifest"
    tar -C "$img" -cf "$d/big.aci" manifest rootfs
    rm "$img/rootfs/big"
    "$rkt" --dir="$d/data" fetch --insecure-options=image "$d/small.aci" "$d/big.aci" >/dev/null
    mkdir -p "$d/bundle" "$d/bundle-netns"
    cp -a "$img/rootfs" "$d/bundle/rootfs"
    ln -s "$d/bundle/rootfs" "$d/bundle-netns/rootfs"
    (cd "$d/bundle" && crun spec)
    # crun's default cgroup is at each hierarchy's root: give it one under the benchmark's own
    # (the memory hierarchy's, the only one here that is not the root), as rkt's pods are.
    local own
    own=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
    python3 - "$d/bundle/config.json" "${own%/}/rkt-bench-crun" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["/bin/probe", "true"]
c["process"]["terminal"] = False
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
c["linux"]["cgroupsPath"] = sys.argv[2]
json.dump(c, open(p, "w"), indent=1)
# The reference for rkt's contained networks: the same with a network namespace of its own.
c["linux"]["namespaces"].append({"type": "network"})
json.dump(c, open(p.replace("/bundle/", "/bundle-netns/"), "w"), indent=1)
PY
    # The main before a change, when BASE_RKT names its static binary.
    local base=${BASE_RKT:-$rkt}
    local rktrun="$rkt --dir=$d/data run --net=host"
    local crun="crun --root=$d/crun-state"
    mkdir -p "$d/crun-state"
    unshare -m --propagation private sh -ec "
        mount -t tmpfs tmpfs /sys/fs/cgroup/unified
        # crun's state on a tmpfs, as /run is on real hosts (not here).
        mount -t tmpfs tmpfs $d/crun-state
        # Each start must work (the last row fails on purpose: stage0 alone).
        $rktrun example.com/small >/dev/null
        $crun run --bundle $d/bundle rkt-bench >/dev/null
        $floor $img/rootfs /bin/probe true
        python3 $PWD/scripts/alternate.py $runs $d/run.json \
            '$rktrun example.com/small' \
            '$floor $img/rootfs /bin/probe true' \
            '$crun run --bundle $d/bundle rkt-bench' \
            '$rktrun example.com/big' \
            '$rkt --dir=$d/data --insecure-options=paths run example.com/small' \
            '$rkt --dir=$d/data --insecure-options=paths run --no-overlay example.com/small' \
            'fail:$rktrun example.com/small --exec=/nope' \
            '$rkt --dir=$d/data --insecure-options=seccomp,capabilities run --net=host example.com/small' \
            '$rkt --dir=$d/data run --net=default example.com/small' \
            '$rkt --dir=$d/data run --net=none example.com/small' \
            '$crun run --bundle $d/bundle-netns rkt-bench-netns'"
    # Against the base rkt, outside that namespace: a base from before issue 14 attaches a
    # device program to the v2 hierarchy, which the empty tmpfs above makes fail.
    python3 scripts/alternate.py "$runs" "$d/out.json" \
        "$rktrun example.com/small" \
        "$base --dir=$d/data run --net=host example.com/small" \
        "sh:$rktrun example.com/small --exec=/bin/probe -- lines 600000 out | cat >/dev/null" \
        "sh:$base --dir=$d/data run --net=host example.com/small --exec=/bin/probe -- lines 600000 out | cat >/dev/null" \
        "sh:$img/rootfs/bin/probe lines 600000 out | cat >/dev/null" \
        "sh:cat $d/lines | cat >/dev/null"
    # What crun left of the parents of its cgroup in the other hierarchies.
    find /sys/fs/cgroup -depth -type d -path '*rkt-bench-crun*' -delete 2>/dev/null || true
    for h in /sys/fs/cgroup/*/; do
        [ "$own" = / ] || rmdir -p "$h${own#/}" 2>/dev/null || true
    done
    local r f c b p n s rss
    r=$(median_ms "$d/run.json" 0)
    f=$(median_ms "$d/run.json" 1)
    c=$(median_ms "$d/run.json" 2)
    b=$(median_ms "$d/run.json" 3)
    p=$(median_ms "$d/run.json" 4)
    n=$(median_ms "$d/run.json" 5)
    s=$(median_ms "$d/run.json" 6)
    rss=$( { /usr/bin/time -f '%M' $rktrun example.com/small >/dev/null; } 2>&1 | tail -1)
    "$rkt" --dir="$d/data" gc --grace-period=0s >/dev/null 2>&1
    echo "median of $runs rounds, commands interleaved (scripts/alternate.py), probe true"
    echo "| what | median ms | vs floor | vs crun |"
    echo "|---|---|---|---|"
    echo "| rkt run --net=host (stored image, 1 MB) | $r | $(ratio "$r" "$f")x | $(ratio "$r" "$c")x |"
    echo "| rkt run --net=host (stored image, 300 MB) | $b | $(ratio "$b" "$f")x | $(ratio "$b" "$c")x |"
    echo "| floor (tests/floor) | $f | 1.00x | $(ratio "$f" "$c")x |"
    echo "| crun run (no netns) | $c | $(ratio "$c" "$f")x | 1.00x |"
    echo "| where rkt's time goes: | | | |"
    echo "| rkt run, --insecure-options=paths (no /proc,/sys protection mounts) | $p | $(ratio "$p" "$f")x | $(ratio "$p" "$c")x |"
    echo "| rkt run, paths + --no-overlay (copy of a 0.5 MB tree, no overlay) | $n | $(ratio "$n" "$f")x | $(ratio "$n" "$c")x |"
    echo "| rkt run --exec=/nope (stage0 alone: resolve, pod dir, plan; fails before launch) | $s | $(ratio "$s" "$f")x | $(ratio "$s" "$c")x |"
    local ns
    ns=$(median_ms "$d/run.json" 7)
    echo "| rkt run --insecure-options=seccomp,capabilities (no filter) | $ns | $(ratio "$ns" "$f")x | $(ratio "$ns" "$c")x |"
    echo "| seccomp + capabilities, paired per round: default - no filter | $(paired_ms "$d/run.json" 0 7) | | |"
    local nd nn cn
    nd=$(median_ms "$d/run.json" 8)
    nn=$(median_ms "$d/run.json" 9)
    cn=$(median_ms "$d/run.json" 10)
    echo "| networks: | | | |"
    echo "| rkt run --net=default (veth, address, routes, nf_tables elements) | $nd | $(ratio "$nd" "$f")x | $(ratio "$nd" "$c")x |"
    echo "| rkt run --net=none (a netns with lo) | $nn | $(ratio "$nn" "$f")x | $(ratio "$nn" "$c")x |"
    echo "| crun run with a netns | $cn | $(ratio "$cn" "$f")x | $(ratio "$cn" "$c")x |"
    echo "| paired per round: rkt default - rkt host | $(paired_ms "$d/run.json" 8 0) | | |"
    echo "| paired per round: rkt default - rkt none | $(paired_ms "$d/run.json" 8 9) | | |"
    echo "| paired per round: rkt none - rkt host | $(paired_ms "$d/run.json" 9 0) | | |"
    echo "| paired per round: crun netns - crun (the reference) | $(paired_ms "$d/run.json" 10 2) | | |"
    local bytes o ob op oc
    echo "| rkt run --net=host, outside the crun namespace | $(median_ms "$d/out.json" 0) | | |"
    if [ "$base" != "$rkt" ]; then
        echo "| base rkt run --net=host ($BASE_RKT) | $(median_ms "$d/out.json" 1) | | |"
        echo "| paired per round: this rkt - base | $(paired_ms "$d/out.json" 0 1) | | |"
    fi
    bytes=$(stat -c %s "$d/lines")
    o=$(median_ms "$d/out.json" 2)
    ob=$(median_ms "$d/out.json" 3)
    op=$(median_ms "$d/out.json" 4)
    oc=$(median_ms "$d/out.json" 5)
    echo "| output: rkt run, the probe writes $bytes bytes in lines, \`| cat\` | $o ($(mbps "$bytes" "$(ms_to_s "$o")") MB/s) | | |"
    if [ "$base" != "$rkt" ]; then
        echo "| output: the same with the base rkt | $ob ($(mbps "$bytes" "$(ms_to_s "$ob")") MB/s) | | |"
    fi
    echo "| output: the probe on the host, \`| cat\` (no pod) | $op ($(mbps "$bytes" "$(ms_to_s "$op")") MB/s) | | |"
    echo "| output: cat of the same bytes, \`| cat\` | $oc ($(mbps "$bytes" "$(ms_to_s "$oc")") MB/s) | | |"
    if [ "$base" != "$rkt" ]; then
        echo "| output, paired per round: this rkt - base | $(paired_ms "$d/out.json" 2 3) | | |"
    fi
    echo "| output, paired per round: rkt run - the probe on the host | $(paired_ms "$d/out.json" 2 4) | | |"
    echo "| rkt run peak RSS | ${rss} KiB | | |"
}

ms_to_s() {
    python3 -c 'import sys; print(float(sys.argv[1]) / 1000)' "$1"
}

# Exited pods on disk: one real pod run to exit, copied under fresh UUIDs (what a busy host
# accumulates between two gc runs).
bench_lifecycle() {
    local runs=${RUNS:-10}
    [ -x "$rkt" ] || scripts/build.sh >/dev/null
    eval "$(scripts/fixtures.sh)"
    local d=$bench/lifecycle
    fresh_dir "$d" && mkdir -p "$d/img/rootfs/bin" "$d/img/rootfs/etc" "$d/img/rootfs/tmp"
    cp "$PROBE_BIN" "$d/img/rootfs/bin/probe"
    echo '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/probe","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":{"exec":["/bin/probe","true"],"user":"0","group":"0"}}' >"$d/img/manifest"
    tar -C "$d/img" -cf "$d/probe.aci" manifest rootfs
    echo "| pods | rkt list ms | per pod us | ls -l + cat ms | list / (ls+cat) | list --format=json ms | rkt status ms | rkt gc (all exited) ms | gc per pod us | rm -rf of a copy ms | gc / rm -rf |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    local n
    for n in 10 100 1000; do
        local data=$d/data-$n
        "$rkt" --dir="$data" fetch --insecure-options=image "$d/probe.aci" >/dev/null
        "$rkt" --dir="$data" run --uuid-file-save="$d/uuid" example.com/probe >/dev/null
        local first
        first=$(cat "$d/uuid")
        python3 - "$data/pods/run" "$first" "$n" <<'PY'
import os, shutil, sys, uuid
run, first, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(n - 1):
    shutil.copytree(os.path.join(run, first), os.path.join(run, str(uuid.uuid4())), symlinks=True)
PY
        local last
        last=$(ls "$data/pods/run" | tail -1)
        printf 'ls -l %s >/dev/null\ncat %s/*/pod >/dev/null\n' "$data/pods/run" "$data/pods/run" >"$d/ref.sh"
        python3 scripts/alternate.py "$runs" "$d/list-$n.json" \
            "$rkt --dir=$data list" \
            "sh $d/ref.sh" \
            "$rkt --dir=$data list --format=json" \
            "$rkt --dir=$data status $last"
        local l r j st g
        l=$(median_ms "$d/list-$n.json" 0)
        r=$(median_ms "$d/list-$n.json" 1)
        j=$(median_ms "$d/list-$n.json" 2)
        st=$(median_ms "$d/list-$n.json" 3)
        # The floor for gc: deleting the same trees with rm -rf (a copy, taken before gc).
        cp -a "$data/pods/run" "$d/rm-ref"
        sync
        local rmr
        rmr=$(python3 -c 'import subprocess,sys,time; t=time.perf_counter(); subprocess.run(sys.argv[1:], check=True); print("%.1f" % (1000*(time.perf_counter()-t)))' \
            rm -rf "$d/rm-ref")
        sync
        g=$(python3 -c 'import subprocess,sys,time; t=time.perf_counter(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True); print("%.1f" % (1000*(time.perf_counter()-t)))' \
            "$rkt" --dir="$data" gc --grace-period=0s)
        [ -z "$(find "$data/pods" -mindepth 2 -maxdepth 2)" ] || { echo "bench: gc left pods" >&2; exit 1; }
        echo "| $n | $l | $(python3 -c "print('%.0f' % (1000*$l/$n))") | $r | $(ratio "$l" "$r")x | $j | $st | $g | $(python3 -c "print('%.0f' % (1000*$g/$n))") | $rmr | $(ratio "$g" "$rmr")x |"
    done
}

# `rkt fetch https://127.0.0.1:PORT/usr.aci` (download, import, render into a store on disk)
# against `curl -s URL | gzip -dc | tee blob.tar | tee >(sha512sum) | tar -x` on the same
# filesystem, runs alternating, from one loopback HTTPS server (Python's ssl, a throw-away CA
# passed to both clients): once with --insecure-options=image (the image is imported while it
# downloads) and once signed, as rkt fetches by default (download, verify, import).
bench_fetch() {
    local runs=${RUNS:-5}
    [ -x "$rkt" ] || scripts/build.sh >/dev/null
    local aci
    aci=$(large_aci)
    local work
    work=$(mktemp -d /var/tmp/rkt-bench-fetch.XXXXXX)
    server_pid=
    # shellcheck disable=SC2064
    trap "if [ -n \"\${server_pid:-}\" ]; then kill \$server_pid 2>/dev/null || true; fi; rm -rf '$work'" EXIT
    mkdir -p "$work/www" "$work/pki"
    ln "$aci" "$work/www/usr.aci" 2>/dev/null || cp "$aci" "$work/www/usr.aci"
    (
        cd "$work/pki"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-ca \
            -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
            -keyout key.pem -out req.pem 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >ext
        openssl x509 -req -in req.pem -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext -out cert.pem 2>/dev/null
    )
    local port=18443
    python3 - "$work/www" "$work/pki" "$port" <<'PY' &
import functools, http.server, ssl, sys
www, pki, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Quiet, directory=www))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(pki + "/cert.pem", pki + "/key.pem")
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
PY
    server_pid=$!
    local url=https://127.0.0.1:$port/usr.aci
    for _ in $(seq 50); do
        curl -s --cacert "$work/pki/ca.pem" -o /dev/null -r 0-0 "$url" && break
        sleep 0.2
    done
    # A signing key of our own (GnuPG at a short path: the agent's socket path is limited),
    # trusted as a root key in a private config dir, and the detached signature served beside
    # the image, so the signed run measures what `rkt fetch` does by default.
    local gnupg
    gnupg=$(mktemp -d /tmp/g.XXXXXX)
    # shellcheck disable=SC2064
    trap "GNUPGHOME='$gnupg' gpgconf --kill all 2>/dev/null || true; rm -rf '$gnupg'; if [ -n \"\${server_pid:-}\" ]; then kill \$server_pid 2>/dev/null || true; fi; rm -rf '$work'" EXIT
    GNUPGHOME=$gnupg gpg --batch --quiet --passphrase '' --quick-gen-key 'bench <bench@localhost>' ed25519 sign never
    GNUPGHOME=$gnupg gpg --batch --quiet --armor --export >"$work/key.asc"
    GNUPGHOME=$gnupg gpg --batch --quiet --detach-sign -o "$work/www/usr.aci.asc" "$work/www/usr.aci"
    "$rkt" --local-config="$work/cfg" trust --root --skip-fingerprint-review "$work/key.asc" >/dev/null
    local fmt='%e %U %S %M' base=() mine=() rss=() signed=() srss=()
    for i in $(seq "$runs"); do
        rm -rf "$work/run" && mkdir -p "$work/run/tree" && sync
        /usr/bin/time -f "$fmt" -o "$work/t" bash -c \
            "curl -s --cacert '$work/pki/ca.pem' '$url' | gzip -dc | tee '$work/run/blob.tar' | tee >(sha512sum >/dev/null) | tar -x -C '$work/run/tree' && sync -f '$work/run'"
        read -r e u s m <"$work/t"
        echo "run $i baseline: ${e} s wall, ${u} s user, ${s} s sys, ${m} KB peak RSS (of the pipeline's largest)" >&2
        base+=("$e")
        rm -rf "$work/run" && mkdir -p "$work/run" && sync
        SSL_CERT_FILE=$work/pki/ca.pem SSL_CERT_DIR=/nonexistent /usr/bin/time -f "$fmt" -o "$work/t" \
            "$rkt" --dir="$work/run" --insecure-options=image fetch "$url" >/dev/null 2>"$work/err" \
            || { cat "$work/err" >&2; exit 1; }
        read -r e u s m <"$work/t"
        echo "run $i rkt:      ${e} s wall, ${u} s user, ${s} s sys, ${m} KB peak RSS" >&2
        mine+=("$e")
        rss+=("$m")
        rm -rf "$work/run" && mkdir -p "$work/run" && sync
        SSL_CERT_FILE=$work/pki/ca.pem SSL_CERT_DIR=/nonexistent /usr/bin/time -f "$fmt" -o "$work/t" \
            "$rkt" --dir="$work/run" --local-config="$work/cfg" fetch "$url" >/dev/null 2>"$work/err" \
            || { cat "$work/err" >&2; exit 1; }
        read -r e u s m <"$work/t"
        echo "run $i rkt signed: ${e} s wall, ${u} s user, ${s} s sys, ${m} KB peak RSS" >&2
        signed+=("$e")
        srss+=("$m")
    done
    echo "ACI: $(stat -c %s "$aci") bytes gzip over loopback HTTPS; $runs alternating runs"
    python3 - "${base[*]}" "${mine[*]}" "${rss[*]}" "$(stat -c %s "$rkt")" "${signed[*]}" "${srss[*]}" <<'PY'
import statistics, sys
b = [float(x) for x in sys.argv[1].split()]
r = [float(x) for x in sys.argv[2].split()]
rss = max(int(x) for x in sys.argv[3].split())
sg = [float(x) for x in sys.argv[5].split()]
srss = max(int(x) for x in sys.argv[6].split())
mb, mr, ms = statistics.median(b), statistics.median(r), statistics.median(sg)
print("| what | median s | ratio |")
print("|---|---|---|")
print(f"| curl \\| gzip -dc \\| tee blob.tar \\| tee >(sha512sum) \\| tar -x && sync -f | {mb:.2f} | 1.00x |")
print(f"| rkt --insecure-options=image fetch https://... (import while downloading) | {mr:.2f} | {mr / mb:.2f}x |")
print(f"| rkt fetch https://... signed (download, verify, import, render) | {ms:.2f} | {ms / mb:.2f}x |")
print(f"| rkt fetch signed peak RSS (max of runs) | {srss / 1024:.1f} MiB | |")
print(f"| rkt fetch peak RSS (max of runs) | {rss / 1024:.1f} MiB | |")
print(f"| static rkt binary size | {int(sys.argv[4])} bytes | |")
PY
}

# The metadata service in a network and mount namespace of its own (its port, its /run/rkt),
# one pod registered; busybox httpd serves pod/uuid's body from a file as the reference.
bench_mds() {
    local work
    work=$(mktemp -d /var/tmp/rkt-bench-mds.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    mkdir -p "$work/run" "$work/www/t/acMetadata/v1/pod"
    local uuid=6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab token=0123456789abcdef0123456789abcdef
    printf '%s' "$uuid" >"$work/www/t/acMetadata/v1/pod/uuid"
    local n=${MDS_REQUESTS:-2000} c=${MDS_CLIENTS:-4} h=${MDS_IDLE:-500}
    cat >"$work/pod.json" <<'JSON'
{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{"name":"web","image":{"id":"sha512-aaaa"},"annotations":[{"name":"a","value":"b"}]}],"annotations":[{"name":"example.com/p","value":"v"}]}
JSON
    echo '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/web"}' >"$work/image.json"
    unshare -m -n --propagation private -- bash -euc "
        ip link set lo up
        mount --bind '$work/run' /run/rkt
        '$rkt' metadata-service >/dev/null 2>&1 & mds=\$!
        busybox httpd -f -p 127.0.0.1:18200 -h '$work/www' >/dev/null 2>&1 & httpd=\$!
        trap 'kill \$mds \$httpd 2>/dev/null' EXIT
        for i in \$(seq 200); do [ -S /run/rkt/metadata-svc.sock ] && break; sleep 0.05; done
        for i in \$(seq 200); do (echo > /dev/tcp/127.0.0.1/18200) 2>/dev/null && break; sleep 0.05; done
        curl -sf --unix-socket /run/rkt/metadata-svc.sock -X PUT --data-binary @'$work/pod.json' 'http://x/pods/$uuid?token=$token'
        curl -sf --unix-socket /run/rkt/metadata-svc.sock -X PUT --data-binary @'$work/image.json' 'http://x/pods/$uuid/web'
        base=/$token/acMetadata/v1
        for round in \$(seq $runs); do
            python3 scripts/mds-load.py 127.0.0.1 18200 $n $c 0 /t/acMetadata/v1/pod/uuid | sed 's/^/ref /'
            python3 scripts/mds-load.py 127.0.0.1 18112 $n $c $h \$base/pod/uuid \$base/pod/annotations                 \$base/pod/manifest \$base/apps/web/annotations \$base/apps/web/image/manifest                 POST:\$base/pod/hmac/sign | sed 's/^/mds /'
        done
    " | python3 -c '
import statistics, sys
rows = {}
for line in sys.stdin:
    who, path, rps, med, p99 = line.split()
    key = "busybox httpd, the same body from a file" if who == "ref" else path.split("/acMetadata/v1/")[1]
    rows.setdefault(key, []).append((float(rps), float(med), float(p99)))
ref = statistics.median(r[1] for r in rows["busybox httpd, the same body from a file"])
print("| endpoint | requests/s | median ms | p99 ms | median vs busybox |")
print("|---|---|---|---|---|")
for key, rs in rows.items():
    rps, med, p99 = (statistics.median(x[i] for x in rs) for i in range(3))
    print(f"| {key} | {rps:.0f} | {med:.3f} | {p99:.3f} | {med / ref:.2f}x |")
'
}

case "${1:-}" in
    ids) bench_ids ;;
    mds) bench_mds ;;
    fetch) bench_fetch ;;
    run) bench_run ;;
    lifecycle) bench_lifecycle ;;
    import) exec scripts/bench-store.sh "${@:2}" ;;
    *) echo "usage: scripts/bench.sh ids|import|run|lifecycle|fetch|mds" >&2; exit 2 ;;
esac
