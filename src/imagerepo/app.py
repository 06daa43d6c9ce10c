"""`create_app`: the one place that knows every layer and wires them together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from imagerepo import __version__
from imagerepo.api.deps import Services
from imagerepo.api.errors import install_error_handlers
from imagerepo.api.routes import auth, health, images, users
from imagerepo.cache.base import Cache, NoCache
from imagerepo.cache.memory import MemoryCache
from imagerepo.config import Settings
from imagerepo.db.engine import create_engine, migrate, session_factory
from imagerepo.db.repos.images import ImageRepository
from imagerepo.db.repos.users import UserRepository
from imagerepo.services.clock import Clock, utc_now
from imagerepo.services.derivatives import Derivatives
from imagerepo.services.images import ImageService
from imagerepo.services.inspection import configure_pillow
from imagerepo.services.passwords import Passwords
from imagerepo.services.tokens import Tokens
from imagerepo.services.users import ROOT, RootBootstrap, UserService
from imagerepo.storage.local import LocalBlobStore
from imagerepo.storage.staging import Staging
from imagerepo.workers import WorkerPool

log = logging.getLogger("imagerepo")


def build_cache(settings: Settings) -> Cache:
    if settings.cache_size == 0 or settings.cache_ttl_seconds == 0:
        return NoCache()
    return MemoryCache(settings.cache_size, settings.cache_ttl_seconds)


def announce_root(settings: Settings, bootstrap: RootBootstrap) -> None:
    """Tell the operator how to act as root after a first start that generated its password."""
    if bootstrap.generated_password is None:
        return
    if settings.write_client_login:
        from imagerepo.credentials import save_login  # the client's login store, on this machine

        path = save_login(
            settings.public_url, ROOT, bootstrap.generated_password, make_default=True
        )
        log.warning("created user 'root'; its generated password is stored in %s (mode 0600)", path)
    else:
        log.warning("created user 'root' with generated password: %s", bootstrap.generated_password)


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    """Build the ASGI app. Nothing touches disk or database until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_pillow()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.resolved_database_url)
        pool = WorkerPool(settings.worker_threads)
        try:
            await migrate(engine)
            sessions = session_factory(engine)
            staging = Staging(settings.data_dir / "tmp")
            staging.sweep()
            passwords = Passwords(
                pool, time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
            )
            cache = build_cache(settings)
            user_service = UserService(
                UserRepository(sessions),
                passwords,
                Tokens(settings.signing_key(), settings.token_ttl_seconds),
                clock,
                cache,
            )
            originals = LocalBlobStore(settings.blob_dir)
            derivatives = Derivatives(
                LocalBlobStore(settings.derivative_dir),
                originals,
                staging,
                pool,
                max_image_pixels=settings.max_image_pixels,
            )
            image_service = ImageService(
                ImageRepository(sessions),
                originals,
                derivatives,
                staging,
                cache,
                pool,
                clock,
                max_upload_bytes=settings.max_upload_bytes,
                max_image_pixels=settings.max_image_pixels,
            )
            root_password = (
                settings.root_password.get_secret_value() if settings.root_password else None
            )
            announce_root(settings, await user_service.ensure_root(root_password))
            app.state.services = Services(users=user_service, images=image_service)
            yield
        finally:
            await engine.dispose()
            pool.shutdown()

    app = FastAPI(
        title="imagerepo",
        version=__version__,
        summary="A self-hosted, multi-user image repository.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (health, auth, users, images):
        app.include_router(module.router)
    return app
