"""Cache keys for image metadata, listings and timelines that a write retires only where it
can change the answer.

Every key carries write generations (counters in the cache, `Cache.generation`), read *before*
the SQL read it caches; every write bumps the generations it affects *after* it commits. An
entry filled by a read that raced a write is therefore filed under an old generation and never
served again: nobody sees a deleted image or a stale visibility, even for one request.

Which generations:

- a **listing or timeline** (the rows a `Scope` admits) carries the *public* generation when the
  scope includes public images, and the generation of each owner in the scope (a signed-in
  viewer: their own). A write bumps its owner's generation, and the public one only when a
  public image is involved (before or after the write). So another user's private upload leaves
  your cached pages in place, a public upload by anyone refreshes every listing (it may appear
  in any of them), and your own writes always refresh your own.
- an **image** key carries the generation of its bucket (a hash of the id into `BUCKETS`):
  a write retires the entries of the images in one bucket, about 1 in 4 096, rather than one
  counter per image ever written, which would grow without bound in a memory cache.
"""

from __future__ import annotations

import zlib

from imagerepo.cache.base import Cache
from imagerepo.models import Image, Scope, Visibility

PUBLIC = "images:public"
BUCKETS = 4096


def owner_namespace(owner_id: str) -> str:
    return f"images:owner:{owner_id}"


def bucket_namespace(image_id: str) -> str:
    return f"images:bucket:{zlib.crc32(image_id.encode()) % BUCKETS}"


class ImageCacheKeys:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    async def for_scope(self, kind: str, scope: Scope, detail: str) -> str:
        """The key of a listing-like answer (`detail` names the query, scope included)."""
        generations = [await self._cache.generation(PUBLIC)] if scope.public else []
        for owner_id in sorted(scope.owner_ids):
            generations.append(await self._cache.generation(owner_namespace(owner_id)))
        return f"{kind}:{'.'.join(map(str, generations))}:{detail}"

    async def for_image(self, image_id: str) -> str:
        generation = await self._cache.generation(bucket_namespace(image_id))
        return f"image:{generation}:{image_id}"

    async def written(self, image: Image, *, was: Visibility | None = None) -> None:
        """Retire what a committed write to `image` (visible as `was` before it) can change."""
        await self._cache.bump(owner_namespace(image.owner_id))
        await self._cache.bump(bucket_namespace(image.id))
        if Visibility.PUBLIC in (image.visibility, was):
            await self._cache.bump(PUBLIC)
