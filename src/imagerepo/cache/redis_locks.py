"""`Locks` across processes and machines, in Redis (the single-instance Redlock recipe).

Taking a lock is `SET key token NX PX ttl`; the token is random, so only the holder can release
it (a Lua compare-and-delete) or extend it. While held, a task renews it every `ttl / 3` (a
compare-and-`PEXPIRE`), so a long render keeps it however long it takes, and a crashed process
loses it after at most `ttl`. Waiters poll with capped exponential backoff and give up after
`wait_seconds` with `ServiceUnavailable` (503, retry later), as they do if Redis is unreachable:
unlike the cache, a lock cannot degrade to "no lock".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from imagerepo.errors import ServiceUnavailable

log = logging.getLogger("imagerepo.locks")

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class RedisLocks:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "imagerepo:lock:",
        ttl_seconds: float = 30.0,
        wait_seconds: float = 60.0,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl_ms = int(ttl_seconds * 1000)
        self._wait = wait_seconds

    def __call__(self, key: str) -> AbstractAsyncContextManager[object]:
        return self._held(self._prefix + key)

    @asynccontextmanager
    async def _held(self, name: str) -> AsyncIterator[object]:
        token = secrets.token_hex(16)
        await self._acquire(name, token)
        renewer = asyncio.create_task(self._renew(name, token))
        try:
            yield name
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            try:
                await self._redis.eval(_RELEASE, 1, name, token)
            except (RedisError, OSError) as exc:
                # It expires after the TTL by itself; waiters are only delayed.
                log.warning("locks: could not release %s: %s", name, exc)

    async def _acquire(self, name: str, token: str) -> None:
        deadline = time.monotonic() + self._wait
        pause = 0.005
        while True:
            try:
                if await self._redis.set(name, token, nx=True, px=self._ttl_ms):
                    return
            except (RedisError, OSError) as exc:
                raise ServiceUnavailable(f"lock service (redis) failed: {exc}") from exc
            if time.monotonic() + pause > deadline:
                raise ServiceUnavailable(f"lock {name} is still held after {self._wait:g} s")
            await asyncio.sleep(pause)  # polling a lock held elsewhere: no event to wait on
            pause = min(pause * 2, 0.2)

    async def _renew(self, name: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                renewed = await self._redis.eval(_RENEW, 1, name, token, self._ttl_ms)
            except (RedisError, OSError) as exc:
                log.warning("locks: could not renew %s: %s", name, exc)
                continue
            if not renewed:
                log.error("locks: lost %s (expired before renewal)", name)
                return
