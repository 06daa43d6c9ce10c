"""A `Cache` that counts its hits and misses into Prometheus (`imagerepo_cache_lookups_total`)."""

from __future__ import annotations

from imagerepo.cache.base import Cache
from imagerepo.metrics import CACHE_LOOKUPS

_HIT = CACHE_LOOKUPS.labels(result="hit")
_MISS = CACHE_LOOKUPS.labels(result="miss")


class MeteredCache:
    def __init__(self, inner: Cache) -> None:
        self.inner = inner

    async def get(self, key: str) -> object | None:
        value = await self.inner.get(key)
        (_MISS if value is None else _HIT).inc()
        return value

    async def set(self, key: str, value: object) -> None:
        await self.inner.set(key, value)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def generation(self, namespace: str) -> int:
        return await self.inner.generation(namespace)

    async def bump(self, namespace: str) -> int:
        return await self.inner.bump(namespace)
