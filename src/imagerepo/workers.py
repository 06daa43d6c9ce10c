"""A bounded pool for CPU-bound work (decoding, hashing) so it never runs on the event loop.

Pillow and hashlib release the GIL while they work, so threads give real parallelism here; the
semaphore bounds how many jobs wait in memory at once, not just how many run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class WorkerPool:
    def __init__(self, threads: int = 0) -> None:
        self.size = threads or os.cpu_count() or 2
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="imagerepo")
        self._slots = asyncio.Semaphore(self.size * 2)

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, lambda: func(*args, **kwargs))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
