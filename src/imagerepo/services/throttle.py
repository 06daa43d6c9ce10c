"""Login throttling: failed sign-ins are counted, and past a limit the answer is 429.

Passwords are argon2id, so each guess already costs the server ~25-200 ms; the throttle keeps an
attacker from turning that cost into thousands of guesses an hour. What is counted, per window:

- failures for one username from one client address: `limit` (10 by default) — a guesser of one
  account from one place stops at once;
- failures from one client address across all usernames: 10 times `limit` — a sprayer stops too.

There is deliberately no limit on a username alone: that would let anyone lock the real owner
(or root) out by failing on purpose. A success clears the pair's count. Counters live behind
`RateLimiter`: in this process for the embedded profile, in Redis when several processes share
a library (`IMAGEREPO_CACHE_URL`), so every worker sees the same counts.
"""

from __future__ import annotations

import math
from typing import Protocol

from imagerepo.errors import TooManyRequests

SPRAY_FACTOR = 10


class RateLimiter(Protocol):
    """Fixed-window counters by key."""

    async def count(self, key: str) -> tuple[int, float]:
        """(events in the current window, seconds until it ends); (0, 0) for none."""
        ...

    async def hit(self, key: str, window_seconds: float) -> int:
        """Count one event; the window starts at the first event. Returns the new count."""
        ...

    async def clear(self, key: str) -> None: ...


class LoginThrottle:
    def __init__(self, limiter: RateLimiter, *, limit: int, window_seconds: float) -> None:
        self._limiter = limiter
        self._limit = limit
        self._window = window_seconds

    def _keys(self, username: str, client: str | None) -> list[tuple[str, int]]:
        where = client or "-"
        return [
            (f"login:{where}:{username}", self._limit),
            (f"login:{where}", self._limit * SPRAY_FACTOR),
        ]

    async def check(self, username: str, client: str | None) -> None:
        """`TooManyRequests` (with `retry_after`) if this attempt is over a limit."""
        for key, limit in self._keys(username, client):
            count, left = await self._limiter.count(key)
            if count >= limit:
                wait = max(1, math.ceil(left))
                raise TooManyRequests(
                    f"too many failed sign-ins: try again in {wait} s", retry_after=wait
                )

    async def failed(self, username: str, client: str | None) -> None:
        for key, _limit in self._keys(username, client):
            await self._limiter.hit(key, self._window)

    async def succeeded(self, username: str, client: str | None) -> None:
        await self._limiter.clear(self._keys(username, client)[0][0])
