#!/usr/bin/env python3
"""Writes the seed corpus of the data path's fuzzers from real traffic: etcdctl's calls to a
throwaway etcd, recorded on the way by a relay in this script, cut into what each fuzzer reads.
Run once by hand when a fuzzer's input format changes (the corpus is committed):

  tests/fuzz/make-corpus.py [OUT_DIR]     (default: tests/fuzz/corpus)

Needs etcd and etcdctl in PATH, and libnghttp2 (for HPACK, to name each stream's method).

  h2_server/          what etcdctl sent on each connection, after the connection preface
  idle_reset_filter/  the same from the preface on, plus a reset of a stream never opened (as
                      gRPC core clients send), and the control block
  grpc_framing/       the gRPC messages of one direction of a call, and the control block
  call_class/         a method selector and a request message
  watch_filter/       a Watch stream's messages as a script of client and member bytes
"""
import ctypes
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "corpus")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_LEN = 8192  # run-fuzzers.sh's -max_len

# call_class_fuzzer's selector values (its kMethods).
CALL_CLASS_METHODS = [
    "/etcdserverpb.KV/Range", "/etcdserverpb.KV/Txn", "/etcdserverpb.KV/RangeStream",
    "/etcdserverpb.KV/Put", "/etcdserverpb.KV/DeleteRange", "/etcdserverpb.KV/Compact",
    "/etcdserverpb.Watch/Watch", "/etcdserverpb.Lease/LeaseGrant",
    "/etcdserverpb.Lease/LeaseKeepAlive", "/etcdserverpb.Lease/LeaseTimeToLive",
    "/etcdserverpb.Cluster/MemberList", "/etcdserverpb.Maintenance/Status",
    "/etcdserverpb.Maintenance/MoveLeader", "/etcdserverpb.Maintenance/Snapshot",
    "/etcdserverpb.Auth/Authenticate", "/v3electionpb.Election/Observe",
]


# --- HPACK, by libnghttp2's inflater -------------------------------------------------------

class _Nv(ctypes.Structure):
    _fields_ = [("name", ctypes.POINTER(ctypes.c_uint8)), ("value", ctypes.POINTER(ctypes.c_uint8)),
                ("namelen", ctypes.c_size_t), ("valuelen", ctypes.c_size_t),
                ("flags", ctypes.c_uint8)]


_lib = ctypes.CDLL("libnghttp2.so.14")
_lib.nghttp2_hd_inflate_new.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
_lib.nghttp2_hd_inflate_hd2.restype = ctypes.c_ssize_t
_lib.nghttp2_hd_inflate_hd2.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Nv),
                                        ctypes.POINTER(ctypes.c_int), ctypes.c_char_p,
                                        ctypes.c_size_t, ctypes.c_int]
_lib.nghttp2_hd_inflate_end_headers.argtypes = [ctypes.c_void_p]


class Inflater:
    def __init__(self):
        self.ptr = ctypes.c_void_p()
        if _lib.nghttp2_hd_inflate_new(ctypes.byref(self.ptr)) != 0:
            raise RuntimeError("nghttp2_hd_inflate_new")

    def inflate(self, block):
        fields = []
        off = 0
        while True:
            nv = _Nv()
            flags = ctypes.c_int(0)
            rest = block[off:]
            rv = _lib.nghttp2_hd_inflate_hd2(self.ptr, ctypes.byref(nv), ctypes.byref(flags), rest,
                                             len(rest), 1)
            if rv < 0:
                raise RuntimeError("HPACK: %d" % rv)
            off += rv
            if flags.value & 0x02:  # NGHTTP2_HD_INFLATE_EMIT
                fields.append((ctypes.string_at(nv.name, nv.namelen).decode(),
                               ctypes.string_at(nv.value, nv.valuelen).decode()))
            if flags.value & 0x01:  # NGHTTP2_HD_INFLATE_FINAL
                _lib.nghttp2_hd_inflate_end_headers(self.ptr)
                return fields
            if rv == 0 and not flags.value & 0x02:
                raise RuntimeError("HPACK: stuck")


# --- HTTP/2 frames ------------------------------------------------------------------------

def frames(data):
    """(type, flags, stream, payload) of each whole frame."""
    pos = 0
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos:pos + 3], "big")
        ftype, flags = data[pos + 3], data[pos + 4]
        stream = int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7fffffff
        if pos + 9 + length > len(data):
            return
        yield ftype, flags, stream, data[pos + 9:pos + 9 + length]
        pos += 9 + length


def unpad(flags, payload, priority=False):
    if flags & 0x08:  # PADDED
        pad = payload[0]
        payload = payload[1:len(payload) - pad]
    if priority and flags & 0x20:
        payload = payload[5:]
    return payload


