"""Derivative work after an upload, run by job workers: the rules, not the queue.

An upload is acknowledged once its bytes and row are committed and its validating decode has
made the thumbnail (`ImageService.ingest`); the row says `processing` and a job is enqueued.
The job (`process`) makes what the gallery and other viewers need next (the preview, and the
full-size copy that non-owners get instead of the original) through `Derivatives`, which skips
what exists and renders each key once under its lock, so a job is idempotent, and then marks
the image `ready`. After the queue's last retry, `give_up` marks it `failed`; its derivatives
are still made on request, as they are for an image whose job has not run yet.

The database is the source of truth: `recover` re-enqueues `processing` images that nobody has
touched for a lease, so a job lost with a crashed process or a queue entry is found again (at
start, and every `sweep_seconds` while workers run).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from imagerepo.cache.base import Cache
from imagerepo.errors import ServiceUnavailable
from imagerepo.jobs.base import JobQueue
from imagerepo.models import Image, ImageState
from imagerepo.services.clock import Clock
from imagerepo.services.derivatives import Derivatives, Kind
from imagerepo.services.image_cache import ImageCacheKeys
from imagerepo.services.locks import Locks
from imagerepo.services.rendering import CopyFormat, full_copy_format

log = logging.getLogger("imagerepo.jobs")

_SWEEP_BATCH = 1000
ENQUEUE_SECONDS = 5.0


class ImageStates(Protocol):
    async def get_any(self, image_id: str) -> Image | None: ...
    async def move(
        self,
        image_id: str,
        to: ImageState,
        now: datetime,
        *,
        only_from: ImageState | None = None,
        reason: str | None = None,
    ) -> bool: ...
    async def claim_stale(self, older_than: datetime, now: datetime, limit: int) -> list[str]: ...
    async def counts(self) -> dict[ImageState, int]: ...


@dataclass(frozen=True, slots=True)
class QueueStatus:
    processing: int  # images waiting for their job (the queue depth, from the rows)
    failed: int
    pending: int  # jobs waiting in the queue itself


def wanted(image: Image) -> list[tuple[Kind, CopyFormat]]:
    """What a job makes: the gallery's thumbnail (kept at ingest unless saving it failed) and
    preview, and the full-size copy others get instead of the original."""
    return [
        ("thumbnail", "webp"),
        ("preview", "webp"),
        ("full", full_copy_format(image.media_type)),
    ]


class ImageProcessing:
    def __init__(
        self,
        states: ImageStates,
        derivatives: Derivatives,
        jobs: JobQueue,
        cache: Cache,
        clock: Clock,
        *,
        hash_in_use: Callable[[str], Awaitable[bool]],
        locks: Locks,
        lease_seconds: float,
    ) -> None:
        self._states = states
        self._derivatives = derivatives
        self.jobs = jobs
        self._keys = ImageCacheKeys(cache)
        self._clock = clock
        self._hash_in_use = hash_in_use
        self._locks = locks  # by sha256: two jobs on the same bytes clean up one at a time
        self._lease = timedelta(seconds=lease_seconds)

    async def process(self, image_id: str) -> None:
        """Make the image's derivatives (those that exist are skipped), then mark it ready."""
        image = await self._states.get_any(image_id)
        if image is None or image.state is ImageState.READY:
            return
        await self._derivatives.make_all(image, wanted(image))
        async with self._locks(image.sha256):
            if await self._states.get_any(image_id) is None:
                # Deleted while we rendered: the delete freed the bytes and their derivatives
                # (services/blob_refs.py) before ours landed. If no image names the bytes now,
                # remove what we made; should a new upload of the same bytes race this, its
                # derivatives are simply made again (on request, or by its own job).
                if not await self._hash_in_use(image.sha256):
                    await self._derivatives.delete_all(image.sha256)
                return
        if await self._states.move(image_id, ImageState.READY, self._clock()):
            await self._keys.written(image)

    async def give_up(self, image_id: str, reason: str) -> None:
        image = await self._states.get_any(image_id)
        if image is None:
            return
        moved = await self._states.move(
            image_id,
            ImageState.FAILED,
            self._clock(),
            only_from=ImageState.PROCESSING,
            reason=reason[:255],
        )
        if moved:
            await self._keys.written(image)

    async def enqueue(self, image_id: str) -> None:
        """Hand the job to the queue; if it cannot take it now, the sweep will (the row is
        `processing` and committed), so the upload that asked is not failed for it."""
        try:
            async with asyncio.timeout(ENQUEUE_SECONDS):  # an upload waits on this
                await self.jobs.enqueue(image_id)
        except (ServiceUnavailable, TimeoutError) as exc:
            log.warning("could not enqueue image %s (%r); the recovery sweep will", image_id, exc)

    async def recover(self, *, everything: bool = False) -> int:
        """Re-enqueue `processing` images untouched for a lease (`everything`: all of them),
        and hand out again the jobs of dead workers; how many images were re-enqueued."""
        now = self._clock()
        older_than = now if everything else now - self._lease
        found = 0
        while True:
            ids = await self._states.claim_stale(older_than, now, _SWEEP_BATCH)
            for image_id in ids:
                await self.jobs.enqueue(image_id)
            found += len(ids)
            if len(ids) < _SWEEP_BATCH:
                break
        stalled = await self.jobs.recover_stalled()
        if found or stalled:
            log.info(
                "recovery: %d image(s) enqueued again, %d stalled job(s) retried", found, stalled
            )
        return found

    async def status(self) -> QueueStatus:
        counts = await self._states.counts()
        return QueueStatus(
            processing=counts[ImageState.PROCESSING],
            failed=counts[ImageState.FAILED],
            pending=await self.jobs.pending(),
        )

    async def run(self, *, concurrency: int, sweep_seconds: float) -> None:
        """Run jobs until cancelled, sweeping for lost ones at start and every `sweep_seconds`.

        A queue that forgets its jobs when its process ends (in-process) re-enqueues every
        `processing` image at start; a durable one only those older than the lease."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.jobs.work(self, concurrency=concurrency))
            group.create_task(self._sweep_forever(sweep_seconds))

    async def _sweep_forever(self, sweep_seconds: float) -> None:
        everything = not self.jobs.durable
        while True:
            try:
                await self.recover(everything=everything)
            except Exception as exc:  # noqa: BLE001 - a failed sweep is tried again next time
                log.warning("recovery sweep failed: %s", exc)
            everything = False
            await asyncio.sleep(sweep_seconds)  # a period, not a wait for something to happen
