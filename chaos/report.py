#!/usr/bin/env python3
"""The drill report from the runs drill.sh left in DIR/runs/<scenario>--<mode>/:
report.json (every figure), report.md (a table per scenario, one row per mode, with the proxy's
targets checked) and <scenario>.png (gnuplot: calls per second ok and failed, p99 latency, the
fault window shaded, the proxy's member state changes marked).

    report.py DIR [--check]    --check: exit 1 when a proxy run misses its target
"""
import datetime
import json
import os
import shutil
import subprocess
import sys

MODES = ["proxy", "direct", "grpc-proxy", "haproxy"]
# What the proxy must achieve per scenario: failed reads, failed writes allowed (None: no
# bound, reported only). Every scenario also needs: no lost acknowledged write, no watch gap,
# duplicate, reordering or application-visible watch error, and the lease alive.
TARGETS = {
    "follower-cut": (0, 0),
    "oneway-in": (0, 0),
    "oneway-out": (0, 0),
    "freeze": (0, 0),
    "kill": (0, 0),
    "latency": (0, 0),
    "blackhole": (0, 0),
    "leader-cut": (0, 40),
    # With the leader in the lost zone, writes already sent to it cannot be resent (they may have
    # been applied): about the write rate times the time to evict (~1 s) fail.
    "zone-loss": (0, 100),
    "rolling-restart": (0, 60),
    "loss": (None, None),
    # A follower applying late (its incoming peer link rate-limited), and every member
    # defragmented in turn: nothing may fail, and the watch must stay within WATCH_DELAY_MS.
    "slow-follower": (0, 0),
    "defrag": (0, 0),
    # move-leader, then the old leader restarted: no failed call, writes paused < 300 ms.
    "leader-restart": (0, 0),
}
# Watch delivery delay (write acknowledged -> event delivered), p99, in the scenarios above.
WATCH_DELAY_MS = {"slow-follower": 1000, "defrag": 1000}
WRITE_GAP_MS = {"leader-restart": 300}


def read_faults(path):
    marks = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                when, _, what = line.strip().partition(" ")
                marks.append((float(when), what))
    return marks


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def analyse(run_dir, scenario, mode):
    with open(os.path.join(run_dir, "summary.json")) as f:
        client = json.load(f)
    marks = read_faults(os.path.join(run_dir, "faults.txt"))
    start = next((t for t, w in marks if w == "load_start"), marks[0][0] if marks else 0)
    fault_start = next((t for t, w in marks if w.startswith("fault_start")), None)
    fault_end = next((t for t, w in marks if w == "fault_end"), None)
    fault = next((w[len("fault_start "):] for t, w in marks if w.startswith("fault_start")), "")
    run = {
        "scenario": scenario,
        "mode": mode,
        "dir": run_dir,
        "fault": fault,
        "fault_start_s": round(fault_start - start, 2) if fault_start else None,
        "fault_end_s": round(fault_end - start, 2) if fault_end else None,
        "client": client,
        "member_events": [],
        "evicted_after_s": None,
        "readmitted_after_s": None,
        "evictions": 0,
    }
    events_path = os.path.join(run_dir, "events.json")
    if os.path.exists(events_path) and os.path.getsize(events_path) > 0:
        with open(events_path) as f:
            try:
                events = json.load(f).get("events", [])
            except ValueError:
                events = []
        for e in events:
            t = parse_time(e["time"]) - start
            if e.get("operation"):
                continue  # a maintenance step, not a state change
            run["member_events"].append({"t_s": round(t, 2), "member": e["member"],
                                         "to": e["to"], "reason": e["reason"]})
            run["evictions"] += e["to"] == "evicted"
            if (fault_start and e["to"] == "evicted" and run["evicted_after_s"] is None
                    and t >= fault_start - start - 0.5):
                run["evicted_after_s"] = round(t - (fault_start - start), 2)
            if (fault_end and e["to"] == "healthy" and run["readmitted_after_s"] is None
                    and t >= fault_end - start):
                run["readmitted_after_s"] = round(t - (fault_end - start), 2)
    run["stalled"] = [[round(a, 2), round(b, 2)] for a, b in stall_intervals(run_dir, start)]
    run["etcd_leaderless"] = [[round(a, 2), round(b, 2)]
                              for a, b in etcd_leaderless_intervals(run_dir, start)]
    npm_path = os.path.join(run_dir, "npm.json")  # drill.sh --npm-client
    if os.path.exists(npm_path) and os.path.getsize(npm_path) > 0:
        with open(npm_path) as f:
            run["npm"] = json.load(f)
    run["target"] = check_target(run)
    return run


