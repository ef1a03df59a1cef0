#!/usr/bin/env python3
"""Fake Forgejo and wttr.in on loopback for the end-to-end checks, serving the
shared/ fixtures, so that no CI traffic leaves 127.0.0.1.

usage: fake_upstreams.py FIXTURES_DIR PORT_FILE
Binds 127.0.0.1 on a free port, writes the port to PORT_FILE, serves until killed.
  /api/v1/repos/search            -> forgejo/repos-search.json (X-Total-Count: 3)
  /api/v1/repos/<o>/<r>/commits   -> forgejo/commits-<r>.json, 409 for the empty repo
  /wttr/<location>?format=j1      -> wttr/j1-ok.json
  /broken/...                     -> 500 (a failing upstream for degraded-card checks)
  /prom/api/v1/query[_range]      -> Prometheus' query API for the fleet strip: monk up with
                                     figures, kscloud1's scrape failing, grafana's probes
                                     disagreeing (up from monk, down from kscloud1)
"""
import http.server
import json
import os
import sys
import time
import urllib.parse

fixtures, port_file = sys.argv[1], sys.argv[2]


def read(rel):
    with open(os.path.join(fixtures, rel), "rb") as f:
        return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Total-Count", "3")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/broken/"):
            return self.reply(500, read("forgejo/error-500.json"))
        if path == "/api/v1/repos/search":
            return self.reply(200, read("forgejo/repos-search.json"))
        if path.startswith("/api/v1/repos/") and path.endswith("/commits"):
            repo = path.split("/")[5]
            if repo == "scratch":
                return self.reply(409, read("forgejo/error-409-empty-repo.json"))
            name = f"forgejo/commits-{repo}.json"
            if os.path.exists(os.path.join(fixtures, name)):
                return self.reply(200, read(name))
            return self.reply(404, read("forgejo/error-404-repo.json"))
        if path.startswith("/prom/api/v1/"):
            return self.reply(200, json.dumps(prometheus(path, self.path)).encode())
        if path.startswith("/wttr/"):
            return self.reply(200, read("wttr/j1-ok.json"), "text/plain; charset=utf-8")
        return self.reply(404, b'{"message":"not found"}')

    def log_message(self, *args):
        pass


def prometheus(path, full):
    """What Prometheus would answer the fleet's queries with, for two hosts."""
    q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(full).query).items()}
    expr = q.get("query", "")
    if path.endswith("/query_range"):
        start, end, step = float(q["start"]), float(q["end"]), float(q["step"])
        n = int((end - start) / step) + 1
        values = [[start + i * step, str(20 + i % 7)] for i in range(n)]
        return {"status": "success", "data": {"resultType": "matrix",
                "result": [{"metric": {"instance": "monk:9100"}, "values": values}]}}
    now = time.time()

    def vec(*series):
        return {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": m, "value": [now, v]} for m, v in series]}}
    monk, kscloud1 = {"instance": "monk:9100"}, {"instance": "kscloud1:9100"}
    if "probe_success" in expr:
        return vec((dict(monk, service="grafana"), "1"), (dict(kscloud1, service="grafana"), "0"))
    if "timestamp(up" in expr:
        return vec((monk, str(now - 1)), (kscloud1, str(now - 600)))
    if expr.startswith("max by (instance) (up"):
        return vec((monk, "1"), (kscloud1, "0"))
    for needle, value in (("node_cpu_seconds_total", "12.5"), ("MemAvailable", "40"),
                          ("node_load1", "0.25"), ("node_boot_time_seconds", "86400")):
        if needle in expr:
            return vec((monk, value))
    if "node_filesystem_avail_bytes" in expr:
        return vec((dict(monk, mountpoint="/"), "63"))
    return vec()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
