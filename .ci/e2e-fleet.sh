#!/usr/bin/env bash
# End-to-end check of the fleet view (#17) with Debian's real Prometheus, all on
# loopback: two kitestacks-exporter instances made to look like two hosts (this
# machine as "monk", node_exporter's fixture tree as "kscloud1", told apart by a `host`
# label) and two portals whose probes of one service disagree; Prometheus scrapes the
# four every second. The portal under test ([fleet]) must show both hosts with their
# figures (kscloud1's load as the fixture's loadavg says), which host answered, the
# service as seen from both hosts ("partial"), and a host's history; then, Prometheus
# stopped, the last answer stale with the typed error `refused`, health still 200.
# usage: e2e-fleet.sh PATH/TO/kitestacks-portal PATH/TO/kitestacks-exporter
set -euo pipefail
portal_bin=$(realpath "$1")
exporter_bin=$(realpath "$2")
cd "$(dirname "$0")/.."
. .ci/lib.sh
e2e_workdir

tar xzf ../shared/fixtures/node_exporter/fixtures.tar.gz -C "$work"
fixture="$work/collector/fixtures"

monk_exp=$(free_port) kscloud1_exp=$(free_port)
"$exporter_bin" --web.listen-address="127.0.0.1:$monk_exp" >"$work/monk-exporter.log" 2>&1 &
pids+=($!)
"$exporter_bin" --web.listen-address="127.0.0.1:$kscloud1_exp" \
    --path.procfs="$fixture/proc" --path.sysfs="$fixture/sys" --path.rootfs="$fixture" \
    --no-collector.filesystem >"$work/kscloud1-exporter.log" 2>&1 &
pids+=($!)

monk_portal=$(free_port) kscloud1_portal=$(free_port) prom_port=$(free_port)
# One service both portals probe; kscloud1's cannot reach it (a closed port in its file).
closed=$(free_port)
portal_config() { # NAME PORT PROBE_URL EXTRA
    cat >"$work/$1.toml" <<TOML
[server]
listen = "127.0.0.1:$2"

[status]
enabled = true
interval = "5s"

[[hosts]]
name = "monk"
role = "home"

[[hosts]]
name = "kscloud1"
role = "cloud"

[[services]]
id = "prometheus"
name = "Prometheus"
url = "$3"
category = "monitoring"
hosts = ["monk"]
auth = "none"
visibility = "internal"
probe = {}
$4
TOML
}
portal_config kscloud1 "$kscloud1_portal" "http://127.0.0.1:$closed/" ""
portal_config monk "$monk_portal" "http://127.0.0.1:$prom_port/-/ready" "
[fleet]
prometheus_url = \"http://127.0.0.1:$prom_port/\"
host_label = \"host\"
selector = 'job=\"node\"'
this_host = \"monk\"
refresh = \"1s\"
timeout = \"2s\"

[fleet.hosts]
monk = \"monk\"
kscloud1 = \"kscloud1\""
"$portal_bin" --config "$work/kscloud1.toml" >"$work/kscloud1-portal.log" 2>&1 &
pids+=($!)
"$portal_bin" --config "$work/monk.toml" >"$work/monk-portal.log" 2>&1 &
portal_pid=$!
pids+=($portal_pid)

cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - {targets: ["127.0.0.1:$monk_exp"], labels: {host: monk}}
      - {targets: ["127.0.0.1:$kscloud1_exp"], labels: {host: kscloud1}}
  - job_name: portal
    static_configs:
      - {targets: ["127.0.0.1:$monk_portal"], labels: {host: monk}}
      - {targets: ["127.0.0.1:$kscloud1_portal"], labels: {host: kscloud1}}
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
pids+=($prom_pid)
wait_http "http://127.0.0.1:$prom_port/-/ready" "$prom_pid"
wait_http "http://127.0.0.1:$monk_portal/api/health" "$portal_pid"