# The drill's cluster (chaos/topology.sh) and the proxy's leaderless-wait default: calls held
# while the proxy can send them nowhere fail after that long, with the proxy's own errors, by
# design.
DRILL_MEMBERS = 3
LEADERLESS_WAIT_S = 3.0
HELD_THEN_FAILED = ("etcd-health-proxy: no etcd member is usable",
                    "etcd-health-proxy: no member can reach a raft quorum",
                    # a call every member refused for want of a leader gets, after the wait,
                    # the members' own refusal
                    "etcdserver: no leader", "raft proposal dropped")
# Writes held because the leader answered none of the writes in flight on it (write-stall-after)
# fail with this after leaderless-wait: the message itself says the leader took no write that
# long, and that the write was never sent.
UNANSWERED_THEN_FAILED = "etcd-health-proxy: the leader answers no writes"


def stall_intervals(run_dir, start):
    """[from, to] (s from load start) in which the proxy held writes for a stalled quorum, from
    its log ("quorum stalled" ... "quorum working again" or "no longer holding")."""
    out, since = [], None
    path = os.path.join(run_dir, "proxy.log")
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            msg, t = entry.get("msg", ""), parse_time(entry["time"]) - start
            if msg.startswith("quorum stalled:") and since is None:
                since = t
            elif since is not None and (msg.startswith("quorum working again")
                                        or msg.startswith("quorum stalled for over")):
                out.append([since, t])
                since = None
    return out


def etcd_leaderless_intervals(run_dir, start):
    """[from, to] in which a majority of the members had no leader, by their own logs (kept by
    drill.sh as etcd-m*.log): "lost leader" ... "elected leader". The proxy learns of it only
    at its next probe, and may hold writes from the first "no leader" answer on."""
    changes = []
    for name in sorted(os.listdir(run_dir)):
        if not (name.startswith("etcd-m") and name.endswith(".log")):
            continue
        with open(os.path.join(run_dir, name)) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                msg = entry.get("msg", "")
                if " lost leader " in msg or " elected leader " in msg:
                    changes.append((parse_time(entry["ts"]) - start, name,
                                    " elected leader " in msg))
    out, has_leader, since = [], {}, None
    for t, member, leader in sorted(changes):
        has_leader[member] = leader
        leaderless = sum(1 for v in has_leader.values() if not v) >= DRILL_MEMBERS // 2 + 1
        if leaderless and since is None:
            since = t
        elif not leaderless and since is not None:
            out.append([since, t])
            since = None
    return out


def unusable_intervals(run):
    """[from, to] in which no member was healthy, from the proxy's /events."""
    events = sorted(run["member_events"], key=lambda e: e["t_s"])
    members = {e["member"] for e in events}
    if len(members) < DRILL_MEMBERS:
        return []  # a member that never changed state stayed usable
    out, state, since = [], {}, None
    for e in events:
        state[e["member"]] = e["to"]
        usable = any(state.get(m, "healthy") == "healthy" for m in members)
        if not usable and since is None:
            since = e["t_s"]
        elif usable and since is not None:
            out.append([since, e["t_s"]])
            since = None
    return out


def longest_blocked(intervals):
    """The longest stretch covered by the union of the intervals."""
    longest, cur = 0.0, None
    for lo, hi in sorted(intervals):
        if cur is not None and lo <= cur[1]:
            cur[1] = max(cur[1], hi)
        else:
            cur = [lo, hi]
        longest = max(longest, cur[1] - cur[0])
    return longest


