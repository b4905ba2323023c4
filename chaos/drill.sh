#!/usr/bin/env bash
# Chaos drills: for every scenario and client mode, a fresh etcd cluster in network namespaces
# (topology.sh), the kube-apiserver-shaped load (ehp-loadgen) through the mode's front end, one
# fault injected after a warm-up and healed, then a report (chaos/report.py): JSON, a Markdown
# table per scenario and a PNG timeline per scenario.
#
#   chaos/drill.sh [options]
#     --modes=LIST       proxy,direct,grpc-proxy,haproxy (default: all four)
#     --scenarios=LIST   default: every scenario for the member count (see SCENARIOS below)
#     --members=3|5      cluster size (5 adds the zone-loss scenario; zones a a b b c)
#     --short            follower-cut and leader-cut, proxy and direct (the `make test` drill)
#     --out=DIR          report directory (default chaos-report-<date>)
#     --etcd=VERSION     3.4 (Debian 12's, the default), 3.5 (the newest 3.5 that `make build`
#                        fetched into build/etcd), or an exact fetched version (3.5.16, 3.5.30);
#                        EHP_ETCD_VERSION in the environment sets the default
#     --pre-vote         etcd with --pre-vote=true (3.5 has it on already)
#     --fill-mib=N       defrag scenario: MiB of free pages in the database (default 64)
#     --check            exit 1 when a proxy run misses its target (report.py --check)
#     --npm-client       also run chaos/npm-client (the npm etcd3 library, with its circuit
#                        breaker) next to the load generator; needs node and, once,
#                        `npm ci --prefix chaos/npm-client`
#
# Needs root (network namespaces), etcd and etcdctl, the built proxy and ehp-loadgen (BUILD_DIR,
# default build/release), haproxy for that mode, python3, and gnuplot for the pictures.
# Everything it creates (namespaces, bridges, processes) is removed at the end, on failure and on
# Ctrl-C; processes are stopped by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
proxy_bin=$build/proxy/etcd-health-proxy
loadgen_bin=$build/chaos/ehp-loadgen

