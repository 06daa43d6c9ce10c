"""Thumbnails, previews and full-size copies: made once, kept in their own blob store, served
with strong ETags.

The thumbnail comes out of the ingest decode for free and is saved right after the upload; the
preview and the full-size copy others get instead of the original are made by the upload's job
(`services.processing`), or on first request if that comes first (and any JPEG variant on
request), under a per-key lock so a burst of requests and jobs renders each once. A missing
derivative is never an error: it is simply made again.

Rendering is a `CostlyJob`: the pool reserves the bytes the decode will hold from the pixel
budget before it starts (503 with `Retry-After` if they do not come free in time; 422 if the
picture could never fit). The result is encoded straight into a staged file and moved into the
store, so not even a full-size copy is ever held in memory as bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
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
    CopyFormat,
    full_copy_format,
)
from imagerepo.storage.base import BlobStore, OpenBlob
from imagerepo.storage.staging import StagedFile, Staging
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


def derivative_key(sha256: str, kind: Kind, fmt: CopyFormat) -> str:
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

    @staticmethod
    def full_copy_format(image: Image) -> CopyFormat:
        """The format of the full-size copy of `image`: PNG for PNG and GIF originals (lossless
        stays lossless, palette and grey pictures stay one byte a pixel), else JPEG."""
        return full_copy_format(image.media_type)

    async def get(self, image: Image, kind: Kind, fmt: CopyFormat) -> Derivative:
        key = derivative_key(image.sha256, kind, fmt)
        if not await self._store.exists(key):
            async with self._locks(key):
                if not await self._store.exists(key):
                    await self._render(image.sha256, key, SIZES[kind], fmt)
        path = self._store.local_path(key)
        stream = None if path is not None else self._store.get(key)
        return Derivative(key=key, media_type=MEDIA_TYPES[fmt], path=path, stream=stream)

    async def open(self, key: str, start: int = 0, end: int | None = None) -> OpenBlob:
        """A pinned read handle on a derivative (remote stores; see `BlobStore.open`)."""
        return await self._store.open(key, start, end)

    async def delete_all(self, sha256: str) -> None:
        for kind in SIZES:
            for fmt in FORMATS:
                await self._store.delete(derivative_key(sha256, kind, fmt))

    async def make_all(self, image: Image, wanted: Sequence[tuple[Kind, CopyFormat]]) -> None:
        """Make each of `wanted` that is missing (a job's work). A remote original is fetched
        once for all of them, not once per derivative as `get` would."""
        if self._originals.local_path(image.sha256) is not None:
            for kind, fmt in wanted:
                await self.get(image, kind, fmt)  # checks for each whether it exists
            return
        keys = {derivative_key(image.sha256, kind, fmt): (kind, fmt) for kind, fmt in wanted}
        missing = [key for key in keys if not await self._store.exists(key)]
        if not missing:
            return
        async with self._staging.file(max_bytes=1 << 62) as original:
            await self._fetch_original(image.sha256, original)
            for key in missing:
                kind, fmt = keys[key]
                async with self._locks(key):
                    if not await self._store.exists(key):
                        await self._render_from(original.path, key, SIZES[kind], fmt)

    async def _render(self, sha256: str, key: str, box: int, fmt: CopyFormat) -> None:
        local = self._originals.local_path(sha256)
        if local is not None:
            await self._render_from(local, key, box, fmt)
            return
        async with self._staging.file(max_bytes=1 << 62) as original:
            await self._fetch_original(sha256, original)
            await self._render_from(original.path, key, box, fmt)

    async def _fetch_original(self, sha256: str, into: StagedFile) -> None:
        async for chunk in self._originals.get(sha256):
            await into.write(chunk)
        await into.finish()

    async def _render_from(self, source: Path, key: str, box: int, fmt: CopyFormat) -> None:
        """Render into a staged file (in the pool, under the pixel budget), then move it in."""
        async with self._staging.file(max_bytes=1 << 62) as out:
            await self._pool.run(render_file, source, self._max_image_pixels, box, fmt, out.path)
            await out.finish()  # the render wrote the file by name; this syncs and closes it
            await self._store.put(key, out.path)

    async def _save(self, key: str, data: bytes) -> None:
        await self._store.put_bytes(key, data)