def check_target(run):
    """None when the mode or scenario has no target; else a list of misses (empty: met)."""
    if run["mode"] != "proxy" or run["scenario"] not in TARGETS:
        return None
    c = run["client"]
    reads_max, writes_max = TARGETS[run["scenario"]]
    misses = []
    # Writes held through a stretch longer than leaderless-wait in which the proxy could send them
    # nowhere (no usable member, or a stalled quorum) fail with the proxy's own error: the
    # designed outcome (etcd had no leader to take them), reported apart from the target.
    run["no_usable_member_s"] = round(
        longest_blocked(run["stalled"] + unusable_intervals(run) + run.get("etcd_leaderless", [])),
        2)
    held = HELD_THEN_FAILED if run["no_usable_member_s"] > LEADERLESS_WAIT_S else ()
    run["writes_failed_leaderless"] = min(c["writes"]["failed"], sum(
        n for msg, n in c["errors"].items()
        if UNANSWERED_THEN_FAILED in msg or any(h in msg for h in held)))
    if reads_max is not None and c["reads"]["failed"] > reads_max:
        misses.append("%d failed reads (target %d)" % (c["reads"]["failed"], reads_max))
    if (writes_max is not None
            and c["writes"]["failed"] - run["writes_failed_leaderless"] > writes_max):
        misses.append("%d failed writes (target %d)" % (c["writes"]["failed"], writes_max))
    if c["lost_writes"]:
        misses.append("%d acknowledged writes lost" % c["lost_writes"])
    w = c["watch"]
    for key in ("missed", "duplicates", "out_of_order", "errors"):
        if w[key]:
            misses.append("watch %s %d" % (key.replace("_", " "), w[key]))
    if not c["lease_alive"]:
        misses.append("lease expired")
    delay = w.get("delay_p99_ms")
    if run["scenario"] in WATCH_DELAY_MS and delay is not None \
            and delay > WATCH_DELAY_MS[run["scenario"]]:
        misses.append("watch delay p99 %.0f ms (target %d)" % (delay, WATCH_DELAY_MS[run["scenario"]]))
    if run["scenario"] in WRITE_GAP_MS and c["longest_write_gap_ms"] > WRITE_GAP_MS[run["scenario"]]:
        misses.append("write gap %.0f ms (target %d)" % (c["longest_write_gap_ms"],
                                                         WRITE_GAP_MS[run["scenario"]]))
    return misses


def fmt_ms(v):
    return "%.0f" % v if v < 100 else "%.0f" % v


