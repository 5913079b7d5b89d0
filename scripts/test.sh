#!/usr/bin/env bash
# The whole test suite: formatting, lints, the static build, unit tests and the end-to-end tests
# that drive the built static binary (as root; with CI=true a missing requirement fails).
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
echo "test: cargo test --workspace"
# A hung pod must fail the run in bounded time, not stall CI until its own limit: the whole
# suite takes a few minutes here; 30 minutes means something is stuck.
timeout --signal=KILL 30m cargo test --workspace --locked || {
    rc=$?
    [ "$rc" -eq 137 ] && echo "test: cargo test killed after 30 minutes: a test is hung" >&2
    exit "$rc"
}
