"""Listings: filters, keyword search, cursor pagination."""

from __future__ import annotations

import httpx

from imagerepo.api.schemas import ImagePage, SimilarPage
from tests.api.helpers import assert_error, upload
from tests.images import make_image


async def test_keywords_match_title_or_description_case_insensitively(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    cat = await upload(http, alice, make_image(seed=1), name="Cat_1.jpg")
    dog = await upload(http, alice, make_image(seed=2), name="x.jpg", description="a DOG and a cat")
    await upload(http, alice, make_image(seed=3), name="bird.jpg", description="flying")

    async def ids(query: str) -> set[str]:
        answer = await http.get("/api/v1/images", params={"keywords": query}, headers=alice)
        return {i["id"] for i in answer.json()["items"]}

    assert await ids("cat") == {cat["id"], dog["id"]}
    assert await ids("DOG") == {dog["id"]}
    assert await ids("dog cat") == {dog["id"]}  # every word must match
    assert await ids("100%") == set()  # LIKE wildcards are escaped, not interpreted
    assert await ids("_") == {cat["id"]}  # "Cat_1" has a literal underscore


async def test_cursor_pagination_walks_everything_once(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    uploaded = [(await upload(http, alice, make_image(seed=i)))["id"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/images", params=params, headers=alice)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(uploaded))  # newest first, no gaps, no repeats


async def test_owner_filter(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    mine = await upload(http, alice, make_image(seed=1))
    await upload(http, bob, make_image(seed=2))
    page = (await http.get("/api/v1/images", params={"owner": "alice"}, headers=bob)).json()
    assert [i["id"] for i in page["items"]] == [mine["id"]]
    page = (await http.get("/api/v1/images", params={"owner": "nobody"}, headers=bob)).json()
    assert page == {"items": [], "next_cursor": None}


async def test_bad_listing_parameters(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    for params in ({"limit": 0}, {"limit": 100000}, {"limit": "x"}, {"cursor": "garbage!"}):
        assert_error(await http.get("/api/v1/images", params=params, headers=alice), 422)


async def test_listing_and_similar_answer_exactly_what_their_models_describe(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    """The listing routes serialize plain dicts (`api/fast_json.py`), not models: each item is
    field for field what `GET /images/{id}` (through `ImageOut`) answers, and the pages
    validate against the models their OpenAPI schema names."""
    mine = await upload(http, alice, make_image(seed=1), description="café ÜBER")
    await upload(http, alice, make_image(seed=2), visibility="private")
    for viewer in (alice, bob, {}):
        answer = await http.get("/api/v1/images", headers=viewer)
        assert answer.headers["content-type"] == "application/json"
        page = ImagePage.model_validate_json(answer.content)
        assert page.model_dump(mode="json") == answer.json()
        for item in answer.json()["items"]:
            one = await http.get(f"/api/v1/images/{item['id']}", headers=viewer)
            assert one.json() == item
        similar = await http.get(f"/api/v1/images/{mine['id']}/similar", headers=viewer)
        assert (
            SimilarPage.model_validate_json(similar.content).model_dump(mode="json")
            == similar.json()
        )
