"""The scaled profile's job queue: procrastinate, on the PostgreSQL database of the rows.

Why procrastinate: the jobs live in the same durable database as the images (no extra service
to run, back up or lose; a job is a row that survives any crash of a worker or server),
workers heartbeat so the jobs of a dead one are found (`recover_stalled`), retries with backoff
are built in, LISTEN/NOTIFY wakes a worker as soon as a job is deferred, and the queue depth is
one SQL count. It talks to PostgreSQL through psycopg 3, a second driver beside asyncpg (the
rows' driver), used only here.

`imagerepo migrate` applies procrastinate's schema (`apply_schema`); `imagerepo worker` runs
`work`; API servers only `enqueue`. Errors of procrastinate or psycopg become
`ServiceUnavailable` where they enter.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions as procrastinate_errors

from imagerepo.errors import ServiceUnavailable
from imagerepo.jobs.base import JobHandler, RetryPolicy
from imagerepo.metrics import JOB_FAILURES

log = logging.getLogger("imagerepo.jobs")

TASK = "imagerepo.process_image"
QUEUE = "images"
_PENDING = (
    "SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'todo' AND queue_name = %(q)s"
)
_SCHEMA = "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"


def conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy one: `postgresql+asyncpg://...` → `postgresql://...`."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


class ProcrastinateQueue:
    durable = True

    def __init__(
        self,
        url: str,
        retry: RetryPolicy,
        *,
        heartbeat_seconds: float = 10.0,
        pool_size: int = 4,
    ) -> None:
        self._retry = retry
        self._heartbeat = heartbeat_seconds
        self._connector = procrastinate.PsycopgConnector(
            conninfo=conninfo(url), min_size=1, max_size=pool_size
        )
        self._app = procrastinate.App(connector=self._connector)
        self._opened = False

    async def _open(self) -> None:
        if not self._opened:
            try:
                await self._app.open_async()
            except (psycopg.Error, procrastinate_errors.ProcrastinateException, OSError) as exc:
                # The connector keeps a pool that failed to open: drop it, so that the next
                # call tries afresh once PostgreSQL is back.
                with suppress(psycopg.Error, procrastinate_errors.ProcrastinateException):
                    await self._app.close_async()
                raise ServiceUnavailable(f"job queue (PostgreSQL) failed: {exc}") from exc
            self._opened = True

    async def aclose(self) -> None:
        if self._opened:
            self._opened = False
            await self._app.close_async()

    async def enqueue(self, image_id: str) -> None:
        await self._open()
        task = self._app.configure_task(TASK, queue=QUEUE, lock=image_id, queueing_lock=image_id)
        try:
            await task.defer_async(image_id=image_id)
        except procrastinate_errors.AlreadyEnqueued:
            return  # a job for this image is already waiting: one is enough
        except (psycopg.Error, procrastinate_errors.ProcrastinateException) as exc:
            raise ServiceUnavailable(f"job queue (PostgreSQL) failed: {exc}") from exc

    async def pending(self) -> int:
        row = await self._query(_PENDING, q=QUEUE)
        return int(row["n"])

    async def ping(self) -> None:
        if not (await self._query(_SCHEMA))["present"]:
            raise ServiceUnavailable("the job queue's tables are missing: run `imagerepo migrate`")

    async def has_schema(self) -> bool:
        return bool((await self._query(_SCHEMA))["present"])

    async def apply_schema(self) -> bool:
        """Create procrastinate's tables unless they exist; whether it did."""
        if await self.has_schema():
            return False
        await self._app.schema_manager.apply_schema_async()
        return True

    async def recover_stalled(self) -> int:
        """Jobs `doing` on a worker without a heartbeat for three intervals go back to `todo`."""
        await self._open()
        manager = self._app.job_manager
        recovered = 0
        try:
            stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=3 * self._heartbeat)
            for job in stalled:
                try:
                    await manager.retry_job(job)
                    recovered += 1
                except procrastinate_errors.ProcrastinateException as exc:
                    log.warning("could not hand out stalled job %s again: %s", job.id, exc)
        except (psycopg.Error, procrastinate_errors.ProcrastinateException) as exc:
            raise ServiceUnavailable(f"job queue (PostgreSQL) failed: {exc}") from exc
        return recovered

    async def work(self, handler: JobHandler, *, concurrency: int) -> None:
        await self._open()
        retry = procrastinate.RetryStrategy(
            max_attempts=self._retry.max_attempts - 1,  # procrastinate counts the re-runs
            exponential_wait=self._retry.backoff_seconds,
        )
        last_attempt = self._retry.max_attempts - 1

        @self._app.task(name=TASK, queue=QUEUE, retry=retry, pass_context=True)
        async def process_image(context: procrastinate.JobContext, image_id: str) -> None:
            try:
                await handler.process(image_id)
            except Exception as exc:
                JOB_FAILURES.inc()
                if context.job.attempts >= last_attempt:  # runs before this one
                    await handler.give_up(image_id, f"{type(exc).__name__}: {exc}")
                raise

        await self._app.run_worker_async(
            queues=[QUEUE],
            concurrency=concurrency,
            install_signal_handlers=False,  # the command's own handlers stop it (cancel)
            update_heartbeat_interval=self._heartbeat,
            stalled_worker_timeout=3 * self._heartbeat,
            delete_jobs="successful",
        )

    async def _query(self, query: Any, **arguments: Any) -> dict[str, Any]:
        await self._open()
        try:
            row: dict[str, Any] = await self._connector.execute_query_one_async(query, **arguments)
        except (psycopg.Error, procrastinate_errors.ProcrastinateException) as exc:
            raise ServiceUnavailable(f"job queue (PostgreSQL) failed: {exc}") from exc
        return row


__all__ = ["ProcrastinateQueue", "conninfo"]
