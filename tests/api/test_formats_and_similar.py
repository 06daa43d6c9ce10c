"""Every common format by content; animated GIFs; near-duplicates; the bulk-sync digest check."""

from __future__ import annotations

import hashlib
import io

import httpx
import pytest
from PIL import Image, ImageEnhance

from tests.api.helpers import assert_error, upload
from tests.images import EXIF_SAMPLES, make_image


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("TIFF", "image/tiff"),
        ("AVIF", "image/avif"),
    ],
)
async def test_formats_are_recognised_by_content(
    fmt: str, media_type: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    image = await upload(http, alice, make_image(fmt, size=(120, 80)), name="no-extension")
    assert (image["media_type"], image["width"], image["height"]) == (media_type, 120, 80)
    thumb = await http.get(f"/api/v1/images/{image['id']}/thumbnail", headers=alice)
    assert thumb.status_code == 200


@pytest.mark.skipif(not EXIF_SAMPLES.is_dir(), reason="../shared/data is not here")
async def test_every_heic_sample_ingests(http: httpx.AsyncClient, alice: dict[str, str]) -> None:
    for path in sorted(EXIF_SAMPLES.glob("heic/**/*.he*c")) + sorted(
        EXIF_SAMPLES.glob("heic/**/*.heif")
    ):
        image = await upload(http, alice, path.read_bytes(), name=path.name, expect=None)
        assert image.get("media_type") in ("image/heic", "image/heif"), (path.name, image)


async def test_animated_gif_and_sixteen_bit_png(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    frames = [
        Image.open(io.BytesIO(make_image(size=(60, 40), seed=i))).convert("P") for i in range(5)
    ]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gif = await upload(http, alice, out.getvalue(), name="anim.gif")
    assert gif["media_type"] == "image/gif"
    deep = Image.new("I;16", (64, 64))
    deep.putdata([(x * 1024) % 65536 for x in range(64 * 64)])
    out = io.BytesIO()
    deep.save(out, "PNG")
    png = await upload(http, alice, out.getvalue(), name="deep.png")
    thumb = Image.open(
        io.BytesIO((await http.get(f"/api/v1/images/{png['id']}/thumbnail", headers=alice)).content)
    )
    assert thumb.convert("L").getextrema() != (255, 255)  # scaled, not clipped to white


def variant(
    data: bytes, *, brightness: float = 1.0, quality: int = 70, scale: float = 1.0
) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = ImageEnhance.Brightness(image).enhance(brightness)
    if scale != 1.0:
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


async def test_near_duplicates_are_found_and_flagged(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    original = make_image(size=(640, 480), seed=11)
    first = await upload(http, alice, original, name="beach.jpg")
    assert first["near_duplicates"] == []
    recompressed = await upload(
        http, alice, variant(original, quality=40, scale=0.5), name="small.jpg"
    )
    assert [d["id"] for d in recompressed["near_duplicates"]] == [first["id"]]
    unrelated = await upload(http, alice, make_image(size=(640, 480), seed=200), name="other.jpg")
    brighter = await upload(
        http, bob, variant(original, brightness=1.1), name="bobs.jpg", visibility="private"
    )
    similar = (await http.get(f"/api/v1/images/{first['id']}/similar", headers=alice)).json()[
        "items"
    ]
    ids = [item["id"] for item in similar]
    assert recompressed["id"] in ids and unrelated["id"] not in ids
    assert brighter["id"] not in ids  # bob's private copy is not alice's to see
    assert all(0 <= item["distance"] <= 8 for item in similar)
    bobs_view = (await http.get(f"/api/v1/images/{first['id']}/similar", headers=bob)).json()
    assert brighter["id"] in [item["id"] for item in bobs_view["items"]]
    assert_error(
        await http.get(
            f"/api/v1/images/{first['id']}/similar", params={"distance": 40}, headers=alice
        ),
        422,
    )


async def test_check_answers_which_digests_the_caller_has(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    data = make_image(seed=4)
    mine = await upload(http, alice, data)
    other = hashlib.sha256(b"something else").hexdigest()
    answer = await http.post(
        "/api/v1/images/check", json={"sha256": [mine["sha256"].upper(), other]}, headers=alice
    )
    body = answer.json()
    assert body["existing"] == {mine["sha256"]: mine["id"]} and body["missing"] == [other]
    assert body["images"][mine["sha256"]]["id"] == mine["id"]
    # Bob has none of them: another user's images are not "already stored" for him.
    answer = await http.post("/api/v1/images/check", json={"sha256": [mine["sha256"]]}, headers=bob)
    assert answer.json() == {"existing": {}, "missing": [mine["sha256"]], "images": {}}
    bad: dict[str, list[str]]
    for bad in ({"sha256": ["nothex"]}, {"sha256": ["a" * 64] * 10_001}, {"digests": []}):
        assert_error(await http.post("/api/v1/images/check", json=bad, headers=alice), 422)
