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


def metadata_blocks(data: bytes) -> list[str]:
    """The metadata containers in a JPEG or WebP file, read from its structure (not by searching
    for bytes, which entropy-coded pixels can contain by chance)."""
    found = []
    if data.startswith(b"\xff\xd8"):  # JPEG: segments up to the start of scan
        at = 2
        while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] != 0xDA:
            marker, length = data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")
            if marker in (0xE1, 0xED, 0xFE):  # APP1 (EXIF, XMP), APP13 (IPTC), COM
                found.append(f"JPEG segment 0x{marker:02X}")
            at += 2 + length
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        at = 12
        while at + 8 <= len(data):
            chunk, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
            if chunk in (b"EXIF", b"XMP ", b"ICCP"):
                found.append(f"WebP chunk {chunk.decode()}")
            at += 8 + size + (size & 1)
    else:
        found.append("unexpected format")
    return found


def private_metadata_in(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    found = metadata_blocks(data)
    if len(image.getexif()):
        found.append("exif")
    for key in ("exif", "xmp", "comment", "XML:com.adobe.xmp"):
        if image.info.get(key):
            found.append(key)
    return found


def test_the_metadata_detector_can_fail() -> None:
    """The check above must see metadata where there is some."""
    original = (EXIF_SAMPLES / "jpg/gps/DSCN0010.jpg").read_bytes()
    assert "JPEG segment 0xE1" in private_metadata_in(original)
    out = io.BytesIO()
    Image.open(io.BytesIO(original)).save(
        out, "WEBP", exif=Image.open(io.BytesIO(original)).getexif()
    )
    assert "WebP chunk EXIF" in private_metadata_in(out.getvalue())


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


@pytest.mark.embedded_only("deletes the derivatives from the data folder")
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


async def test_others_get_the_full_picture_without_its_location(
    http: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    """A public image's original can carry GPS: only its owner gets those bytes."""
    for name in ("jpg/gps/DSCN0010.jpg", "jpg/orientation/portrait_6.jpg", "heic/IMG_5195.HEIC"):
        path = EXIF_SAMPLES / name
        original = path.read_bytes()
        image = await upload(http, alice, original, name=path.name)
        mine = await http.get(f"/api/v1/images/{image['id']}/file", headers=alice)
        assert mine.content == original
        theirs = await http.get(f"/api/v1/images/{image['id']}/file", headers=bob)
        assert theirs.status_code == 200
        assert theirs.headers["content-type"] == "image/jpeg"
        assert private_metadata_in(theirs.content) == [], name
        shown = Image.open(io.BytesIO(theirs.content))
        assert shown.size == (image["width"], image["height"])  # full size, upright
        assert theirs.headers["etag"] != mine.headers["etag"]
