#!/usr/bin/env bash
# End-to-end check of the portal binary from outside: start it on a free loopback port
# with the embedded default configuration (its Forgejo, weather and [fleet] Prometheus
# URLs pointed at fake upstreams on loopback, so no traffic leaves 127.0.0.1), check every route with curl,
# run schemathesis against its own OpenAPI document, then SIGTERM it and require a
# clean exit.
# usage: e2e-portal.sh PATH/TO/kitestacks-portal
set -euo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")/.."
. .ci/lib.sh
venv=target/ci-venv
work=$(mktemp -d)
pid=""
fake_pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$work/log" ] && tail -20 "$work/log" >&2; exit 1; }

start_fake_upstreams "$work" || fail "the fake upstreams did not start"
"$bin" --print-default-config \
    | sed -e "s|^# url = \"https://git.example.com/\"|url = \"$fake/\"|" \
          -e "s|^# location = \"Berlin\" |location = \"Berlin\" |" \
          -e "s|^# base_url = \"https://wttr.in\".*|base_url = \"$fake/wttr\"|" \
          -e "s|^enabled = true|enabled = false|" \
          -e "s|^# \[fleet\]\$|[fleet]|" \
          -e "s|^# prometheus_url = \"http://127.0.0.1:9090/\"|prometheus_url = \"$fake/prom/\"|" \
          -e "s|^# \[fleet.hosts\] |[fleet.hosts] |" \
          -e "s|^# monk = |monk = |" -e "s|^# kscloud1 = |kscloud1 = |" >"$work/portal.toml"
grep -q "^prometheus_url = \"$fake/prom/\"" "$work/portal.toml" && grep -q "^kscloud1 = " "$work/portal.toml" \
    || fail "could not point [fleet] at the fake Prometheus"
grep -q "^enabled = false" "$work/portal.toml" || fail "could not turn off the status probes (public URLs)"
grep -q "^url = \"$fake/\"" "$work/portal.toml" && grep -q "^base_url = \"$fake/wttr\"" "$work/portal.toml" \
    && grep -q "^location = " "$work/portal.toml" \
    || fail "could not point the config at the fake upstreams"

port=$(free_port)
base="http://127.0.0.1:$port"
RUST_LOG=debug "$bin" --config "$work/portal.toml" --listen "127.0.0.1:$port" >"$work/log" 2>&1 &
pid=$!
wait_http "$base/api/health" "$pid" || fail "the portal exited at start, or did not answer"

body() { curl -sS "$@"; }
status() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }
header() { curl -sS -D - -o /dev/null "${@:2}" | tr -d '\r' | awk -v h="$1" 'tolower($0) ~ "^"h":" {sub(/^[^:]*: */, ""); print}'; }

check "health body is exactly {\"ok\":true}" test "$(body "$base/api/health")" = '{"ok":true}'
check "health content type" test "$(header content-type "$base/api/health")" = "application/json"
check "HEAD health is 200" test "$(status -I "$base/api/health")" = 200
check "services has 11 public services" test "$(body "$base/api/services" | python3 -c \
    'import json,sys; print(sum(s["visibility"]=="public" for s in json.load(sys.stdin)["services"]))')" = 11
check "openapi is 3.1" test "$(body "$base/api/openapi.json" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["openapi"])')" = 3.1.0
check "served openapi equals the committed one" cmp -s <(body "$base/api/openapi.json") bin/openapi.json
check "metrics has memory and the host name" test "$(body "$base/api/metrics" | python3 -c \
    'import json,sys; m=json.load(sys.stdin); print(m["memory"]["total_bytes"] > 0 and bool(m["host"]["hostname"]))')" = True
check "metrics memory total equals MemTotal" test "$(body "$base/api/metrics/memory" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["total_bytes"])')" = "$(awk '/^MemTotal:/ {printf "%.0f", $2 * 1024}' /proc/meminfo)"
check "activity from the fake Forgejo" test "$(body "$base/api/activity" | python3 -c \
    'import json,sys; a=json.load(sys.stdin); print(len(a["commits"]) > 0 and a["stale"] is False)')" = True
