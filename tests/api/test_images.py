"""Upload, read, list, change and delete, as the owner."""

from __future__ import annotations

import hashlib

import httpx

from tests.api.helpers import assert_error, upload
from tests.images import make_image


async def test_upload_answers_201_with_the_image(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    data = make_image(size=(80, 60))
    body = await upload(http, alice, data, name="cat_1.jpg", description="A Cat on a mat")
    assert body["title"] == "cat_1"
    assert body["filename"] == "cat_1.jpg"
    assert body["description"] == "A Cat on a mat"
    assert body["visibility"] == "public"
    assert body["owner"] == "alice"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size"] == len(data)
    assert (body["media_type"], body["width"], body["height"]) == ("image/jpeg", 80, 60)
    assert len(body["id"]) >= 22  # 128 random bits, URL-safe


async def test_media_type_comes_from_content_not_name(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    body = await upload(http, alice, make_image("PNG"), name="actually-a-png.jpg")
    assert body["media_type"] == "image/png"
    for fmt, media in (("GIF", "image/gif"), ("WEBP", "image/webp"), ("TIFF", "image/tiff")):
        assert (await upload(http, alice, make_image(fmt), name="x"))["media_type"] == media


async def test_same_bytes_same_user_answer_200_with_the_existing_image(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    data = make_image(seed=3)
    first = await upload(http, alice, data, name="cat_1.jpg")
    again = await upload(http, alice, data, name="cat_copied.jpg", expect=200)
    assert again["id"] == first["id"] and again["filename"] == "cat_1.jpg"
    listing = (await http.get("/api/v1/images", headers=alice)).json()["items"]
    assert [i["id"] for i in listing] == [first["id"]]
    # Another user uploading the same bytes gets their own image (one blob underneath).
    theirs = await upload(http, bob, data, name="mine.jpg")
    assert theirs["id"] != first["id"] and theirs["owner"] == "bob"


async def test_file_has_the_right_headers(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    data = make_image("PNG")
    image = await upload(http, alice, data, name="p.png")
    answer = await http.get(f"/api/v1/images/{image['id']}/file", headers=alice)
    assert answer.status_code == 200
    assert answer.content == data
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["etag"] == f'"{image["sha256"]}"'


async def test_patch_and_delete_by_owner(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    image = await upload(http, alice, name="dog.jpg")
    answer = await http.patch(
        f"/api/v1/images/{image['id']}",
        json={"description": "good dog", "visibility": "private"},
        headers=alice,
    )
    assert answer.status_code == 200
    assert (answer.json()["description"], answer.json()["visibility"]) == ("good dog", "private")
    assert (await http.get(f"/api/v1/images/{image['id']}", headers=alice)).json()[
        "description"
    ] == "good dog"
    assert (await http.delete(f"/api/v1/images/{image['id']}", headers=alice)).status_code == 204
    for path in ("", "/file"):
        assert_error(await http.get(f"/api/v1/images/{image['id']}{path}", headers=alice), 404)
    assert_error(await http.delete(f"/api/v1/images/{image['id']}", headers=alice), 404)


async def test_patch_rejects_bad_values(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    image = await upload(http, alice)
    url = f"/api/v1/images/{image['id']}"
    assert_error(await http.patch(url, json={"visibility": "secret"}, headers=alice), 422)
    assert_error(await http.patch(url, json={"owner": "bob"}, headers=alice), 422)
    assert_error(await http.patch(url, content=b"{not json", headers=alice), 422)


async def test_reupload_after_delete_stores_again(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    data = make_image(seed=9)
    first = await upload(http, alice, data)
    await http.delete(f"/api/v1/images/{first['id']}", headers=alice)
    second = await upload(http, alice, data)
    assert second["id"] != first["id"]
    assert (await http.get(f"/api/v1/images/{second['id']}/file", headers=alice)).content == data