class Direction:
    """One direction of a recorded connection: each stream's header blocks and DATA, in order."""

    def __init__(self, data):
        self.data = data
        self.events = []  # (stream, "headers", fields) or (stream, "data", bytes)
        inflater = Inflater()
        block, block_stream = b"", None
        for ftype, flags, stream, payload in frames(data):
            if ftype == 0x1:  # HEADERS
                block, block_stream = unpad(flags, payload, priority=True), stream
            elif ftype == 0x9:  # CONTINUATION
                block += payload
            elif ftype == 0x0:
                self.events.append((stream, "data", unpad(flags, payload)))
                continue
            else:
                continue
            if flags & 0x04:  # END_HEADERS
                self.events.append((block_stream, "headers", inflater.inflate(block)))

    def paths(self):
        return {s: dict(f).get(":path") for s, kind, f in self.events if kind == "headers"}

    def stream_data(self, stream):
        return b"".join(d for s, kind, d in self.events if s == stream and kind == "data")


# --- recording relay ----------------------------------------------------------------------

class Recorder:
    """Relays 127.0.0.1:port to the target; keeps each connection's bytes as (direction, bytes)."""

    def __init__(self, target):
        self.target = target
        self.connections = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            member = socket.create_connection(self.target)
            record = []
            with self.lock:
                self.connections.append(record)
            for src, dst, way in ((client, member, "c"), (member, client, "s")):
                threading.Thread(target=self._pump, args=(src, dst, way, record),
                                 daemon=True).start()

    def _pump(self, src, dst, way, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    record.append((way, data))
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self):
        """The connections recorded since the last call."""
        time.sleep(0.3)
        with self.lock:
            taken, self.connections = self.connections, []
        return taken


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- corpus files -------------------------------------------------------------------------

def fdp_tail(*values):
    """FuzzedDataProvider's ConsumeIntegral reads from the end: (value, bytes) in the order the
    fuzzer consumes them, as the bytes to append."""
    consumed = b""
    for value, size in values:
        consumed += (value % (1 << (8 * size))).to_bytes(size, "big")
    return consumed[::-1]


def framing_control(limit, sizes, timeout_length=0, duration=0):
    # grpc_framing_fuzzer: limit (uint16), 8 piece sizes, timeout length, int64 duration.
    return fdp_tail((limit, 2), *[(s, 1) for s in sizes], (timeout_length, 1),
                    (duration + (1 << 63), 8))


