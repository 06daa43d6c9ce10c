"""Content-addressed blobs in a local folder: `<root>/ab/cd/<sha256>`."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import anyio
from anyio import to_thread

from imagerepo.errors import NotFound, ServiceUnavailable
from imagerepo.storage.base import DEFAULT_CHUNK, BlobInfo, OpenBlob, ReadsThroughOpen

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class LocalBlobStore(ReadsThroughOpen):
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
        await to_thread.run_sync(self._write, key, data, True)

    async def put_if_absent(self, key: str, data: bytes) -> bool:
        return await to_thread.run_sync(self._write, key, data, False)

    def _write(self, key: str, data: bytes, overwrite: bool) -> bool:
        """Write a temp file beside the target, fsync it, then move it in: `os.replace` (last
        writer wins) or `os.link`, atomic and refused if the name exists (exactly one wins)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".put-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(name, 0o640)
            if overwrite:
                os.replace(name, target)
            else:
                try:
                    os.link(name, target)
                except FileExistsError:
                    return False
        finally:
            with suppress(FileNotFoundError):
                os.unlink(name)  # gone after a replace; the spare name after a link
        _fsync_dir(target.parent)
        return True

    async def open(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> OpenBlob:
        path = self._path(key)
        try:
            handle = await anyio.open_file(path, "rb")
        except FileNotFoundError as exc:
            raise NotFound("no such blob") from exc
        try:
            size = (await to_thread.run_sync(os.fstat, handle.wrapped.fileno())).st_size
            stop = size if end is None else min(end, size)
            await handle.seek(min(start, stop))
        except BaseException:
            await handle.aclose()
            raise

        async def chunks() -> AsyncIterator[bytes]:
            left = max(0, stop - start)
            while left > 0 and (chunk := await handle.read(min(chunk_size, left))):
                left -= len(chunk)
                yield chunk

        info = BlobInfo(key=key, size=size, etag=f'"{key}"')  # content-addressed: immutable
        return OpenBlob(info, min(start, stop), stop, chunks(), handle.aclose)

    async def stat(self, key: str) -> BlobInfo:
        try:
            found = await anyio.Path(self._path(key)).stat()
        except FileNotFoundError as exc:
            raise NotFound("no such blob") from exc
        modified = datetime.fromtimestamp(found.st_mtime, UTC)
        return BlobInfo(key=key, size=found.st_size, etag=f'"{key}"', modified=modified)

    async def walk(self) -> AsyncIterator[str]:
        """One `ab/` folder (1/256 of the store) listed per worker-thread call."""
        tops = await to_thread.run_sync(self._subfolders, self.root)
        for top in tops:
            for key in await to_thread.run_sync(self._keys_under, top):
                yield key

    @staticmethod
    def _subfolders(root: Path) -> list[Path]:
        return sorted(p for p in root.glob("??") if p.is_dir()) if root.is_dir() else []

    @staticmethod
    def _keys_under(top: Path) -> list[str]:
        return [p.name for p in top.glob("??/*") if _DIGEST.match(p.name)]

    async def ping(self) -> None:
        try:
            await to_thread.run_sync(self._ping)
        except OSError as exc:
            raise ServiceUnavailable(f"blob folder {self.root} is not writable: {exc}") from exc

    def _ping(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(prefix=".ping-", dir=self.root):
            pass

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
