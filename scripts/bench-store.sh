#!/usr/bin/env bash
# Import + render of a large gzip ACI into a store on the default disk filesystem (page cache
# warm), against `gzip -dc X | tee blob.tar | tee >(sha512sum) | tar -x && sync -f` in the same
# run. Runs alternate so that both see the same (shared, noisy) machine; prints every run and
# the medians. Results go to BENCHMARKS.md by hand.
#
#   RUNS=3 scripts/bench-store.sh [ACI]     (default: the /usr ACI of scripts/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
rkt=$PWD/target/x86_64-unknown-linux-musl/release/rkt
[ -x "$rkt" ] || scripts/build.sh >/dev/null
bench=$PWD/target/bench
mkdir -p "$bench"
aci=${1:-$bench/usr.aci}
if [ ! -s "$aci" ]; then
    dir=$(mktemp -d "$bench/manifest.XXXXXX")
    echo '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/usr"}' >"$dir/manifest"
    mkdir "$dir/rootfs"
    tar -cf - -C "$dir" --no-recursion manifest rootfs --recursion \
        --transform 's,^usr,rootfs/usr,rSh' -C / usr/include usr/bin | gzip -6 >"$aci.tmp"
    mv "$aci.tmp" "$aci"
    rm -rf "$dir"
fi
work=$(mktemp -d /var/tmp/rkt-bench-store.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat "$aci" >/dev/null

fmt='%e %U %S %M'
base=() mine=()
for i in $(seq "$runs"); do
    rm -rf "$work/run" && mkdir -p "$work/run/tree" && sync
    /usr/bin/time -f "$fmt" -o "$work/t" bash -c \
        "gzip -dc '$aci' | tee '$work/run/blob.tar' | tee >(sha512sum >/dev/null) | tar -x -C '$work/run/tree' && sync -f '$work/run'"
    read -r e u s m <"$work/t"
    echo "run $i baseline: ${e} s wall, ${u} s user, ${s} s sys, ${m} KB peak RSS"
    base+=("$e")
    rm -rf "$work/run" && mkdir -p "$work/run" && sync
    /usr/bin/time -f "$fmt" -o "$work/t" "$rkt" --dir="$work/run" fetch --insecure-options=image "$aci" >/dev/null
    read -r e u s m <"$work/t"
    echo "run $i rkt:      ${e} s wall, ${u} s user, ${s} s sys, ${m} KB peak RSS"
    mine+=("$e")
done
python3 - "${base[*]}" "${mine[*]}" <<'PY'
import statistics, sys
b = [float(x) for x in sys.argv[1].split()]
r = [float(x) for x in sys.argv[2].split()]
mb, mr = statistics.median(b), statistics.median(r)
print(f"median: baseline {mb:.2f} s, rkt {mr:.2f} s, ratio {mr / mb:.2f}x")
PY
