"""The metadata cache in Redis, shared by every server process (redis-py's asyncio client).

- Generations are Redis counters (`INCR`): a write through any process retires the entries of
  every process at once, so a write on worker A is never followed by a stale read on worker B.
- Values go through `JsonCodec` (never pickle) and expire after the entry TTL (`PX`).
- Redis failing degrades to a cache miss, never a 500 (errors are translated here, where they
  enter): reads miss, writes are skipped, and for `cooldown` seconds after a failure Redis is not
  asked at all, so an outage costs one timeout, not one per request. A generation that cannot be
  read becomes a fresh random one, so nothing cached under it can be found by anyone. A `bump` that
  fails is remembered and replayed before this process next reads a generation: entries cached
  before the write stay retired once Redis is back, for this process and (with the replay) for
  all others; only a process that reads nothing in between can serve them until they expire.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from imagerepo.cache.codec import CodecError, JsonCodec

log = logging.getLogger("imagerepo.cache")
T = TypeVar("T")
MAX_PLAIN_KEY = 200  # longer keys (a listing's query) are hashed: Redis keys stay short


def connect(url: str, *, timeout: float = 0.5) -> aioredis.Redis:
    """A client for `redis://` / `rediss://` URLs with short timeouts: the cache is an
    optimisation, and a stalled Redis must not stall requests."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )


class RedisCache:
    """The `Cache` protocol over Redis; `prefix` namespaces one library's keys."""

    def __init__(
        self,
        client: aioredis.Redis,
        ttl_seconds: float,
        *,
        codec: JsonCodec | None = None,
        prefix: str = "imagerepo:",
        cooldown: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._codec = codec if codec is not None else JsonCodec()
        self._prefix = prefix
        self._cooldown = cooldown
        self._clock = clock
        self._down_until = 0.0
        self._pending_bumps: set[str] = set()
        self.hits = 0
        self.misses = 0
        self.errors = 0

    def _key(self, key: str) -> str:
        if len(key) > MAX_PLAIN_KEY:
            key = "h:" + hashlib.sha256(key.encode()).hexdigest()
        return f"{self._prefix}v:{key}"

    def _generation_key(self, namespace: str) -> str:
        return f"{self._prefix}gen:{namespace}"

    async def _call(self, operation: Callable[[], Awaitable[T]], what: str) -> T | None:
        """Run one Redis operation; None (after logging once per outage) if Redis failed."""
        if self._clock() < self._down_until:
            return None
        try:
            return await operation()
        except (RedisError, OSError) as exc:
            self.errors += 1
            self._down_until = self._clock() + self._cooldown
            log.warning("cache: redis %s failed, serving without it: %s", what, exc)
            return None

    async def get(self, key: str) -> object | None:
        data = await self._call(lambda: self._redis.get(self._key(key)), "get")
        if data is None:
            self.misses += 1
            return None
        try:
            value = self._codec.decode(data)
        except CodecError as exc:
            log.warning("cache: dropping an undecodable entry: %s", exc)
            self.misses += 1
            return None
        self.hits += 1
        return value

    async def set(self, key: str, value: object) -> None:
        try:
            data = self._codec.encode(value)
        except CodecError as exc:
            log.warning("cache: not caching a value: %s", exc)
            return
        await self._call(lambda: self._redis.set(self._key(key), data, px=self._ttl_ms), "set")

    async def delete(self, key: str) -> None:
        await self._call(lambda: self._redis.delete(self._key(key)), "delete")

    async def generation(self, namespace: str) -> int:
        await self._replay_bumps()
        if self._pending_bumps:
            return _unusable_generation()
        value = await self._call(lambda: self._redis.get(self._generation_key(namespace)), "read")
        if value is None:
            if self._clock() < self._down_until:
                return _unusable_generation()
            return 0  # never bumped
        return int(value)

    async def bump(self, namespace: str) -> int:
        value = await self._call(self._incr(namespace), "incr")
        if value is None:
            self._pending_bumps.add(namespace)
            return _unusable_generation()
        return int(value)

    async def _replay_bumps(self) -> None:
        for namespace in sorted(self._pending_bumps):
            if await self._call(self._incr(namespace), "incr") is None:
                return
            self._pending_bumps.discard(namespace)

    def _incr(self, namespace: str) -> Callable[[], Awaitable[int]]:
        key = self._generation_key(namespace)
        return lambda: self._redis.incr(key)

    async def ping(self) -> None:
        """Raise if Redis does not answer (readiness, check-config); never degrades."""
        await self._redis.ping()

    async def aclose(self) -> None:
        await self._redis.aclose()


def _unusable_generation() -> int:
    """A generation nobody else will ever read: whatever is cached under it is never found."""
    return -secrets.randbits(62) - 1
