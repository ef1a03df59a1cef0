#!/usr/bin/env bash
# Interleaved runs of two builds of one criterion bench, so that both see the same
# machine: on the shared 2-core machine a bench moves by up to 40 % between runs, and
# runs minutes apart are not comparable.
#
# usage: benches/ab.sh OLD_BINARY NEW_BINARY FILTER [ROUNDS]
#   e.g. build the old commit's bench in a worktree, copy target/release/deps/containers-*
#   aside, build this one, then
#   benches/ab.sh /tmp/containers-old /tmp/containers-new 'containers/(tracker|cpu_tracker|reader|floor_pread)_60' 6
# Prints one line per bench and run: round, old|new, bench, criterion's median estimate.
set -euo pipefail
old=$1 new=$2 filter=$3 rounds=${4:-6}
for r in $(seq 1 "$rounds"); do
    for v in old new; do
        bin=$old
        [ "$v" = new ] && bin=$new
        "$bin" --bench --warm-up-time 1 --measurement-time 3 "$filter" 2>&1 |
            awk -v v="$v" -v r="$r" '/^[a-z_]+\//{name=$1} /time:/{for(i=1;i<=NF;i++) if($i=="time:") print r, v, name, $(i+3), $(i+4)}'
    done
done