def markdown(runs, etcd_version):
    out = ["# Drill report", ""]
    if etcd_version:
        out.append("etcd %s members." % etcd_version)
        out.append("")
    out.append("Client figures as `ehp-loadgen` saw them (linearizable gets and lists, compare-"
               "and-swap writes at 100/s, a prefix watch, a lease). Latencies in ms. "
               "`gap`: longest stretch without a successful write. Watch: missed / duplicate / "
               "out of order / resumed / errors handed to the application. Evicted / readmitted: "
               "seconds after the fault / the heal (\"none\": not after the heal, e.g. back "
               "before it), from the proxy's `/events`.")
    out.append("")
    scenarios = []
    for r in runs:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
    for s in scenarios:
        rows = [r for r in runs if r["scenario"] == s]
        out.append("## %s: %s" % (s, rows[0]["fault"]))
        out.append("")
        out.append("| mode | reads ok / failed | writes ok / failed | write p50 / p99 / max | "
                   "read p99 / max | gap | watch | watch delay p99 / max | lost / checked keys | "
                   "lease | evicted / readmitted | target |")
        out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in sorted(rows, key=lambda r: MODES.index(r["mode"]) if r["mode"] in MODES else 9):
            c = r["client"]
            w = c["watch"]
            ev = "-"
            if r["mode"] == "proxy":
                ev = "%s / %s" % (
                    "%.2f s" % r["evicted_after_s"] if r["evicted_after_s"] is not None else "none",
                    "%.2f s" % r["readmitted_after_s"]
                    if r["readmitted_after_s"] is not None else "none")
                if r["evictions"] > 1:
                    ev += " (%d evictions)" % r["evictions"]
            target = "-"
            if r["target"] is not None:
                target = "met" if not r["target"] else "MISSED: " + "; ".join(r["target"])
                if r.get("writes_failed_leaderless"):
                    target += (" (%d writes failed after leaderless-wait: no member could take "
                               "writes for %.1f s, or the leader answered none)" % (
                                   r["writes_failed_leaderless"], r["no_usable_member_s"]))
            delay = ("%s / %s" % (fmt_ms(w["delay_p99_ms"]), fmt_ms(w["delay_max_ms"]))
                     if "delay_p99_ms" in w else "-")
            out.append("| %s | %d / %d | %d / %d | %s / %s / %s | %s / %s | %.2f s | "
                       "%d / %d / %d / %d / %d | %s | %d / %d | %s | %s | %s |" % (
                           r["mode"], c["reads"]["ok"], c["reads"]["failed"], c["writes"]["ok"],
                           c["writes"]["failed"], fmt_ms(c["writes"]["p50_ms"]),
                           fmt_ms(c["writes"]["p99_ms"]), fmt_ms(c["writes"]["max_ms"]),
                           fmt_ms(c["reads"]["p99_ms"]), fmt_ms(c["reads"]["max_ms"]),
                           c["longest_write_gap_ms"] / 1000.0, w["missed"], w["duplicates"],
                           w["out_of_order"], w["restarts"], w["errors"], delay, c["lost_writes"],
                           c["keys_checked"],
                           "alive" if c["lease_alive"] else "EXPIRED", ev, target))
        errors = []
        for r in rows:
            for msg, n in sorted(r["client"]["errors"].items(), key=lambda kv: -kv[1])[:3]:
                errors.append("%s: %d x `%s`" % (r["mode"], n, msg.replace("`", "'")))
        if errors:
            out.append("")
            out.append("Errors clients saw (most frequent first): " + "; ".join(errors) + ".")
        npm_rows = [r for r in rows if "npm" in r]
        if npm_rows:
            out.append("")
            out.append("The npm `etcd3` client next to it (60 calls/s, its default circuit breaker: "
                       "3 consecutive errors on a host refuse every call to it for 5 s):")
            out.append("")
            out.append("| mode | reads ok / failed | writes ok / failed | longest write gap | "
                       "refused by its circuit breaker | most frequent error |")
            out.append("| --- | --- | --- | --- | --- | --- |")
            for r in npm_rows:
                n = r["npm"]
                top = sorted(n["errors"].items(), key=lambda kv: -kv[1])[:1]
                out.append("| %s | %d / %d | %d / %d | %.2f s | %d | %s |" % (
                    r["mode"], n["reads"]["ok"], n["reads"]["failed"], n["writes"]["ok"],
                    n["writes"]["failed"], n["longest_write_gap_ms"] / 1000.0, n["circuit_open"],
                    "%d x `%s`" % (top[0][1], top[0][0].replace("`", "'")) if top else "-"))
        if os.path.exists(os.path.join(REPORT_DIR, s + ".png")):
            out.append("")
            out.append("![%s](%s.png)" % (s, s))
        out.append("")
    return "\n".join(out)


