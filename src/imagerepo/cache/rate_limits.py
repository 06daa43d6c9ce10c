"""`RateLimiter` implementations (see `services/throttle.py`): in this process, or in Redis.

The Redis one is what several server processes need: counters are `INCR`ed keys whose expiry is
set by the first event of the window (`PEXPIRE ... NX`), so every worker counts together. Redis
failing lets attempts through (logged): argon2 still makes each guess slow, and a cache outage
must not lock every user out.
"""

from __future__ import annotations

import logging
import time

from cachetools import TTLCache
from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("imagerepo.cache")
MAX_KEYS = 100_000  # memory bound for the in-process counters; the oldest go first


class MemoryRateLimiter:
    def __init__(self, max_window_seconds: float) -> None:
        self._counters: TTLCache[str, tuple[int, float]] = TTLCache(
            MAX_KEYS, max(max_window_seconds, 1.0), timer=time.monotonic
        )

    async def count(self, key: str) -> tuple[int, float]:
        count, ends = self._counters.get(key, (0, 0.0))
        left = ends - time.monotonic()
        return (count, left) if left > 0 else (0, 0.0)

    async def hit(self, key: str, window_seconds: float) -> int:
        count, left = await self.count(key)
        ends = time.monotonic() + (left if count else window_seconds)
        self._counters[key] = (count + 1, ends)
        return count + 1

    async def clear(self, key: str) -> None:
        self._counters.pop(key, None)


class RedisRateLimiter:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "imagerepo:rate:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def count(self, key: str) -> tuple[int, float]:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(name)
                pipe.pttl(name)
                raw, ttl_ms = await pipe.execute()
        except RedisError as exc:
            log.warning("rate limiter: Redis unavailable (%s); not limiting", exc)
            return 0, 0.0
        if raw is None or ttl_ms is None or int(ttl_ms) <= 0:
            return 0, 0.0
        return int(raw), int(ttl_ms) / 1000

    async def hit(self, key: str, window_seconds: float) -> int:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.pexpire(name, max(1, int(window_seconds * 1000)), nx=True)
                count, _ = await pipe.execute()
        except RedisError as exc:
            log.warning("rate limiter: Redis unavailable (%s); not counting", exc)
            return 0
        return int(count)

    async def clear(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except RedisError as exc:
            log.warning("rate limiter: Redis unavailable (%s)", exc)
