"""Restarts keep everything; concurrent writers of the same bytes keep exactly one image."""

from __future__ import annotations

import asyncio

import httpx

from imagerepo.app import create_app
from imagerepo.config import Settings
from tests.api.helpers import upload
from tests.conftest import ROOT_PASSWORD
from tests.images import make_image


async def test_restart_keeps_users_images_and_tokens(settings: Settings) -> None:
    settings = settings.model_copy(update={"secret_key": None})  # key generated into data_dir
    data = make_image(seed=5)

    async def started() -> tuple[object, httpx.AsyncClient]:
        app = create_app(settings)
        return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    app, http = await started()
    async with app.router.lifespan_context(app), http:  # type: ignore[attr-defined]
        token = (
            await http.post(
                "/api/v1/auth/token", data={"username": "root", "password": ROOT_PASSWORD}
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        image = await upload(http, headers, data, name="kept.jpg", visibility="private")

    app, http = await started()
    async with app.router.lifespan_context(app), http:  # type: ignore[attr-defined]
        answer = await http.get(f"/api/v1/images/{image['id']}", headers=headers)
        image.pop("near_duplicates")
        image.pop("outcome")
        kept = answer.json()
        # Its derivative job may have run since (or runs now: found again at start).
        assert {image.pop("state"), kept.pop("state")} <= {"processing", "ready"}
        assert answer.status_code == 200 and kept == image
        assert (
            await http.get(f"/api/v1/images/{image['id']}/file", headers=headers)
        ).content == data


async def test_concurrent_identical_uploads_make_one_image(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    data = make_image(seed=77, size=(300, 200))
    answers = await asyncio.gather(
        *(
            http.post("/api/v1/images", files={"file": ("same.jpg", data)}, headers=alice)
            for _ in range(8)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and codes.count(200) == 7, codes
    assert len({a.json()["id"] for a in answers}) == 1


async def test_delete_racing_an_upload_of_the_same_bytes_loses_nothing(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    """Bob's acknowledged upload must stay readable even while Alice deletes the shared blob."""
    for seed in range(5):
        data = make_image(seed=100 + seed)
        theirs = await upload(http, alice, data)
        delete, bobs = await asyncio.gather(
            http.delete(f"/api/v1/images/{theirs['id']}", headers=alice),
            http.post("/api/v1/images", files={"file": ("b.jpg", data)}, headers=bob),
        )
        assert delete.status_code == 204 and bobs.status_code == 201
        fetched = await http.get(f"/api/v1/images/{bobs.json()['id']}/file", headers=bob)
        assert fetched.status_code == 200 and fetched.content == data
