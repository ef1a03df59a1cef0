#!/usr/bin/env bash
# Helpers shared by the .ci/e2e-*.sh scripts (sourced, not run). Everything stays on
# loopback.

# A TCP port free on 127.0.0.1 right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL [PID]: waits (up to 10 s) until URL answers 2xx; with PID, gives up at
# once when that process has exited.
wait_http() {
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
            echo "process $2 exited before $1 answered" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

# check NAME COMMAND...: runs COMMAND, prints "ok   NAME" or "FAIL NAME", counts both.
passed=0 failed=0
check() {
    local name=$1; shift
    if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}

# start_fake_upstreams WORKDIR: starts .ci/fake_upstreams.py on the shared/ fixtures,
# sets fake_pid and fake (its base URL).
start_fake_upstreams() {
    local work=$1
    python3 .ci/fake_upstreams.py "$(realpath ../shared)/fixtures" "$work/fake_port" &
    fake_pid=$!
    for _ in $(seq 1 50); do [ -s "$work/fake_port" ] && break; sleep 0.1; done
    [ -s "$work/fake_port" ] || { echo "the fake upstreams did not start" >&2; return 1; }
    fake="http://127.0.0.1:$(cat "$work/fake_port")"
}

# e2e_workdir: sets work (a temporary directory) and pids (an empty list); on exit every
# pid in pids is killed and work removed.
e2e_workdir() {
    work=$(mktemp -d)
    pids=()
    trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
}