check "weather from the fake wttr.in" test "$(body "$base/api/weather" | python3 -c \
    'import json,sys; w=json.load(sys.stdin); print(w["weather"]["provider"])')" = wttr
check "fleet from the fake Prometheus: monk up, kscloud1 down" test "$(body "$base/api/fleet" | python3 -c \
    'import json,sys; print([(h["host"], h["up"]) for h in json.load(sys.stdin)["hosts"]])')" = "[('monk', True), ('kscloud1', False)]"
check "status lists the probed services as unknown (probes off)" test "$(body "$base/api/status" | python3 -c \
    'import json,sys; v=json.load(sys.stdin); print(len(v["services"]) > 0 and all(s["state"] == "unknown" for s in v["services"]))')" = True
check "/metrics is 200 text/plain 0.0.4" test "$(header content-type "$base/metrics")" = "text/plain; version=0.0.4; charset=utf-8"
check "/metrics counts requests" grep -q '^kitestacks_portal_requests_total{code="200",route="/api/health"}' <(body "$base/metrics")
check "/metrics has the upstream caches" grep -q '^kitestacks_portal_upstream_up{upstream="forgejo"} 1' <(body "$base/metrics")
check "promtool check metrics on /metrics (no filter)" bash -c "curl -fsS '$base/metrics' | promtool check metrics"
check "docs redirect" test "$(status "$base/api/docs")" = 308
check "docs page" grep -q swagger-ui <(body "$base/api/docs/")
check "unknown path is 404 JSON" test "$(body "$base/api/nope" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["error"]["code"])')" = not_found
check "wrong method is 405" test "$(status -X POST "$base/api/health")" = 405
check "405 has Allow" test "$(header allow -X POST "$base/api/health")" = "GET, HEAD"
check "traversal refused" test "$(status --path-as-is "$base/../../etc/passwd")" = 404
check "one debug log line per request" grep -q 'msg=request .*path=/api/health' "$work/log"

check "events: a sample event within two intervals" bash -c \
    "curl -sN --max-time 6 '$base/api/events' | grep -m1 -q '^event: sample'"
check "events: text/event-stream" test "$(curl -sS -m 2 -D - -o /dev/null "$base/api/events" 2>/dev/null \
    | tr -d '\r' | awk 'tolower($1) == "content-type:" {print $2}')" = "text/event-stream"
check "history lists cpu.busy_percent" grep -q '"name":"cpu.busy_percent"' <(body "$base/api/history")
check "history of memory has points" test "$(body "$base/api/history?series=memory.used_percent&range=5m&step=2s" \
    | python3 -c 'import json,sys; print(sum(p[2] is not None for p in json.load(sys.stdin)["points"]) > 0)')" = True
check "history: an unknown series is 404 unknown_series" test "$(body "$base/api/history?series=nope" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["error"]["code"])')" = unknown_series

echo "--- schemathesis: every response against the OpenAPI document"
# Generated requests for every operation; every response checked against its documented
# status, content type, headers and schema.
# /api/events never ends by design (it is checked with curl above).
check "schemathesis" "$venv/bin/schemathesis" run "$base/api/openapi.json" \
    --exclude-path /api/events \
    --checks all --max-examples 30 --request-timeout 5 --no-color --suppress-health-check all

# An open event stream must not hold shutdown: SIGTERM ends it.
curl -sN "$base/api/events" >/dev/null 2>&1 &
stream=$!
sleep 0.5
kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    check "exits on SIGTERM" false
else
    wait "$pid" && rc=0 || rc=$?
    check "exits 0 on SIGTERM" test "$rc" = 0
fi
pid=""
kill "$stream" 2>/dev/null || true
echo "e2e portal: $passed passed, $failed failed"
[ "$failed" = 0 ]
