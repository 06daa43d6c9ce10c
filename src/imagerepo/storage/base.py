"""The interface every blob store implements: a local folder (`local.py`) or S3 (`s3.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol

DEFAULT_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What a read handle knows before any byte is read: the size and an ETag that changes
    whenever the bytes under the key could have (a strong validator, quoted)."""

    key: str
    size: int
    etag: str
    modified: datetime | None = None  # from `stat` (the collector's grace); None if unknown


@dataclass(slots=True)
class OpenBlob:
    """A read handle: the bytes `start` to `end` (exclusive) of one blob, already pinned (an open
    file, a GET whose answer has begun), so a delete that lands now cannot cut the read short.
    Iterate it for the bytes; close it (`async with`, or `aclose`) whether or not it was read."""

    info: BlobInfo
    start: int
    end: int
    _chunks: AsyncIterator[bytes] = field(repr=False)
    _close: Callable[[], Awaitable[None]] = field(repr=False)

    @property
    def length(self) -> int:
        return self.end - self.start

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def aclose(self) -> None:
        await self._close()

    async def __aenter__(self) -> OpenBlob:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


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

    async def open(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> OpenBlob:
        """A read handle on bytes `start` to `end` (default: to the end, clamped to the size);
        raises `NotFound` if absent. The answer to a Range request, with size and ETag."""
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


class ReadsThroughOpen:
    """`get` and `get_range` for a store whose reads all go through its `open`."""

    async def open(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> OpenBlob:
        raise NotImplementedError

    async def get(self, sha256: str, chunk_size: int = DEFAULT_CHUNK) -> AsyncIterator[bytes]:
        async for chunk in self.get_range(sha256, 0, None, chunk_size):
            yield chunk

    async def get_range(
        self, key: str, start: int, end: int | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> AsyncIterator[bytes]:
        async with await self.open(key, start, end, chunk_size) as blob:
            async for chunk in blob:
                yield chunk
