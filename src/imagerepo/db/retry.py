"""Transactions run again after a serialization failure or a deadlock (PostgreSQL 40001, 40P01).

PostgreSQL rolls such a transaction back whole and says the same work may succeed if tried
again; before this, the client got a 503 for it. `@retried` marks a repository method whose
every call is complete transactions and nothing else (no blob written, no cache touched, no
value read from the database before the call and written back in it), so calling it again is
the retry. It waits a random time between tries ("full jitter": up to 20, 40, 80 ms), so two
transactions that collided do not collide again in step, and gives up after `ATTEMPTS` calls
with the 503 the caller got before. Any other error, and a commit whose outcome is unknown (a
lost connection), is never retried: only these two SQLSTATEs promise that nothing happened.

Where they come from under the default READ COMMITTED isolation: deadlocks, between writes that
lock the same rows in another order (a user's row and their sessions; the month counts the
`images` triggers keep); under an operator's `default_transaction_isolation = serializable`,
serialization failures too. Reads take no row locks and are not marked.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from imagerepo.db.postgres import TransactionConflict
from imagerepo.metrics import DATABASE_CONFLICTS

log = logging.getLogger("imagerepo.db")
P = ParamSpec("P")
T = TypeVar("T")
ATTEMPTS = 4
BASE_DELAY = 0.02  # seconds; try n waits up to BASE_DELAY * 2**(n-1)


def retried(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Call `method` again (up to `ATTEMPTS` calls in all) while PostgreSQL rolls it back after
    a serialization failure or a deadlock."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await method(*args, **kwargs)
            except TransactionConflict as exc:
                if attempt == ATTEMPTS:
                    DATABASE_CONFLICTS.labels("gave_up").inc()
                    raise
                DATABASE_CONFLICTS.labels("retried").inc()
                delay = random.uniform(0, BASE_DELAY * 2 ** (attempt - 1))  # noqa: S311 - jitter
                log.info("%s: %s; trying again in %.0f ms", method.__qualname__, exc, delay * 1e3)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    return run
