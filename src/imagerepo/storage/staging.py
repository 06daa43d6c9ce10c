"""Staging: an upload's bytes land in a temp file, hashed and size-checked as they arrive.

Nothing reaches the blob store until the whole body has arrived and decoded; a failed or
abandoned upload leaves nothing behind because the temp file is removed on every exit path.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from anyio import to_thread

from imagerepo.errors import PayloadTooLarge

FLUSH_BYTES = 1024 * 1024
STALE_SECONDS = 3600.0  # no upload stays staged this long: its request has timed out


class StagedFile:
    """A temp file being filled; `write` buffers and hands 1 MiB batches to a worker thread."""

    def __init__(self, path: Path, handle: BinaryIO, max_bytes: int) -> None:
        self.path = path
        self._handle = handle
        self.max_bytes = max_bytes
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.size = 0

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(f"upload is larger than the limit of {self.max_bytes} bytes")
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        await to_thread.run_sync(self._write_and_hash, data)

    def _write_and_hash(self, data: bytes) -> None:
        self._hash.update(data)
        self._handle.write(data)

    async def finish(self) -> str:
        """Flush, fsync and close; returns the sha256 hex digest (again, if called again)."""
        if self._handle.closed:
            return self._hash.hexdigest()
        await self._flush()
        await to_thread.run_sync(self._sync_and_close)
        return self._hash.hexdigest()

    def _sync_and_close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()


class Staging:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _create(self) -> tuple[str, BinaryIO]:
        try:
            fd, name = tempfile.mkstemp(prefix="upload-", dir=self.directory)
        except FileNotFoundError:  # first use, or the folder was removed under us
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="upload-", dir=self.directory)
        return name, os.fdopen(fd, "wb")

    @asynccontextmanager
    async def file(self, max_bytes: int) -> AsyncIterator[StagedFile]:
        """A fresh staged file; removed on exit unless the store consumed (moved) it."""
        name, handle = await to_thread.run_sync(self._create)
        staged = StagedFile(Path(name), handle, max_bytes)
        try:
            yield staged
        finally:
            with suppress(OSError):
                staged._handle.close()
            with suppress(FileNotFoundError):
                os.unlink(name)

    def sweep(self, older_than_seconds: float = STALE_SECONDS) -> int:
        """Remove staged files left by a crash. Only old ones: another process on the same data
        folder (a second server worker, `imagerepo admin ...`) may be receiving uploads now."""
        removed = 0
        if self.directory.is_dir():
            cutoff = time.time() - older_than_seconds
            for leftover in self.directory.glob("upload-*"):
                with suppress(FileNotFoundError):
                    if leftover.stat().st_mtime < cutoff:
                        leftover.unlink()
                        removed += 1
        return removed
