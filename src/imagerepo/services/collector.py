"""The collector: one pass (`imagerepo gc`), or every `interval` inside a server process.

Every server process may run it: what it removes is decided row by row in the database
(`services/blob_refs.py`), so two passes at once remove each thing once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace

from imagerepo.services.blob_refs import BlobReferences, Collected
from imagerepo.services.direct_upload import DirectUploads

log = logging.getLogger("imagerepo")


class Collector:
    def __init__(self, refs: BlobReferences, uploads: DirectUploads) -> None:
        self._refs = refs
        self._uploads = uploads

    async def collect(self, *, orphans: bool = True) -> Collected:
        """Expired direct uploads first (their objects are not originals), then blobs."""
        expired = await self._uploads.expire()
        return replace(await self._refs.collect(orphans=orphans), expired_uploads=expired)

    @asynccontextmanager
    async def every(self, seconds: float) -> AsyncIterator[None]:
        """Run a pass every `seconds` (the first after `seconds`) while the block runs; a
        failed pass is logged and the next one tried. 0 runs none."""
        if seconds <= 0:
            yield
            return

        async def loop() -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    done = await self.collect()
                except Exception:
                    log.exception("collector pass failed; trying again in %s s", seconds)
                    continue
                if done != Collected():
                    log.info("collector: %s", done)

        task = asyncio.create_task(loop(), name="imagerepo-collector")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
