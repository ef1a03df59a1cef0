#!/usr/bin/env bash
# End-to-end check of --web.config.file by a real Prometheus (Debian's), all on loopback:
# the exporter serves TLS with basic auth; Prometheus scrapes it as a node_exporter user
# would (scheme: https, tls_config with the CA, basic_auth): the target is up; a second
# job with a wrong password is down with 401. The portal reads the same file through
# `[server] web_config`: its API answers 401 without the password, and Prometheus scrapes
# its /metrics the same way. Certificates are made here with openssl.
# usage: e2e-tls.sh PATH/TO/kitestacks-exporter PATH/TO/kitestacks-portal
set -euo pipefail
bin=$(realpath "$1")
portal_bin=$(realpath "$2")
cd "$(dirname "$0")/.."
. .ci/lib.sh
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# A CA and a server certificate for 127.0.0.1 and localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=kitestacks e2e CA" -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
    -CAcreateserial -days 2 -extfile "$work/san.ext" -out "$work/server.crt" 2>/dev/null

password=e2e-secret
hash=$(htpasswd -nbBC 10 "" "$password" | tr -d ':\n')
cat >"$work/web.yml" <<YAML
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prometheus: '$hash'
YAML

port=$(free_port)
"$bin" --web.listen-address="127.0.0.1:$port" --web.config.file="$work/web.yml" \
    --collector.disable-defaults --collector.loadavg >"$work/exporter.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -sS -o /dev/null --cacert "$work/ca.crt" "https://127.0.0.1:$port/metrics" 2>/dev/null && break
    sleep 0.1
done
status() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$work/ca.crt" "$@" "https://127.0.0.1:$port/metrics"; }
check "curl over TLS without credentials: 401" test "$(status)" = 401
check "curl over TLS with the password: 200" test "$(status -u "prometheus:$password")" = 200
check "plain HTTP is refused" bash -c "! curl -fsS -o /dev/null http://127.0.0.1:$port/metrics 2>/dev/null"

portal_port=$(free_port)
printf '[server]\nweb_config = "web.yml"\n' >"$work/kitestacks.toml"
"$portal_bin" --config "$work/kitestacks.toml" --listen "127.0.0.1:$portal_port" >"$work/portal.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -sS -o /dev/null --cacert "$work/ca.crt" "https://127.0.0.1:$portal_port/api/health" 2>/dev/null && break
    sleep 0.1
done
pstatus() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$work/ca.crt" "$@"; }
check "portal over TLS: /api/health open" test "$(pstatus "https://127.0.0.1:$portal_port/api/health")" = 200
check "portal over TLS: /api/services without credentials: 401" \
    test "$(pstatus "https://127.0.0.1:$portal_port/api/services")" = 401
check "portal over TLS: /api/services with the password: 200" \
    test "$(pstatus -u "prometheus:$password" "https://127.0.0.1:$portal_port/api/services")" = 200

prom_port=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    scheme: https
    tls_config:
      ca_file: $work/ca.crt
    basic_auth:
      username: prometheus
      password: $password
    static_configs:
      - targets: ["127.0.0.1:$port"]
  - job_name: portal
    scheme: https
    tls_config:
      ca_file: $work/ca.crt
    basic_auth:
      username: prometheus
      password: $password
    static_configs:
      - targets: ["127.0.0.1:$portal_port"]
  - job_name: wrong-password
    scheme: https
    tls_config:
      ca_file: $work/ca.crt
    basic_auth:
      username: prometheus
      password: not-the-password
    static_configs:
      - targets: ["127.0.0.1:$port"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$prom_port/-/ready" 2>/dev/null && break; sleep 0.1; done
# health of each job's target, as "job health lastError" lines
targets() {
    curl -fsS "http://127.0.0.1:$prom_port/api/v1/targets" | python3 -c '
import json, sys
for t in json.load(sys.stdin)["data"]["activeTargets"]:
    print(t["labels"]["job"], t["health"], t["lastError"].replace(" ", "_") or "-")'
}
for _ in $(seq 1 60); do
    t=$(targets)
    grep -q '^node up' <<<"$t" && grep -q '^portal up' <<<"$t" && grep -q '^wrong-password down' <<<"$t" && break
    sleep 1
done
echo "$t"
check "Prometheus scrapes over TLS with basic auth: target up" grep -q '^node up' <<<"$t"
check "Prometheus scrapes the portal's /metrics the same way: target up" grep -q '^portal up' <<<"$t"
check "with a wrong password the target is down with 401" grep -qE '^wrong-password down .*401' <<<"$t"
up=$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode 'query=up{job="node"}' \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
check "up{job=\"node\"} is 1" test "$up" = 1

echo "e2e tls: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
