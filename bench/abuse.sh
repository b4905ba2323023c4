#!/usr/bin/env bash
# Robustness figures of the data path under abuse, against one etcd member on loopback (h2c):
#
#   (a) Reset flood: one client connection sends --streams streams as fast as the socket takes
#       them, each a HEADERS frame opening a gRPC Range and then RST_STREAM (CANCEL) for it; a
#       second round sends each with its request message (HEADERS, DATA, RST_STREAM), so the
#       proxy starts a member call for every stream it reads. Each round on a freshly started
#       proxy. Figures: how many streams the proxy processed (the last stream id of its GOAWAY),
#       whether the connection ended with GOAWAY ENHANCE_YOUR_CALM, the proxy's RSS before, at
#       its peak (VmHWM) and once settled, and that a new client is still served afterwards.
#       Then the attacker reconnects and goes on until --streams were sent in all (at most 40
#       connections, 60 s): RSS again. Target (issue 17): under 16 MiB added, GOAWAY.
#   (b) Connection flood: --connections idle HTTP/2 client connections (preface, SETTINGS,
#       PINGs answered, nothing else) against a proxy started with --max-connections. Figures:
#       connections held, connections the proxy closed at once (its
#       etcd_health_proxy_limit_refusals_total{limit="max-connections"} from /metrics alongside),
#       the proxy's RSS with them open, /livez answering meanwhile, and calls answered meanwhile
#       over connections opened before the flood (ehp-bench-client latency at a low rate, running
#       from before the flood to after it); a new etcdctl client during the flood (at the cap:
#       refused) and after the idle connections closed (served again).
#
# Every loop is bounded in count and time; everything is on loopback; processes started here
# are stopped by their PID. Needs an open file limit above --connections (raised to the hard
# limit here).
#
#   bench/abuse.sh [--streams=20000] [--connections=10000] [--max-connections=5000] [--hold=15]
#                  [--threads=1] [--out=FILE]
# --out appends the figures to FILE as a Markdown section (bench/RESULTS.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
proxy_bin=$build/proxy/etcd-health-proxy
bench_client=$build/bench/ehp-bench-client
streams=20000
connections=10000
max_connections=5000
hold=15
threads=1
out=
for arg in "$@"; do
  case "$arg" in
    --streams=*) streams=${arg#*=} ;;
    --connections=*) connections=${arg#*=} ;;
    --max-connections=*) max_connections=${arg#*=} ;;
    --hold=*) hold=${arg#*=} ;;
    --threads=*) threads=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) echo "abuse.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
for t in etcd etcdctl python3; do
  command -v "$t" >/dev/null || { echo "abuse.sh: $t is missing (tests/scripts/install-deps.sh)" >&2; exit 2; }
done
if [ ! -x "$proxy_bin" ] || [ ! -x "$bench_client" ]; then echo "abuse.sh: build first (make build)" >&2; exit 2; fi
# The client side holds every connection of the flood, and a few more.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((connections + 256)) ]; then
  echo "abuse.sh: open file limit $(ulimit -n) is below --connections + 256; lower --connections" >&2
  exit 2
fi

# shellcheck source=lib.sh
. "$here/lib.sh"
rss_now_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss_peak_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# Waits until the RSS of $1 has not moved by 1 MiB for a second (at most 15 s); prints it.
settled_rss_mib() {
  local last now stable=0
  last=$(rss_now_mib "$1")
  for _ in $(seq 1 60); do
    sleep 0.25
    now=$(rss_now_mib "$1")
    if awk -v a="$now" -v b="$last" 'BEGIN { exit !((a - b) < 1 && (b - a) < 1) }'; then
      stable=$((stable + 1))
    else
      stable=0
    fi
    last=$now
    [ "$stable" -ge 4 ] && break
  done
  echo "$last"
}

etcd_port=$(free_port)
peer_port=$(free_port)
etcd --name abuse --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "abuse=http://127.0.0.1:$peer_port" \
  --log-outputs "$work/etcd.log" --logger zap >/dev/null 2>&1 &
