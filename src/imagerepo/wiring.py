"""`build_services`: the composition root, outside any web framework.

The API app, the CLI's local admin commands (`imagerepo admin ...`), job workers and tests all
build their services here, each choosing parts (a clock, a cache) by parameter instead of
monkeypatching module globals. Nothing else knows every implementation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from imagerepo.backends import build_backends, build_incoming
from imagerepo.cache.base import Cache
from imagerepo.config import Settings
from imagerepo.db.engine import create_engine, prepare_schema, session_factory
from imagerepo.db.health import ping as ping_database
from imagerepo.db.locks import AdvisoryLocks
from imagerepo.db.readers import SessionReader, ThreadReader, reader_for
from imagerepo.db.repos.blobs import BlobRepository
from imagerepo.db.repos.direct_uploads import DirectUploadRepository
from imagerepo.db.repos.image_states import ImageStateRepository
from imagerepo.db.repos.images import ImageRepository
from imagerepo.db.repos.sessions import SessionRepository
from imagerepo.db.repos.users import UserRepository
from imagerepo.db.search.postgres import PostgresSearch
from imagerepo.db.search.sqlite import SqliteSearch
from imagerepo.jobs.base import JobQueue, RetryPolicy
from imagerepo.jobs.local import LocalJobQueue
from imagerepo.services.blob_refs import BlobReferences
from imagerepo.services.clock import Clock, utc_now
from imagerepo.services.collector import Collector
from imagerepo.services.derivatives import Derivatives
from imagerepo.services.direct_upload import DirectUploads
from imagerepo.services.images import ImageService
from imagerepo.services.inspection import configure_pillow
from imagerepo.services.passwords import Passwords
from imagerepo.services.pixel_budget import PixelBudget
from imagerepo.services.processing import ImageProcessing
from imagerepo.services.readiness import Check, Readiness
from imagerepo.services.sessions import SessionService
from imagerepo.services.throttle import LoginThrottle
from imagerepo.services.tokens import Tokens
from imagerepo.services.users import UserService
from imagerepo.storage.staging import Staging
from imagerepo.workers import WorkerPool

if TYPE_CHECKING:
    from imagerepo.jobs.postgres_queue import ProcrastinateQueue


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a front end (HTTP API, CLI admin command, worker) calls."""

    settings: Settings
    users: UserService
    images: ImageService
    sessions: SessionService
    readiness: Readiness | None = None  # /readyz, check-config
    # Issue 10: blob references (claims, collector) and direct-to-bucket uploads.
    blob_refs: BlobReferences | None = None
    uploads: DirectUploads | None = None
    collector: Collector | None = None
    processing: ImageProcessing | None = None  # jobs: `imagerepo worker`, queue metrics