modes=proxy,direct,grpc-proxy,haproxy
scenarios=""
members=3
out=""
check=0
npm=0
warmup=5     # seconds of load before the fault
recovery=12  # seconds of load after the heal
slow_rate=160kbit  # slow-follower: a follower's incoming peer traffic, below what the load needs
fill_mib=64        # defrag: MiB written, deleted and compacted before the load starts
for arg in "$@"; do
  case "$arg" in
    --modes=*) modes=${arg#*=} ;;
    --scenarios=*) scenarios=${arg#*=} ;;
    --members=*) members=${arg#*=} ;;
    --short) modes=proxy,direct scenarios=follower-cut,leader-cut ;;
    --out=*) out=${arg#*=} ;;
    --pre-vote) export ETCD_EXTRA_FLAGS="--pre-vote=true" ;;
    --fill-mib=*) fill_mib=${arg#*=} ;;
    --check) check=1 ;;
    --npm-client) npm=1 ;;
    --etcd=*) export EHP_ETCD_VERSION=${arg#*=} ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "drill.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ "$members" = 3 ] || [ "$members" = 5 ] || { echo "drill.sh: --members is 3 or 5" >&2; exit 2; }
if [ -z "$scenarios" ]; then
  scenarios=follower-cut,leader-cut,oneway-in,oneway-out,freeze,kill,latency,loss,blackhole,rolling-restart
  scenarios+=,slow-follower,defrag,leader-restart
  [ "$members" = 5 ] && scenarios+=,zone-loss
fi
[ "$(id -u)" -eq 0 ] || { echo "drill.sh: needs root (network namespaces)" >&2; exit 77; }
# etcd and etcdctl of EHP_ETCD_VERSION first in PATH, for this script and topology.sh.
# shellcheck source=../tests/scripts/use-etcd.sh
. "$root/tests/scripts/use-etcd.sh"
for b in "$proxy_bin" "$loadgen_bin"; do
  [ -x "$b" ] || { echo "drill.sh: $b missing: build first (make build)" >&2; exit 2; }
done
if [ $npm -eq 1 ] && { ! command -v node >/dev/null || [ ! -d "$here/npm-client/node_modules/etcd3" ]; }; then
  echo "drill.sh: --npm-client needs node and the client's packages: npm ci --prefix chaos/npm-client" >&2
  exit 2
fi
out=${out:-chaos-report-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out/runs"
out=$(cd "$out" && pwd)
etcd --version | awk '/^etcd Version:/ { print $3 }' >"$out/etcd-version.txt"

# One tag (and so one 198.18.K.0/24 + 198.19.K.0/24 pair) per drill process.
tag="dr$(($$ % 1000))"
work=$(mktemp -d)
certs=$work/certs
state=""
frontend_pid=""
loadgen_pid=""
npm_pid=""

stop_pid() {  # pid: SIGTERM, then SIGKILL after 5 s
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
teardown_run() {
  stop_pid "$loadgen_pid"
  loadgen_pid=""
  stop_pid "$npm_pid"
  npm_pid=""
  stop_pid "$frontend_pid"
  frontend_pid=""
  if [ -n "$state" ]; then "$here/topology.sh" down "$tag" "$state" || true; fi
  state=""
}
cleanup() {
  teardown_run
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "drill.sh: interrupted" >&2; exit 130' INT TERM

EXTRA_SANS="$("$here/topology.sh" sans "$tag" "$members")" \
  "$root/tests/scripts/gen-certs.sh" "$certs" >/dev/null
cat "$certs/client.pem" "$certs/client-key.pem" >"$certs/client-combined.pem"
# etcd 3.4's grpc-proxy refuses a client certificate with a Common Name (it would stand for an
# etcd user): it gets one without.
openssl req -newkey rsa:2048 -nodes -keyout "$certs/client-nocn-key.pem" \
  -out "$certs/client-nocn.csr" -subj "/O=etcd-grpc-proxy" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$certs/client-nocn.ext"
openssl x509 -req -in "$certs/client-nocn.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca-key.pem" \
  -CAcreateserial -out "$certs/client-nocn.pem" -days 2 -extfile "$certs/client-nocn.ext" \
  2>/dev/null

free_port() { "$here/../tests/scripts/free-port.py"; }
now() { date +%s.%N; }
ip_of() { "$here/topology.sh" endpoints "$tag" "$members" | tr ',' '\n' | sed -n "${1}p" | sed 's|https://||; s|:2379||'; }
etcdctl_m() {  # member args...
  local i=$1
  shift
  etcdctl --endpoints="https://$(ip_of "$i"):2379" --cacert="$certs/ca.pem" \
    --cert="$certs/client.pem" --key="$certs/client-key.pem" --dial-timeout=1s \
    --command-timeout=3s "$@"
}
leader() {  # the member (1-based) that says it is the leader
  local i
  for i in $(seq 1 "$members"); do
    if etcdctl_m "$i" endpoint status -w simple 2>/dev/null | awk -F', ' '{print $5}' | grep -q true; then
      echo "$i"
      return
    fi
  done
  echo 1
}
follower() {
  local l i
  l=$(leader)
  for i in $(seq 1 "$members"); do [ "$i" != "$l" ] && { echo "$i"; return; }; done
}
wait_healthy() {  # member, seconds
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    etcdctl_m "$1" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
zone_of() { case "$1" in 1 | 2) echo zone-a ;; 3 | 4) echo zone-b ;; *) echo zone-c ;; esac; }

start_frontend() {  # mode run_dir -> sets frontend_pid and client_endpoints
  local mode=$1 dir=$2 port
  local eps
  eps=$("$here/topology.sh" endpoints "$tag" "$members")
  case "$mode" in
    direct)
      client_endpoints=$eps
      ;;
    proxy)
      port=$(free_port)
      admin_port=$(free_port)
      local zones=""
      if [ "$members" = 5 ]; then
        for i in $(seq 1 5); do zones+="${zones:+,}$(ip_of "$i"):2379=$(zone_of "$i")"; done
        zones="--member-zones=$zones"
      fi
      "$proxy_bin" --endpoints="$eps" --cacert="$certs/ca.pem" --cert="$certs/client.pem" \
        --key="$certs/client-key.pem" --listen-addr="127.0.0.1:$port" \
        --cert-file="$certs/server.pem" --key-file="$certs/server-key.pem" \
        --trusted-ca-file="$certs/ca.pem" --metrics-addr="127.0.0.1:$admin_port" \
        --log-format=json ${zones} >"$dir/proxy.log" 2>&1 &
      frontend_pid=$!
      echo "$admin_port" >"$dir/admin_port"
      client_endpoints="127.0.0.1:$port"
      ;;
    grpc-proxy)
      port=$(free_port)
      etcd grpc-proxy start --endpoints="$(echo "$eps" | sed 's|https://||g')" \
        --listen-addr="127.0.0.1:$port" --cacert="$certs/ca.pem" \
        --cert="$certs/client-nocn.pem" --key="$certs/client-nocn-key.pem" \
        --cert-file="$certs/server.pem" \
        --key-file="$certs/server-key.pem" --trusted-ca-file="$certs/ca.pem" \
        >"$dir/grpc-proxy.log" 2>&1 &
      frontend_pid=$!
      client_endpoints="127.0.0.1:$port"
      ;;
    haproxy)
      port=$(free_port)
      {
        printf 'global\n  maxconn 4096\ndefaults\n  mode tcp\n  timeout connect 2s\n'
        printf '  timeout client 10m\n  timeout server 10m\n  timeout check 1s\n'
        printf 'frontend etcd\n  bind 127.0.0.1:%s\n  default_backend members\n' "$port"
        printf 'backend members\n  balance roundrobin\n  option httpchk GET /health\n'
        for i in $(seq 1 "$members"); do
          printf '  server m%s %s:2379 check check-ssl verify required ca-file %s crt %s inter 500ms fall 2 rise 2\n' \
            "$i" "$(ip_of "$i")" "$certs/ca.pem" "$certs/client-combined.pem"
        done
      } >"$dir/haproxy.cfg"
      haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
      frontend_pid=$!
      client_endpoints="127.0.0.1:$port"
      ;;
    *) echo "drill.sh: unknown mode $mode" >&2; exit 2 ;;
  esac
  if [ "$mode" != direct ]; then
    for _ in $(seq 1 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
      kill -0 "$frontend_pid" 2>/dev/null || break
      sleep 0.1
    done
    echo "drill.sh: $mode did not start; see $dir" >&2
    return 1
  fi
}

