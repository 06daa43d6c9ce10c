"""Penetration-test findings of issue 7: hostile cursors, multipart framing, control characters.

Each test here failed on the code before the fix (a 500, a match-everything search, or text kept
with NUL and bidi controls in it).
"""

from __future__ import annotations

import base64
import json
import unicodedata
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest

from tests.api.helpers import assert_error, upload
from tests.images import make_image

# --- finding 3: listing cursors ---------------------------------------------------------------


def cursor_of(raw: str | bytes) -> str:
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


WHEN = "2026-01-01T00:00:00+00:00"
ID = "A" * 22

BAD_CURSORS = {
    "lone surrogate id (JSON escape)": f'["{WHEN}","\\ud800"]',
    "lone surrogate in the date": '["2026-01-01T00:00:00+00:00\\udfff","x"]',
    "number id": f'["{WHEN}",5]',
    "huge number id": f'["{WHEN}",{"9" * 300}]',
    "float id": f'["{WHEN}",1e999]',
    "NaN id": f'["{WHEN}",NaN]',
    "null id": f'["{WHEN}",null]',
    "nested list id": f'["{WHEN}",["{ID}"]]',
    "nested list date": f'[["{WHEN}"],"{ID}"]',
    "number date": f'[1767225600,"{ID}"]',
    "deep nesting": "[" * 150 + "]" * 150,
    "object": f'{{"{WHEN}":1,"{ID}":2}}',
    "two-letter string": '"ab"',
    "empty list": "[]",
    "three items": f'["{WHEN}","{ID}","x"]',
    "naive datetime": f'["2026-01-01T00:00:00","{ID}"]',
    "date only": f'["2026-01-01","{ID}"]',
    "offset overflows on conversion to UTC": f'["0001-01-01T00:00:00+14:00","{ID}"]',
    "id with spaces and quotes": f'["{WHEN}","\' OR 1=1 --"]',
    "id with NUL": f'["{WHEN}","\\u0000"]',
    "empty id": f'["{WHEN}",""]',
    "id longer than any id": f'["{WHEN}","{"A" * 33}"]',
    "not UTF-8": b'["\xff\xfe",1]',
}


