"""A per-process memory budget for decoded pixels: an asyncio semaphore counted in bytes.

A 126-byte PNG can declare 144 million pixels, so what a decode costs has nothing to do with the
size of the file. Every decode states its cost first (from the header, see `rendering.Plan`) and
reserves it here, on the event loop, before its job goes to the worker pool; the pool gives the
bytes back when the job's thread is done, not when the request that wanted it goes away.

- A job that fits starts at once. One that does not waits, in arrival order, at most
  `max_wait_seconds`; then `ServiceUnavailable` (503 with `Retry-After`).
- Bytes that a waiting job needs are held for it: a later, smaller job may start only in what is
  left beyond every earlier waiter's need, so a large job is never starved by small ones.
- A job that needs more than the whole budget could never run: `InvalidImage` (422) at once, the
  same answer on every try, instead of a 503 that invites retries.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field

from imagerepo.errors import InvalidImage, ServiceUnavailable

MIB = 1 << 20
DEFAULT_DECODE_MEMORY_BYTES = 1 << 30  # a 2 GB server: half for pixels, the rest for the rest
DEFAULT_DECODE_WAIT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Cost:
    """What a job will hold at its peak (`peak` bytes), and the most any later job on the same
    input will need (`later`): an upload whose full-size copy could never be rendered here is
    refused at once, not accepted and then unviewable."""

    peak: int
    later: int = 0


@dataclass(eq=False, slots=True)
class _Waiter:
    need: int
    granted: asyncio.Future[None] = field(repr=False)


class PixelBudget:
    def __init__(
        self,
        total_bytes: int = DEFAULT_DECODE_MEMORY_BYTES,
        *,
        max_wait_seconds: float = DEFAULT_DECODE_WAIT_SECONDS,
    ) -> None:
        if total_bytes <= 0:
            raise ValueError("the budget must be positive")
        self.total_bytes = total_bytes
        self.max_wait_seconds = max_wait_seconds
        self._free = total_bytes
        self._waiters: deque[_Waiter] = deque()

    @property
    def in_use(self) -> int:
        return self.total_bytes - self._free

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def check(self, need: int) -> None:
        """Refuse a job that could never fit, whatever else is running."""
        if need > self.total_bytes:
            raise InvalidImage(
                f"decoding this image needs {math.ceil(need / MIB)} MiB, more than this server"
                f" allows for all decoding at once ({self.total_bytes // MIB} MiB,"
                " IMAGEREPO_DECODE_MEMORY_BYTES)"
            )

    async def acquire(self, need: int) -> None:
        """Reserve `need` bytes; the caller must `release` them exactly once."""
        self.check(need)
        need = max(need, 0)
        if not self._waiters and need <= self._free:
            self._free -= need
            return
        waiter = _Waiter(need, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.max_wait_seconds):
                await waiter.granted
        except TimeoutError:
            if _was_granted(waiter):
                return  # granted in the same instant the wait ran out: keep it
            raise ServiceUnavailable(
                "the server is busy decoding other images; try again shortly",
                retry_after=max(1, math.ceil(self.max_wait_seconds / 4)),
            ) from None
        except BaseException:
            if _was_granted(waiter):
                self.release(need)
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                self._wake()

    def release(self, need: int) -> None:
        self._free += max(need, 0)
        self._wake()

    def _wake(self) -> None:
        available = self._free
        for waiter in list(self._waiters):
            if available <= 0:
                break
            if waiter.granted.done():
                continue
            if waiter.need <= available:
                self._waiters.remove(waiter)
                self._free -= waiter.need
                waiter.granted.set_result(None)
            # Whether granted or not, these bytes are spoken for: later waiters get what is
            # left beyond them, so an early large job is not overtaken forever.
            available -= waiter.need


def _was_granted(waiter: _Waiter) -> bool:
    return waiter.granted.done() and not waiter.granted.cancelled()