api="http://127.0.0.1:$monk_portal/api"
# field PYTHON-EXPRESSION: evaluates it on /api/fleet's JSON as `v` (hosts by name in `h`).
field() {
    curl -sS "$api/fleet" | python3 -c '
import json, sys
v = json.load(sys.stdin)
h = {x["host"]: x for x in v.get("hosts", [])}
c = {x["service"]: x for x in v.get("checks", [])}
try:
    print(eval(sys.argv[1]))
except (KeyError, TypeError, IndexError):
    print("missing")' "$1"
}
ready='h["monk"]["up"] and h["kscloud1"]["up"] and h["kscloud1"]["cpu_busy_percent"] is not None and len(c["prometheus"]["hosts"]) == 2'
for _ in $(seq 1 40); do [ "$(field "$ready")" = True ] && break; sleep 0.5; done

echo "--- the fleet through Prometheus"
check "both hosts up, with CPU figures and both hosts' probes" test "$(field "$ready")" = True
check "monk answered, and is marked" test "$(field 'v["served_by"] + str(h["monk"]["this_host"]) + str(h["kscloud1"]["this_host"])')" = monkTrueFalse
expected_load=$(cut -d' ' -f1 "$fixture/proc/loadavg")
check "kscloud1's load is the fixture's loadavg ($expected_load)" \
    test "$(field 'h["kscloud1"]["load1"]')" = "$expected_load"
check "kscloud1's fixture has no MemAvailable: no memory figure, not a made-up one" \
    test "$(field 'h["kscloud1"]["memory_used_percent"]')" = None
check "monk's root filesystem and uptime" test "$(field 'h["monk"]["root_used_percent"] is not None and h["monk"]["uptime_seconds"] > 0')" = True
check "only the exporters are hosts (the selector)" test "$(field 'sorted(h)')" = "['kscloud1', 'monk']"
check "the service: up from monk, down from kscloud1, partial" \
    test "$(field 'c["prometheus"]["state"] + str(c["prometheus"]["agree"]) + str([(x["host"], x["up"]) for x in c["prometheus"]["hosts"]])')" \
    = "partialFalse[('kscloud1', False), ('monk', True)]"
history_ok='
import json, sys
v = json.loads(sys.argv[1])
assert v["unit"] == "tasks" and v["step_seconds"] == 5, v
assert len(v["points"]) == 12 and all(len(p) == 4 for p in v["points"]), v
assert any(p[1:] == [0.21, 0.21, 0.21] for p in v["points"]), v'
# A history has whole 5 s buckets only: the first scrape shows once its bucket closed
# (CI once asked just after a bucket boundary that the first scrape had missed).
for _ in $(seq 1 30); do
    history=$(curl -sS "$api/fleet/kscloud1/history?series=load.load1&range=1m&step=5s")
    python3 -c "$history_ok" "$history" 2>/dev/null && break
    sleep 0.5
done
check "kscloud1's history: /api/history's shape with values" python3 -c "$history_ok" "$history"

echo "--- Prometheus stopped"
kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true
for _ in $(seq 1 40); do [ "$(field 'v["error"]["kind"]')" = refused ] && break; sleep 0.25; done
check "the last answer, stale, with the typed error" \
    test "$(field 'str(v["stale"]) + v["error"]["kind"] + str(h["kscloud1"]["load1"])')" = "Truerefused$expected_load"
check "/api/fleet stays 200" test "$(curl -sS -o /dev/null -w '%{http_code}' "$api/fleet")" = 200
check "/api/health stays 200" test "$(curl -sS -o /dev/null -w '%{http_code}' "$api/health")" = 200
check "a history needs Prometheus: 502 bad_upstream" \
    test "$(curl -sS -w ' %{http_code}' "$api/fleet/monk/history?series=up" | python3 -c 'import json,sys; b,s=sys.stdin.read().rsplit(" ",1); print(json.loads(b)["error"]["code"], s)')" = "bad_upstream 502"

echo "fleet: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then tail -n 20 "$work"/*.log; exit 1; fi
