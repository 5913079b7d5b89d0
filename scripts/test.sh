#!/usr/bin/env bash
# The whole test suite: formatting, lints, the static build, unit tests and the end-to-end tests
# that drive the built static binary (as root; with CI=true a missing requirement fails).
#
# Every test binary runs even when one fails (--no-fail-fast); the closing summary gives each
# binary's time and names every failed test. The load counts of the soak-style tests come from
# RKT_SOAK_* (small here; scripts/soak.sh runs the same tests with large ones).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "test: cargo fmt --check"
cargo fmt --all -- --check
echo "test: cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/build.sh
export RKT_BIN="$PWD/target/x86_64-unknown-linux-musl/release/rkt"
# The static probe payload and stage1-init for the end-to-end tests (STAGE1_INIT_BIN, PROBE_BIN).
eval "$(scripts/fixtures.sh)"

: "${RKT_SOAK_RUN_GC_CYCLES:=200}" "${RKT_SOAK_PARALLEL_PODS:=50}" "${RKT_SOAK_GC_RACE_RUNS:=30}"
: "${RKT_SOAK_MOUNT_RACE:=200}" "${RKT_SOAK_NET_CYCLES:=200}"
export RKT_SOAK_RUN_GC_CYCLES RKT_SOAK_PARALLEL_PODS RKT_SOAK_GC_RACE_RUNS RKT_SOAK_MOUNT_RACE
export RKT_SOAK_NET_CYCLES

log=target/test-log.txt
echo "test: cargo test --workspace --no-fail-fast (log: $log)"
# Each test that starts a pod has its own deadline (tests/e2e/src/watchdog.rs, 300 s unless
# RKT_TEST_TIMEOUT says otherwise); this outer bound only catches a hang outside any test.
limit=${RKT_TEST_SUITE_LIMIT:-40m}
rc=0
timeout --signal=KILL "$limit" cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" ||
    rc=${PIPESTATUS[0]}
[ "$rc" -eq 137 ] && echo "test: cargo test killed after $limit: something outside a test hung" >&2
scripts/test-summary.sh "$log"
exit "$rc"
