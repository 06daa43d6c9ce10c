"""`Locks` across server processes that share a PostgreSQL database: session advisory locks.

A lock is `pg_try_advisory_lock(k)` on a signed 64-bit hash of its key, held on a connection of
its own pool for as long as the lock is held, and `pg_advisory_unlock(k)` on release. Unlike a
Redis key there is nothing to renew: PostgreSQL releases a session's locks when its connection
ends, so a crashed process frees them at once, and a live one keeps them however long it
works. The own pool matters: a lock is often held while the same request commits a row, and if
both drew from one pool, enough waiting holders could starve the commits. Waiters poll with
capped backoff and give up after `wait_seconds` with `ServiceUnavailable` (503), as they do if
the database is unreachable: a lock cannot degrade to "no lock".

Used when the database is PostgreSQL and no Redis is configured (`wiring.build_services`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from imagerepo.db.engine import create_engine
from imagerepo.errors import ServiceUnavailable

log = logging.getLogger("imagerepo.locks")

_TRY = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


def lock_id(key: str) -> int:
    """The key as PostgreSQL's bigint advisory-lock id (a collision only makes two keys wait
    for each other, as the in-process striped locks do)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class AdvisoryLocks:
    def __init__(self, url: str, *, wait_seconds: float = 60.0) -> None:
        self._engine: AsyncEngine = create_engine(url)
        self._wait = wait_seconds

    def __call__(self, key: str) -> AbstractAsyncContextManager[object]:
        return self._held(key)

    async def aclose(self) -> None:
        await self._engine.dispose()

    @asynccontextmanager
    async def _held(self, key: str) -> AsyncIterator[object]:
        params = {"key": lock_id(key)}
        try:
            connection = await self._engine.connect()
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(f"lock service (database) failed: {exc}") from exc
        try:
            await self._acquire(connection, key, params)
            try:
                yield key
            finally:
                await self._release(connection, key, params)
        finally:
            await connection.close()

    async def _acquire(self, connection: AsyncConnection, key: str, params: dict[str, int]) -> None:
        deadline = time.monotonic() + self._wait
        pause = 0.005
        while True:
            try:
                if await connection.scalar(_TRY, params):
                    await connection.commit()  # the lock outlives the transaction; end it
                    return
                await connection.rollback()
            except SQLAlchemyError as exc:
                raise ServiceUnavailable(f"lock service (database) failed: {exc}") from exc
            if time.monotonic() + pause > deadline:
                raise ServiceUnavailable(f"lock {key} is still held after {self._wait:g} s")
            await asyncio.sleep(pause)  # polling a lock held elsewhere: no event to wait on
            pause = min(pause * 2, 0.2)

    @staticmethod
    async def _release(connection: AsyncConnection, key: str, params: dict[str, int]) -> None:
        try:
            await connection.scalar(_UNLOCK, params)
            await connection.commit()
        except (SQLAlchemyError, ServiceUnavailable, OSError) as exc:
            # The connection must not go back to the pool still holding the lock: dropping it
            # ends the session, which releases every lock it held.
            log.warning("locks: could not release %s (%s); dropping its connection", key, exc)
            await connection.invalidate()
