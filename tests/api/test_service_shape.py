"""The service as a whole: OpenAPI is served, and slow uploads do not block other requests."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import httpx
from PIL import Image

from imagerepo.app import create_app
from imagerepo.config import Settings
from imagerepo.wiring import build_services
from imagerepo.workers import WorkerPool
from tests.api.helpers import upload
from tests.conftest import ROOT_PASSWORD

P = ParamSpec("P")
T = TypeVar("T")


async def test_openapi_describes_every_route(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    paths = set(spec["paths"])
    assert {
        "/healthz",
        "/api/v1/auth/token",
        "/api/v1/users",
        "/api/v1/users/me",
        "/api/v1/images",
        "/api/v1/images/check",
        "/api/v1/images/{image_id}",
        "/api/v1/images/{image_id}/file",
        "/api/v1/images/{image_id}/thumbnail",
        "/api/v1/images/{image_id}/preview",
        "/api/v1/images/{image_id}/similar",
    } <= paths
    upload_body = spec["paths"]["/api/v1/images"]["post"]["requestBody"]
    assert "file" in upload_body["content"]["multipart/form-data"]["schema"]["properties"]
    assert (await http.get("/docs")).status_code == 200


class ObservedPool(WorkerPool):
    """The real pool, noting when a job starts and ends (chosen through `build_services`)."""

    def __init__(self) -> None:
        super().__init__(2)
        self.started, self.finished = threading.Event(), threading.Event()

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        def observed() -> T:
            self.started.set()
            try:
                return func(*args, **kwargs)
            finally:
                self.finished.set()

        return await super().run(observed)


async def test_a_heavy_upload_does_not_stall_other_requests(settings: Settings) -> None:
    """Decoding runs in the worker pool: while it works, the event loop keeps answering.

    The pool records when the decode starts and ends; requests made in between must be
    answered before it ends. Run inline on the loop, nothing could be answered in between.
    """
    pool = ObservedPool()
    async with build_services(settings, pool=pool) as services:
        app = create_app(settings, services=services)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
        ):
            form = {"username": "root", "password": ROOT_PASSWORD}
            token = (await http.post("/api/v1/auth/token", data=form)).json()["access_token"]
            root = {"Authorization": f"Bearer {token}"}
            out = io.BytesIO()
            Image.frombytes("RGB", (4000, 3000), os.urandom(4000 * 3000 * 3)).save(
                out, "PNG", compress_level=1
            )
            pool.started.clear()
            pool.finished.clear()
            heavy = asyncio.create_task(upload(http, root, out.getvalue(), name="big.png"))
            await asyncio.to_thread(pool.started.wait, 30)
            answer = await http.get("/api/v1/users/me", headers=root)
            assert answer.status_code == 200
            assert not pool.finished.is_set(), "the request waited for the decode to finish"
            image = await heavy
            assert (image["width"], image["height"]) == (4000, 3000)
