"""The interface every blob store implements (local folder now, S3-compatible later)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    """Content-addressed bytes, keyed by their sha256 hex digest.

    `put` takes a fully written, already hashed local file (see `storage.staging`) and makes it
    durable under its digest, or discards it if those bytes are stored already. A reader never sees
    a partial blob under a real key.
    """

    async def put(self, sha256: str, source: Path) -> bool:
        """Store `source` (consumed) under `sha256`; True if it was new."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> None:
        """Store small bytes (a derivative) under `key`, as durably as `put`."""
        ...

    def get(self, sha256: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        """Stream the blob; raises `NotFound` if absent."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> None:
        """Remove the blob; absent is fine."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """A path the server may hand to a zero-copy file response, if the store is local."""
        ...
