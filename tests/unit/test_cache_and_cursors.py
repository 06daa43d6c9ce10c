from __future__ import annotations

from datetime import UTC, datetime

import pytest

from imagerepo.cache.memory import MemoryCache
from imagerepo.errors import ValidationFailed
from imagerepo.services.cursors import decode_cursor, encode_cursor


async def test_memory_cache_evicts_least_recent() -> None:
    # Generations, TTL and round trips: tests/cache/test_contract.py, on every implementation.
    cache = MemoryCache(max_entries=2, ttl_seconds=60)
    await cache.set("a", 1)
    await cache.set("b", 2)
    assert await cache.get("a") == 1  # touch a: b is now least recent
    await cache.set("c", 3)
    assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == (1, None, 3)
    await cache.delete("a")
    assert await cache.get("a") is None


async def test_memory_cache_entries_expire() -> None:
    cache = MemoryCache(max_entries=10, ttl_seconds=0.0)
    await cache.set("a", 1)
    assert await cache.get("a") is None


def test_cursor_round_trip_and_garbage() -> None:
    position = (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "abc_DEF-123")
    assert decode_cursor(encode_cursor(position)) == position
    for garbage in ("!!!", "e30", "W10", encode_cursor(position)[:-3] + "@@@"):
        with pytest.raises(ValidationFailed):
            decode_cursor(garbage)
