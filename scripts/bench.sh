#!/usr/bin/env bash
# Benchmarks, each against a reference measured in the same run (the machine is shared and
# noisy: ratios and medians, never absolute timings in tests). Results go to BENCHMARKS.md by hand.
#
#   scripts/bench.sh ids      image ID of a large gzip ACI vs `gzip -dc X | sha512sum`
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
bench=$PWD/target/bench
rkt=$PWD/target/x86_64-unknown-linux-musl/release/rkt
mkdir -p "$bench"

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

case "${1:-}" in
    ids) bench_ids ;;
    *) echo "usage: scripts/bench.sh ids" >&2; exit 2 ;;
esac
