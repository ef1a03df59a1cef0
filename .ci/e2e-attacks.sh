#!/usr/bin/env bash
# Connection attacks against both release binaries on loopback (.ci/attack.py):
#  1. 2,000 idle connections against the portal while /api/health from a new connection
#     answers within a second;
#  2. the stalled-client attack against the portal and the exporter: 300 connections
#     from 127.0.0.1 that ask and never read (HTTP/1.1 and HTTP/2 with a shut window);
#     a request from 127.0.0.2 is served within a second and the server closes every
#     stalled connection within its write deadline (2 s here).
# usage: e2e-attacks.sh PATH/TO/kitestacks-portal PATH/TO/kitestacks-exporter
set -euo pipefail
portal=$(realpath "$1")
exporter=$(realpath "$2")
cd "$(dirname "$0")/.."
. .ci/lib.sh
e2e_workdir

# 2,000 connections on each side of loopback, plus the binaries' own descriptors.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4200 ] \
    || { echo "FAIL: ulimit -n is $(ulimit -n); the attacks need 4200 descriptors" >&2; exit 1; }

write_deadline=2

# The embedded default with a short write deadline; upstreams and probes point nowhere
# (a closed loopback port), so nothing leaves 127.0.0.1.
"$portal" --print-default-config \
    | sed -e 's|^# url = "https://git.example.com/"|url = "http://127.0.0.1:9/"|' \
          -e 's|^# base_url = "https://wttr.in".*|base_url = "http://127.0.0.1:9/wttr"|' \
          -e 's|^enabled = true|enabled = false|' \
          -e "s|^write_timeout = .*|write_timeout = \"${write_deadline}s\"|" >"$work/portal.toml"
grep -q "^write_timeout = \"${write_deadline}s\"" "$work/portal.toml" \
    && grep -q '^url = "http://127.0.0.1:9/"' "$work/portal.toml" \
    && grep -q "^enabled = false" "$work/portal.toml" \
    || { echo "FAIL: could not write the portal's test configuration" >&2; exit 1; }

start_portal() {
    portal_port=$(free_port)
    "$portal" --config "$work/portal.toml" --listen "127.0.0.1:$portal_port" >>"$work/portal.log" 2>&1 &
    pids+=($!)
    wait_http "http://127.0.0.1:$portal_port/api/health"
}

echo "--- 1. idle connections against the portal"
start_portal
check "2,000 idle connections do not lock out /api/health" \
    python3 .ci/attack.py idle "$portal_port" /api/health 2000

echo "--- 2. stalled clients"
start_portal # a fresh one: the idle attack's connections are gone
check "portal: 300 stalled connections from one address" \
    python3 .ci/attack.py stalled "$portal_port" /api/openapi.json 300 "$write_deadline"
# --web.max-requests=0: with node_exporter's default of 40, most of the 300 requests get a
# short 503 that fits in the client's buffer, and their connections are then merely idle
# (closed by the idle timeout, or first when slots run short), not stalled. Without the
# limit every one of them waits for a /metrics body it will not read: the write deadline
# is what must close them.
exporter_port=$(free_port)
"$exporter" --web.listen-address="127.0.0.1:$exporter_port" --web.max-requests=0 \
    --web.write-timeout="${write_deadline}s" >"$work/exporter.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$exporter_port/metrics"
check "exporter: 300 stalled connections from one address" \
    python3 .ci/attack.py stalled "$exporter_port" /metrics 300 "$write_deadline"

for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "FAIL: a binary died during the attacks" >&2; tail -n 20 "$work"/*.log >&2; exit 1; }
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || { tail -n 20 "$work"/*.log >&2; exit 1; }
