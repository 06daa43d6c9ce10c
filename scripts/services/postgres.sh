#!/usr/bin/env bash
# PostgreSQL 15 on 127.0.0.1 (trust auth, no fsync: test data only) with a database `imagerepo`;
# prints its postgresql+asyncpg URL. Run as root, the cluster belongs to the `postgres` user.
#   scripts/services/postgres.sh start|stop|url [STATE_DIR]   PORT=55432 by default
NAME=postgres
DEFAULT_PORT=55432
. "$(dirname "$0")/_lib.sh"

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PGDATA=$DIR/cluster
PIDFILE=$PGDATA/postmaster.pid

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() {
    [ -s "$PIDFILE" ] && kill -0 "$(head -1 "$PIDFILE")" 2>/dev/null
}

start_service() {
    [ -x "$PGBIN/initdb" ] || { echo "PostgreSQL binaries not found (apt-get install postgresql)" >&2; exit 1; }
    if [ "$(id -u)" -eq 0 ]; then
        # The postgres user must reach the folder: every parent needs o+x.
        chown postgres: "$DIR"
        d=$DIR; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        as_owner "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres --no-sync -E UTF8 >"$DIR/initdb.log"
    fi
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$DIR/$NAME.log" -w -o \
        "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
    if ! as_owner "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='imagerepo'" | grep -q 1; then
        as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres imagerepo
    fi
}
stop_service() {
    if running; then as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -w -m fast stop >/dev/null; fi
}
url_of() { echo "postgresql+asyncpg://postgres@127.0.0.1:$PORT/imagerepo"; }

main
