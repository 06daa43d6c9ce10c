"""A fixed set of asyncio locks picked by key: per-key mutual exclusion in bounded memory."""

from __future__ import annotations

import asyncio
import zlib


class StripedLocks:
    """Two keys may share a lock (harmless: they just wait for each other), one key never has two.

    These serialise one server process; several workers need the database to arbitrate instead.
    """

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    def __call__(self, key: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(key.encode()) % len(self._locks)]
