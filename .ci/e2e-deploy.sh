#!/usr/bin/env bash
# Checks the deployment files in examples/deploy/ (Dockerfile, docker-compose.yml,
# kitestacks.toml, nginx site, systemd units, prometheus.yml) against the code and each
# other with .ci/check_deploy.py: real parsers, the release binaries started with the
# files' own flags and configuration, nginx -t and a live nginx, promtool, all on
# loopback. There is no Docker engine in CI: the images are checked, not built. Then
# .ci/follow_walkthrough.py runs README's deploy walkthrough as written, with stand-ins.
# usage: e2e-deploy.sh PATH/TO/kitestacks-portal PATH/TO/kitestacks-exporter
set -euo pipefail
portal=$(realpath "$1")
exporter=$(realpath "$2")
cd "$(dirname "$0")/.."
venv=target/ci-deploy-venv
if ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'PyYAML==6.0.3'
fi
status=0
"$venv/bin/python" .ci/check_deploy.py "$portal" "$exporter" || status=1
# README's "Deploy on a host with docker compose and nginx", command by command.
"$venv/bin/python" .ci/follow_walkthrough.py "$portal" "$exporter" || status=1
exit $status
