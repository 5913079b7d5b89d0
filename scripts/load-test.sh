#!/usr/bin/env bash
# The test suite under background load, several times in a row: what a shared 2-core CI
# machine looks like on a bad day. A test that passes here does not depend on timing.
#   scripts/load-test.sh [RUNS]   (default 5; LOAD="--cpu 2 --hdd 1" for stress-ng)
# Prints one line per run (result, seconds) and keeps each run's log in target/load-test/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
load=${LOAD:---cpu 2 --hdd 1}
command -v stress-ng >/dev/null || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
}
mkdir -p target/load-test
# shellcheck disable=SC2086
stress-ng $load --temp-path "$PWD/target/load-test" --quiet &
stress=$!
trap 'kill $stress 2>/dev/null; wait $stress 2>/dev/null || true' EXIT
failed=0
for i in $(seq "$runs"); do
    start=$(date +%s)
    if scripts/test.sh >"target/load-test/run-$i.log" 2>&1; then result=ok; else result=FAILED; failed=1; fi
    echo "load-test: run $i/$runs: $result in $(( $(date +%s) - start )) s (target/load-test/run-$i.log)"
    [ "$result" = ok ] || sed -n '/^test: summary/,$p' "target/load-test/run-$i.log" | grep -v '^ *[0-9.]* *ok ' || true
done
exit "$failed"