@asynccontextmanager
async def build_services(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    cache: Cache | None = None,
    pool: WorkerPool | None = None,
    run_jobs: bool = True,
) -> AsyncIterator[Services]:
    """Open the database (migrating an embedded one), the stores, the cache and the worker
    pool; close them on exit. `clock`, `cache` and `pool` replace the configured ones (tests).

    With no `queue_url`, jobs run in this process while the services are open (`run_jobs`;
    off for one-shot commands); with one, they go to procrastinate and `imagerepo worker`
    runs them."""
    configure_pillow()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    if pool is None:
        budget = PixelBudget(
            settings.decode_memory_bytes, max_wait_seconds=settings.decode_wait_seconds
        )
        pool = WorkerPool(settings.worker_threads, budget=budget)
    backends = build_backends(settings, cache=cache)  # cache, locks, blob stores; lazy
    # Several servers on one PostgreSQL database and no Redis: its advisory locks arbitrate.
    advisory = (
        AdvisoryLocks(settings.resolved_database_url)
        if engine.dialect.name == "postgresql" and not settings.cache_url
        else None
    )
    locks = advisory or backends.locks
    reader: ThreadReader | SessionReader | None = None
    queue = build_queue(settings)
    jobs_task: asyncio.Task[None] | None = None
    try:
        await prepare_schema(engine)  # SQLite: migrate; PostgreSQL: check (`imagerepo migrate`)
        sessions = session_factory(engine)
        staging = Staging(settings.data_dir / "tmp")
        staging.sweep()
        cache, originals = backends.cache, backends.originals
        derivatives = Derivatives(
            backends.derivatives,
            originals,
            staging,
            pool,
            max_image_pixels=settings.max_image_pixels,
            locks=locks,  # render each preview once; originals need no locks (blob_refs)
        )
        blob_refs = BlobReferences(
            BlobRepository(sessions),
            originals,
            derivatives.delete_all,
            clock,
            grace=timedelta(seconds=settings.blob_grace_seconds),
        )
        # Listings run whole on one reader call: one thread hop per page on a SQLite file.
        reader = reader_for(settings.resolved_database_url, sessions)
        image_rows = ImageRepository(sessions, reader)
        processing = ImageProcessing(
            ImageStateRepository(sessions),
            derivatives,
            queue,
            cache,
            clock,
            hash_in_use=image_rows.hash_in_use,
            locks=locks,
            lease_seconds=settings.job_lease_seconds,
        )
        images = ImageService(
            image_rows,
            # The search engine follows the database: FTS5 on SQLite, tsvector and trigrams on
            # PostgreSQL.
            PostgresSearch(reader) if engine.dialect.name == "postgresql" else SqliteSearch(reader),
            originals,
            derivatives,
            staging,
            cache,
            pool,
            clock,
            max_upload_bytes=settings.max_upload_bytes,
            max_image_pixels=settings.max_image_pixels,
            refs=blob_refs,
            processing=processing,
        )
        uploads = DirectUploads(
            DirectUploadRepository(sessions),
            build_incoming(settings),
            images,
            clock,
            max_upload_bytes=settings.max_upload_bytes,
            ttl=timedelta(seconds=settings.direct_upload_ttl_seconds),
        )
        users = UserService(
            UserRepository(sessions, reader),
            Passwords(
                pool, time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
            ),
            Tokens(settings.signing_key(), settings.token_ttl_seconds),
            clock,
            cache,
            owned_images=images,
            throttle=LoginThrottle(
                backends.rate_limiter,
                limit=settings.login_max_failures,
                window_seconds=settings.login_failure_window_seconds,
            ),
        )
        browser_sessions = SessionService(
            SessionRepository(sessions), users, clock, ttl_seconds=settings.session_ttl_seconds
        )
        checks: dict[str, Check] = {"database": partial(ping_database, engine), **backends.checks}
        if queue.durable:
            checks["queue"] = queue.ping
        if run_jobs and not queue.durable:
            jobs_task = asyncio.create_task(
                processing.run(
                    concurrency=settings.job_concurrency, sweep_seconds=settings.job_sweep_seconds
                ),
                name="imagerepo-jobs",
            )
        yield Services(
            settings=settings,
            users=users,
            images=images,
            sessions=browser_sessions,
            readiness=Readiness(checks),
            processing=processing,
            blob_refs=blob_refs,
            uploads=uploads,
            collector=Collector(blob_refs, uploads),
        )
    finally:
        if jobs_task is not None:
            jobs_task.cancel()
            with suppress(asyncio.CancelledError):
                await jobs_task
        await queue.aclose()
        if reader is not None:
            reader.close()
        await engine.dispose()
        pool.shutdown()
        await backends.aclose()
        if advisory is not None:
            await advisory.aclose()


def build_queue(settings: Settings) -> JobQueue:
    """procrastinate on PostgreSQL with `queue_url`, else the in-process queue."""
    if settings.queue_url is None:
        return LocalJobQueue(retry_policy(settings))
    return procrastinate_queue(settings, settings.queue_url)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(settings.job_max_attempts, settings.job_retry_base_seconds)


def procrastinate_queue(settings: Settings, url: str) -> ProcrastinateQueue:
    from imagerepo.jobs.postgres_queue import ProcrastinateQueue  # psycopg only when used

    return ProcrastinateQueue(
        url,
        retry_policy(settings),
        heartbeat_seconds=settings.job_heartbeat_seconds,
        pool_size=settings.job_concurrency + 4,  # + listener, fetcher, heartbeat, enqueues
    )
