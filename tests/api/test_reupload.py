"""Explicit flags win on re-upload: bytes you already have take the visibility and description
sent with them; no flag, no change; `/check` says what each stored image looks like."""

from __future__ import annotations

import hashlib

import httpx

from tests.api.helpers import upload
from tests.images import make_image


async def test_reupload_with_flags_updates_and_says_so(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    data = make_image(seed=5)
    first = await upload(http, alice, data, name="cat.jpg")
    assert first["outcome"] == "created" and first["visibility"] == "public"

    same = await upload(http, alice, data, name="cat.jpg", expect=200)
    assert same["outcome"] == "unchanged" and same["visibility"] == "public"

    made_private = await upload(
        http, alice, data, visibility="private", description="my cats", expect=200
    )
    assert made_private["outcome"] == "updated" and made_private["id"] == first["id"]
    assert made_private["visibility"] == "private" and made_private["description"] == "my cats"
    assert (await http.get(f"/api/v1/images/{first['id']}", headers=bob)).status_code == 404

    # No flag, no change: a plain re-upload does not turn it public again.
    again = await upload(http, alice, data, expect=200)
    assert again["outcome"] == "unchanged" and again["visibility"] == "private"
    # The same flags again change nothing.
    repeat = await upload(
        http, alice, data, visibility="private", description="my cats", expect=200
    )
    assert repeat["outcome"] == "unchanged"


async def test_reupload_by_another_user_is_their_own_image(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    data = make_image(seed=6)
    mine = await upload(http, alice, data, visibility="private")
    theirs = await upload(http, bob, data, visibility="public")
    assert theirs["outcome"] == "created" and theirs["id"] != mine["id"]
    assert (await http.get(f"/api/v1/images/{mine['id']}", headers=alice)).json()[
        "visibility"
    ] == "private"


async def test_check_reports_the_state_of_stored_images(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    data = make_image(seed=8)
    digest = hashlib.sha256(data).hexdigest()
    image = await upload(http, alice, data, description="d", visibility="private")
    other = "0" * 64
    answer = await http.post(
        "/api/v1/images/check", json={"sha256": [digest, other]}, headers=alice
    )
    body = answer.json()
    assert body["existing"] == {digest: image["id"]} and body["missing"] == [other]
    assert body["images"] == {
        digest: {"id": image["id"], "visibility": "private", "description": "d"}
    }
    # Bob's check never reveals Alice's bytes.
    theirs = (
        await http.post("/api/v1/images/check", json={"sha256": [digest]}, headers=bob)
    ).json()
    assert theirs["existing"] == {} and theirs["images"] == {} and theirs["missing"] == [digest]
