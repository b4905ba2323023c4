#!/usr/bin/env bash
# Instructions per forwarded request of each front end, counted by valgrind's callgrind: unlike
# CPU time on a shared machine this does not move with other load. One etcd member on loopback
# (h2c); each front end in turn runs under `valgrind --tool=callgrind`, takes --warmup
# linearizable Ranges from h2load (connections, caches, the allocator's arenas), has its counters
# zeroed (callgrind_control -z), takes --requests more, and is dumped (callgrind_control -d). The
# figure is the dump's total Ir over all the front end's threads divided by --requests; it
# includes what the front end does meanwhile besides forwarding (the proxy's health probes).
#
# Front ends: proxy (--threads=1), nghttpx (--single-process --workers=1, h2c to h2c) and HAProxy
# (TCP mode, nbthread 1, for scale). For the proxy, where the instructions go is listed per
# forwarded Range: by library, by function (self cost), and the proxy's own functions by
# inclusive cost (what they and everything they call cost).
#
#   bench/callgrind.sh [--requests=2000] [--warmup=200] [--out=FILE] [--top=N] [--keep=DIR]
# --out appends the figures to FILE as a Markdown section (bench/compare.sh --callgrind=FILE puts
# the proxy's figure into its targets table and appends the section to bench/RESULTS.md);
# --keep copies the callgrind dumps to DIR (callgrind_annotate reads them); --top: functions
# listed per table (25).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
proxy_bin=$build/proxy/etcd-health-proxy
requests=2000
warmup=200
out=
keep=
top=25
clients=4   # h2load connections
streams=8   # concurrent streams per connection
for arg in "$@"; do
  case "$arg" in
    --requests=*) requests=${arg#*=} ;;
    --warmup=*) warmup=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    --keep=*) keep=${arg#*=} ;;
    --top=*) top=${arg#*=} ;;
    *) echo "callgrind.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
for t in etcd etcdctl h2load nghttpx haproxy valgrind callgrind_control python3; do
  command -v "$t" >/dev/null || { echo "callgrind.sh: $t is missing (tests/scripts/install-deps.sh)" >&2; exit 2; }
done
if [ ! -x "$proxy_bin" ]; then echo "callgrind.sh: build first (make build)" >&2; exit 2; fi

# shellcheck source=lib.sh
. "$here/lib.sh"

etcd_port=$(free_port)
peer_port=$(free_port)
etcd --name bench --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "bench=http://127.0.0.1:$peer_port" \
  --log-outputs "$work/etcd.log" --logger zap >/dev/null 2>&1 &
pids+=("$!")
wait_port "$etcd_port" 10
for _ in $(seq 1 50); do
  etcdctl --endpoints="127.0.0.1:$etcd_port" put bench-key \
    "$(head -c 64 /dev/zero | tr '\0' v)" >/dev/null 2>&1 && break
  sleep 0.2
done
python3 - "$work" <<'EOF'
import struct, sys
key = b"bench-key"
b = b"\x0a" + bytes([len(key)]) + key   # RangeRequest{key}: linearizable
open(sys.argv[1] + "/range.bin", "wb").write(b"\x00" + struct.pack(">I", len(b)) + b)
EOF

