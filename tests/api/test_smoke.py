from __future__ import annotations

import httpx

from tests.images import make_image


async def test_health_and_upload_roundtrip(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    data = make_image()
    answer = await http.post(
        "/api/v1/images",
        files={"file": ("cat_1.jpg", data, "image/jpeg")},
        data={"description": "a cat", "visibility": "private"},
        headers=alice,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["title"] == "cat_1" and body["visibility"] == "private" and body["owner"] == "alice"
    fetched = await http.get(f"/api/v1/images/{body['id']}/file", headers=alice)
    assert fetched.content == data
