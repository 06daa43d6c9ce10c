"""When and how long the client waits before asking the server again.

Retried (by `ImageRepoClient._request`, the one place every call goes through):
- no answer: a timeout, a connection reset or closed mid-request, and a refused connection once
  the server has answered this client before (a restart mid-run). A server that refuses the very
  first connection is simply not running: that fails at once, with the "is it running?" hint;
- HTTP 5xx (a restart, an overloaded proxy; not 501 or 505) and 429 (slow down).
Never retried: any other 4xx. The server has judged the request itself (a file that is not an
image, a quota, a refused token), and asking again would get the same answer.

A retried upload is safe: the server stores bytes once per user, so an upload that did succeed
before its answer was lost is answered 200 "already stored" the second time.

Waits grow exponentially from `base_delay` (0.5 s, 1 s, 2 s, 4 s for five attempts), each
multiplied by a random factor in [0.5, 1.5) so that many clients cut off together do not return
together. A `Retry-After` the server sends (seconds or an HTTP date) replaces the computed wait;
one longer than `max_delay` is not waited for at all: the error goes to the caller at once. The
sleep and the randomness are injectable, for tests.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# 501 Not Implemented and 505 HTTP Version Not Supported say what the server can never do.
_PERMANENT_5XX = frozenset({501, 505})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first included
    base_delay: float = 0.5  # seconds before the first retry
    max_delay: float = 60.0  # no single wait is longer, whatever Retry-After says
    # Jitter only spreads clients apart in time; it is not a secret.
    jitter: Callable[[], float] = random.random  # in [0, 1)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        backoff = self.base_delay * 2.0 ** (attempt - 1)
        return min(backoff * (0.5 + self.jitter()), self.max_delay)

    def worth_waiting(self, retry_after: float | None) -> bool:
        """False when the server asks for a longer wait than any we make (a throttled login's
        15 minutes): the caller gets the server's answer at once instead of a silent hang."""
        return retry_after is None or retry_after <= self.max_delay

    async def wait(self, attempt: int, retry_after: float | None = None) -> None:
        await self.sleep(self.delay(attempt, retry_after))


NO_RETRY = RetryPolicy(attempts=1)


def retryable_status(status: int) -> bool:
    return status == 429 or (500 <= status < 600 and status not in _PERMANENT_5XX)


def parse_retry_after(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now() if now is not None else datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)
