"""The service as a whole: OpenAPI is served, and slow uploads do not block other requests."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from typing import Any

import httpx
import pytest
from PIL import Image

from imagerepo.services import images as images_service
from tests.api.helpers import upload


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


async def test_a_heavy_upload_does_not_stall_other_requests(
    http: httpx.AsyncClient, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding runs in the worker pool: while it works, the event loop keeps answering.

    The decode is wrapped to record when it starts and ends; requests made in between must be
    answered before it ends. Run inline on the loop, nothing could be answered in between.
    """
    started, finished = threading.Event(), threading.Event()
    real = images_service.analyse_upload

    def observed(*args: Any, **kwargs: Any) -> Any:
        started.set()
        try:
            return real(*args, **kwargs)
        finally:
            finished.set()

    monkeypatch.setattr(images_service, "analyse_upload", observed)
    out = io.BytesIO()
    Image.frombytes("RGB", (4000, 3000), os.urandom(4000 * 3000 * 3)).save(
        out, "PNG", compress_level=1
    )
    heavy = asyncio.create_task(upload(http, alice, out.getvalue(), name="big.png"))
    await asyncio.to_thread(started.wait, 30)
    answer = await http.get("/api/v1/users/me", headers=alice)
    assert answer.status_code == 200
    assert not finished.is_set(), "the request waited for the decode to finish"
    image = await heavy
    assert (image["width"], image["height"]) == (4000, 3000)
