"""Content-addressed blobs in an S3-compatible bucket (AWS, SeaweedFS, MinIO) via obstore.

Keys are laid out as on disk, `<prefix>/ab/cd/<sha256>`. obstore (Rust `object_store` underneath)
was chosen over aioboto3: no botocore pin to fight, one small wheel, native async, and it retries
5xx answers (503 SlowDown throttling included) and dropped connections with exponential backoff and
jitter itself (`RETRY`). Its errors are translated here, where they enter: a missing key is
`NotFound`, anything else `ServiceUnavailable` (503 to a client), with the cause chained.

- `put` of an upload: up to `SINGLE_PUT_MAX` one conditional PUT (`If-None-Match: *`), so of two
  uploads of the same bytes exactly one reports "new"; above it a streaming multipart upload
  (8 MiB parts, never the whole file in memory) after a HEAD, which the caller's per-hash lock
  makes race-free (and identical bytes under one key make a lost race harmless anyway).
- `local_path` is None: callers stream (`get`, `get_range`).
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import obstore
from anyio import to_thread
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError, PreconditionError
from obstore.store import S3Store

from imagerepo.errors import NotFound, ServiceUnavailable
from imagerepo.storage.base import DEFAULT_CHUNK, BlobInfo, OpenBlob, ReadsThroughOpen

if TYPE_CHECKING:
    from obstore import GetOptions
    from obstore.store import RetryConfig

T = TypeVar("T")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
SINGLE_PUT_MAX = 16 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
RETRY: RetryConfig = {
    "max_retries": 6,
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=5)},
    "retry_timeout": timedelta(seconds=60),
}


def parse_storage_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix")."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    return parts.netloc, parts.path.strip("/")


def make_s3_store(
    bucket: str,
    prefix: str,
    *,
    endpoint: str | None,
    access_key: str | None,
    secret_key: str | None,
    region: str,
) -> S3Store:
    """An obstore client for one prefix; path-style requests when an endpoint is given."""
    options: dict[str, str | bool] = {"region": region}
    if endpoint:
        options["endpoint"] = endpoint
        options["virtual_hosted_style_request"] = False
    if access_key and secret_key:
        options["access_key_id"] = access_key
        options["secret_access_key"] = secret_key
    return S3Store(
        bucket,
        prefix=prefix or None,
        client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
        retry_config=RETRY,
        **options,  # type: ignore[arg-type]
    )


async def call_s3(description: str, operation: Callable[[], Awaitable[T]]) -> T:
    """Run one obstore call; its errors become ours: `NotFound`, else `ServiceUnavailable`."""
    try:
        return await operation()
    except (NotFoundError, FileNotFoundError) as exc:  # obstore raises either
        raise NotFound("no such blob") from exc
    except (BaseError, OSError) as exc:
        raise ServiceUnavailable(f"blob storage ({description}) failed: {exc}") from exc


class S3BlobStore(ReadsThroughOpen):
    """The `BlobStore` protocol on one bucket prefix."""

    def __init__(self, store: S3Store, *, description: str = "s3") -> None:
        self._store = store
        self.description = description

    @staticmethod
    def _path(key: str) -> str:
        if not _DIGEST.match(key):
            raise NotFound("no such blob")
        return f"{key[:2]}/{key[2:4]}/{key}"

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await call_s3(self.description, operation)

    async def put(self, sha256: str, source: Path) -> bool:
        path = self._path(sha256)
        size = (await to_thread.run_sync(source.stat)).st_size
        if size <= SINGLE_PUT_MAX:
            data = await to_thread.run_sync(source.read_bytes)
            new = await self._create(path, data)
        elif await self.exists(sha256):
            new = False
        else:
            await self._call(
                lambda: obstore.put_async(
                    self._store, path, source, use_multipart=True, chunk_size=PART_SIZE
                )
            )
            new = True
        await to_thread.run_sync(lambda: source.unlink(missing_ok=True))
        return new

    async def _create(self, path: str, data: bytes) -> bool:
        try:
            await self._call(lambda: obstore.put_async(self._store, path, data, mode="create"))
        except ServiceUnavailable as exc:
            if isinstance(exc.__cause__, AlreadyExistsError | PreconditionError | FileExistsError):
                return False
            raise
        return True

    async def put_bytes(self, key: str, data: bytes) -> None:
        await self._call(lambda: obstore.put_async(self._store, self._path(key), data))

    async def put_if_absent(self, key: str, data: bytes) -> bool:
        return await self._create(self._path(key), data)

    async def open(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> OpenBlob:
        """The GET is sent, and its answer begun, before this returns: the bytes are pinned."""
        path = self._path(key)
        options: GetOptions = {}
        if (end is not None and end <= start) or (start > 0 and end is None):
            info = await self.stat(key)  # S3 refuses empty and past-the-end ranges: answer here
            end = info.size if end is None else min(end, info.size)
            if start >= end:
                return OpenBlob(info, end, end, _no_chunks(), _nothing)
        if end is not None or start:
            options["range"] = (start, end) if end is not None else {"offset": start}
        result = await self._call(lambda: obstore.get_async(self._store, path, options=options))
        meta = result.meta
        info = BlobInfo(key=key, size=meta["size"], etag=meta["e_tag"] or f'"{key}"')
        first, stop = result.range
        chunks = self._chunks(result.stream(min_chunk_size=chunk_size))
        return OpenBlob(info, first, stop, chunks, chunks.aclose)

    async def _chunks(self, stream: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in stream:
                yield bytes(chunk)
        except (BaseError, OSError) as exc:
            raise ServiceUnavailable(f"blob storage ({self.description}) failed: {exc}") from exc

    async def stat(self, key: str) -> BlobInfo:
        meta = await self._call(lambda: obstore.head_async(self._store, self._path(key)))
        etag = meta["e_tag"] or f'"{key}"'
        return BlobInfo(key=key, size=meta["size"], etag=etag, modified=meta["last_modified"])

    async def walk(self) -> AsyncIterator[str]:
        try:
            async for batch in obstore.list(self._store, chunk_size=1000):
                for meta in batch:
                    name = meta["path"].rsplit("/", 1)[-1]
                    if _DIGEST.match(name):
                        yield name
        except (BaseError, OSError) as exc:
            raise ServiceUnavailable(f"blob storage ({self.description}) failed: {exc}") from exc

    async def exists(self, sha256: str) -> bool:
        self._path(sha256)  # NotFound for a key that is no digest, as on disk
        try:
            await self.stat(sha256)
        except NotFound:
            return False
        return True

    async def delete(self, sha256: str) -> None:
        with contextlib.suppress(NotFound):  # S3 answers 204 for a missing key; some 404
            await self._call(lambda: obstore.delete_async(self._store, self._path(sha256)))

    def local_path(self, sha256: str) -> Path | None:
        return None

    async def ping(self) -> None:
        """A write, read and delete of a throwaway key (list rights alone prove too little)."""
        key = secrets.token_hex(32)
        await self.put_bytes(key, b"ping")
        await self.stat(key)
        await self.delete(key)


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


async def _nothing() -> None:
    return None
