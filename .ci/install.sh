#!/usr/bin/env bash
# Installs the tools CI uses, on a fresh machine or again (it is quick when all is there).
# Debian packages via apt-get, Python tools in a venv under target/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_needed=()
command -v curl >/dev/null || apt_needed+=(curl)
command -v python3 >/dev/null || apt_needed+=(python3 python3-venv)
if [ ${#apt_needed[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_needed[@]}"
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true

venv=target/ci-venv
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r .ci/requirements.txt
fi
"$venv/bin/schemathesis" --version