load() {  # port n -> prints "succeeded data_bytes"
  local res
  res=$(timeout 600 h2load -n "$2" -c "$clients" -m "$streams" -t 1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/range.bin" \
    "http://127.0.0.1:$1/etcdserverpb.KV/Range" 2>&1) || true
  echo "$(grep -o '[0-9]* succeeded' <<<"$res" | head -1 | cut -d' ' -f1) $(grep '^traffic:' <<<"$res" | grep -o '([0-9]*) data' | tr -dc '0-9')"
}

# Response DATA bytes of one Range straight from etcd: a forwarded error carries none.
read -r _ one_bytes <<<"$(load "$etcd_port" 1)"

csv=$work/callgrind.csv
echo "frontend,requests,ir_total,ir_per_request,ok" >"$csv"
for t in proxy nghttpx haproxy; do
  p=$(free_port)
  # --probe-timeout: the probes run ~50x slower under valgrind too; a member they evict would
  # fail the Ranges.
  case "$t" in
    proxy)
      cmd=("$proxy_bin" --endpoints="http://127.0.0.1:$etcd_port" --listen-addr="127.0.0.1:$p"
        --metrics-addr="127.0.0.1:$(free_port)" --log-level=warn --threads=1 --probe-timeout=20s
        --probe-read-timeout=20s --dial-timeout=20s)
      ;;
    nghttpx)
      cmd=(nghttpx --conf=/dev/null --single-process --workers=1 "-f127.0.0.1,$p;no-tls"
        "-b127.0.0.1,$etcd_port;;proto=h2" --log-level=WARN --errorlog-file="$work/$t.log")
      ;;
    haproxy)
      printf 'global\n  maxconn 4096\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 20s\n  timeout client 1m\n  timeout server 1m\nlisten etcd\n  bind 127.0.0.1:%s\n  server m1 127.0.0.1:%s\n' \
        "$p" "$etcd_port" >"$work/haproxy.cfg"
      cmd=(haproxy -db -f "$work/haproxy.cfg")
      ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$work/$t.%p.out" "${cmd[@]}" >>"$work/$t.log" 2>&1 &
  vpid=$!
  pids+=("$vpid")
  wait_port "$p" 120
  read -r ok_warm _ <<<"$(load "$p" "$warmup")"
  callgrind_control -z "$vpid" >>"$work/$t.log" 2>&1
  read -r ok_n data <<<"$(load "$p" "$requests")"
  callgrind_control -d "$vpid" >>"$work/$t.log" 2>&1
  dump=$(find "$work" -name "$t.$vpid.out.*" | sort | tail -1)
  [ -n "$dump" ] && cp "$dump" "$work/$t.dump"
  if [ -n "$keep" ] && [ -n "$dump" ]; then mkdir -p "$keep" && cp "$dump" "$keep/$t.callgrind.out"; fi
  # "totals:" (or "summary:") is the Ir of everything since the counters were zeroed.
  ir=$(awk '/^(totals|summary):/ { print $2; exit }' "$dump" 2>/dev/null || true)
  kill "$vpid" 2>/dev/null || true
  wait "$vpid" 2>/dev/null || true
  ok=0
  [ "${ok_warm:-0}" -eq "$warmup" ] && [ "${ok_n:-0}" -eq "$requests" ] &&
    [ "${data:-0}" -ge $((requests * one_bytes)) ] && [ -n "$ir" ] && ok=1
  [ "$ok" = 1 ] || { echo "callgrind.sh: $t: warm-up $ok_warm/$warmup, $ok_n/$requests answered, $data data bytes, Ir '${ir:-}'" >&2; tail -20 "$work/$t.log" >&2; }
  awk -v t="$t" -v n="$requests" -v ir="${ir:-0}" -v ok="$ok" \
    'BEGIN { printf "%s,%d,%s,%.0f,%s\n", t, n, ir, ir / n, ok }' >>"$csv"
  echo "callgrind $t: $(tail -1 "$csv")" >&2
done

# What the proxies logged (valgrind's own lines start with ==PID==; callgrind_control's with
# PID or "Dumping"/"Zeroing").
for t in proxy; do
  echo "callgrind.sh: $t logged $(grep -cvE '^==|^PID|^  |^$|Dumping|Zeroing|^OK' "$work/$t.log" || true) lines:" >&2
  grep -vE '^==|^PID|^  |^$|Dumping|Zeroing|^OK' "$work/$t.log" | head -5 >&2 || true
done

# The proxy's dump, for where its instructions go ("" when there is none).
proxy_dump=$work/proxy.dump
[ -f "$proxy_dump" ] || proxy_dump=

python3 - "$csv" "$requests" "$warmup" "$clients" "$streams" "bench/callgrind.sh $*" \
  "$(valgrind --version)" "$(nghttpx --version | head -1)" "$("$proxy_bin" --version)" "$proxy_dump" "$top" <<'EOF' | tee -a "${out:-/dev/null}"
import collections, csv, datetime, re, sys
f, n, warm, clients, streams, cmdline, vg, ngx, proxy_v, dump, top = sys.argv[1:]
n, top = int(n), int(top)
rows = {r["frontend"]: r for r in csv.DictReader(open(f))}
ir = lambda t: float(rows[t]["ir_per_request"]) if t in rows and rows[t]["ok"] == "1" else 0.0
L = ["", "## Instructions per forwarded Range (callgrind)", "",
     "`%s` on %s; %s, %s, %s. Each front end under `valgrind --tool=callgrind`: %s linearizable "
     "Ranges to warm up, counters zeroed, %s more (`h2load -c %s -m %s -t 1`, h2c), dumped; total Ir "
     "of the front end process (all threads) / requests. Not affected by other load on the machine; "
     "the proxy's figures include its health probes meanwhile." % (
         cmdline.strip(), datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), proxy_v, ngx, vg,
         warm, n, clients, streams), "",
     "| front end | Ir total | Ir per Range | vs nghttpx | all answered |", "| --- | --- | --- | --- | --- |"]