mark() { echo "$(now) $*" >>"$faults"; }  # fault log: epoch seconds, event

# Applies scenario $1's fault, holds it, heals it. Prints nothing; writes $faults.
run_fault() {
  local s=$1 m
  case "$s" in
    follower-cut | leader-cut)
      if [ "$s" = leader-cut ]; then m=$(leader); else m=$(follower); fi
      mark "fault_start member=m$m cut"
      "$here/topology.sh" cut "$tag" "$m"
      sleep $([ "$s" = leader-cut ] && echo 5 || echo 10)
      "$here/topology.sh" heal "$tag" "$m"
      mark "fault_end"
      ;;
    oneway-in | oneway-out)
      m=$(follower)
      mark "fault_start member=m$m ${s#oneway-}bound peer traffic dropped"
      "$here/topology.sh" oneway "$tag" "$m" "${s#oneway-}"
      sleep 10
      "$here/topology.sh" clear "$tag" "$m"
      mark "fault_end"
      ;;
    freeze)
      m=$(follower)
      mark "fault_start member=m$m SIGSTOP"
      "$here/topology.sh" signal "$tag" "$m" STOP "$state"
      sleep 5
      "$here/topology.sh" signal "$tag" "$m" CONT "$state"
      mark "fault_end"
      ;;
    kill)
      m=$(follower)
      mark "fault_start member=m$m SIGKILL"
      "$here/topology.sh" signal "$tag" "$m" KILL "$state"
      sleep 5
      "$here/topology.sh" restart "$tag" "$m" "$state"
      mark "fault_end"
      ;;
    latency)
      m=$(follower)
      if "$here/topology.sh" netem "$tag" "$m" client delay 200ms 50ms 2>/dev/null; then
        mark "fault_start member=m$m client link delay 200ms 50ms"
      else
        # No netem in this kernel: a slow link instead (answers queue behind 256 kbit/s).
        "$here/topology.sh" slow "$tag" "$m" client 256kbit
        mark "fault_start member=m$m client link slowed to 256 kbit/s (no netem here)"
      fi
      sleep 10
      "$here/topology.sh" clear "$tag" "$m"
      mark "fault_end"
      ;;
    loss)
      m=$(follower)
      mark "fault_start member=m$m client link loses 30% of packets"
      "$here/topology.sh" loss "$tag" "$m" client 30
      sleep 10
      "$here/topology.sh" clear "$tag" "$m"
      mark "fault_end"
      ;;
    blackhole)
      m=$(follower)
      mark "fault_start member=m$m client link blackholed"
      "$here/topology.sh" blackhole "$tag" "$m"
      sleep 10
      "$here/topology.sh" clear "$tag" "$m"
      mark "fault_end"
      ;;
    zone-loss)
      mark "fault_start zone-a (m1 m2) cut off"
      for m in 1 2; do
        "$here/topology.sh" cut "$tag" "$m"
        "$here/topology.sh" blackhole "$tag" "$m"
      done
      sleep 10
      for m in 1 2; do "$here/topology.sh" clear "$tag" "$m"; done
      mark "fault_end"
      ;;
    rolling-restart)
      mark "fault_start rolling restart"
      for m in $(seq 1 "$members"); do
        mark "restart member=m$m"
        "$here/topology.sh" signal "$tag" "$m" TERM "$state"
        sleep 1
        "$here/topology.sh" restart "$tag" "$m" "$state"
        wait_healthy "$m" 20 || true
        sleep 2
      done
      mark "fault_end"
      ;;
    slow-follower)
      # Its incoming peer traffic below what the write load needs: its apply lag grows by about
      # half a second per second, without an election.
      m=$(follower)
      mark "fault_start member=m$m incoming peer link rate-limited to $slow_rate"
      "$here/topology.sh" slow-in "$tag" "$m" "$slow_rate"
      sleep 10
      "$here/topology.sh" clear "$tag" "$m"
      mark "fault_end"
      ;;
    defrag)
      # Every member defragmented in turn, its database holding $fill_mib MiB of free pages:
      # through the proxy's endpoint (one at a time, drained first), by hand otherwise.
      if [ "$mode" = proxy ]; then
        mark "fault_start POST /maintenance/defragment"
        curl -s -XPOST "http://127.0.0.1:$(cat "$dir/admin_port")/maintenance/defragment" \
          >"$dir/defragment.json" || true
        for _ in $(seq 1 3000); do
          curl -s "http://127.0.0.1:$(cat "$dir/admin_port")/status" | grep -q '"maintenance":null' && break
          sleep 0.1
        done
      else
        mark "fault_start etcdctl defrag on each member in turn"
        for m in $(seq 1 "$members"); do etcdctl_m "$m" defrag --command-timeout=60s || true; done
      fi
      mark "fault_end"
      ;;
    leader-restart)
      m=$(leader)
      if [ "$mode" = proxy ]; then
        # Leadership handed over first: the restart costs no election.
        mark "fault_start POST /members/$(ip_of "$m"):2379/move-leader, then restart m$m"
        curl -s -XPOST "http://127.0.0.1:$(cat "$dir/admin_port")/members/$(ip_of "$m"):2379/move-leader" \
          >"$dir/move-leader.json" || true
      else
        mark "fault_start restart leader m$m (an election)"
      fi
      "$here/topology.sh" signal "$tag" "$m" TERM "$state"
      sleep 1
      "$here/topology.sh" restart "$tag" "$m" "$state"
      wait_healthy "$m" 20 || true
      mark "fault_end"
      ;;
    *) echo "drill.sh: unknown scenario $s" >&2; exit 2 ;;
  esac
}

