#!/usr/bin/env python3
"""Load on the portal's live updates: N open /api/events streams.

Measures, against a running release portal (PID and base URL given):
- the portal's resident memory before the streams, and with N streams open;
- how late each `sample` event reaches each stream: arrival time minus the sample's
  own `timestamp_seconds` (so it includes sampling, rendering and delivery, and this
  client's own reading: an upper bound), p50/p99/max over every (stream, event);
- with `--wrk`, `GET /api/metrics` throughput (wrk -t2 -c8) and the portal's CPU time
  per request, without streams and then with the N streams open.

The client is plain non-blocking sockets in 2 processes (N/2 streams each), reading
every stream as its data arrives; everything stays on 127.0.0.1.

usage: events.py BASE_URL PORTAL_PID [--streams 1000] [--seconds 20] [--wrk]
"""

import argparse
import multiprocessing
import os
import re
import selectors
import socket
import statistics
import subprocess
import time
from urllib.parse import urlparse

TS = re.compile(rb'"timestamp_seconds":([0-9.]+)')


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(host, port, n, seconds, ready, out):
    """Opens n streams, reports when all are open, then records event lateness."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port))
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: bench\r\n\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
        socks.append(s)
    ready.put(n)
    late = []
    # Events sampled while this process was still opening streams waited in the socket
    # for it, not for the portal: only those sampled after are counted.
    start = time.time()
    end = start + seconds
    while time.time() < end:
        for key, _ in sel.select(timeout=0.5):
            now = time.time()
            try:
                data = key.fileobj.recv(1 << 16)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(key.fileobj)
                late.append(-1.0)  # a stream closed: counted apart
                continue
            buf = key.data
            buf += data
            while True:
                i = buf.find(b"\n\n")
                if i < 0:
                    break
                block = bytes(buf[: i + 2])
                del buf[: i + 2]
                if b"event: sample" in block:
                    m = TS.search(block)
                    if m and float(m.group(1)) >= start:
                        late.append(now - float(m.group(1)))
    for s in socks:
        s.close()
    out.put(late)


def wrk(url, seconds, pid):
    before = cpu_seconds(pid)
    r = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", url],
                       capture_output=True, text=True)
    cpu = cpu_seconds(pid) - before
    reqs = int(re.search(r"(\d+) requests in", r.stdout).group(1))
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", r.stdout).group(1))
    p99 = re.search(r"99%\s+(\S+)", r.stdout).group(1)
    return rps, cpu / max(reqs, 1) * 1e6, p99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("pid", type=int)
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--wrk", action="store_true")
    a = ap.parse_args()
    u = urlparse(a.base)
    assert u.hostname == "127.0.0.1", "loopback only"
    if a.wrk:
        rps, us, p99 = wrk(f"{a.base}/api/metrics", 10, a.pid)
        print(f"/api/metrics, no streams:        {rps:9.0f} req/s, {us:6.1f} us CPU/request, p99 {p99}")
    base_rss = rss_kib(a.pid)
    ready, out = multiprocessing.Queue(), multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client, args=(u.hostname, u.port, a.streams // 2, a.seconds, ready, out))
             for _ in range(2)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    time.sleep(3)
    open_rss = rss_kib(a.pid)
    print(f"RSS: {base_rss} KiB before, {open_rss} KiB with {a.streams} streams open "
          f"(+{(open_rss - base_rss) / 1024:.1f} MiB, {(open_rss - base_rss) * 1024 / a.streams:.0f} B/stream)")
    if a.wrk:
        rps, us, p99 = wrk(f"{a.base}/api/metrics", 10, a.pid)
        print(f"/api/metrics, {a.streams} streams open: {rps:9.0f} req/s, {us:6.1f} us CPU/request, p99 {p99}")
    late = []
    for _ in procs:
        late += out.get()
    for p in procs:
        p.join()
    closed = sum(1 for x in late if x < 0)
    ms = sorted(x * 1000 for x in late if x >= 0)
    if not ms:
        print("no sample events arrived")
        return
    q = statistics.quantiles(ms, n=100)
    print(f"sample events delivered: {len(ms)} over {a.streams} streams; lateness p50 {q[49]:.1f} ms, "
          f"p99 {q[98]:.1f} ms, max {ms[-1]:.1f} ms; streams closed by the server: {closed}")


if __name__ == "__main__":
    main()
