#!/usr/bin/env python3
"""Fake Forgejo and wttr.in on loopback for the end-to-end checks, serving the
shared/ fixtures, so that no CI traffic leaves 127.0.0.1.

usage: fake_upstreams.py FIXTURES_DIR PORT_FILE
Binds 127.0.0.1 on a free port, writes the port to PORT_FILE, serves until killed.
  /api/v1/repos/search            -> forgejo/repos-search.json (X-Total-Count: 3)
  /api/v1/repos/<o>/<r>/commits   -> forgejo/commits-<r>.json, 409 for the empty repo
  /wttr/<location>?format=j1      -> wttr/j1-ok.json
  /broken/...                     -> 500 (a failing upstream for degraded-card checks)
"""
import http.server
import os
import sys

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
        if path.startswith("/wttr/"):
            return self.reply(200, read("wttr/j1-ok.json"), "text/plain; charset=utf-8")
        return self.reply(404, b'{"message":"not found"}')

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
