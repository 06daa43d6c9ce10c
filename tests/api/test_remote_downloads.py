"""Downloads from an S3-compatible store (real SeaweedFS): pinned before the answer starts, so a
delete cannot cut them short; one byte range → 206, past the end → 416; names and lengths set."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from imagerepo.config import Settings
from imagerepo.errors import NotFound
from imagerepo.policy import Viewer
from imagerepo.wiring import Services, build_services
from tests.api.helpers import client_of, on_bucket, sign_in, upload
from tests.conftest import ROOT_PASSWORD
from tests.images import make_image
from tests.services import S3Service


@pytest.fixture
async def on_s3(settings: Settings, s3_service: S3Service) -> AsyncIterator[Services]:
    async with build_services(on_bucket(settings, s3_service, "downloads")) as services:
        yield services


@pytest.fixture
async def http(on_s3: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(on_s3) as client:
        yield client


@pytest.fixture
async def root(http: httpx.AsyncClient) -> dict[str, str]:
    return await sign_in(http, "root", ROOT_PASSWORD)


async def test_whole_ranges_and_names(http: httpx.AsyncClient, root: dict[str, str]) -> None:
    data = make_image(seed=21, size=(300, 200))
    image = await upload(http, root, data, name="über harbour.jpg")
    url = f"/api/v1/images/{image['id']}/file"
    whole = await http.get(url, headers=root)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-length"] == str(len(data))
    assert whole.headers["accept-ranges"] == "bytes"
    assert "filename*=utf-8''%C3%BCber%20harbour.jpg" in whole.headers["content-disposition"]
    part = await http.get(url, headers={**root, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = await http.get(url, headers={**root, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    past = await http.get(url, headers={**root, "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(data)}"
    several = await http.get(url, headers={**root, "Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == data  # allowed: the whole object
    preview = await http.get(f"/api/v1/images/{image['id']}/preview", headers=root)
    assert preview.status_code == 200 and preview.content[:4] == b"RIFF"
    assert preview.headers["content-length"] == str(len(preview.content))


async def test_a_pinned_download_survives_a_delete(
    http: httpx.AsyncClient, root: dict[str, str], on_s3: Services
) -> None:
    data = make_image(seed=22, size=(320, 240))
    image = await upload(http, root, data, name="going.jpg")
    token = root["Authorization"].removeprefix("Bearer ")
    owner = Viewer.of(await on_s3.users.authenticate(token))
    original = await on_s3.images.open_file(owner, image["id"])
    await on_s3.images.delete(owner, image["id"])
    assert original.blob is not None
    received = b"".join([chunk async for chunk in original.blob])
    await original.blob.aclose()
    assert received == data
    with pytest.raises(NotFound):
        await on_s3.images.open_file(owner, image["id"])
