"""Per-key mutual exclusion, behind the `Locks` protocol.

`ImageService` holds one around storing an upload's bytes and committing its row (against a delete
of the same bytes), `Derivatives` around rendering a preview (render once). In one server process
`StripedLocks` does; several processes or machines need a shared arbiter: `cache.redis_locks.
RedisLocks`, or without Redis on PostgreSQL `db.locks.AdvisoryLocks`.
"""

from __future__ import annotations

import asyncio
import zlib
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Locks(Protocol):
    """`async with locks(key): ...` holds the lock named `key` (exclusive across every holder
    that shares this arbiter). Raises `ServiceUnavailable` if it cannot be had in time."""

    def __call__(self, key: str) -> AbstractAsyncContextManager[object]: ...


class StripedLocks:
    """Two keys may share a lock (harmless: they just wait for each other), one key never has two.

    These serialise one server process; several workers need a shared arbiter instead.
    """

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    def __call__(self, key: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(key.encode()) % len(self._locks)]