for t in ("proxy", "nghttpx", "haproxy"):
    r = rows.get(t)
    if not r:
        continue
    L.append("| %s | %s | %s | %s | %s |" % (
        t, r["ir_total"], r["ir_per_request"] if r["ok"] == "1" else "-",
        "%.2f" % (ir(t) / ir("nghttpx")) if ir(t) and ir("nghttpx") else "-", "yes" if r["ok"] == "1" else "NO"))
L += ["", "Target (issue 17): at most 30,000 instructions per forwarded unary Range in the proxy: %s." % (
    "%.0f, %s" % (ir("proxy"), "met" if ir("proxy") <= 30000 else "not met") if ir("proxy") else "not measured"), ""]

# Costs per function read from the dump itself (callgrind_annotate takes the costs of the
# functions still on a thread's stack at the dump, the I/O loop's among them, as their own):
# a cost line belongs to the current fn= as self cost, except the line after calls=, which is
# the inclusive cost of that call. Names are compressed as "(id) name" on first use.
self_cost, incl_calls, obj_of = collections.Counter(), collections.Counter(), {}
names = {"ob": {}, "fn": {}}
def name(kind, v):
    m = re.match(r"\((\d+)\)(?: (.*))?$", v)
    if not m:
        return v
    if m.group(2) is not None:
        names[kind][m.group(1)] = m.group(2)
    return names[kind].get(m.group(1), v)
fn = ob = cfn = None
after_calls = False
for line in open(dump, errors="replace") if dump else []:
    line = line.rstrip("\n")
    if not line:
        continue
    if line[0].isdigit() or line[0] in "+-*":
        cells = line.split()
        if len(cells) < 2:
            continue
        if after_calls:
            after_calls = False
            if cfn != fn:  # recursion adds nothing
                incl_calls[fn] += int(cells[1])
            continue
        self_cost[fn] += int(cells[1])
        obj_of.setdefault(fn, ob)
        continue
    k, _, v = line.partition("=")
    if k == "ob":
        ob = name("ob", v)
    elif k == "cob":
        name("ob", v)
    elif k == "fn":
        fn = name("fn", v)
    elif k == "cfn":
        cfn = name("fn", v)
    elif k == "calls":
        after_calls = True
if self_cost:
    total = sum(self_cost.values())
    lib = lambda f: (obj_of.get(f) or "?").rsplit("/", 1)[-1]
    short = lambda f: (f if len(f) <= 120 else f[:117] + "...").replace("|", "\\|")
    by_obj = collections.Counter()
    for f, c in self_cost.items():
        by_obj[lib(f)] += c
    L += ["Where the proxy's instructions go, per forwarded Range (all threads, health probes included; "
          "instructions in user space only: the kernel's share of system calls is not counted). "
          "Functions without a name are libnghttp2's internal ones (its symbols are not exported).", "",
          "| library | Ir per Range | share |", "| --- | --- | --- |"]
    for o, c in by_obj.most_common(12):
        L.append("| %s | %.0f | %.1f%% |" % (o, c / n, 100.0 * c / total))
    L += ["", "Functions by self cost:", "", "| function | library | Ir per Range | share |", "| --- | --- | --- | --- |"]
    for f, c in self_cost.most_common(top):
        L.append("| `%s` | %s | %.0f | %.1f%% |" % (short(f), lib(f), c / n, 100.0 * c / total))
    own = [(self_cost[f] + incl_calls[f], f) for f in self_cost
           if lib(f) == "etcd-health-proxy" and "::_M_run()" not in f]
    L += ["", "The proxy's own functions by inclusive cost (the function and all it calls; nested, so "
          "they do not add up; the I/O threads' loops left out):", "",
          "| function | Ir per Range, inclusive | self |", "| --- | --- | --- |"]
    for c, f in sorted(own, reverse=True)[:top]:
        L.append("| `%s` | %.0f | %.0f |" % (short(f), c / n, self_cost[f] / n))
    L.append("")
print("\n".join(L))
EOF
