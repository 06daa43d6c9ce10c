"""Run the server under uvicorn (used by `imagerepo serve` and `server/server.py`)."""

from __future__ import annotations

import logging

import uvicorn

from imagerepo.app import create_app
from imagerepo.config import Settings


def serve(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s:     %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=False,
        server_header=False,
    )