# A database with $fill_mib MiB of free pages for the defrag scenario: written, deleted and
# compacted through member 1 before the load starts.
fill_database() {
  local i rev v
  v=$(head -c 1000000 /dev/zero | tr '\0' x)
  for i in $(seq 1 "$fill_mib"); do
    printf '%s' "$v" | etcdctl_m 1 put "/fill/$i" >/dev/null
  done
  etcdctl_m 1 del --prefix /fill/ >/dev/null
  rev=$(etcdctl_m 1 get / -w json | sed 's/.*"revision":\([0-9]*\).*/\1/')
  etcdctl_m 1 compact --physical "$rev" >/dev/null
}

fault_seconds() {
  case "$1" in
    leader-cut | freeze | kill | leader-restart) echo 5 ;;
    defrag) echo $((20 + fill_mib / 8)) ;;
    rolling-restart) echo $((members * 6)) ;;
    *) echo 10 ;;
  esac
}

IFS=, read -r -a scenario_list <<<"$scenarios"
IFS=, read -r -a mode_list <<<"$modes"
echo "drill: ${#scenario_list[@]} scenario(s) x ${#mode_list[@]} mode(s), $members members of etcd $(cat "$out/etcd-version.txt"), report in $out"
for s in "${scenario_list[@]}"; do
  for mode in "${mode_list[@]}"; do
    dir=$out/runs/$s--$mode
    rm -rf "$dir"
    mkdir -p "$dir"
    faults=$dir/faults.txt
    state=$work/state-$s-$mode
    echo "== $s / $mode"
    "$here/topology.sh" up "$tag" "$members" "$certs" "$state" >"$dir/topology.log" 2>&1 ||
      { cat "$dir/topology.log" >&2; exit 1; }
    [ "$s" = defrag ] && fill_database
    start_frontend "$mode" "$dir"
    duration=$((warmup + $(fault_seconds "$s") + recovery))
    mark "load_start"
    "$loadgen_bin" --endpoints="$client_endpoints" --cacert="$certs/ca.pem" \
      --cert="$certs/client.pem" --key="$certs/client-key.pem" --duration="$duration" \
      --connections="$([ "$mode" = direct ] && echo 1 || echo "$members")" \
      --prefix="/drill/$s/" --json="$dir/summary.json" --timeline="$dir/timeline.csv" \
      >"$dir/loadgen.log" 2>&1 &
    loadgen_pid=$!
    if [ $npm -eq 1 ]; then
      # The npm library wants URLs; the front ends give host:port.
      npm_endpoints=$(tr ',' '\n' <<<"$client_endpoints" | sed 's|^\([^:]*:[0-9]*\)$|https://\1|' | paste -sd,)
      node "$here/npm-client/client.js" --endpoints="$npm_endpoints" --cacert="$certs/ca.pem" \
        --cert="$certs/client.pem" --key="$certs/client-key.pem" --duration="$duration" \
        --prefix="/drill/$s/npm/" --json="$dir/npm.json" >"$dir/npm.log" 2>&1 &
      npm_pid=$!
    fi
    sleep "$warmup"
    run_fault "$s" || echo "drill.sh: the fault commands of $s failed; see $dir" >&2
    wait "$loadgen_pid" || true
    loadgen_pid=""
    if [ -n "$npm_pid" ]; then
      wait "$npm_pid" || true
      npm_pid=""
      tail -1 "$dir/npm.log"
    fi
    if [ "$mode" = proxy ]; then
      curl -s "http://127.0.0.1:$(cat "$dir/admin_port")/events" >"$dir/events.json" || true
      curl -s "http://127.0.0.1:$(cat "$dir/admin_port")/metrics" >"$dir/metrics.txt" || true
    fi
    grep -m1 '^reads ' "$dir/loadgen.log" || echo "(no summary from the load generator)"
    # The members' own logs (leader changes, dropped connections), kept with the run.
    for f in "$state"/m*.log; do [ -f "$f" ] && cp "$f" "$dir/etcd-$(basename "$f")"; done
    teardown_run
  done
done

python3 "$here/report.py" "$out" $([ $check -eq 1 ] && echo --check)
