#!/usr/bin/env python3
"""Connection attacks on a kitestacks binary on loopback (stdlib only), for e2e-attacks.sh.

  attack.py idle PORT PROBE_PATH COUNT
      Holds COUNT idle connections (opened, no byte sent; any the server closes is
      opened again) and meanwhile asks PROBE_PATH from new connections: each answer must
      come within a second.
  attack.py stalled PORT PATH COUNT DEADLINE
      From 127.0.0.1 opens COUNT connections that ask for PATH and never read (half
      HTTP/1.1 with a tiny receive buffer, half HTTP/2 with SETTINGS_INITIAL_WINDOW_SIZE
      0); then PATH from 127.0.0.2 must be answered within a second, and the server must
      have closed every connection of the attack within DEADLINE seconds (plus a little
      for the check itself), as its own sockets in /proc/net/tcp show.

Exit status 0 when every check holds; each check prints "ok" or "FAIL" with figures.
"""

import selectors
import socket
import struct
import sys
import threading
import time

PROBE_BOUND = 1.0


def connect(port, source="127.0.0.1", rcvbuf=None, blocking=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    if blocking:
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
    else:
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
    return s


def probe(port, path, source="127.0.0.1"):
    """Seconds until a whole answer to GET path came back (inf on failure)."""
    start = time.monotonic()
    try:
        s = connect(port, source)
        s.settimeout(PROBE_BOUND * 5)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(1 << 16):
            answer += chunk
        s.close()
        if not answer.startswith(b"HTTP/1.1 200"):
            return float("inf")
    except OSError:
        return float("inf")
    return time.monotonic() - start


def check(name, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
    return ok


def idle(port, path, count):
    sel = selectors.DefaultSelector()
    stop = threading.Event()
    reopened = [0]

    def open_one():
        s = connect(port, blocking=False)
        sel.register(s, selectors.EVENT_READ)

    for _ in range(count):
        open_one()

    def hold():
        # A closed connection (readable: EOF or reset) is opened again, at most 250 per
        # quarter second, so that `count` stay open as well as the attacker can manage.
        while not stop.is_set():
            closed = [key.fileobj for key, _ in sel.select(timeout=0.25)]
            for s in closed[:250]:
                sel.unregister(s)
                s.close()
                open_one()
                reopened[0] += 1
            time.sleep(0.25)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    time.sleep(2)  # let the attack settle
    times = []
    for _ in range(5):
        times.append(probe(port, path))
        time.sleep(0.5)
    stop.set()
    holder.join()
    worst = max(times)
    return check(
        f"{path} answered within {PROBE_BOUND}s while {count} idle connections are held",
        worst <= PROBE_BOUND,
        f"answers in {', '.join(f'{t:.3f}s' for t in times)}; "
        f"the server closed {reopened[0]} idle connections, the attacker reopened them",
    )


def h2_request(path):
    def frame(kind, flags, stream, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload

    block = bytes([0x82, 0x86, 0x04, len(path)]) + path.encode() + bytes([0x01, 1]) + b"x"
    return (
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        + frame(4, 0, 0, struct.pack(">HI", 4, 0))  # SETTINGS_INITIAL_WINDOW_SIZE = 0
        + frame(1, 0x5, 1, block)  # HEADERS, END_HEADERS | END_STREAM
    )


def established(port):
    """The server's own established sockets on `port` (local port = port)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                        n += 1
        except FileNotFoundError:
            pass
    return n


def stalled(port, path, count, deadline):
    conns = []
    for i in range(count):
        try:
            s = connect(port, rcvbuf=4096)
            if i % 2:
                s.sendall(h2_request(path))
            else:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            conns.append(s)
        except OSError:
            pass  # refused or closed at once: the address's share is taken
    attacked = time.monotonic()
    held = established(port)
    took = probe(port, path, source="127.0.0.2")
    ok = check(
        "a client from 127.0.0.2 is served within a second",
        took <= PROBE_BOUND,
        f"answered in {took:.3f}s while 127.0.0.1 held {held} stalled connections",
    )
    bound = deadline + 1.5
    while established(port) and time.monotonic() - attacked < bound:
        time.sleep(0.05)
    left = established(port)
    ok &= check(
        f"every stalled connection closed within the write deadline ({deadline}s)",
        left == 0,
        f"{left} still open {time.monotonic() - attacked:.2f}s after the attack",
    )
    for s in conns:
        s.close()
    return ok


def main(argv):
    if argv[1:2] == ["idle"] and len(argv) == 5:
        return idle(int(argv[2]), argv[3], int(argv[4]))
    if argv[1:2] == ["stalled"] and len(argv) == 6:
        return stalled(int(argv[2]), argv[3], int(argv[4]), float(argv[5]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
