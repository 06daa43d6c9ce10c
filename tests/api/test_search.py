"""Full-text search (`q`), keywords, sorts and cursors, through the API."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.helpers import assert_error, upload
from tests.images import make_image


def photo(
    seed: int,
    *,
    make: str | None = None,
    model: str | None = None,
    taken: str | None = None,
    gps: bool = False,
    size: tuple[int, int] = (64, 48),
) -> bytes:
    """A JPEG with the EXIF fields given (taken as "YYYY:MM:DD HH:MM:SS")."""
    image = Image.open(io.BytesIO(make_image(seed=seed, size=size)))
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def ids(
    http: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> list[str]:
    answer = await http.get("/api/v1/images", params=params, headers=headers or {})
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


async def walk(
    http: httpx.AsyncClient, headers: dict[str, str], limit: int, **params: Any
) -> list[str]:
    """Every page in turn, by cursor."""
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/images", params=query, headers=headers)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_q_operators(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    red = await upload(http, alice, make_image(seed=1), name="red car.jpg")
    car_red = await upload(
        http, alice, make_image(seed=2), name="x.jpg", description="the car is red"
    )
    beaches = await upload(http, alice, make_image(seed=3), name="beaches.jpg")
    cats = await upload(http, alice, make_image(seed=4), name="catamaran.jpg")
    dog = await upload(http, alice, make_image(seed=5), name="hot dog.jpg")

    async def q(text: str) -> set[str]:
        return set(await ids(http, alice, q=text))

    assert await q("red car") == {red["id"], car_red["id"]}  # AND by default
    assert await q('"red car"') == {red["id"]}  # a phrase keeps its order
    assert await q("beach") == {beaches["id"]}  # stemming
    assert await q("cat*") == {cats["id"]}  # prefix
    assert await q("cat") == set()  # a word is not a prefix
    assert await q("catamaran OR dog") == {cats["id"], dog["id"]}
    assert await q("car -beaches") == {red["id"], car_red["id"]}
    assert await q('red -"red car"') == {car_red["id"]}
    assert await q("RED CAR") == await q("red car")  # OR and AND are words in lower case
    assert await q("red or car") == set()  # "or" is then a word to find


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '"unterminated',
        "title:red",
        "NEAR(red car)",
        "red AND",
        "OR",
        "^red",
        "red + car",
        "(red",
        "*",
        "red\x00car",
        "'; DROP TABLE images; --",
        "🚗",
    ],
)
async def test_q_syntax_of_the_engine_is_never_syntax_to_us(
    text: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    await upload(http, alice, make_image(seed=1), name="red car.jpg")
    answer = await http.get("/api/v1/images", params={"q": text}, headers=alice)
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert_error(answer, 422, "validation_error")


async def test_only_exclusions_is_refused(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    assert_error(await http.get("/api/v1/images", params={"q": "-red"}, headers=alice), 422)


async def test_unicode_folding(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    uber = await upload(http, alice, make_image(seed=1), name="ÜBER alles.jpg")
    cafe = await upload(http, alice, make_image(seed=2), name="x.jpg", description="Café Noir")
    strasse = await upload(http, alice, make_image(seed=3), name="Straße.jpg")
    for param in ("q", "keywords"):
        assert await ids(http, alice, **{param: "über"}) == [uber["id"]]
        assert await ids(http, alice, **{param: "uber"}) == [uber["id"]]
        assert await ids(http, alice, **{param: "cafe"}) == [cafe["id"]]
        assert await ids(http, alice, **{param: "CAFÉ"}) == [cafe["id"]]
    assert await ids(http, alice, keywords="strasse") == [strasse["id"]]
    assert await ids(http, alice, keywords="afé") == [cafe["id"]]  # still a substring match
    assert await ids(http, alice, keywords="fé") == [cafe["id"]]  # too short for the index


async def test_q_covers_file_name_tags_camera_and_lens(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    canon = await upload(http, alice, photo(1, make="Canon", model="EOS 40D"), name="a.jpg")
    tagged = await http.post(
        "/api/v1/images",
        files={"file": ("b.jpg", make_image(seed=2), "image/jpeg")},
        data={"tag": ["Holiday", "Sea"]},
        headers=alice,
    )
    assert tagged.status_code == 201, tagged.text
    assert tagged.json()["tags"] == ["Holiday", "Sea"]
    assert await ids(http, alice, q="canon") == [canon["id"]]
    assert await ids(http, alice, q="40d") == [canon["id"]]
    assert await ids(http, alice, q="holiday") == [tagged.json()["id"]]
    assert await ids(http, alice, q="b") == [tagged.json()["id"]]  # the file name "b.jpg"


async def test_sorts_walk_every_image_once_with_ties(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    # Two dated photos, three undated (their upload time stands in), equal sizes among them.
    uploaded = [
        (await upload(http, alice, photo(i, taken=f"20{10 + i}:01:01 10:00:00")))["id"]
        if i < 2
        else (await upload(http, alice, make_image(seed=i)))["id"]
        for i in range(5)
    ]
    for sort in ("uploaded_at", "taken_at", "size"):
        for limit in (1, 2, 5, 10):
            seen = await walk(http, alice, limit, sort=sort)
            assert sorted(seen) == sorted(uploaded), (sort, limit)
            assert len(seen) == len(set(seen))
    assert await walk(http, alice, 2) == list(reversed(uploaded))
    by_taken = await walk(http, alice, 2, sort="taken_at")
    assert by_taken[-2:] == [uploaded[1], uploaded[0]]  # 2011, then 2010: the oldest
    items = (await http.get("/api/v1/images", params={"sort": "size"}, headers=alice)).json()
    sizes = [i["size"] for i in items["items"]]
    assert sizes == sorted(sizes, reverse=True)


async def test_text_search_pages_in_every_order(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    made = [
        (await upload(http, alice, make_image(seed=i), name=f"harbour {i}.jpg"))["id"]
        for i in range(5)
    ]
    await upload(http, alice, make_image(seed=9), name="field.jpg")
    for sort in ("uploaded_at", "taken_at", "size", "relevance"):
        for params in ({"q": "harbour"}, {"keywords": "harb"}):
            if sort == "relevance" and "keywords" in params:
                continue
            seen = await walk(http, alice, 2, sort=sort, **params)
            assert sorted(seen) == sorted(made), (sort, params)
    assert await walk(http, alice, 2, q="harbour") == list(reversed(made))


async def test_relevance_ranks_title_matches_first(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    title = await upload(http, alice, make_image(seed=1), name="lighthouse.jpg")
    await upload(http, alice, make_image(seed=2), name="x.jpg", description="a lighthouse far")
    found = await ids(http, alice, q="lighthouse", sort="relevance")
    assert found[0] == title["id"] and len(found) == 2
    assert_error(await http.get("/api/v1/images", params={"sort": "relevance"}), 422)


async def test_cursor_edges(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    assert (await http.get("/api/v1/images", headers=alice)).json() == {
        "items": [],
        "next_cursor": None,
    }
    for i in range(3):
        await upload(http, alice, make_image(seed=i))
    page = (await http.get("/api/v1/images", params={"limit": 3}, headers=alice)).json()
    assert len(page["items"]) == 3 and page["next_cursor"] is None  # exactly full: last page
    page = (
        await http.get("/api/v1/images", params={"limit": 2, "sort": "size"}, headers=alice)
    ).json()
    by_size = page["next_cursor"]
    assert by_size
    # A cursor belongs to its order.
    for sort in ("uploaded_at", "taken_at"):
        answer = await http.get("/api/v1/images", params={"sort": sort, "cursor": by_size})
        assert_error(answer, 422, "validation_error")


def _cursor(items: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(items).encode()).decode().rstrip("=")


WHEN = "2026-01-01T00:00:00+00:00"
ID = "A" * 22


@pytest.mark.parametrize(
    ("sort", "items"),
    [
        ("size", ["size", -1, WHEN, ID]),
        ("size", ["size", 2**63, WHEN, ID]),
        ("size", ["size", 1.5, WHEN, ID]),
        ("size", ["size", True, WHEN, ID]),
        ("size", ["size", "12", WHEN, ID]),
        ("taken_at", ["taken_at", "2026-01-01T00:00:00", WHEN, ID]),
        ("taken_at", ["taken_at", 5, WHEN, ID]),
        ("taken_at", ["size", WHEN, WHEN, ID]),
        ("relevance", ["relevance", "NaN", WHEN, ID]),
        ("relevance", ["relevance", 1e999, WHEN, ID]),
        ("relevance", ["relevance", None, WHEN, ID]),
        ("size", ["size", 5, WHEN]),
        ("size", ["size", 5, WHEN, ID, "x"]),
        ("size", [WHEN, ID]),
    ],
)
async def test_malformed_cursors_of_every_order_are_422(
    sort: str, items: list[Any], http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    params = {"sort": sort, "cursor": _cursor(items), "q": "x"}
    answer = await http.get("/api/v1/images", params=params, headers=alice)
    assert_error(answer, 422, "validation_error")
    raw = base64.urlsafe_b64encode(b'["relevance",NaN,"' + WHEN.encode() + b'","' + ID.encode())
    answer = await http.get(
        "/api/v1/images",
        params={"sort": "relevance", "q": "x", "cursor": raw.decode().rstrip("=") + "In0"},
    )
    assert_error(answer, 422, "validation_error")


async def test_search_by_image(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    picture = make_image(size=(128, 96), seed=7)
    shown = await upload(http, alice, picture, name="shown.jpg")
    hidden = await upload(
        http, bob, make_image(size=(128, 96), seed=7, fmt="PNG"), visibility="private"
    )

    async def search(headers: dict[str, str], data: bytes) -> httpx.Response:
        return await http.post(
            "/api/v1/search/by-image",
            files={"file": ("probe.jpg", data, "image/jpeg")},
            headers=headers,
        )

    answer = await search(alice, picture)
    assert answer.status_code == 200, answer.text
    found = [(i["id"], i["distance"]) for i in answer.json()["items"]]
    assert found[0] == (shown["id"], 0) and hidden["id"] not in dict(found)
    answer = await search(bob, picture)
    assert {i["id"] for i in answer.json()["items"]} >= {shown["id"], hidden["id"]}
    assert_error(await search({}, picture), 401)
    assert_error(await search(alice, b"not an image"), 415)
    listed = (await http.get("/api/v1/images", headers=alice)).json()["items"]
    assert [i["id"] for i in listed] == [shown["id"]]  # nothing was stored


async def test_frequent_terms_in_another_order_probe_instead_of_sorting(
    http: httpx.AsyncClient, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of answering a text search in taken_at or size order give the same pages."""
    for i in range(6):
        await upload(http, alice, photo(i, taken=f"201{i}:0{i + 1}:01 10:00:00"), name=f"boat {i}")
    await upload(http, alice, make_image(seed=9), name="field.jpg")
    expected = {
        (sort, param): await walk(http, alice, 2, sort=sort, **{param: "boat"})
        for sort in ("taken_at", "size")
        for param in ("q", "keywords")
    }
    monkeypatch.setattr("imagerepo.db.search.sqlite.SORT_BY_PROBING", 2)
    for (sort, param), pages in expected.items():
        assert await walk(http, alice, 2, sort=sort, **{param: "boat"}) == pages
        assert len(pages) == 6
