# Shared by the service scripts: a state folder per service, a pid file, an idempotent start.
# Sourced, not run. Each script sets NAME and DEFAULT_PORT, defines start_service and url_of.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop|url [STATE_DIR]   (PORT=... to choose the port)" >&2
    exit 2
}

[ $# -ge 1 ] || usage
ACTION=$1
DIR=${2:-${IMAGEREPO_SERVICES_DIR:-${TMPDIR:-/tmp}/imagerepo-services}/$NAME}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
PIDFILE=$DIR/$NAME.pid

running() {
    [ -s "$PIDFILE" ] && alive "$(cat "$PIDFILE")"
}

# wait_for CMD...: retry a readiness probe for up to 30 s (a service binding, not a timing guess).
wait_for() {
    for _ in $(seq 300); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "$NAME did not become ready; log: $DIR/$NAME.log" >&2
    tail -20 "$DIR/$NAME.log" >&2 || true
    return 1
}

# alive PID: running and not a zombie (in a container nobody may reap an exited daemon).
alive() {
    kill -0 "$1" 2>/dev/null && ! grep -qE '^[0-9]+ \(.*\) Z' "/proc/$1/stat" 2>/dev/null
}

stop_pid() {
    if running; then
        local pid
        pid=$(cat "$PIDFILE")
        kill "$pid"
        for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
        if alive "$pid"; then kill -9 "$pid"; fi
    fi
    rm -f "$PIDFILE"
}

main() {
    case $ACTION in
    start)
        if ! running; then
            PORT=${PORT:-$DEFAULT_PORT}
            echo "$PORT" >"$DIR/port"
            start_service
        fi
        PORT=$(cat "$DIR/port")
        url_of
        ;;
    stop) stop_service ;;
    url)
        running || { echo "$NAME is not running (state: $DIR)" >&2; exit 1; }
        PORT=$(cat "$DIR/port")
        url_of
        ;;
    *) usage ;;
    esac
}
