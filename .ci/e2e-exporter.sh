#!/usr/bin/env bash
# End-to-end checks of kitestacks-exporter by its real consumers, all on loopback:
#  1. promtool check metrics on a live scrape (node_exporter's own filter, nothing more);
#  2. a real Prometheus scrapes it: the target is up and the dashboard's top-row queries
#     return data;
#  3. side by side with Debian's node_exporter on this host: every family node_exporter
#     emits for the same collectors is emitted here too, and stable gauges agree;
#  4. the same with both exporters' default collector sets (no collector flags at all);
#     any family missing here is printed.
# usage: e2e-exporter.sh PATH/TO/kitestacks-exporter
set -euo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")/.."
. .ci/lib.sh
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The collectors of the exporter issue (what the "Node Exporter Full" dashboard draws from).
collectors="cpu cpufreq diskstats filesystem loadavg meminfo netclass netdev netstat os pressure schedstat sockstat softnet stat thermal_zone hwmon time timex uname vmstat entropy filefd processes"
flags=(--collector.disable-defaults)
for c in $collectors; do flags+=("--collector.$c"); done

ours_port=$(free_port)
"$bin" --web.listen-address="127.0.0.1:$ours_port" "${flags[@]}" >"$work/ours.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$ours_port/metrics"

echo "--- 1. promtool check metrics"
curl -fsS "http://127.0.0.1:$ours_port/metrics" >"$work/scrape.txt"
lint() { promtool check metrics <"${1:-$work/scrape.txt}" 2>&1 | grep -v -E "^node_(entropy|memory|netstat|wifi_station)_" || true; }
lint_out=$(lint)
[ -z "$lint_out" ] || echo "$lint_out"
check "promtool check metrics (node_exporter's filter)" test -z "$lint_out"
check "no collector failed" test -z "$(grep -E '^node_scrape_collector_success\{.*\} 0$' "$work/scrape.txt")"

echo "--- 2. a real Prometheus scrapes it"
prom_port=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:$ours_port"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$prom_port/-/ready"
query() { curl -fsS "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1"; }
# results of a query, as the number of series returned
count() { query "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))'; }
for _ in $(seq 1 60); do
    [ "$(query 'up{job="node"}' | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')" = 1 ] \
        && [ "$(count 'rate(node_cpu_seconds_total[5s])')" -gt 0 ] && break
    sleep 1
done
check "target up" test "$(query 'up{job="node"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')" = 1
for q in 'node_uname_info' 'rate(node_cpu_seconds_total[5s])' 'node_memory_MemAvailable_bytes' \
         'node_filesystem_avail_bytes' 'rate(node_network_receive_bytes_total[5s])' 'node_load1' \
         'node_boot_time_seconds'; do
    check "PromQL $q returns data" test "$(count "$q")" -gt 0
done

echo "--- 3. side by side with Debian's node_exporter"
theirs_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$theirs_port" "${flags[@]}" >"$work/theirs.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$theirs_port/metrics"
check "families and stable gauges match node_exporter" \
    python3 .ci/compare_exporters.py "http://127.0.0.1:$ours_port/metrics" "http://127.0.0.1:$theirs_port/metrics"

echo "--- 4. default collectors on both, side by side"
ours_default_port=$(free_port)
"$bin" --web.listen-address="127.0.0.1:$ours_default_port" >"$work/ours-default.log" 2>&1 &
pids+=($!)
theirs_default_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$theirs_default_port" >"$work/theirs-default.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$ours_default_port/metrics"
wait_http "http://127.0.0.1:$theirs_default_port/metrics"
check "default set: every node_exporter family is emitted, stable gauges agree" \
    python3 .ci/compare_exporters.py "http://127.0.0.1:$ours_default_port/metrics" "http://127.0.0.1:$theirs_default_port/metrics"
curl -fsS "http://127.0.0.1:$ours_default_port/metrics" >"$work/default-scrape.txt"
failed_collectors=$(grep -E '^node_scrape_collector_success\{.*\} 0$' "$work/default-scrape.txt" || true)
[ -z "$failed_collectors" ] || { echo "$failed_collectors"; grep -i -E 'level=(warn|error)' "$work/ours-default.log" | head -20; }
check "default set: no collector failed" test -z "$failed_collectors"
default_lint=$(lint "$work/default-scrape.txt")
[ -z "$default_lint" ] || echo "$default_lint"
check "default set: promtool check metrics (node_exporter's filter)" test -z "$default_lint"

echo "e2e exporter: $passed passed, $failed failed"
[ "$failed" = 0 ]
