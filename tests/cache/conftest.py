"""The cache implementations under one contract: in-process (MemoryCache) and Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from imagerepo.cache.base import Cache
from imagerepo.cache.memory import MemoryCache
from imagerepo.cache.redis import RedisCache, connect

TTL = 0.3  # short, so expiry is observable; values that must survive are read at once


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield MemoryCache(max_entries=100, ttl_seconds=TTL)
        return
    redis_url: str = request.getfixturevalue("redis_url")
    client = connect(redis_url)
    cache = RedisCache(client, TTL, prefix=f"test-{secrets.token_hex(4)}:")
    try:
        yield cache
    finally:
        await cache.aclose()
