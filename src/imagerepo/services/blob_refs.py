"""Which original blobs are referenced is decided by the database, so any number of server
processes can upload and delete the same bytes at once (no in-process or shared locks).

Upload (`claimed`):
  1. claim: in one transaction the `blobs` row is inserted, or touched if 'live'
     (`last_claimed_at = now`), and a claim row is inserted. If the row is 'deleting', wait
     until the collector has dropped it, then claim again (bounded: 503 after `wait_seconds`).
  2. the caller writes the blob and commits its image row;
  3. the claim is released. The image row is committed before the claim goes, so the bytes are
     always named by one or the other. A failed upload just releases its claim; a crashed one's
     claim expires after `claim_ttl`.

Removal (`free` at once after an image delete; `collect` periodically): a row is marked
'deleting' only if it is 'live', no image row and no live claim names it (and, for the
collector, it was last claimed before the grace period); whoever marked it deletes the
original and its derivatives, then drops the row. Nothing else deletes an original.

Collector (`collect`): (a) unreferenced rows past the grace; (b) 'deleting' rows a crashed
collector left; (c) objects in the store with no row at all, older than the grace (each first
gets a 'deleting' row, so an upload of the same bytes waits for it); expired claims are purged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from imagerepo.errors import NotFound, ServiceUnavailable
from imagerepo.services.clock import Clock
from imagerepo.services.ids import new_id
from imagerepo.storage.base import BlobStore

log = logging.getLogger("imagerepo")

_BATCH = 500


class BlobRefStore(Protocol):
    """The `blobs` and `blob_claims` tables (`db/repos/blobs.py`)."""

    async def claim(
        self, claim_id: str, sha256: str, size: int, now: datetime, expires_at: datetime
    ) -> bool: ...
    async def release(self, claim_id: str) -> None: ...
    async def mark_deleting(
        self, sha256: str, now: datetime, *, claimed_before: datetime | None = None
    ) -> bool: ...
    async def take_over(self, sha256: str, now: datetime, marked_before: datetime) -> bool: ...
    async def forget(self, sha256: str, marked_at: datetime) -> None: ...
    async def unreferenced(
        self, now: datetime, claimed_before: datetime, limit: int
    ) -> list[str]: ...
    async def stale_marks(self, marked_before: datetime, limit: int) -> list[str]: ...
    async def known(self, digests: Sequence[str]) -> set[str]: ...
    async def adopt(self, sha256: str, size: int, now: datetime) -> bool: ...
    async def purge_claims(self, now: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class Collected:
    """What one collector pass removed."""

    unreferenced: int = 0
    stale: int = 0
    orphans: int = 0
    expired_claims: int = 0
    expired_uploads: int = 0


class BlobReferences:
    def __init__(
        self,
        refs: BlobRefStore,
        originals: BlobStore,
        drop_derivatives: Callable[[str], Awaitable[None]],
        clock: Clock,
        *,
        grace: timedelta = timedelta(hours=1),
        claim_ttl: timedelta = timedelta(hours=1),
        wait_seconds: float = 30.0,
    ) -> None:
        self._refs = refs
        self._originals = originals
        self._drop_derivatives = drop_derivatives
        self._clock = clock
        self.grace = grace
        self._claim_ttl = claim_ttl
        self._wait_seconds = wait_seconds

    @asynccontextmanager
    async def claimed(self, sha256: str, size: int) -> AsyncIterator[None]:
        """Hold a claim on `sha256` for the block: write the blob and commit the image row
        inside it. The claim is released on exit, success or not."""
        claim_id = new_id()
        await self._claim(claim_id, sha256, size)
        try:
            yield
        finally:
            await self._refs.release(claim_id)

    async def _claim(self, claim_id: str, sha256: str, size: int) -> None:
        deadline = time.monotonic() + self._wait_seconds
        pause = 0.02
        while True:
            now = self._clock()
            if await self._refs.claim(claim_id, sha256, size, now, now + self._claim_ttl):
                return
            # A collector is removing these bytes right now; it drops the row when done.
            if time.monotonic() >= deadline:
                raise ServiceUnavailable("those bytes are being removed right now; try again")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def free(self, sha256: str) -> bool:
        """Remove these bytes now if nothing names them (after an image delete); True if so."""
        now = self._clock()
        if not await self._refs.mark_deleting(sha256, now):
            return False
        await self._remove(sha256, now)
        return True

    async def _remove(self, sha256: str, marked_at: datetime) -> None:
        """The row is 'deleting', marked by us at `marked_at`: bytes first, then derivatives,
        then the row (only if nobody took the mark over meanwhile: then they drop it)."""
        await self._originals.delete(sha256)
        await self._drop_derivatives(sha256)
        await self._refs.forget(sha256, marked_at)

    async def collect(self, *, orphans: bool = True) -> Collected:
        """One collector pass (see the module docstring); `orphans=False` skips the walk of
        the whole store."""
        now = self._clock()
        cutoff = now - self.grace
        unreferenced = stale = 0
        while batch := await self._refs.unreferenced(now, cutoff, _BATCH):
            marked = [
                s for s in batch if await self._refs.mark_deleting(s, now, claimed_before=cutoff)
            ]
            for sha256 in marked:
                await self._remove(sha256, now)
            unreferenced += len(marked)
            if not marked:
                break  # all were claimed meanwhile
        for sha256 in await self._refs.stale_marks(cutoff, _BATCH):
            if await self._refs.take_over(sha256, now, cutoff):
                await self._remove(sha256, now)
                stale += 1
        found = await self._collect_orphans(now, cutoff) if orphans else 0
        claims = await self._refs.purge_claims(now)
        return Collected(unreferenced, stale, found, claims)

    async def _collect_orphans(self, now: datetime, cutoff: datetime) -> int:
        removed = 0
        batch: list[str] = []
        async for key in self._originals.walk():
            batch.append(key)
            if len(batch) >= _BATCH:
                removed += await self._orphans_in(batch, now, cutoff)
                batch = []
        if batch:
            removed += await self._orphans_in(batch, now, cutoff)
        return removed

    async def _orphans_in(self, keys: list[str], now: datetime, cutoff: datetime) -> int:
        known = await self._refs.known(keys)
        removed = 0
        for key in keys:
            if key in known:
                continue
            try:
                info = await self._originals.stat(key)
            except NotFound:
                continue
            if info.modified is not None and info.modified >= cutoff:
                continue  # young: maybe an upload in flight from a server without claims
            if await self._refs.adopt(key, info.size, now):
                log.info("collecting orphan blob %s (%d bytes)", key, info.size)
                await self._remove(key, now)
                removed += 1
        return removed