def plot(report_dir, scenario, runs):
    if shutil.which("gnuplot") is None:
        return False
    rows = sorted([r for r in runs if r["scenario"] == scenario],
                  key=lambda r: MODES.index(r["mode"]) if r["mode"] in MODES else 9)
    script = [
        "set terminal pngcairo size 1100,%d font ',9'" % (230 * len(rows) + 40),
        "set output '%s'" % os.path.join(report_dir, scenario + ".png"),
        "set datafile separator ','",
        "set multiplot layout %d,1 title '%s'" % (len(rows), scenario),
        "set ylabel 'calls/s'", "set y2label 'p99 ms'", "set ytics nomirror", "set y2tics",
        "set logscale y2", "set grid", "set key outside right",
    ]
    for r in rows:
        csv = os.path.join(report_dir, "runs", "%s--%s" % (scenario, r["mode"]), "timeline.csv")
        script.append("unset object; unset arrow")
        if r["fault_start_s"] is not None and r["fault_end_s"] is not None:
            script.append("set object 1 rect from %.2f, graph 0 to %.2f, graph 1 fc rgb '#f4cccc' "
                          "fs solid 0.5 noborder behind" % (r["fault_start_s"], r["fault_end_s"]))
        for i, e in enumerate(r["member_events"][:20]):
            color = "#cc0000" if e["to"] == "evicted" else "#009900"
            script.append("set arrow %d from %.2f, graph 0 to %.2f, graph 1 nohead lc rgb '%s' "
                          "dt 2" % (i + 1, e["t_s"], e["t_s"], color))
        script.append("set title '%s: %s%s'" % (
            r["mode"], r["fault"].replace("'", ""),
            " (dashed: member evicted red, readmitted green)" if r["member_events"] else ""))
        script.append(
            "plot '%s' using 1:($2+$4) with steps lw 2 lc rgb '#1f77b4' title 'ok', "
            "'' using 1:($3+$5) with steps lw 2 lc rgb '#d62728' title 'failed', "
            "'' using 1:($6 > 0 ? $6 : 1/0) axes x1y2 with lines lc rgb '#7f7f7f' "
            "title 'p99 ms'" % csv)
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
    return True


def main():
    global REPORT_DIR
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    REPORT_DIR = sys.argv[1]
    runs = []
    runs_dir = os.path.join(REPORT_DIR, "runs")
    for name in sorted(os.listdir(runs_dir)):
        scenario, _, mode = name.partition("--")
        if not os.path.exists(os.path.join(runs_dir, name, "summary.json")):
            print("report: %s has no summary.json (the load generator failed?)" % name,
                  file=sys.stderr)
            continue
        runs.append(analyse(os.path.join(runs_dir, name), scenario, mode))
    scenarios = sorted({r["scenario"] for r in runs})
    for s in scenarios:
        try:
            plot(REPORT_DIR, s, runs)
        except (subprocess.CalledProcessError, OSError) as e:
            print("report: no picture for %s: %s" % (s, e), file=sys.stderr)
    # Written by drill.sh: what `etcd --version` of the members said.
    etcd_version = ""
    version_path = os.path.join(REPORT_DIR, "etcd-version.txt")
    if os.path.exists(version_path):
        with open(version_path) as f:
            etcd_version = f.read().strip()
    with open(os.path.join(REPORT_DIR, "report.json"), "w") as f:
        json.dump({"etcd_version": etcd_version, "runs": runs}, f, indent=1)
    md = markdown(runs, etcd_version)
    with open(os.path.join(REPORT_DIR, "report.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    missed = [r for r in runs if r["target"]]
    if "--check" in sys.argv[2:] and missed:
        for r in missed:
            print("target missed: %s through the proxy: %s" % (r["scenario"], "; ".join(
                r["target"])), file=sys.stderr)
            # What the clients saw, on the last lines (a CI log keeps the end of the output).
            for msg, n in sorted(r["client"]["errors"].items(), key=lambda kv: -kv[1])[:5]:
                print("  %d x %s" % (n, msg), file=sys.stderr)
            log = os.path.join(r["dir"], "proxy.log")
            if os.path.exists(log):
                with open(log) as f:
                    lines = [l.rstrip() for l in f if '"level":"info"' not in l]
                for line in lines[-12:]:
                    print("  proxy: " + line[:400], file=sys.stderr)
        return 1
    return 0


REPORT_DIR = "."
if __name__ == "__main__":
    sys.exit(main())
