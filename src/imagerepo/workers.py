"""A bounded pool for CPU-bound work (decoding, hashing) so it never runs on the event loop.

Pillow and hashlib release the GIL while they work, so threads give real parallelism here; the
semaphore bounds how many jobs wait in memory at once, not just how many run.

Decodes are `CostlyJob`s: the pool first runs the job's `estimate` (headers only), reserves that
many bytes from the `PixelBudget` on the event loop, and only then hands the job to a thread. The
bytes and the pool slot come back when the thread finishes, even if the request that wanted the
job was cancelled meanwhile: that thread still holds the pixels until it ends.

The pool's threads run at a lower CPU priority than the event loop (`nice` +5 on Linux): with
more decodes than cores, the loop thread still gets a core at once when a request arrives, so
requests that need no decoding (health checks, listings) stay fast while bombs are decoded.

Memory a decode frees must go back to the system, or a burst of bombs leaves the process gigabytes
larger for good. glibc would keep it: after the first large block is freed it raises its mmap
threshold (to 32 MiB), so later image blocks come from per-thread heaps that rarely shrink. The
pool fixes the threshold at start and trims the heaps after every large job (`_tune_allocator`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from imagerepo.services.pixel_budget import Cost, PixelBudget

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("imagerepo")

#: Allocations this large are mapped on their own and unmapped when freed (glibc's default is
#: dynamic: 128 KiB, rising to 32 MiB after the first large free, which is what kept RSS high).
MMAP_THRESHOLD = 4 << 20
#: After a job that reserved this much, return the free pages of every malloc heap at once.
TRIM_AFTER_BYTES = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
WORKER_NICENESS = 5


@dataclass(frozen=True, slots=True)
class CostlyJob(Generic[P, T]):
    """Work whose memory is reserved before it runs.

    `estimate` reads headers only (it may refuse the input) and returns the `Cost` of `work`;
    the pool runs it first, unreserved, then reserves `cost.peak` bytes and runs `work` with the
    same arguments. Calling the job directly runs both with no budget (tests, scripts).
    """

    estimate: Callable[P, Cost]
    work: Callable[P, T]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        self.estimate(*args, **kwargs)
        return self.work(*args, **kwargs)


class WorkerPool:
    def __init__(self, threads: int = 0, *, budget: PixelBudget | None = None) -> None:
        self.size = threads or os.cpu_count() or 2
        self.budget = budget or PixelBudget()
        _tune_allocator()
        self._executor = ThreadPoolExecutor(
            max_workers=self.size, thread_name_prefix="imagerepo", initializer=_lower_priority
        )
        self._slots = asyncio.Semaphore(self.size * 2)

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if isinstance(func, CostlyJob):
            cost: Cost = await self._submit(0, func.estimate, *args, **kwargs)
            self.budget.check(cost.later)
            await self.budget.acquire(cost.peak)
            return await self._submit(cost.peak, func.work, *args, **kwargs)
        return await self._submit(0, func, *args, **kwargs)

    async def _submit(self, reserved: int, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `func` in a thread; the slot (and `reserved` budget bytes, already acquired) are
        given back when the thread is done with it, whatever happens to the awaiting task."""
        loop = asyncio.get_running_loop()
        try:
            await self._slots.acquire()
        except BaseException:
            self.budget.release(reserved)
            raise

        def give_back(_: Future[T]) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody to hand back to
                loop.call_soon_threadsafe(self._give_back, reserved)

        try:
            future = self._executor.submit(_call, reserved, func, args, kwargs)
        except BaseException:
            self._give_back(reserved)
            raise
        future.add_done_callback(give_back)
        return await asyncio.wrap_future(future)

    def _give_back(self, reserved: int) -> None:
        self._slots.release()
        self.budget.release(reserved)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _call(reserved: int, func: Callable[..., T], args: Any, kwargs: Any) -> T:
    """In the worker thread: run `func`; after a large job, free its pixels before returning.

    An exception's traceback keeps every frame's locals (the decoded image among them) alive
    until the error has been answered; clearing the frames lets the trim below see them freed.
    """
    try:
        return func(*args, **kwargs)
    except BaseException as exc:
        _clear_frames(exc)
        raise
    finally:
        if reserved >= TRIM_AFTER_BYTES:
            release_free_memory()


def _lower_priority() -> None:
    """Linux only: a thread's nice value is its own (setpriority with its thread id)."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS
            )


def _clear_frames(exc: BaseException | None) -> None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if exc.__traceback__ is not None:
            traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def _tune_allocator() -> None:
    """glibc only (elsewhere a no-op): a fixed mmap threshold, so image blocks (Pillow allocates
    16 MiB at a time) are always their own mappings and go back to the system when freed; a
    fixed threshold also stops glibc from raising the trim threshold with it."""
    if _LIBC is None:
        return
    _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    _LIBC.mallopt(_M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD)


def release_free_memory() -> None:
    """Give the free pages of every malloc heap (each thread has its own) back to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
