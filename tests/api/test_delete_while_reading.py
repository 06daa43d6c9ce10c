"""A download that was answered is never cut short by a delete landing afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from imagerepo.app import create_app
from imagerepo.config import Settings
from imagerepo.errors import NotFound
from imagerepo.policy import Viewer
from imagerepo.services.images import ImageFile
from imagerepo.wiring import Services, build_services
from tests.api.helpers import upload
from tests.conftest import ROOT_PASSWORD
from tests.images import make_image


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with build_services(settings) as built:
        yield built


async def read_all(opened: ImageFile) -> bytes:
    """The bytes of an answer opened before the delete: an open local file (embedded profile)
    or a pinned S3 read handle (scaled profile)."""
    if opened.file is not None:
        with opened.file:
            return opened.file.read()
    assert opened.blob is not None
    async with opened.blob as blob:
        return b"".join([chunk async for chunk in blob])


async def test_open_file_survives_a_delete(services: Services, settings: Settings) -> None:
    app = create_app(settings, services=services)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        token = (
            await http.post(
                "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        data = make_image(seed=9, size=(320, 240))
        image = await upload(http, headers, data, name="going.jpg")
        owner = Viewer.of(await services.users.authenticate(token))

        original = await services.images.open_file(owner, image["id"])
        preview = await services.images.derivative(owner, image["id"], "preview", "webp")
        await services.images.delete(owner, image["id"])
        assert await read_all(original) == data
        assert (await read_all(preview))[:4] == b"RIFF"

        with pytest.raises(NotFound):
            await services.images.open_file(owner, image["id"])
        gone = await http.get(f"/api/v1/images/{image['id']}/file", headers=headers)
        assert gone.status_code == 404


async def test_ranges_and_head_still_work(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    data = make_image(seed=10, size=(200, 150))
    image = await upload(http, alice, data)
    url = f"/api/v1/images/{image['id']}/file"
    part = await http.get(url, headers={**alice, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    parts = await http.get(url, headers={**alice, "Range": "bytes=0-1,5-6"})
    if parts.status_code == 200:  # several ranges may be answered whole (RFC 9110 14.2): S3
        assert parts.content == data
    else:  # a local file: multipart/byteranges
        assert parts.status_code == 206
        assert data[0:2] in parts.content and data[5:7] in parts.content
    head = await http.head(url, headers=alice)
    assert head.status_code in (200, 405)
    whole = await http.get(url, headers=alice)
    assert whole.content == data and whole.headers["content-length"] == str(len(data))
