"""Direct-to-bucket upload from the client (`imagerepo upload --direct`).

    POST /api/v1/uploads {filename, size, sha256, ...}  → {id, url, method, headers}
    PUT <url> (the file, streamed, straight to the S3 bucket; no token is sent there)
    POST /api/v1/uploads/{id}/confirm                   → the image, as an upload answers

A server on local storage answers the first request 409: from then on this uploader sends the
file the usual way (`ImageRepoClient.upload`), once told.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from imagerepo.client.api import API, DEFAULT_TIMEOUT, ImageRepoClient
from imagerepo.client.schemas import UploadResult, Visibility, upload_result
from imagerepo.client.transport_errors import transport_error
from imagerepo.errors import Conflict, ServiceUnavailable, TransportError

CHUNK = 1024 * 1024


class DirectUploader:
    """Uploads through presigned PUTs; `async with` it (it owns an HTTP client for the bucket)."""

    def __init__(
        self, client: ImageRepoClient, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._client = client
        self._bucket = httpx.AsyncClient(transport=transport, timeout=DEFAULT_TIMEOUT)
        self.available: bool | None = None  # None: not asked yet; False: the server said 409

    async def __aenter__(self) -> DirectUploader:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._bucket.aclose()

    async def upload(
        self,
        path: Path,
        *,
        sha256: str,
        description: str | None = None,
        visibility: Visibility | None = None,
        tags: Sequence[str] = (),
    ) -> UploadResult:
        """Send one file whose sha256 is known; the usual way if the server has no S3."""
        if self.available is False:
            return await self._client.upload(
                path, description=description, visibility=visibility, tags=tags
            )
        size = (await asyncio.to_thread(path.stat)).st_size
        body: dict[str, Any] = {"filename": path.name, "size": size, "sha256": sha256}
        body |= {"tags": list(tags)} if tags else {}
        body |= {"visibility": visibility} if visibility else {}
        body |= {"description": description} if description is not None else {}
        try:
            _, offer = await self._client.call("POST", f"{API}/uploads", json=body)
        except Conflict:
            self.available = False
            return await self.upload(
                path, sha256=sha256, description=description, visibility=visibility, tags=tags
            )
        self.available = True
        await self._put(path, size, offer)
        confirm = f"{API}/uploads/{quote(str(offer['id']), safe='')}/confirm"
        status, answer = await self._client.call("POST", confirm)
        if not isinstance(answer, dict):
            raise TransportError("the server's answer to a confirm is not a JSON object")
        return upload_result(status, answer)

    async def _put(self, path: Path, size: int, offer: dict[str, Any]) -> None:
        url = str(offer["url"])
        headers = {str(k): str(v) for k, v in dict(offer.get("headers") or {}).items()}
        headers["Content-Length"] = str(size)  # S3 refuses a chunked PUT
        where = urlsplit(url)._replace(query="").geturl()  # never print the signature
        try:
            answer = await self._bucket.request(
                str(offer.get("method", "PUT")), url, content=_chunks(path), headers=headers
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, where) from exc
        if not answer.is_success:
            raise ServiceUnavailable(
                f"the bucket at {where} refused the upload (HTTP {answer.status_code})"
            )


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)
