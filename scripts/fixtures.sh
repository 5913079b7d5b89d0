#!/usr/bin/env bash
# Builds the test payloads: the static probe (tests/probe) and stage1-init, with the same cargo
# command and target dir rkt's build script uses for stage1-init, checks that both are static,
# and copies the probe to target/fixtures/probe (never committed); and the programs of today
# the confinement tests run (tests/payloads): a glibc program (dynamic, gcc) and a static Go one. Prints the variables the
# stage1-init end-to-end tests (stage1-init/tests/pod.rs) read, so they need not build anything:
#   eval "$(scripts/fixtures.sh)" && cargo test -p stage1-init --test pod
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
out=target/stage1/$target/release
echo "fixtures: cargo --config musl.toml build --release -p stage1-init -p probe" >&2
cargo --config musl.toml build --release --locked -p stage1-init -p probe \
    --target "$target" --target-dir target/stage1 >&2
scripts/check-static.sh "$out/stage1-init" "$out/probe" >&2
mkdir -p target/fixtures
cp "$out/probe" target/fixtures/probe
echo "fixtures: gcc tests/payloads/modern.c, go build tests/payloads/goserver.go" >&2
gcc -O2 -Wall -Werror -o target/fixtures/modern tests/payloads/modern.c -lpthread
CGO_ENABLED=0 GOCACHE="$PWD/target/go/cache" GOPATH="$PWD/target/go/path" GOFLAGS=-mod=mod \
    go build -trimpath -ldflags=-s -o target/fixtures/goserver tests/payloads/goserver.go
scripts/check-static.sh target/fixtures/goserver >&2
echo "export STAGE1_INIT_BIN=$PWD/$out/stage1-init PROBE_BIN=$PWD/target/fixtures/probe"
