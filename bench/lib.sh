# What the benchmark scripts share; sourced, after `set -euo pipefail`, by compare.sh, abuse.sh
# and callgrind.sh. Defines $work (a temporary directory), $pids (processes to stop on exit:
# killed by PID, then waited for) and the port helpers.
bench_name=$(basename "$0")
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
free_port() { "$bench_dir/../tests/scripts/free-port.py"; }
wait_port() {  # port [seconds, default 10]
  for _ in $(seq 1 $((${2:-10} * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$bench_name: nothing listens on $1" >&2
  exit 1
}
