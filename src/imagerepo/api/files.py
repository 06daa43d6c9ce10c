"""`OpenFileResponse`: Starlette's `FileResponse` (HEAD, Range, 416) over a file opened earlier.

`FileResponse` opens its path only when the body is sent. If the image is deleted in between,
the answer is cut off mid-stream with no status. The service opens the file while it still
checks access; an open file outlives its name on POSIX, so a delete that lands afterwards
cannot break a download that was already answered.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import BinaryIO

import anyio
from starlette.background import BackgroundTask
from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

_PATHSEND = "http.response.pathsend"


class OpenFileResponse(FileResponse):
    def __init__(
        self,
        file: BinaryIO,
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
        filename: str | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        self._file = file
        super().__init__(
            file.name,
            media_type=media_type,
            headers=headers,
            filename=filename,
            stat_result=os.fstat(file.fileno()),
            content_disposition_type=content_disposition_type,
            background=BackgroundTask(file.close),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The name may be gone already: never hand it to the server as a path to send.
        extensions = scope.get("extensions") or {}
        if "http.response.pathsend" in extensions:
            scope = {
                **scope,
                "extensions": {
                    k: v for k, v in extensions.items() if k != "http.response.pathsend"
                },
            }
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._file.close()

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        """Every range is read from the one open file (Starlette would reopen the path)."""
        await anyio.to_thread.run_sync(self._file.seek, 0)
        yield anyio.wrap_file(self._file)