etcd_pid=$!
pids+=("$etcd_pid")
wait_port "$etcd_port"
for _ in $(seq 1 50); do
  etcdctl --endpoints="127.0.0.1:$etcd_port" put bench-key v >/dev/null 2>&1 && break
  sleep 0.2
done

# Starts a proxy (extra flags in "$@"); sets proxy_pid, proxy_port, admin_port.
start_proxy() {
  proxy_port=$(free_port)
  admin_port=$(free_port)
  "$proxy_bin" --endpoints="http://127.0.0.1:$etcd_port" --listen-addr="127.0.0.1:$proxy_port" \
    --metrics-addr="127.0.0.1:$admin_port" --log-level=warn --threads="$threads" "$@" \
    >>"$work/proxy-$proxy_port.log" 2>&1 &
  proxy_pid=$!
  pids+=("$proxy_pid")
  wait_port "$proxy_port"
}
stop_proxy() {
  kill "$proxy_pid" 2>/dev/null || true
  wait "$proxy_pid" 2>/dev/null || true
}
served() {  # a new client's call through the proxy: yes / no
  timeout 10 etcdctl --endpoints="127.0.0.1:$proxy_port" --dial-timeout=3s --command-timeout=5s \
    get bench-key >/dev/null 2>&1 && echo yes || echo no
}

# --- (a) reset flood --------------------------------------------------------------------
# The attacker: prints one line of key=value figures. Bounded: --streams frames pairs, 40
# connections, 60 s.
cat >"$work/reset_flood.py" <<'EOF'
import select, socket, struct, sys, time
host, port, total, with_data, max_conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", int(sys.argv[5])
deadline = time.monotonic() + 60

def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload
def hpack_literal(name, value):  # literal without indexing, new name, no Huffman (all < 127 bytes)
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
block = b"".join(hpack_literal(k, v) for k, v in [
    (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/etcdserverpb.KV/Range"),
    (b":authority", b"etcd-health-proxy"), (b"content-type", b"application/grpc"), (b"te", b"trailers")])
key = b"bench-key"
message = b"\x00" + struct.pack(">I", 2 + len(key)) + b"\x0a" + bytes([len(key)]) + key
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0)

