"""`create_app`: mounts the HTTP front end on services built by `imagerepo.wiring`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from imagerepo import __version__, web
from imagerepo.api import docs
from imagerepo.api.errors import install_error_handlers
from imagerepo.api.limits import RequestLimits
from imagerepo.api.observability import RequestContext
from imagerepo.api.routes import auth, health, images, search, uploads, users
from imagerepo.api.routes import metrics as metrics_route
from imagerepo.config import Settings, user_data_dir
from imagerepo.services.clock import Clock, utc_now
from imagerepo.services.users import ROOT, RootBootstrap
from imagerepo.wiring import Services, build_services

log = logging.getLogger("imagerepo")


def announce_root(settings: Settings, bootstrap: RootBootstrap) -> None:
    """After a first start that generated root's password: show it once, and say where the
    login was stored for this machine's client."""
    password = bootstrap.generated_password
    if password is None:
        return
    if settings.write_client_login:
        from imagerepo.credentials import save_login  # the client's login store, on this machine

        path = save_login(settings.public_url, ROOT, password, make_default=True)
        log.warning(
            "created user 'root' with password %s (shown once; saved for this machine's"
            " imagerepo client in %s, mode 0600)",
            password,
            path,
        )
    else:
        log.warning("created user 'root' with password %s (shown once)", password)


def announce_library(settings: Settings) -> None:
    log.info("library: %s", settings.data_dir)
    if settings.uses_legacy_data_dir:
        log.warning(
            "using the library in ./data of the working directory (the old default); to use it"
            " from anywhere, move it: mv %s %s (or set IMAGEREPO_DATA_DIR=%s)",
            settings.data_dir,
            user_data_dir(),
            settings.data_dir,
        )
    log.info("serving on %s (API docs: %s/docs)", settings.public_url, settings.public_url)


def create_app(
    settings: Settings, *, services: Services | None = None, clock: Clock = utc_now
) -> FastAPI:
    """Build the ASGI app. Nothing touches disk or database until the lifespan starts.

    With `services`, the app mounts on them as they are (the caller owns their lifetime);
    otherwise the lifespan builds them from `settings` and closes them at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            built = (
                services
                if services is not None
                else await stack.enter_async_context(build_services(settings, clock=clock))
            )
            root_password = (
                settings.root_password.get_secret_value() if settings.root_password else None
            )
            announce_root(settings, await built.users.ensure_root(root_password))
            announce_library(settings)
            app.state.services = built
            if built.collector is not None:  # issue 10: unreferenced blobs, expired uploads
                await stack.enter_async_context(built.collector.every(settings.gc_interval_seconds))
            yield

    app = FastAPI(
        title="imagerepo",
        version=__version__,
        summary="A self-hosted, multi-user image repository.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(RequestLimits, settings=settings)
    app.add_middleware(RequestContext, settings=settings)  # outermost: client, request id, metrics
    for module in (health, auth, users, images, uploads, search):
        app.include_router(module.router)
    app.include_router(metrics_route.router)
    docs.mount(app)
    web.mount(app)
    return app
