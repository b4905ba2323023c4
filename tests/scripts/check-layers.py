#!/usr/bin/env python3
"""The folders of proxy/ are layers: a file may include headers of its own folder and of the
folders below it, never of one above (that would be a dependency cycle between folders).
ARCHITECTURE.md describes the same order. Usage: check-layers.py SOURCE_DIR"""
import os
import re
import sys

# Bottom first. A new folder goes into this list (and ARCHITECTURE.md) where it belongs.
LAYERS = [
    # base
    "core",      # lock-free snapshot cell, intrusive list, block pool, scheduler and timer thread
    "config",    # the settings table, parsing, validation
    "log",       # spdlog set-up
    "metrics",   # metric families and Prometheus text
    "tls",       # certificate files, rotation, client names
    # decisions (pure)
    "routing",   # call classes, call plan, picker, retries, hedging, held calls
    # shared state
    "upstream",  # members and the member set
    "relay",     # what every call shares: method table, watch tracker, stream registry
    # transport
    "net",       # io_context threads, listener, sockets and TLS
    "h2",        # libnghttp2 sessions, streams, gRPC framing
    # planes
    "health",    # probes and their judgement, the health checker, maintenance
    "admin",     # the admin plane's HTTP server and routes
    "service",   # systemd notification
    "datapath",  # the I/O threads' calls
    # process
    "server",    # wires everything
]
INCLUDE = re.compile(r'^\s*#\s*include\s+"proxy/([a-z0-9_]+)/', re.M)


def main():
    root = os.path.join(sys.argv[1] if len(sys.argv) > 1 else ".", "proxy")
    rank = {name: i for i, name in enumerate(LAYERS)}
    problems = []
    for folder in sorted(os.listdir(root)):
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            continue
        if folder not in rank:
            problems.append("proxy/%s/ is in no layer: add it to LAYERS in %s" %
                            (folder, os.path.relpath(__file__)))
            continue
        for dirpath, _, files in os.walk(path):
            for f in sorted(files):
                if not f.endswith((".h", ".cc")):
                    continue
                file = os.path.join(dirpath, f)
                with open(file) as fh:
                    for m in INCLUDE.finditer(fh.read()):
                        to = m.group(1)
                        if to == folder:
                            continue
                        if to not in rank:
                            problems.append("%s includes proxy/%s/, which is in no layer" %
                                            (os.path.relpath(file, root), to))
                        elif rank[to] > rank[folder]:
                            problems.append("%s includes proxy/%s/, a layer above %s/" %
                                            (os.path.relpath(file, root), to, folder))
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("ok: %d layers, no include runs upwards" % len(LAYERS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