class Conn:
    def __init__(self):
        self.s = socket.create_connection((host, port), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)
        self.buf = b""
        self.closed = False
        self.goaway = None  # (last_stream_id, error_code)
        self.settings = False
    def read(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return
        while True:
            try:
                d = self.s.recv(1 << 16)
            except BlockingIOError:
                break
            except OSError:
                self.closed = True
                break
            if not d:
                self.closed = True
                break
            self.buf += d
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + n:
                break
            t, flags = self.buf[3], self.buf[4]
            p = self.buf[9:9 + n]
            self.buf = self.buf[9 + n:]
            if t == 4 and not flags & 1:
                self.settings = True
                self.send_all(frame(4, 1, 0))
            elif t == 6 and not flags & 1:
                self.send_all(frame(6, 1, 0, p))
            elif t == 7 and self.goaway is None:
                self.goaway = (int.from_bytes(p[:4], "big") & 0x7fffffff, int.from_bytes(p[4:8], "big"))
    def send_all(self, data):  # False once the peer closed; reads meanwhile so neither side blocks
        view = memoryview(data)
        while view and not self.closed and time.monotonic() < deadline:
            _, w, _ = select.select([], [self.s], [], 0.05)
            if w:
                try:
                    view = view[self.s.send(view):]
                except BlockingIOError:
                    pass
                except OSError:
                    self.closed = True
            self.read(0)
        return not self.closed and not view

sent_total = 0
first = None
conns = goaways = calm = 0
while sent_total < total and conns < max_conns and time.monotonic() < deadline:
    try:
        c = Conn()
    except OSError:
        time.sleep(0.1)
        continue
    conns += 1
    c.send_all(PREFACE)
    t0 = time.monotonic()
    while not c.settings and not c.closed and time.monotonic() - t0 < 5:
        c.read(0.1)
    if not c.settings:
        c.s.close()
        time.sleep(0.1)
        continue
    sent = 0  # streams written in full (the GOAWAY says how many the proxy read)
    sid = 1
    t_start = time.monotonic()
    while sent_total + sent < total and time.monotonic() < deadline and c.goaway is None:
        batch = []
        k = min(100, total - sent_total - sent)
        for _ in range(k):
            batch.append(frame(1, 0x4, sid, block))                    # HEADERS, END_HEADERS
            if with_data:
                batch.append(frame(0, 0x1, sid, message))              # DATA, END_STREAM
            batch.append(frame(3, 0, sid, struct.pack(">I", 8)))       # RST_STREAM CANCEL
            sid += 2
        if not c.send_all(b"".join(batch)):
            break
        sent += k
    send_s = time.monotonic() - t_start
    t0 = time.monotonic()
    while not c.closed and time.monotonic() - t0 < 5 and time.monotonic() < deadline:
        c.read(0.1)
    processed = (c.goaway[0] + 1) // 2 if c.goaway else sent
    if c.goaway:
        goaways += 1
        calm += c.goaway[1] == 0xb
    sent_total += sent
    if first is None:
        first = dict(first_sent=sent, first_processed=processed, first_send_s="%.2f" % send_s,
                     first_goaway="none" if not c.goaway else "0x%x" % c.goaway[1],
                     first_goaway_last_stream=c.goaway[0] if c.goaway else -1,
                     first_closed=int(c.closed))
        print(" ".join("%s=%s" % kv for kv in first.items()), flush=True)
        if max_conns == 1:
            break
    c.s.close()
print("total_sent=%d connections=%d goaways=%d enhance_your_calm=%d" % (sent_total, conns, goaways, calm), flush=True)
EOF

flood_csv=$work/reset.csv
echo "variant,rss_before,first_processed,first_sent,first_goaway,first_closed,rss_peak_first,rss_settled_first,served_first,total_sent,connections,goaways,calm,rss_peak_all,rss_settled_all,served_all,warns" >"$flood_csv"
for variant in headers data; do
  start_proxy
  [ "$(served)" = yes ] || { echo "abuse.sh: the proxy serves nothing before the flood" >&2; tail "$work/proxy-$proxy_port.log" >&2; exit 1; }
  r0=$(settled_rss_mib "$proxy_pid")
  with_data=0
  [ "$variant" = data ] && with_data=1
  res1=$(timeout 90 python3 "$work/reset_flood.py" 127.0.0.1 "$proxy_port" "$streams" "$with_data" 1)
  peak1=$(rss_peak_mib "$proxy_pid")
  set1=$(settled_rss_mib "$proxy_pid")
  s1=$(served)
  res2=$(timeout 90 python3 "$work/reset_flood.py" 127.0.0.1 "$proxy_port" "$streams" "$with_data" 40 | tail -1)
  peak2=$(rss_peak_mib "$proxy_pid")
  set2=$(settled_rss_mib "$proxy_pid")
  s2=$(served)
  warns=$(grep -c 'stream resets per second' "$work/proxy-$proxy_port.log" || true)
  kv() { grep -o "$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }
  echo "$variant,$r0,$(kv first_processed "$res1"),$(kv first_sent "$res1"),$(kv first_goaway "$res1"),$(kv first_closed "$res1"),$peak1,$set1,$s1,$(kv total_sent "$res2"),$(kv connections "$res2"),$(kv goaways "$res2"),$(kv enhance_your_calm "$res2"),$peak2,$set2,$s2,$warns" >>"$flood_csv"
  echo "reset flood ($variant): RSS $r0 MiB; one connection: $res1; peak $peak1, settled $set1 MiB, served after: $s1; reconnecting: $res2; peak $peak2, settled $set2 MiB, served after: $s2" >&2
  stop_proxy
done

# --- (b) connection flood ---------------------------------------------------------------
cat >"$work/conn_flood.py" <<'EOF'
import errno, json, selectors, socket, struct, subprocess, sys, time, urllib.request
host, port, total, hold, admin, pid, etcdctl_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0)
def rss(field):
    for line in open("/proc/%s/status" % pid):
        if line.startswith(field):
            return int(line.split()[1]) / 1024.0
def get(path):
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen("http://%s%s" % (admin, path), timeout=5) as r:
            return r.status, r.read().decode(errors="replace"), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, "", time.monotonic() - t0
    except Exception as e:
        return 0, str(e), time.monotonic() - t0
def refusals():
    code, body, _ = get("/metrics")
    for line in body.splitlines():
        if line.startswith('etcd_health_proxy_limit_refusals_total{limit="max-connections"}'):
            return int(float(line.split()[-1]))
    return 0 if code == 200 else -1

sel = selectors.DefaultSelector()
state = {}  # socket -> dict(connected, settings, closed, buf)
counts = dict(connect_failed=0, pending=0)
def close(s, why):
    st = state[s]
    if st["closed"]:
        return
    if not st["connected"]:
        counts["pending"] -= 1
    st["closed"] = why
    sel.unregister(s)
    s.close()
def on_event(s, mask):
    st = state[s]
    if not st["connected"]:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            counts["connect_failed"] += 1
            close(s, "connect")
            return
        st["connected"] = True
        counts["pending"] -= 1
        try:
            s.send(PREFACE)  # 33 bytes: fits any socket buffer
        except OSError:
            close(s, "reset")
            return
        sel.modify(s, selectors.EVENT_READ)
        return
    try:
        d = s.recv(1 << 14)
    except BlockingIOError:
        return
    except OSError:
        close(s, "reset")
        return
    if not d:
        close(s, "eof")
        return
    buf = st["buf"] + d
    out = b""
    while len(buf) >= 9:
        n = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + n:
            break
        t, flags, p = buf[3], buf[4], buf[9:9 + n]
        buf = buf[9 + n:]
        if t == 4 and not flags & 1:
            st["settings"] = True
            out += frame(4, 1, 0)
        elif t == 6 and not flags & 1:
            out += frame(6, 1, 0, p)  # answer keepalive PINGs, as a live client does
        elif t == 7:
            st["goaway"] = True
    st["buf"] = buf
    if out:
        try:
            s.send(out)
        except OSError:
            close(s, "reset")
def poll(t):
    for key, mask in sel.select(timeout=t):
        on_event(key.fileobj, mask)

ref0 = refusals()
rss0 = rss("VmRSS")
t0 = time.monotonic()
deadline = t0 + 90
started = 0
while started < total and time.monotonic() < deadline:
    while counts["pending"] < 256 and started < total:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            counts["connect_failed"] += 1
            s.close()
            started += 1
            continue
        state[s] = dict(connected=False, settings=False, closed=None, buf=b"", goaway=False)
        sel.register(s, selectors.EVENT_WRITE)
        started += 1
        counts["pending"] += 1
    poll(0.01)
# Every connection either got the proxy's SETTINGS or was closed (at most 20 s more).
while time.monotonic() < deadline and any(not st["closed"] and not st["settings"] for st in state.values()):
    poll(0.1)
open_s = time.monotonic() - t0
# The hold: connections stay idle; midway, what the proxy looks like.
hold_end = time.monotonic() + hold
mid = time.monotonic() + hold / 2
probe = None
while time.monotonic() < hold_end:
    poll(0.1)
    if probe is None and time.monotonic() >= mid:
        code, _, livez_s = get("/livez")
        t1 = time.monotonic()
        new_client = subprocess.run(["timeout", "10", "etcdctl", "--endpoints=%s:%s" % (host, etcdctl_port),
                                     "--dial-timeout=3s", "--command-timeout=5s", "get", "bench-key"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        probe = dict(livez=code, livez_ms="%.0f" % (livez_s * 1000), new_client_served="yes" if new_client else "no", new_client_s="%.1f" % (time.monotonic() - t1))
held = sum(1 for st in state.values() if not st["closed"] and st["settings"])
closed_early = sum(1 for st in state.values() if st["closed"] in ("eof", "reset") and not st["settings"])
closed_later = sum(1 for st in state.values() if st["closed"] in ("eof", "reset") and st["settings"])
stuck = sum(1 for st in state.values() if not st["closed"] and not st["settings"])
fig = dict(attempted=started, held=held, closed_before_settings=closed_early, closed_after_settings=closed_later,
           no_answer=stuck, connect_failed=counts["connect_failed"], open_s="%.1f" % open_s,
           refusals_metric=refusals() - ref0, rss_before="%.1f" % rss0, rss_held="%.1f" % rss("VmRSS"),
           rss_peak="%.1f" % rss("VmHWM"))
fig.update(probe or {})
for s in list(state):
    if not state[s]["closed"]:
        close(s, "ours")
print(" ".join("%s=%s" % kv for kv in fig.items()), flush=True)
EOF

conn_csv=$work/conns.csv
start_proxy --max-connections="$max_connections"
[ "$(served)" = yes ] || { echo "abuse.sh: the proxy serves nothing before the flood" >&2; exit 1; }
sleep 1
# Calls over connections opened before the flood, from before it to after it.
client_s=$((hold + 45))
"$bench_client" latency --target="127.0.0.1:$proxy_port" --workload=range --rate=50 \
  --seconds="$client_s" >"$work/client.out" 2>&1 &
client_pid=$!
pids+=("$client_pid")
sleep 3
res=$(timeout $((hold + 150)) python3 "$work/conn_flood.py" 127.0.0.1 "$proxy_port" "$connections" "$hold" \
  "127.0.0.1:$admin_port" "$proxy_pid" "$proxy_port")
sleep 2
after=$(served)
rss_after=$(settled_rss_mib "$proxy_pid")
client_ok=yes
wait "$client_pid" || client_ok=no
client_res=$(tr '\n' ' ' <"$work/client.out")
proxy_alive=$(kill -0 "$proxy_pid" 2>/dev/null && echo yes || echo no)
conn_warns=$(grep -c 'max-connections' "$work/proxy-$proxy_port.log" || true)
echo "connection flood: $res; new client after: $after; RSS after $rss_after MiB; client during: $client_res" >&2
stop_proxy

python3 - "$flood_csv" "$res" "$after" "$rss_after" "$client_ok" "$client_res" "$proxy_alive" \
  "$conn_warns" "bench/abuse.sh $*" "$streams" "$connections" "$max_connections" "$hold" "$threads" \
  "$("$proxy_bin" --version)" "$(cut -d" " -f1-3 /proc/loadavg)" "$client_s" <<'EOF' | tee -a "${out:-/dev/null}"
import csv, datetime, sys
(flood_csv, res, after, rss_after, client_ok, client_res, alive, conn_warns, cmdline, streams, conns,
 maxc, hold, threads, proxy_v, load, client_s) = sys.argv[1:]
kv = dict(x.split("=", 1) for x in res.split())
ckv = dict(x.split("=", 1) for x in client_res.split() if "=" in x and not x.startswith("ehp"))
L = ["", "## Abuse", "",
     "`%s` on %s; %s, `--threads=%s`, one etcd member on loopback, h2c; load average %s at the end." % (
         cmdline.strip(), datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), proxy_v, threads, load), "",
     "### Reset flood", "",
     "One connection sends %s streams as fast as its socket takes them, each HEADERS (a gRPC Range) then "
     "RST_STREAM CANCEL (`data`: HEADERS, the request message, RST_STREAM, so every stream read starts a "
     "member call); each variant on a freshly started proxy. \"Processed\" is the last stream id of the "
     "proxy's GOAWAY (streams it read before it stopped reading); peak is VmHWM; growth is over the RSS "
     "before. Then, on the same proxy, an attacker that reconnects whenever its connection ends sends %s "
     "streams in all (at most 40 connections, 60 s)." % (streams, streams), "",
     "| variant | RSS before | one connection: streams processed / written | ended with | peak growth | settled growth | new client served | reconnecting: streams written, connections, GOAWAYs (ENHANCE_YOUR_CALM / all) | peak growth | settled growth | new client served |",
     "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
flood_ok = []
for r in csv.DictReader(open(flood_csv)):
    b = float(r["rss_before"])
    growth = max(float(r["rss_peak_first"]), float(r["rss_peak_all"])) - b
    flood_ok.append((r["variant"], growth, r["first_goaway"] != "none",
                     growth < 16 and r["first_goaway"] != "none" and r["served_first"] == r["served_all"] == "yes"))
    end = {"0xb": "GOAWAY ENHANCE_YOUR_CALM", "none": "no GOAWAY"}.get(r["first_goaway"], "GOAWAY " + r["first_goaway"])
    if r["first_closed"] == "0":
        end += " (connection still open)"
    L.append("| %s | %.1f MiB | %s / %s | %s | %+.1f MiB | %+.1f MiB | %s | %s, %s, %s / %s | %+.1f MiB | %+.1f MiB | %s |" % (
        r["variant"], b, r["first_processed"], r["first_sent"], end, float(r["rss_peak_first"]) - b,
        float(r["rss_settled_first"]) - b, r["served_first"], r["total_sent"], r["connections"], r["calm"],
        r["goaways"], float(r["rss_peak_all"]) - b, float(r["rss_settled_all"]) - b, r["served_all"]))
L += ["", "Target (issue 17): a reset flood of 20,000 streams adds under 16 MiB and ends with GOAWAY: %s." % (
          "; ".join("%s %s (peak %+.1f MiB, %s)" % (v, "met" if ok else "NOT MET", g, "GOAWAY" if ga else "no GOAWAY")
                    for v, g, ga, ok in flood_ok)), "",
      "### Idle connections", "",
      "%s idle HTTP/2 connections (preface and SETTINGS, PINGs answered, no stream) opened 256 at a time "
      "against a proxy with `--max-connections=%s`, held %s s. Meanwhile: `ehp-bench-client latency "
      "--rate=50 --seconds=%s` over 4 connections opened before the flood (linearizable Ranges), `/livez` and "
      "a new `etcdctl get` halfway through the hold." % (conns, maxc, hold, client_s), "",
      "| figure | value |", "| --- | --- |"]
rows = [
    ("connections attempted", kv.get("attempted")),
    ("held (SETTINGS received, open at the end of the hold)", kv.get("held")),
    ("closed by the proxy before its SETTINGS (refused)", kv.get("closed_before_settings")),
    ("closed by the proxy later", kv.get("closed_after_settings")),
    ("no answer / connect failed", "%s / %s" % (kv.get("no_answer"), kv.get("connect_failed"))),
    ("`etcd_health_proxy_limit_refusals_total{limit=\"max-connections\"}` added", kv.get("refusals_metric")),
    ("seconds to open them all", kv.get("open_s")),
    ("proxy RSS before / with them open / peak", "%s / %s / %s MiB" % (kv.get("rss_before"), kv.get("rss_held"), kv.get("rss_peak"))),
    ("proxy RSS after they closed (settled)", "%s MiB" % rss_after),
    ("`/livez` during the flood", "%s in %s ms" % (kv.get("livez"), kv.get("livez_ms"))),
    ("calls over connections opened before the flood", "%s sent, %s failed; p50 %s us, p99 %s us, max %s us" % (
        ckv.get("sent"), ckv.get("failed"), ckv.get("p50_us"), ckv.get("p99_us"), ckv.get("max_us"))),
    ("a new `etcdctl get` during the flood (at the cap)", "served" if kv.get("new_client_served") == "yes" else "refused (%s s)" % kv.get("new_client_s")),
    ("a new `etcdctl get` after the idle connections closed", "served" if after == "yes" else "NOT served"),
    ("proxy alive at the end; warnings about max-connections logged", "%s; %s" % (alive, conn_warns)),
]
L += ["| %s | %s |" % r for r in rows]
i = lambda k: int(kv.get(k, "0") or 0)
well = (i("held") + i("closed_before_settings") == i("attempted") and i("held") <= int(maxc)
        and i("refusals_metric") >= i("closed_before_settings") and kv.get("livez") == "200"
        and ckv.get("failed") == "0" and alive == "yes" and after == "yes")
L += ["", "Target (issue 17): %s idle client connections are held or refused at `max-connections` with the "
      "process well (every connection held or refused, no more held than the cap, each refusal counted, "
      "`/livez` 200, no call failed, a new client served once they closed): %s." % (
          conns, "met" if well else "NOT MET"), ""]
print("\n".join(L))
EOF