def write(fuzzer, name, data):
    if len(data) > MAX_LEN:
        data = data[:MAX_LEN]
    d = os.path.join(OUT, fuzzer)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def messages(stream_bytes):
    out, pos = [], 0
    while pos + 5 <= len(stream_bytes):
        length = int.from_bytes(stream_bytes[pos + 1:pos + 5], "big")
        out.append(stream_bytes[pos + 5:pos + 5 + length])
        pos += 5 + length
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="ehp-corpus.")
    client_port, peer_port = free_port(), free_port()
    etcd = subprocess.Popen(
        ["etcd", "--name", "fuzz", "--data-dir", os.path.join(tmp, "data"),
         "--listen-client-urls", "http://127.0.0.1:%d" % client_port,
         "--advertise-client-urls", "http://127.0.0.1:%d" % client_port,
         "--listen-peer-urls", "http://127.0.0.1:%d" % peer_port,
         "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer_port,
         "--initial-cluster", "fuzz=http://127.0.0.1:%d" % peer_port],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        direct = "127.0.0.1:%d" % client_port
        for _ in range(100):
            if subprocess.run(["etcdctl", "--endpoints", direct, "endpoint", "health"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        recorder = Recorder(("127.0.0.1", client_port))
        relayed = "127.0.0.1:%d" % recorder.port

        def etcdctl(*args, stdin=None, endpoint=relayed):
            subprocess.run(["etcdctl", "--endpoints", endpoint] + list(args), input=stdin,
                           capture_output=True, check=True)

        calls = {}  # name -> the recorded connections of one etcdctl run
        for name, args, stdin in [
            ("put", ["put", "foo", "bar"], None),
            ("put-prevkv", ["put", "--prev-kv", "foo/a", "value-a"], None),
            ("get", ["get", "foo"], None),
            ("get-serializable", ["get", "foo", "--consistency=s"], None),
            ("get-prefix-limit", ["get", "--prefix", "foo", "--limit=2", "--keys-only",
                                  "--order=DESCEND", "--sort-by=MODIFY"], None),
            ("get-range-rev", ["get", "a", "z", "--rev=2"], None),
            ("get-from-key", ["get", "--from-key", "foo", "--print-value-only"], None),
            ("del", ["del", "--prev-kv", "foo/a"], None),
            ("txn-write", ["txn"],
             b'mod("foo") > "0"\nvalue("foo") = "bar"\n\nput foo baz\ndel foo/b\n\n'
             b'get foo --prefix\n\n'),
            ("txn-read", ["txn"], b'version("foo") > "0"\n\nget foo\n\nget bar --prefix\n\n'),
            ("lease-grant", ["lease", "grant", "60"], None),
            ("member-list", ["member", "list"], None),
            ("status", ["endpoint", "status"], None),
            ("compact", ["compact", "1"], None),
        ]:
            etcdctl(*args, stdin=stdin)
            calls[name] = recorder.take()

        # Watches: events written directly to etcd while a watch runs through the recorder.
        watches = {}
        for name, args in [("watch", ["watch", "foo"]),
                           ("watch-history", ["watch", "--prefix", "--rev=1", "--prev-kv", "foo"])]:
            w = subprocess.Popen(["etcdctl", "--endpoints", relayed] + args,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            for i in range(3):
                etcdctl("put", "foo", "v%d" % i, endpoint=direct)
            etcdctl("del", "foo", endpoint=direct)
            time.sleep(0.5)
            w.terminate()
            w.wait()
            watches[name] = recorder.take()
    finally:
        etcd.terminate()
        etcd.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    for d in ("h2_server", "idle_reset_filter", "grpc_framing", "call_class", "watch_filter"):
        shutil.rmtree(os.path.join(OUT, d), ignore_errors=True)

    timeouts = set()
    for name, connections in list(calls.items()) + list(watches.items()):
        for n, record in enumerate(connections):
            tag = name if len(connections) == 1 else "%s-%d" % (name, n)
            client = b"".join(d for way, d in record if way == "c")
            server = b"".join(d for way, d in record if way == "s")
            if not client.startswith(PREFACE):
                continue
            frames_in = client[len(PREFACE):]
            write("h2_server", tag, frames_in)

            requests, responses = Direction(frames_in), Direction(server)
            paths = requests.paths()
            for _, kind, fields in requests.events:
                if kind == "headers":
                    timeouts.update(v for k, v in fields if k == "grpc-timeout")
            # A reset of a stream the client never opened, after its first request.
            idle = max(paths or [1]) + 2
            rst = struct.pack(">I", 4)[1:] + bytes([0x3, 0]) + struct.pack(">II", idle, 8)
            first = next(frames(frames_in), None)
            cut = len(PREFACE) + (9 + len(first[3]) if first else 0)
            write("idle_reset_filter", tag,
                  client[:cut] + rst + client[cut:] + fdp_tail((0, 1), *[(s, 1) for s in
                                                                          (7, 13, 64, 1, 200, 9,
                                                                           31, 255)]))

            for stream, path in paths.items():
                if path is None:
                    continue
                method = path.rsplit("/", 1)[-1]
                request = requests.stream_data(stream)
                response = responses.stream_data(stream)
                if request:
                    write("grpc_framing", "%s-%s-request" % (tag, method),
                          request + framing_control(4096, [255] * 8))
                if response:
                    # Refused once a message is larger than 64 bytes; pieces of varied sizes.
                    write("grpc_framing", "%s-%s-response" % (tag, method),
                          response + framing_control(64, [3, 1, 7, 0, 40, 5, 2, 100]))
                for i, payload in enumerate(messages(request)):
                    if path in CALL_CLASS_METHODS:
                        head = bytes([CALL_CLASS_METHODS.index(path)])
                    else:
                        head = bytes([len(CALL_CLASS_METHODS) + len(path)]) + path.encode()
                    write("call_class", "%s-%s-%d" % (tag, method, i), head + payload)
                if path == "/etcdserverpb.Watch/Watch":
                    # The stream's DATA in the order it went, each way: 0 client, 1 member;
                    # a move (2) after the first answer, and at the end.
                    script = bytes([9])  # messages up to 8 KiB
                    answers = 0
                    for way, data in ordered_data(record, stream):
                        script += bytes([0 if way == "c" else 1]) + struct.pack(">H", len(data))
                        script += data
                        if way == "s":
                            answers += 1
                            if answers == 1:
                                script += bytes([2])
                    script += bytes([2])
                    write("watch_filter", tag, script)

    # Two grpc-timeout values as etcdctl sent them, and a few of the spec's forms.
    forms = set(sorted(timeouts)[:2]) | {"100m", "5S", "2H", "1n", "99999999u"}
    for i, value in enumerate(sorted(forms)):
        write("grpc_framing", "timeout-%d" % i,
              value.encode() + framing_control(0xffff, [255] * 8, len(value), 30_000_000))


def ordered_data(record, stream):
    """The DATA payloads of `stream` in the order they crossed the relay, each way."""
    out = []
    buffers = {"c": b"", "s": b""}
    skipped = {"c": False, "s": True}
    for way, chunk in record:
        buffers[way] += chunk
        buf = buffers[way]
        if not skipped[way]:
            if len(buf) < len(PREFACE):
                continue
            buf = buf[len(PREFACE):]
            skipped[way] = True
        pos = 0
        for ftype, flags, s, payload in frames(buf):
            pos += 9 + len(payload)
            if ftype == 0x0 and s == stream:
                out.append((way, unpad(flags, payload)))
        buffers[way] = buf[pos:]
    return out


if __name__ == "__main__":
    main()
