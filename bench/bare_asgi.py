"""The "bare ASGI write" floor: a raw ASGI app (no framework) that writes each request body to disk.

Run by `bench/ingest.py` as `uvicorn --app-dir bench bare_asgi:app` with `BARE_ASGI_DIR` set to
an existing folder.
Every POST body, multipart envelope and all, is streamed as it arrives into a new file in that
folder (plain `write`, no fsync, no parsing, no hashing) and answered `201 {"ok":true}`; anything
else gets 404. It is what uvicorn + the loopback + the page cache cost on their own, the most any
server behind uvicorn could do on this machine.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_FOLDER = Path(os.environ.get("BARE_ASGI_DIR", "bare-asgi-out"))
_NAMES = itertools.count()
_JSON = [(b"content-type", b"application/json")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            event = (await receive())["type"]
            if event == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["method"] == "GET" and scope["path"] == "/healthz":
        await _answer(send, 200, b'{"status":"ok"}')
        return
    if scope["method"] != "POST":
        await _answer(send, 404, b'{"error":"not found"}')
        return
    # Blocking writes on the event loop, on purpose: a page-cache write of a 64 KiB chunk takes
    # microseconds, and a thread hop per chunk would cost more than it saves.
    with (_FOLDER / f"body-{next(_NAMES):06d}").open("wb") as out:
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            out.write(message.get("body", b""))
            more = message.get("more_body", False)
    await _answer(send, 201, b'{"ok":true}')


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
