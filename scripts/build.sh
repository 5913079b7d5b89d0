#!/usr/bin/env bash
# Builds the static rkt (with stage1-init embedded by its build script) and checks it is static.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "build: cargo --config musl.toml build --release --locked"
cargo --config musl.toml build --release --locked
scripts/check-static.sh target/x86_64-unknown-linux-musl/release/rkt
