"""The in-process queue: the embedded profile's jobs, run by asyncio tasks in the server.

No extra service: an `asyncio.Queue` of image ids and `concurrency` worker tasks. Heavy work
still happens in the worker pool (`WorkerPool`, under the pixel budget), so a job competes with
requests for decoding memory exactly as an on-request render does. A retry waits on a timer,
not in a worker, so one failing image never holds a worker through its backoff.

Nothing here survives the process: jobs waiting at a restart are found again from
`images.state` (`durable = False`; see `services.processing.run_jobs`).
"""

from __future__ import annotations

import asyncio
import logging

from imagerepo.jobs.base import JobHandler, RetryPolicy
from imagerepo.metrics import JOB_FAILURES

log = logging.getLogger("imagerepo.jobs")


class LocalJobQueue:
    durable = False

    def __init__(self, retry: RetryPolicy) -> None:
        self._retry = retry
        self._queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self._waiting: set[str] = set()  # ids queued and not yet taken: no duplicates
        self._timers: dict[str, asyncio.TimerHandle] = {}  # retries waiting out their backoff

    async def enqueue(self, image_id: str) -> None:
        self._put(image_id, 0)

    def _put(self, image_id: str, failures: int) -> None:
        if image_id in self._waiting:
            return
        self._waiting.add(image_id)
        self._queue.put_nowait((image_id, failures))

    async def pending(self) -> int:
        return self._queue.qsize()

    async def recover_stalled(self) -> int:
        return 0  # a job of this process is running, or was lost with a previous one

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def work(self, handler: JobHandler, *, concurrency: int) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(concurrency):
                    group.create_task(self._worker(handler))
        finally:
            for timer in self._timers.values():
                timer.cancel()  # those images are still `processing`: found again at start
            self._timers.clear()

    async def _worker(self, handler: JobHandler) -> None:
        while True:
            image_id, failures = await self._queue.get()
            self._waiting.discard(image_id)
            job = asyncio.ensure_future(self._run(handler, image_id, failures))
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                # Stopping: a job is never cut in half (a render in a thread, a staged file, a
                # lock held on the database); it is bounded, so let it finish, then stop.
                await job
                raise

    async def _run(self, handler: JobHandler, image_id: str, failures: int) -> None:
        try:
            await handler.process(image_id)
            return
        except Exception as exc:  # any failure of a job is retried, then recorded
            if (task := asyncio.current_task()) is not None and task.cancelling():
                raise asyncio.CancelledError from exc  # stopping: a cancel turned into an error
            failures += 1
            JOB_FAILURES.inc()
            reason = f"{type(exc).__name__}: {exc}"
        if failures >= self._retry.max_attempts:
            log.warning("job for image %s failed %d times: %s", image_id, failures, reason)
            try:
                await handler.give_up(image_id, reason)
            except Exception as exc:  # noqa: BLE001 - the recovery sweep tries the image again
                log.warning("could not record the failure of image %s: %s", image_id, exc)
            return
        delay = self._retry.delay(failures)
        log.info("job for image %s failed (%s); retry in %g s", image_id, reason, delay)
        self._timers[image_id] = asyncio.get_running_loop().call_later(
            delay, self._retry_now, image_id, failures
        )

    def _retry_now(self, image_id: str, failures: int) -> None:
        self._timers.pop(image_id, None)
        self._put(image_id, failures)
