"""Run the server under uvicorn (used by `imagerepo serve` and `server/server.py`).

uvicorn's own limits are used where it has them (keep-alive idle timeout, concurrency cap); the
other limits on connections and request heads come with the protocol class from
`imagerepo.connection_limits`, and the limits on bodies with the app (`imagerepo.api.limits`).
"""

from __future__ import annotations

import uvicorn

from imagerepo.app import create_app
from imagerepo.config import Settings
from imagerepo.connection_limits import ConnectionLimits, limited_protocol
from imagerepo.db.engine import check_schema_blocking
from imagerepo.logs import configure_logging
from imagerepo.metrics import process_exited


def serve(settings: Settings) -> None:
    configure_logging(settings)  # text or JSON, with request ids; uvicorn's loggers included
    # A shared database at another schema revision: one line, before uvicorn would log a
    # traceback of the failed start-up.
    check_schema_blocking(settings.resolved_database_url)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # keep configure_logging's handler
        proxy_headers=False,
        server_header=False,
        http=limited_protocol(ConnectionLimits.of(settings)),
        ws="none",  # no WebSocket routes: an Upgrade is never taken
        timeout_keep_alive=settings.keepalive_timeout_seconds,
        # uvicorn answers 503 once open connections or running requests reach this, counting
        # the asking connection itself (hence + 1). The protocol already refuses connections
        # past max_connections when they open; this also caps requests whose client has gone.
        limit_concurrency=settings.max_connections + 1,
    )
    process_exited()  # multiprocess metrics: this process's live gauges end with it
