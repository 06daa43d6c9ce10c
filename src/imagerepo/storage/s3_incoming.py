"""`incoming/<id>` objects of the bucket: where a client PUTs a direct upload's bytes.

The store is opened at the storage URL's prefix itself, so an incoming object and the originals
(`blobs/ab/cd/<sha256>`, `S3BlobStore`) are in one obstore store and a confirmed upload moves
into place by a server-side copy (`CopyObject`), never through the server. S3 has no
copy-if-not-exists (obstore answers `NotSupportedError`), so this is a plain copy: the target is
content-addressed and the caller holds a claim on it, so overwriting identical bytes is harmless.

Presigned PUT URLs (SigV4 query signing, `obstore.sign_async`) sign only the Host header: the
size and digest cannot be enforced by the bucket, so the server checks both before it records
anything. SeaweedFS 4.48 accepts them, refuses a tampered signature (403
SignatureDoesNotMatch) and an expired URL (403 AccessDenied "Request has expired").
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from datetime import timedelta
from typing import TypeVar

import obstore
from obstore.exceptions import BaseError
from obstore.store import S3Store

from imagerepo.errors import NotFound, ServiceUnavailable
from imagerepo.storage.base import DEFAULT_CHUNK, BlobInfo
from imagerepo.storage.s3 import call_s3

T = TypeVar("T")
_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class S3Incoming:
    """Direct-upload objects beside the originals (`<prefix>/incoming/`, `<prefix>/blobs/`)."""

    def __init__(
        self, store: S3Store, *, signer: S3Store | None = None, description: str = "s3"
    ) -> None:
        """`signer`: the same bucket and prefix at the endpoint clients use (default `store`)."""
        self._store = store
        self._signer = signer if signer is not None else store
        self.description = description

    @staticmethod
    def _path(name: str) -> str:
        if not _NAME.match(name):
            raise NotFound("no such upload")
        return f"incoming/{name}"

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await call_s3(self.description, operation)

    async def presign_put(self, name: str, expires_in: timedelta) -> str:
        """A URL the client PUTs the bytes to, valid for `expires_in`."""
        path = self._path(name)
        return await self._call(lambda: obstore.sign_async(self._signer, "PUT", path, expires_in))

    async def stat(self, name: str) -> BlobInfo:
        meta = await self._call(lambda: obstore.head_async(self._store, self._path(name)))
        etag = meta["e_tag"] or '""'
        return BlobInfo(key=name, size=meta["size"], etag=etag, modified=meta["last_modified"])

    async def read(self, name: str, chunk_size: int = DEFAULT_CHUNK) -> AsyncIterator[bytes]:
        result = await self._call(lambda: obstore.get_async(self._store, self._path(name)))
        try:
            async for chunk in result.stream(min_chunk_size=chunk_size):
                yield bytes(chunk)
        except (BaseError, OSError) as exc:
            raise ServiceUnavailable(f"blob storage ({self.description}) failed: {exc}") from exc

    async def copy_to_original(self, name: str, sha256: str) -> None:
        """Server-side copy of `incoming/<name>` to the original's key."""
        if not _DIGEST.match(sha256):
            raise NotFound("no such blob")
        source, target = self._path(name), f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"
        await self._call(lambda: obstore.copy_async(self._store, source, target))

    async def delete(self, name: str) -> None:
        with suppress(NotFound):  # S3 answers 204 for a missing key; some stores 404
            await self._call(lambda: obstore.delete_async(self._store, self._path(name)))
