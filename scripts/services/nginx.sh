#!/usr/bin/env bash
# nginx on 127.0.0.1 as a reverse proxy in front of UPSTREAM (default http://127.0.0.1:8000;
# several URLs separated by commas are balanced round-robin, as in front of N API workers),
# passing X-Forwarded-For and streaming bodies; everything (pid, logs, temp) under STATE_DIR.
#   UPSTREAM=http://127.0.0.1:8000[,http://127.0.0.1:8001] scripts/services/nginx.sh start|stop|url [STATE_DIR]
NAME=nginx
DEFAULT_PORT=58080
. "$(dirname "$0")/_lib.sh"

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

start_service() {
    [ -x "$NGINX" ] || { echo "nginx not found (apt-get install nginx)" >&2; exit 1; }
    local servers="" url
    for url in $(echo "${UPSTREAM:-http://127.0.0.1:8000}" | tr ',' ' '); do
        servers="$servers        server ${url#http://};
"
    done
    mkdir -p "$DIR/tmp"
    cat >"$DIR/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $PIDFILE;
error_log $DIR/$NAME.log warn;
events { worker_connections 256; }
http {
    access_log $DIR/access.log;
    client_body_temp_path $DIR/tmp/body;
    proxy_temp_path $DIR/tmp/proxy;
    fastcgi_temp_path $DIR/tmp/fastcgi;
    uwsgi_temp_path $DIR/tmp/uwsgi;
    scgi_temp_path $DIR/tmp/scgi;
    upstream imagerepo {
$servers        keepalive 16;
    }
    server {
        listen 127.0.0.1:$PORT;
        client_max_body_size 0;
        location / {
            proxy_pass http://imagerepo;
            proxy_set_header Connection "";
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
CONF
    "$NGINX" -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/$NAME.log"
    wait_for running
}
stop_service() { stop_pid; }
url_of() { echo "http://127.0.0.1:$PORT"; }

main
