#!/usr/bin/env bash
# Side-by-side performance of the release binaries against the anchors in ../shared/perf
# (FastAPI + psutil, Debian's node_exporter, the physical floor of one sample), measured
# in one sitting by the same measure.sh. Loopback only; takes about 15 minutes.
#
# usage: benches/compare.sh [-d SECS] [-r RUNS]    (defaults: measure.sh's 10 s x 3 runs)
# Writes everything under a scratch directory and prints the ROW lines and RESULT lines;
# BENCHMARKS.md quotes them.
set -euo pipefail
dur=10 runs=3
while getopts "d:r:" opt; do
    case "$opt" in d) dur=$OPTARG ;; r) runs=$OPTARG ;; *) exit 2 ;; esac
done
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/../shared" && pwd)
scratch=$(mktemp -d /tmp/kitestacks-perf.XXXXXX)
cp -r "$shared/perf" "$scratch/perf"
cd "$scratch/perf"
out="$scratch/results"
mkdir -p "$out"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

cargo build -q --release --manifest-path "$repo/Cargo.toml" --bin kitestacks-portal --bin kitestacks-exporter
bin="$repo/target/release"

echo "=== anchors (run-anchors.sh: floor, A, B1, B2, B2-gz)"
./run-anchors.sh -G -d "$dur" -r "$runs" -a floor,A,B1,B2,B2-gz -o "$out/anchors"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
measure() { ./measure.sh -r "$runs" -d "$dur" -o "$out/results.txt" "$@" | tee -a "$out/ours.txt"; }

echo "=== kitestacks-portal GET /api/metrics"
port=$(free_port)
"$bin/kitestacks-portal" --listen "127.0.0.1:$port" >"$out/portal.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/api/health"
measure -l kitestacks-portal "http://127.0.0.1:$port/api/metrics" "${pids[-1]}"
kill "${pids[-1]}"

core=(--collector.disable-defaults --collector.cpu --collector.meminfo --collector.loadavg
      --collector.filesystem --collector.netdev --collector.diskstats --collector.stat
      --collector.uname --collector.time)
echo "=== kitestacks-exporter, node_exporter's core set (as B2)"
port=$(free_port)
"$bin/kitestacks-exporter" --web.listen-address="127.0.0.1:$port" "${core[@]}" >"$out/exporter-core.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/metrics"
measure -l kitestacks-exporter-core "http://127.0.0.1:$port/metrics" "${pids[-1]}"
measure -l kitestacks-exporter-core-gz -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics" "${pids[-1]}"
python3 collector_durations.py "http://127.0.0.1:$port/metrics" --scrapes 20 | tee "$out/collectors-core.txt"
kill "${pids[-1]}"

echo "=== kitestacks-exporter, default collectors (as B1)"
port=$(free_port)
"$bin/kitestacks-exporter" --web.listen-address="127.0.0.1:$port" >"$out/exporter-default.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/metrics"
measure -l kitestacks-exporter-default "http://127.0.0.1:$port/metrics" "${pids[-1]}"
python3 collector_durations.py "http://127.0.0.1:$port/metrics" --scrapes 20 | tee "$out/collectors-default.txt"
kill "${pids[-1]}"

echo "=== summary"
cat "$out/anchors/floor-summary.txt" 2>/dev/null || true
grep -h '^ROW' "$out"/anchors/measure-*.txt "$out/ours.txt" 2>/dev/null || true
echo "results in $out"
