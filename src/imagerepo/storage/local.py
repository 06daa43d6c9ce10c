"""Content-addressed blobs in a local folder: `<root>/ab/cd/<sha256>`."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

import anyio
from anyio import to_thread

from imagerepo.errors import NotFound

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class LocalBlobStore:
    """Blobs as files. `put` renames an fsynced staged file into place, then fsyncs the folder,
    so a crash leaves either the whole blob under its name or nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _DIGEST.match(sha256):
            raise NotFound("no such blob")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, sha256: str, source: Path) -> bool:
        return await to_thread.run_sync(self._put, sha256, source)

    def _put(self, sha256: str, source: Path) -> bool:
        target = self._path(sha256)
        if target.exists():
            source.unlink()
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(source, 0o640)
        os.replace(source, target)
        _fsync_dir(target.parent)
        return True

    async def put_bytes(self, key: str, data: bytes) -> None:
        await to_thread.run_sync(self._put_bytes, key, data)

    def _put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".put-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(name, 0o640)
            os.replace(name, target)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(name)
            raise
        _fsync_dir(target.parent)

    async def get(self, sha256: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        path = self._path(sha256)
        try:
            handle = await anyio.open_file(path, "rb")
        except FileNotFoundError as exc:
            raise NotFound("no such blob") from exc
        async with handle:
            while chunk := await handle.read(chunk_size):
                yield chunk

    async def exists(self, sha256: str) -> bool:
        return await anyio.Path(self._path(sha256)).exists()

    async def delete(self, sha256: str) -> None:
        await to_thread.run_sync(self._delete, sha256)

    def _delete(self, sha256: str) -> None:
        path = self._path(sha256)
        with suppress(FileNotFoundError):
            path.unlink()
            _fsync_dir(path.parent)

    def local_path(self, sha256: str) -> Path | None:
        return self._path(sha256)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
