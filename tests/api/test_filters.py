"""Filters, tags and the timeline, and what each viewer may learn through them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import assert_error, upload
from tests.api.test_search import ids, photo
from tests.images import make_image


async def test_filters_combine(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    canon = await upload(http, alice, photo(1, make="Canon", taken="2021:05:03 10:00:00"))
    nikon = await upload(
        http, alice, photo(2, make="NIKON", model="D70", taken="2022:07:01 10:00:00")
    )
    wide = await upload(http, alice, make_image("PNG", (200, 50), seed=3), name="wide.png")

    async def match(**params: Any) -> set[str]:
        return set(await ids(http, alice, **params))

    assert await match(camera_make="canon") == {canon["id"]}
    assert await match(camera_make="nikon", camera_model="d70") == {nikon["id"]}
    assert await match(year=2021) == {canon["id"]}
    assert await match(year=2022, month=7) == {nikon["id"]}
    assert await match(month=5) == {canon["id"]}
    assert await match(taken_after="2022-01-01T00:00:00Z") == {nikon["id"]}
    assert await match(taken_before="2022-01-01T00:00:00Z") == {canon["id"]}
    assert await match(min_width=100) == {wide["id"]}
    assert await match(max_width=100, max_height=48) == {canon["id"], nikon["id"]}
    assert await match(min_height=49) == {wide["id"]}
    assert await match(media_type="image/jpeg") == {canon["id"], nikon["id"]}
    assert await match(uploaded_after="2000-01-01T00:00:00Z", camera_make="Canon") == {canon["id"]}
    assert await match(uploaded_before="2000-01-01T00:00:00Z") == set()
    assert await match(q="wide", min_width=100) == {wide["id"]}
    assert await match(q="wide", max_width=100) == set()
    assert_error(await http.get("/api/v1/images", params={"month": 13}, headers=alice), 422)
    assert_error(await http.get("/api/v1/images", params={"has_gps": "maybe"}), 422)


async def test_the_visibility_matrix(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    """Filters only narrow what a viewer may see: they never reveal another's private images,
    nor which of another's images carry a location."""
    secret = await upload(
        http, alice, photo(1, make="Canon", gps=True), name="secret.jpg", visibility="private"
    )
    shown = await upload(http, alice, photo(2, make="Canon", gps=True), name="shown.jpg")
    bobs = await upload(http, bob, photo(3, make="Canon", gps=True), name="bobs secret.jpg")
    anonymous: dict[str, str] = {}
    cases: list[tuple[dict[str, Any], dict[str, set[str]]]] = [
        ({}, {"alice": {secret["id"], shown["id"], bobs["id"]}, "bob": {shown["id"], bobs["id"]}}),
        ({"q": "secret"}, {"alice": {secret["id"], bobs["id"]}, "bob": {bobs["id"]}}),
        ({"keywords": "secret"}, {"alice": {secret["id"], bobs["id"]}, "bob": {bobs["id"]}}),
        ({"visibility": "private"}, {"alice": {secret["id"]}, "bob": set(), "anonymous": set()}),
        ({"visibility": "public"}, {"alice": {shown["id"], bobs["id"]}}),
        ({"has_gps": True}, {"alice": {secret["id"], shown["id"]}, "bob": {bobs["id"]}}),
        ({"has_gps": False}, {"alice": set(), "bob": set(), "anonymous": set()}),
        ({"owner": "alice"}, {"alice": {secret["id"], shown["id"]}, "bob": {shown["id"]}}),
        ({"owner": "alice", "visibility": "private"}, {"bob": set(), "anonymous": set()}),
        ({"camera_make": "canon"}, {"bob": {shown["id"], bobs["id"]}}),
        ({"sort": "taken_at"}, {"anonymous": {shown["id"], bobs["id"]}}),
        ({"q": "secret", "sort": "relevance"}, {"anonymous": {bobs["id"]}}),
    ]
    viewers = {"alice": alice, "bob": bob, "anonymous": anonymous}
    for params, expected in cases:
        for who, wanted in expected.items():
            assert set(await ids(http, viewers[who], **params)) == wanted, (params, who)
    months = await http.get("/api/v1/timeline", params={"has_gps": True})
    assert months.json() == {"months": []}


