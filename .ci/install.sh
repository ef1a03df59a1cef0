#!/usr/bin/env bash
# Installs the tools CI uses, on a fresh machine or again (it is quick when all is there).
# Debian packages via apt-get, Python tools in a venv under target/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_needed=()
command -v curl >/dev/null || apt_needed+=(curl)
command -v python3 >/dev/null || apt_needed+=(python3 python3-venv)
command -v promtool >/dev/null || apt_needed+=(prometheus)
command -v prometheus-node-exporter >/dev/null || apt_needed+=(prometheus-node-exporter)
command -v openssl >/dev/null || apt_needed+=(openssl)
command -v htpasswd >/dev/null || apt_needed+=(apache2-utils)
[ -x /usr/sbin/nginx ] || apt_needed+=(nginx)  # nginx -t and a live check of examples/deploy/nginx
[ -x /usr/bin/chromium ] || apt_needed+=(chromium)  # the real-browser check of the portal page
command -v npm >/dev/null || apt_needed+=(npm)  # installs playwright-core for that check
if [ ${#apt_needed[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_needed[@]}"
fi

# The packages may start their own daemons (on :9090 and :9100); the checks start their
# own on free loopback ports, so stop the packaged ones to keep the machine quiet.
for svc in prometheus prometheus-node-exporter nginx; do
    if [ -d /run/systemd/system ]; then
        systemctl stop "$svc" 2>/dev/null || true
    elif [ -x "/etc/init.d/$svc" ]; then
        "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
done

rustup component add rustfmt clippy >/dev/null 2>&1 || true

venv=target/ci-venv
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r .ci/requirements.txt
fi
"$venv/bin/schemathesis" --version
