"""Answers from bytes opened before the answer began: `OpenFileResponse` (Starlette's
`FileResponse`, with HEAD, Range and 416, over a local file opened earlier) and `blob_response`
(the same for a remote store's pinned read handle).

`FileResponse` opens its path only when the body is sent. If the image is deleted in between,
the answer is cut off mid-stream with no status. The service opens the file while it still
checks access; an open file outlives its name on POSIX, so a delete that lands afterwards
cannot break a download that was already answered.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import BinaryIO, Literal
from urllib.parse import quote

import anyio
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from imagerepo.services.images import ImageFile
from imagerepo.storage.base import OpenBlob

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


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def single_range(header: str | None, size: int) -> tuple[int, int] | Literal["bad"] | None:
    """(start, end exclusive) of a one-range `Range` header; None to send the whole object
    (no header, several ranges, or not bytes); "bad" when it cannot be satisfied (416)."""
    if not header:
        return None
    found = _RANGE.match(header.strip())
    if found is None:
        return None  # several ranges or another unit: the whole object is a valid answer
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        count = int(last)
        return (max(size - count, 0), size) if count and size else "bad"
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or (last and int(last) < start):
        return "bad"
    return start, end


async def blob_response(
    file: ImageFile, *, headers: Mapping[str, str], range_header: str | None, head: bool
) -> Response:
    """An answer from a remote store's pinned handle: 200 with the whole object, or 206 for one
    byte range (re-opened at that range), 416 past the end. Always `Content-Length`."""
    assert file.blob is not None and file.reopen is not None
    blob = file.blob
    size = blob.info.size
    merged = {**headers, "Accept-Ranges": "bytes"}
    if file.filename is not None:
        merged["Content-Disposition"] = content_disposition(file.filename)
    wanted = single_range(range_header, size)
    if wanted == "bad":
        await blob.aclose()
        return Response(status_code=416, headers={**merged, "Content-Range": f"bytes */{size}"})
    status = 200
    if wanted is not None and wanted != (0, size):
        await blob.aclose()
        start, end = wanted
        blob = await file.reopen(start, end)
        status = 206
        merged["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    merged["Content-Length"] = str(blob.length)
    if head:
        await blob.aclose()
        return Response(status_code=status, headers=merged, media_type=file.media_type)
    return StreamingResponse(
        _drain(blob),
        status_code=status,
        headers=merged,
        media_type=file.media_type,
        background=BackgroundTask(blob.aclose),
    )


async def _drain(blob: OpenBlob) -> AsyncIterator[bytes]:
    async for chunk in blob:
        yield chunk


def content_disposition(filename: str) -> str:
    """`inline`, with the RFC 5987 form when the name is not plain ASCII (as Starlette does)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"inline; filename*=utf-8''{quoted}"
    return f'inline; filename="{filename}"'