async def test_tags(http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]) -> None:
    image = await upload(http, alice, make_image(seed=1))
    url = f"/api/v1/images/{image['id']}"
    answer = await http.patch(url, json={"tags": ["Sea", " Red\tCar ", "sea"]}, headers=alice)
    assert answer.status_code == 200, answer.text
    assert answer.json()["tags"] == ["Sea", "Red Car"]  # cleaned, folded duplicates dropped
    answer = await http.patch(
        url, json={"add_tags": ["Été"], "remove_tags": ["SEA"]}, headers=alice
    )
    assert answer.json()["tags"] == ["Red Car", "Été"]
    assert await ids(http, alice, tag="ete") == [image["id"]]
    assert await ids(http, alice, tag=["red car", "été"]) == [image["id"]]
    assert await ids(http, alice, tag="sea") == []
    assert await ids(http, alice, q='"red car"') == [image["id"]]
    assert await ids(http, alice, q="ete") == [image["id"]]
    assert (await http.patch(url, json={"add_tags": ["x"]}, headers=bob)).status_code == 403
    for bad in (["\x00"], ["x" * 101], [f"t{i}" for i in range(51)]):
        assert_error(await http.patch(url, json={"tags": bad}, headers=alice), 422)
    answer = await http.patch(url, json={"tags": []}, headers=alice)
    assert answer.json()["tags"] == []
    assert await ids(http, alice, q="ete") == []


async def test_timeline(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    await upload(http, alice, photo(1, taken="2021:05:03 10:00:00"))
    await upload(http, alice, photo(2, taken="2021:05:04 10:00:00"), visibility="private")
    await upload(http, alice, photo(3, taken="2020:01:01 00:30:00"), name="harbour.jpg")
    undated = await upload(http, alice, make_image(seed=4))
    this_month = undated["created_at"][:7]

    async def months(headers: dict[str, str], **params: Any) -> dict[str, int]:
        answer = await http.get("/api/v1/timeline", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        found = answer.json()["months"]
        assert [m["month"] for m in found] == sorted((m["month"] for m in found), reverse=True)
        return {m["month"]: m["count"] for m in found}

    assert await months(alice) == {this_month: 1, "2021-05": 2, "2020-01": 1}
    assert await months(bob) == {this_month: 1, "2021-05": 1, "2020-01": 1}
    assert await months({}) == await months(bob)
    assert await months(alice, q="harbour") == {"2020-01": 1}
    assert await months(alice, keywords="harb") == {"2020-01": 1}
    assert await months(alice, visibility="private") == {"2021-05": 1}
    assert await months(alice, year=2021) == {"2021-05": 2}


async def test_timeline_follows_visibility_changes_and_deletes(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    first = await upload(http, alice, photo(1, taken="2021:05:03 10:00:00"))
    second = await upload(http, alice, photo(2, taken="2021:05:04 10:00:00"))

    async def counts(headers: dict[str, str], **params: Any) -> dict[str, int]:
        answer = await http.get("/api/v1/timeline", params=params, headers=headers)
        return {m["month"]: m["count"] for m in answer.json()["months"]}

    assert await counts(bob) == {"2021-05": 2}
    await http.patch(f"/api/v1/images/{first['id']}", json={"visibility": "private"}, headers=alice)
    assert await counts(bob) == {"2021-05": 1}
    assert await counts(alice) == {"2021-05": 2}
    assert await counts(alice, visibility="private") == {"2021-05": 1}
    assert await counts(bob, owner="alice", month=5) == {"2021-05": 1}
    assert (await http.delete(f"/api/v1/images/{second['id']}", headers=alice)).status_code == 204
    assert await counts(bob) == {}
    assert await counts(alice, year=2021) == {"2021-05": 1}
    assert await counts(alice, year=2020) == {}
