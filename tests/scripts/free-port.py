#!/usr/bin/env python3
"""Prints a TCP port on 127.0.0.1 that is free now, below the kernel's ephemeral range.

A port bind(0) returns lies in the ephemeral range, where any outgoing connection of a test
running alongside can take it before our server binds it; ports 20000-32767 are never handed
out that way.
"""
import random
import socket
import sys

for _ in range(1000):
    port = random.randint(20000, 32767)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    sys.exit(0)
sys.exit("free-port.py: no free port in 20000-32767")
