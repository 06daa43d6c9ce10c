"""Thumbnails and previews: upright, sRGB, no private metadata, cacheable the right way."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.api.helpers import assert_error, upload
from tests.images import EXIF_SAMPLES, make_image

pytestmark = pytest.mark.skipif(not EXIF_SAMPLES.is_dir(), reason="../shared/data is not here")
ORIENTATION = EXIF_SAMPLES / "jpg/orientation"


async def fetch(http: httpx.AsyncClient, headers: dict[str, str], url: str) -> Image.Image:
    answer = await http.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    image = Image.open(io.BytesIO(answer.content))
    image.load()
    return image


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference (0-255) after bringing b to a's size."""
    b = b.convert("RGB").resize(a.size)
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b)).mean) / 3


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
async def test_every_orientation_comes_out_upright(
    shape: str, http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    """The eight files are one picture stored eight ways: all thumbnails must match number 1."""
    thumbs = {}
    for n in range(1, 9):
        path = ORIENTATION / f"{shape}_{n}.jpg"
        image = await upload(http, alice, path.read_bytes(), name=path.name)
        thumbs[n] = await fetch(http, alice, f"/api/v1/images/{image['id']}/thumbnail")
        assert max(thumbs[n].size) == 256
    upright = thumbs[1]
    for n in range(2, 9):
        assert thumbs[n].size == upright.size, n
        # Of the eight ways to flip or turn the thumbnail, leaving it alone must be by far the
        # closest to the upright picture (each file also shows its own number, hence not ~0).
        distances = {op: difference(upright, turned(thumbs[n], op)) for op in TRANSFORMS}
        best, *rest = sorted(distances.values())
        assert distances[None] == best and best < 0.6 * rest[0], (n, distances)


TRANSFORMS: list[Image.Transpose | None] = [None, *Image.Transpose]


def turned(image: Image.Image, op: Image.Transpose | None) -> Image.Image:
    return image if op is None else image.transpose(op)


def private_metadata_in(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    found = []
    exif = image.getexif()
    if exif.get_ifd(0x8825) or len(exif):
        found.append("exif")
    for key in ("exif", "xmp", "comment", "XML:com.adobe.xmp"):
        if image.info.get(key):
            found.append(key)
    if b"GPS" in data or b"<x:xmpmeta" in data:
        found.append("raw marker")
    return found


async def test_derivatives_carry_no_gps_or_other_metadata(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    gps_files = [
        *sorted(EXIF_SAMPLES.glob("jpg/gps/*.jpg"))[:3],
        EXIF_SAMPLES / "heic/IMG_5195.HEIC",
    ]
    for path in gps_files:
        image = await upload(http, alice, path.read_bytes(), name=path.name)
        assert "gps_latitude" in image["metadata"], path.name  # the original does carry GPS
        for kind in ("thumbnail", "preview"):
            for fmt in ("webp", "jpeg"):
                answer = await http.get(
                    f"/api/v1/images/{image['id']}/{kind}", params={"format": fmt}, headers=alice
                )
                assert answer.status_code == 200
                assert answer.headers["content-type"] == f"image/{fmt}"
                assert private_metadata_in(answer.content) == [], (path.name, kind, fmt)


async def test_a_script_in_a_jpeg_comment_does_not_survive(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    out = io.BytesIO()
    Image.open(io.BytesIO(make_image(size=(300, 200)))).save(
        out, "JPEG", comment=b"<script>alert(1)</script>"
    )
    image = await upload(http, alice, out.getvalue())
    for fmt in ("webp", "jpeg"):
        answer = await http.get(
            f"/api/v1/images/{image['id']}/thumbnail", params={"format": fmt}, headers=alice
        )
        assert b"<script>" not in answer.content


async def test_preview_size_and_colour_profile_conversion(
    http: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    path = EXIF_SAMPLES / "jpg/hdr/iphone_hdr_YES.jpg"  # 3264x2448
    image = await upload(http, alice, path.read_bytes(), name=path.name)
    preview = await fetch(http, alice, f"/api/v1/images/{image['id']}/preview")
    assert max(preview.size) == 1440 and preview.mode == "RGB"
    assert "icc_profile" not in preview.info  # converted to sRGB, no profile left to misread


async def test_etags_and_cache_control(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    public = await upload(http, alice, make_image(seed=1))
    private = await upload(http, alice, make_image(seed=2), visibility="private")
    for route in ("thumbnail", "preview", "file"):
        answer = await http.get(f"/api/v1/images/{public['id']}/{route}", headers=alice)
        etag = answer.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert answer.headers["cache-control"].startswith("public")
        again = await http.get(
            f"/api/v1/images/{public['id']}/{route}", headers={**alice, "If-None-Match": etag}
        )
        assert again.status_code == 304 and again.content == b""
        mine = await http.get(f"/api/v1/images/{private['id']}/{route}", headers=alice)
        assert mine.headers["cache-control"].startswith("private")
        assert "public" not in mine.headers["cache-control"]
        assert_error(await http.get(f"/api/v1/images/{private['id']}/{route}", headers=bob), 404)


async def test_derivatives_are_made_again_when_missing(
    http: httpx.AsyncClient, alice: dict[str, str], tmp_path: Path
) -> None:
    image = await upload(http, alice, make_image(seed=8, size=(400, 300)))
    first = (await http.get(f"/api/v1/images/{image['id']}/thumbnail", headers=alice)).content
    for stored in (tmp_path / "data" / "derivatives").rglob("*"):
        if stored.is_file():
            stored.unlink()
    again = (await http.get(f"/api/v1/images/{image['id']}/thumbnail", headers=alice)).content
    assert again == first  # deterministic rendering: the strong ETag stays honest
