#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 20) on its corpus in tests/fuzz/corpus;
# new inputs go to a scratch directory, so the repository's corpus changes only on purpose
# (copy interesting ones from there). Exits non-zero on the first crash, leak or timeout,
# leaving the reproducer in the scratch directory.
# Usage: run-fuzzers.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=$(realpath "${1:?usage: run-fuzzers.sh BUILD_DIR [SECONDS]}")
seconds=${2:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ehp-fuzz.XXXXXX")
# Every target the fuzz build made (tests/fuzz/CMakeLists.txt), each on its corpus if it has one.
for bin in "$build"/tests/fuzz/*_fuzzer; do
  fuzzer=$(basename "$bin" _fuzzer)
  mkdir -p "$scratch/$fuzzer"
  corpus=()
  [ -d "$root/tests/fuzz/corpus/$fuzzer" ] && corpus=("$root/tests/fuzz/corpus/$fuzzer")
  echo "== $fuzzer: ${seconds}s"
  # -rss_limit_mb and -timeout: a slow or memory-hungry input counts as a failure too.
  rc=0
  (cd "$scratch/$fuzzer" && "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 \
      -max_len=8192 -print_final_stats=1 "$scratch/$fuzzer" "${corpus[@]}" \
      >"$scratch/$fuzzer.log" 2>&1) || rc=$?
  grep -E "^Done|stat::new_units_added|stat::peak_rss|ERROR|SUMMARY" "$scratch/$fuzzer.log" || true
  if [ "$rc" -ne 0 ]; then
    tail -40 "$scratch/$fuzzer.log" >&2
    echo "$fuzzer: failed (exit $rc); reproducer and log in $scratch" >&2
    exit 1
  fi
done
rm -rf "$scratch"
