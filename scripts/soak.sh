#!/usr/bin/env bash
# The test suite with soak-sized load counts: the same tests as scripts/test.sh, run with the
# large figures below (override any of them from the environment). Takes an hour or more.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RKT_SOAK_RUN_GC_CYCLES:=1000}"   # run + gc cycles of the leak tests
: "${RKT_SOAK_PARALLEL_PODS:=200}"    # pods started at once
: "${RKT_SOAK_GC_RACE_RUNS:=200}"     # runs while gc and image gc loop
: "${RKT_SOAK_MOUNT_RACE:=2000}"      # pod starts during the RENAME_EXCHANGE race (case 41)
: "${RKT_SOAK_NET_CYCLES:=1000}"      # run --port + gc cycles on the default network
: "${RKT_TEST_TIMEOUT:=3600}"         # per-test deadline, seconds
: "${RKT_TEST_SUITE_LIMIT:=6h}"       # the whole cargo test run
export RKT_SOAK_RUN_GC_CYCLES RKT_SOAK_PARALLEL_PODS RKT_SOAK_GC_RACE_RUNS RKT_SOAK_MOUNT_RACE RKT_SOAK_NET_CYCLES
export RKT_TEST_TIMEOUT RKT_TEST_SUITE_LIMIT
exec scripts/test.sh
