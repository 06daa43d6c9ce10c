"""Run the server under uvicorn (used by `imagerepo serve` and `server/server.py`).

uvicorn's own limits are used where it has them (keep-alive idle timeout, concurrency cap); the
other limits on connections and request heads come with the protocol class from
`imagerepo.connection_limits`, and the limits on bodies with the app (`imagerepo.api.limits`).
"""

from __future__ import annotations

import logging

import uvicorn

from imagerepo.app import create_app
from imagerepo.config import Settings
from imagerepo.connection_limits import ConnectionLimits, limited_protocol


def serve(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s:     %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
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
