"""In-process LRU cache with a time-to-live (cachetools), for a single server process."""

from __future__ import annotations

from collections import Counter

from cachetools import TLRUCache


class MemoryCache:
    def __init__(self, max_entries: int, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: TLRUCache[str, object] = TLRUCache(
            maxsize=max_entries, ttu=lambda _key, _value, now: now + self._ttl
        )
        self._generations: Counter[str] = Counter()

    async def get(self, key: str) -> object | None:
        return self._entries.get(key)

    async def set(self, key: str, value: object) -> None:
        self._entries[key] = value

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def generation(self, namespace: str) -> int:
        return self._generations[namespace]

    async def bump(self, namespace: str) -> int:
        self._generations[namespace] += 1
        return self._generations[namespace]
