#!/usr/bin/env bash
# Instructions per scrape (user space) of an exporter binary under callgrind: the
# difference between N2 and N1 scrapes, divided by N2-N1 (start-up cancels out).
# Deterministic: callgrind counts user-space instructions, so the figure does not move with
# the machine's load (the kernel's share of a scrape is not counted). Needs valgrind.
# usage: benches/instructions.sh BINARY N1 N2 [exporter flags...]
set -euo pipefail
source "$(dirname "$0")/../.ci/lib.sh" # free_port
bin=$1 n1=$2 n2=$3; shift 3
run() {
  local n=$1; shift
  local port; port=$(free_port)
  local out; out=$(mktemp /tmp/cg.XXXXXX)
  valgrind --tool=callgrind --callgrind-out-file=$out.cg "$bin" --web.listen-address=127.0.0.1:$port "$@" >/dev/null 2>$out.log &
  local pid=$!
  # valgrind starts slowly: up to 60 s, not wait_http's 10
  for _ in $(seq 1 300); do curl -fsS -o /dev/null http://127.0.0.1:$port/metrics 2>/dev/null && break; sleep 0.2; done
  for _ in $(seq 2 $n); do curl -fsS -o /dev/null http://127.0.0.1:$port/metrics; done
  kill -INT $pid; wait $pid 2>/dev/null || true
  grep -h "^summary:\|^totals:" $out.cg | head -1 | awk '{print $2}'
  rm -f "$out" "$out.cg" "$out.log"
}
a=$(run $n1 "$@"); b=$(run $n2 "$@")
echo "$(( (b - a) / (n2 - n1) )) instructions per scrape ($a at $n1, $b at $n2)"
