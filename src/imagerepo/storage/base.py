"""The interface every blob store implements: a local folder (`local.py`) or S3 (`s3.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

DEFAULT_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What a read handle knows before any byte is read: the size and an ETag that changes
    whenever the bytes under the key could have (a strong validator, quoted)."""

    key: str
    size: int
    etag: str


class BlobStore(Protocol):
    """Content-addressed bytes, keyed by a sha256 hex digest (of the bytes, or for a derivative
    of what it was made from).

    `put` takes a fully written, already hashed local file (see `storage.staging`) and makes it
    durable under its digest, or discards it if those bytes are stored already. A reader never sees
    a partial blob under a real key. Failures of the backend surface as `ServiceUnavailable`; an
    absent key as `NotFound`.
    """

    async def put(self, sha256: str, source: Path) -> bool:
        """Store `source` (consumed) under `sha256`; True if it was new."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> None:
        """Store small bytes (a derivative) under `key`, as durably as `put`."""
        ...

    async def put_if_absent(self, key: str, data: bytes) -> bool:
        """Store `data` under `key` unless something is there already (If-None-Match: *);
        True if this call wrote it. Of concurrent callers exactly one wins."""
        ...

    def get(self, sha256: str, chunk_size: int = DEFAULT_CHUNK) -> AsyncIterator[bytes]:
        """Stream the blob; raises `NotFound` if absent."""
        ...

    def get_range(
        self, key: str, start: int, end: int | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> AsyncIterator[bytes]:
        """Stream bytes `start` up to (not including) `end`, or to the end of the blob."""
        ...

    async def stat(self, key: str) -> BlobInfo:
        """Size and ETag of the blob; raises `NotFound` if absent."""
        ...

    def walk(self) -> AsyncIterator[str]:
        """Every key in the store, in no particular order (for fsck and backups)."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> None:
        """Remove the blob; absent is fine."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """A path the server may hand to a zero-copy file response, if the store is local."""
        ...

    async def ping(self) -> None:
        """Raise `ServiceUnavailable` unless the store can be read and written now."""
        ...
