"""`build_services`: the composition root, outside any web framework.

The API app, the CLI's local admin commands (`imagerepo admin ...`), job workers and tests all
build their services here, each choosing parts (a clock, a cache) by parameter instead of
monkeypatching module globals. Nothing else knows every implementation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from imagerepo.cache.base import Cache, NoCache
from imagerepo.cache.memory import MemoryCache
from imagerepo.config import Settings
from imagerepo.db.engine import create_engine, migrate, session_factory
from imagerepo.db.repos.images import ImageRepository
from imagerepo.db.repos.sessions import SessionRepository
from imagerepo.db.repos.users import UserRepository
from imagerepo.services.clock import Clock, utc_now
from imagerepo.services.derivatives import Derivatives
from imagerepo.services.images import ImageService
from imagerepo.services.inspection import configure_pillow
from imagerepo.services.passwords import Passwords
from imagerepo.services.sessions import SessionService
from imagerepo.services.tokens import Tokens
from imagerepo.services.users import UserService
from imagerepo.storage.local import LocalBlobStore
from imagerepo.storage.staging import Staging
from imagerepo.workers import WorkerPool


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a front end (HTTP API, CLI admin command, worker) calls."""

    settings: Settings
    users: UserService
    images: ImageService
    sessions: SessionService


def build_cache(settings: Settings) -> Cache:
    if settings.cache_size == 0 or settings.cache_ttl_seconds == 0:
        return NoCache()
    return MemoryCache(settings.cache_size, settings.cache_ttl_seconds)


@asynccontextmanager
async def build_services(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    cache: Cache | None = None,
    pool: WorkerPool | None = None,
) -> AsyncIterator[Services]:
    """Open the database (migrating it), the stores, the cache and the worker pool; close them
    on exit. `clock`, `cache` and `pool` replace the configured ones (tests)."""
    configure_pillow()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    pool = pool if pool is not None else WorkerPool(settings.worker_threads)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        staging = Staging(settings.data_dir / "tmp")
        staging.sweep()
        cache = cache if cache is not None else build_cache(settings)
        originals = LocalBlobStore(settings.blob_dir)
        images = ImageService(
            ImageRepository(sessions),
            originals,
            Derivatives(
                LocalBlobStore(settings.derivative_dir),
                originals,
                staging,
                pool,
                max_image_pixels=settings.max_image_pixels,
            ),
            staging,
            cache,
            pool,
            clock,
            max_upload_bytes=settings.max_upload_bytes,
            max_image_pixels=settings.max_image_pixels,
        )
        users = UserService(
            UserRepository(sessions),
            Passwords(
                pool, time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
            ),
            Tokens(settings.signing_key(), settings.token_ttl_seconds),
            clock,
            cache,
            owned_images=images,
        )
        browser_sessions = SessionService(
            SessionRepository(sessions), users, clock, ttl_seconds=settings.session_ttl_seconds
        )
        yield Services(settings=settings, users=users, images=images, sessions=browser_sessions)
    finally:
        await engine.dispose()
        pool.shutdown()
