"""Thumbnails and previews: made once, kept in their own blob store, served with strong ETags.

The thumbnail comes out of the ingest decode for free and is saved right after the upload; the
preview (and any JPEG variant) is made on first request, under a per-key lock so a burst of
requests renders it once. A missing derivative is never an error: it is simply made again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from imagerepo.models import Image
from imagerepo.services.analysis import render_file
from imagerepo.services.locks import Locks, StripedLocks
from imagerepo.services.rendering import (
    FORMATS,
    MEDIA_TYPES,
    PREVIEW_SIZE,
    RENDER_VERSION,
    THUMBNAIL_SIZE,
    OutputFormat,
)
from imagerepo.storage.base import BlobStore
from imagerepo.storage.staging import Staging
from imagerepo.workers import WorkerPool

log = logging.getLogger("imagerepo")

Kind = Literal["thumbnail", "preview", "full"]
#: "full" is the whole picture without its metadata: what others get instead of the original.
SIZES: dict[Kind, int] = {"thumbnail": THUMBNAIL_SIZE, "preview": PREVIEW_SIZE, "full": 0}


@dataclass(frozen=True, slots=True)
class Derivative:
    key: str
    media_type: str
    path: Path | None
    stream: AsyncIterator[bytes] | None


def derivative_key(sha256: str, kind: Kind, fmt: OutputFormat) -> str:
    """Digest-shaped, so it doubles as a strong ETag: same original, kind, format, renderer."""
    return hashlib.sha256(f"{sha256}:{kind}:{fmt}:v{RENDER_VERSION}".encode()).hexdigest()


class Derivatives:
    def __init__(
        self,
        store: BlobStore,
        originals: BlobStore,
        staging: Staging,
        pool: WorkerPool,
        *,
        max_image_pixels: int,
        locks: Locks | None = None,
    ) -> None:
        self._store = store
        self._originals = originals
        self._staging = staging
        self._pool = pool
        self._max_image_pixels = max_image_pixels
        self._locks = locks if locks is not None else StripedLocks()

    async def save_thumbnail(self, sha256: str, data: bytes) -> None:
        """Keep the thumbnail the ingest decode made; failure only means it is made later."""
        try:
            await self._save(derivative_key(sha256, "thumbnail", "webp"), data)
        except OSError:
            log.warning("could not save the thumbnail of %s; it will be made on request", sha256)

    async def get(self, image: Image, kind: Kind, fmt: OutputFormat) -> Derivative:
        key = derivative_key(image.sha256, kind, fmt)
        if not await self._store.exists(key):
            async with self._locks(key):
                if not await self._store.exists(key):
                    await self._save(key, await self._render(image.sha256, SIZES[kind], fmt))
        path = self._store.local_path(key)
        stream = None if path is not None else self._store.get(key)
        return Derivative(key=key, media_type=MEDIA_TYPES[fmt], path=path, stream=stream)

    async def delete_all(self, sha256: str) -> None:
        for kind in SIZES:
            for fmt in FORMATS:
                await self._store.delete(derivative_key(sha256, kind, fmt))

    async def _render(self, sha256: str, box: int, fmt: OutputFormat) -> bytes:
        local = self._originals.local_path(sha256)
        if local is not None:
            return await self._pool.run(render_file, local, self._max_image_pixels, box, fmt)
        async with self._staging.file(max_bytes=1 << 62) as staged:
            async for chunk in self._originals.get(sha256):
                await staged.write(chunk)
            await staged.finish()
            return await self._pool.run(render_file, staged.path, self._max_image_pixels, box, fmt)

    async def _save(self, key: str, data: bytes) -> None:
        await self._store.put_bytes(key, data)
