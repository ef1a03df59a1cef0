#!/usr/bin/env bash
# Real-browser check of the portal page, in two runs, each driving Debian's headless
# Chromium with playwright-core (.ci/browser/portal.mjs):
# - live: .ci/fake_upstreams.py and the portal on loopback with a small config (Forgejo
#   pointed at the fake's /broken/ prefix so the activity card must degrade, weather at
#   the fake wttr.in, probes on loopback: up, down with a 500, and down because a host name
#   does not resolve; its first label is longer than DNS allows, so the resolver fails
#   without sending a query).
# - first-run: the embedded default's registry with probes, Forgejo and weather off (what
#   a first run without a configuration file shows): the weather and commits cards give
#   way to one line each saying how to turn them on, every dot reads "not probed".
# - containers: the first run again, its sysfs and rootfs pointed at the cgroup v2 tree
#   and Docker files .ci/cgroup_ticker.py keeps moving: the containers card ranks them,
#   and the one near its memory limit, the one with an OOM kill and the unhealthy one
#   stand out.
# Nothing leaves 127.0.0.1: the browser aborts any other request and the check fails if
# one was made.
# Screenshots go to target/ci-artifacts/; UPDATE_SCREENSHOT=1 also copies the first-run
# one to examples/portal/screenshot.png (the README's picture).
# usage: e2e-browser.sh PATH/TO/kitestacks-portal
set -euo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")/.."
. .ci/lib.sh
work=$(mktemp -d)
pid=""
first_pid=""
ctr_pid=""
ticker_pid=""
fake_pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    [ -n "$first_pid" ] && kill "$first_pid" 2>/dev/null || true
    [ -n "$ctr_pid" ] && kill "$ctr_pid" 2>/dev/null || true
    [ -n "$ticker_pid" ] && kill "$ticker_pid" 2>/dev/null || true
    [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$work/log" ] && tail -20 "$work/log" >&2; exit 1; }

[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (bash .ci/install.sh installs it)"
(cd .ci/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

shared=$(realpath ../shared)
# Refused by the resolver itself (a label over 63 bytes): no DNS query leaves the machine.
unresolvable="a-label-longer-than-sixty-three-characters-fails-in-the-resolver-itself.invalid"
start_fake_upstreams "$work" || fail "the fake upstreams did not start"
port=$(free_port)
base="http://127.0.0.1:$port"

cat >"$work/portal.toml" <<TOML
[homelab]
name = "kitestacks"
base_domain = "example.invalid"

[metrics]
interval = "1s"

[forgejo]
url = "$fake/broken/"
timeout = "2s"

[weather]
provider = "wttr"
location = "Berlin"
base_url = "$fake/wttr"
timeout = "2s"

[status]
enabled = true
interval = "5s"

[fleet]
prometheus_url = "$fake/prom/"
this_host = "monk"
timeout = "2s"

[fleet.hosts]
monk = "monk:9100"
kscloud1 = "kscloud1:9100"

[[hosts]]
name = "monk"
role = "home"
description = "Home server"

[[hosts]]
name = "kscloud1"
role = "cloud"
description = "Cloud VPS"

[[services]]
id = "auth"
name = "Authentik"
url = "$fake/broken/auth/"
category = "identity"
description = "Single sign-on (its probe answers 500: down)"
container = "authentik-server"
hosts = ["kscloud1"]
auth = "own-login"
visibility = "public"
probe = { failures = 1 }   # down at its first failure, so the page shows it at once

[[services]]
id = "portal"
name = "Portal"
url = "$base/"
category = "infrastructure"
description = "This page (probed at its own /api/health: up)"
container = "kitestacks-portal"
hosts = ["monk", "kscloud1"]
auth = "none"
visibility = "public"
probe = { path = "/api/health", accept_status = [200] }

[[services]]
id = "grafana"
name = "Grafana"
url = "$fake/wttr/grafana"
category = "monitoring"
description = "Dashboards (probed on the fake: up)"
container = "grafana"
hosts = ["monk"]
auth = "oidc"
visibility = "public"
probe = {}

[[services]]
id = "lost"
name = "Lost"
url = "http://$unresolvable/"
category = "apps"
description = "A host name that does not resolve (down: dns)"
container = "lost"
hosts = ["monk"]
auth = "none"
visibility = "internal"
probe = { failures = 1 }

[[services]]
id = "gitforge"
name = "Forgejo"
url = "$fake/broken/git/"
category = "apps"
description = "Git hosting (no probe: not probed)"
container = "forgejo"
hosts = ["monk"]
auth = "oidc"
visibility = "public"

[[services]]
id = "notes"
name = "Notes"
category = "apps"
description = "An internal service without a public URL"
container = "notes"
hosts = ["monk"]
auth = "forward-auth"
visibility = "internal"
TOML
# Every URL in the config is on loopback (or the name no resolver sends anywhere).
if grep -Eo 'https?://[^"]*' "$work/portal.toml" | grep -Ev "^http://(127\.0\.0\.1:[0-9]+|$unresolvable)(/|\$)"; then
    fail "the test config names a URL off loopback"
fi
"$bin" --check-config --config "$work/portal.toml" || fail "the test config is invalid"

RUST_LOG=info "$bin" --config "$work/portal.toml" --listen "127.0.0.1:$port" >"$work/log" 2>&1 &
pid=$!
wait_http "$base/api/health" "$pid" || fail "the portal exited at start, or did not answer"

mkdir -p target/ci-artifacts
EXPECT_HOSTNAME=$(cat /proc/sys/kernel/hostname) \
EXPECT_TEMPERATURE="$(python3 -c 'import json,sys; print(round(float(json.load(open(sys.argv[1]))["current_condition"][0]["temp_C"])), "°C")' "$shared/fixtures/wttr/j1-ok.json")" \
EXPECT_STATUS='{"portal":"up","grafana":"up","auth":"down","lost":"down","gitforge":"unprobed","notes":"unprobed"}' \
EXPECT_REASONS='{"auth":"down · http status — HTTP 500","lost":"down · dns not found — the name does not exist"}' \
EXPECT_UPTIME='{"portal":"uptime 24h 100% · 30d 100%","auth":"uptime 24h 0% · 30d 0% · last down","lost":"uptime 24h 0% · 30d 0% · last down"}' \
    node .ci/browser/portal.mjs "$base" target/ci-artifacts/portal.png target/ci-artifacts/portal-narrow.png \
    || fail "the browser check failed"
grep -q 'msg="probe failed: .*" service=lost .*reason=dns_not_found' "$work/log" \
    || fail "the portal's log does not name the lost service's failure dns_not_found"

# First run: the embedded default with probes, Forgejo and weather off. (Once the embedded
# default turns them off itself, this file equals it: a run without --config shows the same.)
"$bin" --print-default-config | python3 -c '
import re, sys
section = None
for line in sys.stdin:
    m = re.match(r"\[+([a-z]+)\]+", line)
    if m:
        section = m.group(1)
    if (section, line.split("=")[0].strip()) in {("forgejo", "url"), ("weather", "location")}:
        continue
    if section == "status" and line.startswith("enabled"):
        line = "enabled = false\n"
    sys.stdout.write(line)
' >"$work/first-run.toml"
# Checks CONFIG, starts a portal on it at a free port with its log in LOG, and waits for
# it to answer; its pid and base URL are then in started_pid and started_base.
start_portal() {
    local config=$1 log=$2 port
    "$bin" --check-config --config "$config" || fail "$config is invalid"
    port=$(free_port)
    started_base="http://127.0.0.1:$port"
    RUST_LOG=info "$bin" --config "$config" --listen "127.0.0.1:$port" >"$log" 2>&1 &
    started_pid=$!
    wait_http "$started_base/api/health" "$started_pid" ||
        { kill "$started_pid" 2>/dev/null; fail "the portal on $config exited at start, or did not answer"; }
}

start_portal "$work/first-run.toml" "$work/first-log"
first_pid=$started_pid first_base=$started_base
grep -q "contacts nobody beyond this machine" "$work/first-log" \
    || { cat "$work/first-log" >&2; fail "the first-run portal does not say it contacts nobody"; }
SCENARIO=first-run EXPECT_HOSTNAME=$(cat /proc/sys/kernel/hostname) \
    node .ci/browser/portal.mjs "$first_base" target/ci-artifacts/portal-first-run.png \
    target/ci-artifacts/portal-first-run-narrow.png \
    || fail "the first-run browser check failed"

# Containers: the first run on a host whose cgroups and Docker files are the ticker's.
ctr="$work/ctr"
python3 .ci/cgroup_ticker.py "$ctr" &
ticker_pid=$!
for _ in $(seq 50); do [ -f "$ctr/ready" ] && break; sleep 0.1; done
[ -f "$ctr/ready" ] || fail "the cgroup ticker did not write its tree"
sed -e "s|^sysfs = .*|sysfs = \"$ctr/sys\"|" -e "s|^rootfs = .*|rootfs = \"$ctr\"|" \
    -e 's|^interval = "2s"|interval = "1s"|' "$work/first-run.toml" >"$work/containers.toml"
grep -q "^sysfs = \"$ctr/sys\"" "$work/containers.toml" || fail "the containers config does not point sysfs at the tree"
start_portal "$work/containers.toml" "$work/ctr-log"
ctr_pid=$started_pid ctr_base=$started_base
# The OOM kill comes after the portal's first pass, so that its count rises.
for _ in $(seq 50); do
    [ "$(curl -s "$ctr_base/api/containers" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["containers"]))' 2>/dev/null)" = 4 ] && break
    sleep 0.2
done
touch "$ctr/oom"
SCENARIO=containers EXPECT_HOSTNAME=$(cat /proc/sys/kernel/hostname) \
    node .ci/browser/portal.mjs "$ctr_base" target/ci-artifacts/portal-containers.png \
    || fail "the containers browser check failed"

if [ "${UPDATE_SCREENSHOT:-}" = 1 ]; then
    cp target/ci-artifacts/portal-first-run.png examples/portal/screenshot.png
    echo "updated examples/portal/screenshot.png (the first run)"
fi
