#!/usr/bin/env bash
# Measures how fast the proxy evicts a member cut off from its peers (follower and leader, RUNS
# times each, in network namespaces), how long readmission takes after the heal, and how many
# evictions a STEADY-second run under load without faults causes (target 0).
# Needs root and a release build (make build). Usage: chaos/measure-eviction.sh [RUNS] [STEADY]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
steady=${2:-60}
bin=build/release/tests/partition_test
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
EHP_PARTITION_RUNS=$runs EHP_STEADY_SECONDS=$steady "$bin" 2>/dev/null |
  grep -E "^(follower cut|leader cut|steady load)|^\[  (PASSED|FAILED)"
