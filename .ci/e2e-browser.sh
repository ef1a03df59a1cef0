#!/usr/bin/env bash
# Real-browser check of the portal page: start .ci/fake_upstreams.py and the release
# portal on loopback with a small config (Forgejo pointed at the fake's /broken/ prefix so
# the activity card must degrade, weather at the fake wttr.in, every service URL and
# probe on loopback), then drive Debian's headless Chromium with playwright-core
# (.ci/browser/portal.mjs). Nothing leaves 127.0.0.1: the browser aborts any other request
# and the check fails if one was made.
# Screenshots go to target/ci-artifacts/; UPDATE_SCREENSHOT=1 also copies the wide one to
# examples/portal/screenshot.png (the README's picture).
# usage: e2e-browser.sh PATH/TO/kitestacks-portal
set -euo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")/.."
. .ci/lib.sh
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

[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (bash .ci/install.sh installs it)"
(cd .ci/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

shared=$(realpath ../shared)
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
probe = {}

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
id = "gitforge"
name = "Forgejo"
url = "$fake/broken/git/"
category = "apps"
description = "Git hosting (not probed: unknown)"
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
# Every URL in the config is on loopback.
if grep -Eo 'https?://[^"]*' "$work/portal.toml" | grep -Ev '^http://127\.0\.0\.1:[0-9]+(/|$)'; then
    fail "the test config names a URL off loopback"
fi
"$bin" --check-config --config "$work/portal.toml" || fail "the test config is invalid"

RUST_LOG=info "$bin" --config "$work/portal.toml" --listen "127.0.0.1:$port" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    curl -fsS "$base/api/health" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || fail "the portal exited at start"
    sleep 0.1
done

mkdir -p target/ci-artifacts
EXPECT_HOSTNAME=$(cat /proc/sys/kernel/hostname) \
EXPECT_TEMPERATURE="$(python3 -c 'import json,sys; print(round(float(json.load(open(sys.argv[1]))["current_condition"][0]["temp_C"])), "°C")' "$shared/fixtures/wttr/j1-ok.json")" \
EXPECT_STATUS='{"portal":"up","grafana":"up","auth":"down","gitforge":"unknown","notes":"unknown"}' \
    node .ci/browser/portal.mjs "$base" target/ci-artifacts/portal.png target/ci-artifacts/portal-narrow.png \
    || fail "the browser check failed"

if [ "${UPDATE_SCREENSHOT:-}" = 1 ]; then
    cp target/ci-artifacts/portal.png examples/portal/screenshot.png
    echo "updated examples/portal/screenshot.png"
fi
