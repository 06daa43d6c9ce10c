#!/usr/bin/env bash
# Redis on 127.0.0.1 for tests and local runs, no persistence; prints redis://127.0.0.1:PORT/0.
#   scripts/services/redis.sh start|stop|url [STATE_DIR]      PORT=56379 by default
NAME=redis
DEFAULT_PORT=56379
. "$(dirname "$0")/_lib.sh"

start_service() {
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --pidfile "$PIDFILE" --dir "$DIR" --logfile "$DIR/$NAME.log"
    wait_for redis-cli -p "$PORT" ping
}
stop_service() { stop_pid; }
url_of() { echo "redis://127.0.0.1:$PORT/0"; }

main