@pytest.mark.parametrize("case", list(BAD_CURSORS))
async def test_malformed_cursors_are_422(
    case: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    await upload(http, alice)
    cursor = cursor_of(BAD_CURSORS[case])
    answer = await http.get("/api/v1/images", params={"cursor": cursor}, headers=alice)
    assert_error(answer, 422, "validation_error")


@pytest.mark.parametrize("cursor", ["é", "a+b/", "a b", "@@@@", "=" * 8, "A"])
async def test_cursors_outside_base64url_are_422(
    cursor: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    answer = await http.get("/api/v1/images", params={"cursor": cursor}, headers=alice)
    assert_error(answer, 422, "validation_error")


async def test_a_cursor_with_another_utc_offset_means_the_same_moment(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    ids = [(await upload(http, alice, make_image(seed=i)))["id"] for i in range(3)]
    first = (await http.get("/api/v1/images", params={"limit": 1}, headers=alice)).json()
    moment, last_id = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    elsewhere = datetime.fromisoformat(moment).astimezone(timezone(timedelta(hours=-11)))
    cursor = cursor_of(json.dumps([elsewhere.isoformat(), last_id]))
    page = (await http.get("/api/v1/images", params={"cursor": cursor}, headers=alice)).json()
    assert [i["id"] for i in page["items"]] == list(reversed(ids))[1:]


# --- finding 4: multipart framing -------------------------------------------------------------


def multipart(boundary: str, name: bytes = b"a.jpg") -> bytes:
    start = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'
    end = f"\r\n--{boundary}--\r\n"
    head = b'"\r\nContent-Type: image/jpeg\r\n\r\n'
    return start.encode() + name + head + make_image() + end.encode()


async def post_raw(
    http: httpx.AsyncClient, headers: dict[str, str], content_type: str, body: bytes
) -> httpx.Response:
    return await http.post(
        "/api/v1/images", content=body, headers={**headers, "content-type": content_type}
    )


@pytest.mark.parametrize(
    "boundary",
    [
        "b" * 257,  # python-multipart's own limit: raised before the body is read
        "b" * 300,
        "b" * 71,  # RFC 2046: at most 70 characters
        "abc{}",  # characters outside RFC 2046's set
        "ab\\\\cd",
        '"ends with a space "',
        '"a\\"b"',
    ],
)
async def test_bad_boundaries_are_400(
    boundary: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    bare = boundary.strip('"').replace('\\"', '"')
    answer = await post_raw(
        http, alice, f"multipart/form-data; boundary={boundary}", multipart(bare)
    )
    assert_error(answer, 400, "bad_request")


@pytest.mark.parametrize("boundary", ["b" * 70, "'()+_,-./:=?", '"with inner space"'])
async def test_boundaries_rfc_2046_allows_still_work(
    boundary: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    answer = await post_raw(
        http, alice, f"multipart/form-data; boundary={boundary}", multipart(boundary.strip('"'))
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"--x",
        b"preamble only, no delimiter at all",
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n',
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
        b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--x',
        b"--x\r\n: no name\r\n\r\n\r\n--x--\r\n",
        b"--x\r\n" + b"h" * 20_000 + b"\r\n\r\n",
    ],
)
async def test_truncated_or_broken_bodies_are_400(
    body: bytes, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    assert_error(await post_raw(http, alice, "multipart/form-data; boundary=x", body), 400)


# --- findings 10 and 11: control and bidi characters ------------------------------------------

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 👩‍👩‍👧, two zero-width joiners
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # می‌خواهم, a zero-width non-joiner
DEVANAGARI = "\u0915\u094d\u200c\u0937"  # क्‌ष: the half form asked for with a ZWNJ
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tag chars


async def test_joiners_and_emoji_sequences_survive_in_descriptions_and_file_names(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    stem = f"{FAMILY} {PERSIAN} {DEVANAGARI} {SCOTLAND}"
    description = f"{FAMILY}\n{PERSIAN}\t{DEVANAGARI}\n{SCOTLAND}"
    image = await upload(http, alice, name=f"{stem}.jpg", description=description)
    stored = (await http.get(f"/api/v1/images/{image['id']}", headers=alice)).json()
    assert stored["filename"] == f"{stem}.jpg"
    assert stored["title"] == stem
    assert stored["description"] == description
    answer = await http.get(f"/api/v1/images/{image['id']}/file", headers=alice)
    assert quote(f"{stem}.jpg") in answer.headers["content-disposition"]
    for word in (FAMILY, PERSIAN, DEVANAGARI):
        found = await http.get("/api/v1/images", params={"keywords": word}, headers=alice)
        assert [i["id"] for i in found.json()["items"]] == [image["id"]], word


HOSTILE = (
    "a\u202eb\u202dc\u202ad\u202be\u202cf\u2066g\u2067h\u2068i\u2069j\x00k\x1bl\x7fm\x85n\x9bo"
)


async def test_controls_and_bidi_overrides_are_stripped_from_descriptions(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    image = await upload(http, alice, description=f"{HOSTILE}\r\nline two\rthree\ttab")
    assert image["description"] == "abcdefghijklm\nno\nline two\nthree\ttab"
    patched = await http.patch(
        f"/api/v1/images/{image['id']}",
        content=b'{"description": "x\\u0000y\\u2067z\\u200fw\\u0085v"}',
        headers={**alice, "content-type": "application/json"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "xyz\u200fw\nv"  # the mark stays in prose
    # JSON can spell a lone surrogate, which no database can store: refused, naming the field.
    patched = await http.patch(
        f"/api/v1/images/{image['id']}",
        content=b'{"description": "x\\ud800y"}',
        headers={**alice, "content-type": "application/json"},
    )
    assert_error(patched, 422, "validation_error")
    assert "description" in patched.json()["error"]["message"]


async def test_descriptions_are_stored_in_nfc(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    image = await upload(http, alice, description="cafe\u0301", name="re\u0301sume\u0301.jpg")
    assert image["description"] == "caf\u00e9"
    assert image["filename"] == "r\u00e9sum\u00e9.jpg"
    found = await http.get("/api/v1/images", params={"keywords": "CAFE\u0301"}, headers=alice)
    assert [i["id"] for i in found.json()["items"]] == [image["id"]]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("evil\u202egpj.exe", "evilgpj.exe"),  # the right-to-left override spoof
        ("a\tb\x0bc\x85d.jpg", "a b c d.jpg"),  # white space controls: one line, spaces
        ("n\x00u\x1bl\x7fl\x9b.jpg", "null.jpg"),
        ("\u200fnote\u200e\u061c.jpg", "note.jpg"),  # marks: no use in a one-line name
        ("\x00\x01\u2066.jpg", ".jpg"),
        ("\x00\u202e", "upload"),
        ("..", "upload"),
        ("dir/.\x00.", "upload"),
    ],
)
async def test_file_names_and_titles_lose_controls(
    raw: str, expected: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    # Sent by hand: httpx would percent-escape controls in a file name before we saw them.
    answer = await post_raw(
        http, alice, "multipart/form-data; boundary=x", multipart("x", raw.encode())
    )
    assert answer.status_code == 201, answer.text
    image = answer.json()
    assert image["filename"] == expected
    for text in (image["filename"], image["title"]):
        assert not any(unicodedata.category(ch) == "Cc" for ch in text), text
        assert not set(text) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


async def test_a_nul_in_keywords_does_not_match_everything(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    cat = await upload(http, alice, make_image(seed=1), description="a cat")
    await upload(http, alice, make_image(seed=2), description="a dog")
    await upload(http, bob, make_image(seed=3), description="a bird")

    async def search(keywords: str) -> httpx.Response:
        return await http.get("/api/v1/images", params={"keywords": keywords}, headers=alice)

    # A query made only of characters no stored text can hold names no word: refused, never
    # "match all".
    for nothing in ("\x00", "\x00\x00 \u202e", "\u2066\u2069", "\u200f", "\x7f\x9b"):
        assert_error(await search(nothing), 422, "validation_error")
    # Controls inside or beside a real word are dropped; the word still filters.
    for word in ("cat\x00", "\x00cat", "c\x00at", "cat \x00", "\u202ecat\u202c", "cat \u200f"):
        found = (await search(word)).json()["items"]
        assert [i["id"] for i in found] == [cat["id"]], repr(word)
    # An empty or blank query is still no filter at all.
    for blank in ("", "   "):
        assert len((await search(blank)).json()["items"]) == 3
