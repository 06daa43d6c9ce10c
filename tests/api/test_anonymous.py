"""Anonymous visitors: public images on every read route, nothing private, no writes.

The original design says public images are ones "anyone can access"; `IMAGEREPO_ANONYMOUS_READ
=false` closes every route to visitors without a login.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.api.helpers import assert_error, upload
from tests.images import EXIF_SAMPLES, make_image

ANON: dict[str, str] = {}


def _recompressed(data: bytes) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, format="JPEG", quality=60)
    return out.getvalue()


@pytest.fixture
async def pair(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same picture twice (a near-duplicate pair): one public, one private."""
    public = await upload(
        http, alice, make_image(seed=7, size=(256, 192)), name="harbour.jpg", description="boats"
    )
    private = await upload(
        http,
        alice,
        _recompressed(make_image(seed=7, size=(256, 192))),
        name="harbour_secret.jpg",
        description="boats hidden",
        visibility="private",
    )
    return public, private


async def test_anonymous_reads_public_images_on_every_read_route(
    http: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    public, _ = pair
    image_id = public["id"]
    listing = await http.get("/api/v1/images", headers=ANON)
    assert listing.status_code == 200
    assert [i["id"] for i in listing.json()["items"]] == [image_id]
    found = await http.get("/api/v1/images", params={"keywords": "boats"}, headers=ANON)
    assert [i["id"] for i in found.json()["items"]] == [image_id]
    by_owner = await http.get("/api/v1/images", params={"owner": "alice"}, headers=ANON)
    assert [i["id"] for i in by_owner.json()["items"]] == [image_id]
    meta = await http.get(f"/api/v1/images/{image_id}", headers=ANON)
    assert meta.status_code == 200 and meta.json()["description"] == "boats"
    for kind in ("thumbnail", "preview", "file"):
        answer = await http.get(f"/api/v1/images/{image_id}/{kind}", headers=ANON)
        assert answer.status_code == 200, (kind, answer.text)
        assert answer.headers["content-type"].startswith("image/")
    similar = await http.get(f"/api/v1/images/{image_id}/similar", headers=ANON)
    assert similar.status_code == 200 and similar.json()["items"] == []


async def test_anonymous_never_sees_a_private_image_or_a_trace_of_it(
    http: httpx.AsyncClient,
    alice: dict[str, str],
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    public, private = pair
    image_id = private["id"]
    for suffix in ("", "/file", "/thumbnail", "/preview", "/similar"):
        answer = await http.get(f"/api/v1/images/{image_id}{suffix}", headers=ANON)
        assert_error(answer, 404, "not_found")
        missing = await http.get(f"/api/v1/images/{'x' * 22}{suffix}", headers=ANON)
        assert missing.json() == answer.json()
    for params in ({}, {"keywords": "hidden"}, {"owner": "alice"}, {"limit": 1}):
        body = (await http.get("/api/v1/images", params=params, headers=ANON)).json()
        assert image_id not in str(body) and "hidden" not in str(body)
        if params.get("limit") == 1:
            assert body["next_cursor"] is None  # no page hints at a private image
    # The owner's /similar finds the private near-duplicate; anonymous /similar does not.
    mine = await http.get(f"/api/v1/images/{public['id']}/similar", headers=alice)
    assert [i["id"] for i in mine.json()["items"]] == [image_id]


async def test_anonymous_cannot_write_anything(
    http: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    image_id = pair[0]["id"]
    for method, path, kwargs in (
        ("POST", "/api/v1/images", {"files": {"file": ("a.jpg", make_image())}}),
        ("POST", "/api/v1/images/check", {"json": {"sha256": ["0" * 64]}}),
        ("PATCH", f"/api/v1/images/{image_id}", {"json": {"visibility": "private"}}),
        ("DELETE", f"/api/v1/images/{image_id}", {}),
        ("GET", "/api/v1/users/me", {}),
        ("POST", "/api/v1/users", {"json": {"username": "eve", "password": "x" * 12}}),
    ):
        answer = await http.request(method, path, headers=ANON, **kwargs)
        assert_error(answer, 401)
    assert (await http.get(f"/api/v1/images/{image_id}", headers=ANON)).json()["visibility"] == (
        "public"
    )


async def test_anonymous_gets_no_location_and_a_clean_copy(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    data = (EXIF_SAMPLES / "jpg/gps/DSCN0010.jpg").read_bytes()
    image = await upload(http, alice, data, name="gps.jpg")
    meta = (await http.get(f"/api/v1/images/{image['id']}", headers=ANON)).json()
    assert "gps_latitude" not in meta["metadata"]
    file = await http.get(f"/api/v1/images/{image['id']}/file", headers=ANON)
    assert file.status_code == 200 and file.content != data
    assert b"Exif" not in file.content[:4096]


@pytest.fixture
async def closed_http(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    closed = settings.model_copy(update={"anonymous_read": False})
    app = create_app(closed)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client


async def test_anonymous_read_can_be_turned_off(closed_http: httpx.AsyncClient) -> None:
    from tests.conftest import ROOT_PASSWORD

    token = (
        await closed_http.post(
            "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
        )
    ).json()["access_token"]
    root = {"Authorization": f"Bearer {token}"}
    image = await upload(closed_http, root, make_image(seed=3), name="pub.jpg")
    for suffix in ("", f"/{image['id']}", f"/{image['id']}/file", f"/{image['id']}/thumbnail"):
        answer = await closed_http.get(f"/api/v1/images{suffix}", headers=ANON)
        assert_error(answer, 401)
        assert "no anonymous access" in answer.json()["error"]["message"]
    assert (await closed_http.get(f"/api/v1/images/{image['id']}", headers=root)).status_code == 200
