"""Direct-to-bucket uploads on real SeaweedFS: presigned PUT, confirm with size and sha256
checks, idempotent confirm, expiry, ownership; 409 on local storage."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from imagerepo.backends import build_incoming
from imagerepo.config import Settings
from imagerepo.errors import NotFound
from imagerepo.storage.s3_incoming import S3Incoming
from imagerepo.wiring import Services, build_services
from tests.api.helpers import assert_error, client_of, on_bucket, sign_in
from tests.conftest import ROOT_PASSWORD, Login
from tests.images import make_image
from tests.manual_clock import ManualClock
from tests.services import S3Service


class CountingTransport(httpx.ASGITransport):
    """Counts the request body bytes that reach the API."""

    body_bytes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        CountingTransport.body_bytes += len(request.read())
        return await super().handle_async_request(request)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def remote(settings: Settings, s3_service: S3Service) -> Settings:
    return on_bucket(settings, s3_service, "direct", gc_interval_seconds=0)


@pytest.fixture
async def on_s3(remote: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    async with build_services(remote, clock=clock) as services:
        yield services


@pytest.fixture
async def api(on_s3: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(on_s3, CountingTransport) as client:
        yield client


@pytest.fixture
async def bucket() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the presigned URLs (straight to SeaweedFS)."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def incoming(remote: Settings) -> S3Incoming:
    found = build_incoming(remote)
    assert found is not None
    return found


@pytest.fixture
async def root(api: httpx.AsyncClient) -> dict[str, str]:
    return await sign_in(api, "root", ROOT_PASSWORD)


async def start(
    api: httpx.AsyncClient, headers: dict[str, str], data: bytes, **override: Any
) -> dict[str, Any]:
    body = {
        "filename": "harbour.jpg",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "visibility": "private",
        "tags": ["sea"],
        **override,
    }
    answer = await api.post("/api/v1/uploads", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    offer: dict[str, Any] = answer.json()
    assert offer["method"] == "PUT" and set(offer) == {
        "id",
        "url",
        "method",
        "headers",
        "expires_at",
    }
    return offer


async def put(bucket: httpx.AsyncClient, offer: dict[str, Any], data: bytes) -> None:
    method, url = offer["method"], offer["url"]
    answer = await bucket.request(method, url, content=data, headers=offer["headers"])
    assert answer.status_code == 200, answer.text


async def confirm(
    api: httpx.AsyncClient, headers: dict[str, str], offer: dict[str, Any]
) -> httpx.Response:
    return await api.post(f"/api/v1/uploads/{offer['id']}/confirm", headers=headers)


async def originals(services: Services) -> list[str]:
    return [key async for key in services.images._blobs.walk()]


async def test_bytes_go_to_the_bucket_and_confirm_records_the_image(
    api: httpx.AsyncClient,
    bucket: httpx.AsyncClient,
    root: dict[str, str],
    incoming: S3Incoming,
    on_s3: Services,
) -> None:
    data = make_image(seed=7, size=(900, 600))
    CountingTransport.body_bytes = 0
    offer = await start(api, root, data)
    await put(bucket, offer, data)
    done = await confirm(api, root, offer)
    assert done.status_code == 201, done.text
    image = done.json()
    assert image["outcome"] == "created" and image["visibility"] == "private"
    assert image["tags"] == ["sea"] and image["filename"] == "harbour.jpg"
    assert image["sha256"] == hashlib.sha256(data).hexdigest() and image["size"] == len(data)
    assert CountingTransport.body_bytes < 1000 < len(data)  # only JSON reached the API
    got = await api.get(f"/api/v1/images/{image['id']}/file", headers=root)
    assert got.status_code == 200 and got.content == data
    thumbnail = await api.get(f"/api/v1/images/{image['id']}/thumbnail", headers=root)
    assert thumbnail.status_code == 200
    with pytest.raises(NotFound):
        await incoming.stat(offer["id"])  # the incoming object is gone
    again = await confirm(api, root, offer)  # idempotent: the same image
    assert again.status_code == 200 and again.json()["id"] == image["id"]
    assert await originals(on_s3) == [image["sha256"]]


@pytest.mark.parametrize(
    ("announce", "status", "code"),
    [
        ({"size": 1}, 422, "validation_error"),
        ({"sha256": "0" * 64}, 422, "validation_error"),
    ],
    ids=["size mismatch", "sha256 mismatch"],
)
async def test_a_mismatch_keeps_nothing(
    api: httpx.AsyncClient,
    bucket: httpx.AsyncClient,
    root: dict[str, str],
    incoming: S3Incoming,
    on_s3: Services,
    announce: dict[str, Any],
    status: int,
    code: str,
) -> None:
    data = make_image(seed=8)
    offer = await start(api, root, data, **announce)
    await put(bucket, offer, data)
    assert_error(await confirm(api, root, offer), status, code)
    with pytest.raises(NotFound):
        await incoming.stat(offer["id"])
    assert_error(await confirm(api, root, offer), 404)  # the upload is gone too
    assert await originals(on_s3) == []


@pytest.mark.parametrize(
    ("data", "status"),
    [(b"hello, I am not an image\n" * 10, 415), (b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50, 422)],
    ids=["text", "broken jpeg"],
)
async def test_bytes_that_are_no_image_keep_nothing(
    api: httpx.AsyncClient,
    bucket: httpx.AsyncClient,
    root: dict[str, str],
    incoming: S3Incoming,
    on_s3: Services,
    data: bytes,
    status: int,
) -> None:
    """The same answer as a normal upload of these bytes (415 not an accepted format, 422
    undecodable), and nothing is left: no original, no incoming object, no upload."""
    offer = await start(api, root, data)
    await put(bucket, offer, data)
    assert_error(await confirm(api, root, offer), status)
    with pytest.raises(NotFound):
        await incoming.stat(offer["id"])
    assert await originals(on_s3) == []
    listing = await api.get("/api/v1/images", headers=root)
    assert listing.json()["items"] == []


async def test_unconfirmed_uploads_are_collected_after_expiry(
    api: httpx.AsyncClient,
    bucket: httpx.AsyncClient,
    root: dict[str, str],
    incoming: S3Incoming,
    on_s3: Services,
    clock: ManualClock,
) -> None:
    data = make_image(seed=9)
    offer = await start(api, root, data)
    await put(bucket, offer, data)
    assert on_s3.collector is not None
    assert (await on_s3.collector.collect()).expired_uploads == 0
    assert (await incoming.stat(offer["id"])).size == len(data)
    clock.advance(minutes=16)
    assert (await on_s3.collector.collect()).expired_uploads == 1
    with pytest.raises(NotFound):
        await incoming.stat(offer["id"])
    assert_error(await confirm(api, root, offer), 404)


async def test_only_the_owner_can_confirm(
    api: httpx.AsyncClient, bucket: httpx.AsyncClient, root: dict[str, str]
) -> None:
    made = await api.post(
        "/api/v1/users", json={"username": "mallory", "password": "mallory-pass"}, headers=root
    )
    assert made.status_code == 201
    mallory = await sign_in(api, "mallory", "mallory-pass")
    data = make_image(seed=10)
    offer = await start(api, root, data)
    assert_error(await confirm(api, root, offer), 409)  # nothing PUT yet
    await put(bucket, offer, data)
    assert_error(await confirm(api, mallory, offer), 404, "not_found")
    assert (await confirm(api, root, offer)).status_code == 201


async def test_limits_are_checked_before_any_url_is_given(
    api: httpx.AsyncClient, root: dict[str, str], on_s3: Services
) -> None:
    too_big = {"filename": "x.jpg", "size": on_s3.settings.max_upload_bytes + 1, "sha256": "a" * 64}
    assert_error(await api.post("/api/v1/uploads", json=too_big, headers=root), 413)
    bad = {"filename": "x.jpg", "size": 10, "sha256": "nope"}
    assert_error(await api.post("/api/v1/uploads", json=bad, headers=root), 422)
    assert_error(await api.post("/api/v1/uploads", json={**bad, "sha256": "a" * 64}), 401)


@pytest.mark.embedded_only("needs the library on local storage; the scaled profile is on S3")
async def test_local_storage_answers_409(http: httpx.AsyncClient, login: Login) -> None:
    body = {"filename": "x.jpg", "size": 10, "sha256": "a" * 64}
    headers = await login("root", ROOT_PASSWORD)  # `root` here is the S3 app's
    answer = await http.post("/api/v1/uploads", json=body, headers=headers)
    assert_error(answer, 409, "conflict")
    assert "POST /api/v1/images" in answer.json()["error"]["message"]


async def test_urls_name_the_public_endpoint_when_one_is_set(
    remote: Settings, bucket: httpx.AsyncClient, clock: ManualClock
) -> None:
    """The server reaches S3 at 127.0.0.1, clients at `localhost`: the URL is signed for the
    host the client will send."""
    assert remote.s3_endpoint is not None
    public = remote.s3_endpoint.replace("127.0.0.1", "localhost")
    settings = remote.model_copy(update={"s3_public_endpoint": public})
    async with build_services(settings, clock=clock) as services, client_of(services) as api:
        root = await sign_in(api, "root", ROOT_PASSWORD)
        data = make_image(seed=11)
        offer = await start(api, root, data)
        assert offer["url"].startswith(f"{public}/")
        await put(bucket, offer, data)
        assert (await confirm(api, root, offer)).status_code == 201
